"""UI pieces every tab shares: the model card, the checkpoint picker, run info, error handling."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import FileData

from demos.core import runtime, zerogpu
from demos.core.errors import GalleryError
from demos.core.registry import DemoSpec
from demos.media import images

log = logging.getLogger(__name__)


# errors


def _user_error(title: str, exc: BaseException) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, GalleryError):
        # Expected (bad input, missing weights): the message is the whole story; no traceback
        # in the server log for it.
        return gr.Error(str(exc), title=title, print_exception=False)
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        runtime.free_memory(runtime.device())  # give back what the failed call held
        log.warning("out of memory in the %s tab: %s", title, exc)
        return gr.Error(
            f"{title} ran out of memory on {runtime.device()} for this input. Try a shorter or "
            f"smaller input, or a smaller size in the checkpoint menu; set GALLERY_MAX_LOADED=1 "
            f"so fewer models share the memory. Other tabs are not affected.",
            title=title,
            print_exception=False,
        )
    # Unexpected: the traceback stays in the server log; the user gets a short readable line.
    log.exception("unexpected error in the %s tab", title)
    return gr.Error(
        f"{title} hit an unexpected {type(exc).__name__}; the details are in the server log. "
        f"Other tabs are not affected; try another input.",
        title=title,
        print_exception=False,  # log.exception above already wrote the traceback
    )


def guarded(tab: DemoSpec | str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a handler (plain or generator) so that every failure reaches the user as `gr.Error`.

    `tab` is the demo's record, or the title of a tab that is not one demo (a compare tab).
    """
    title = tab if isinstance(tab, str) else tab.title

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        return _catch(zerogpu.gpu(fn))  # the GPU (on ZeroGPU) is held only while fn runs

    def _catch(fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    yield from fn(*args, **kwargs)
                except Exception as exc:
                    raise _user_error(title, exc) from None

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                raise _user_error(title, exc) from None

        return wrapper

    return wrap


# components


def model_card(spec: DemoSpec) -> gr.Markdown:
    card = spec.card
    return gr.Markdown(
        f"**{spec.title}** · {card.authors}, {card.year} · [{card.paper}]({card.paper_url}) · "
        f"{card.params} parameters · licence {card.licence}\n\n{card.known_for}"
    )


def checkpoint_picker(spec: DemoSpec) -> gr.Dropdown:
    """The registry's sizes, after a "default" entry whose value is "".

    "" is resolved when a request runs (`spec.checkpoint("")`: `GALLERY_<KEY>_MODEL` if set, else
    the registry's default), so the environment always wins over a menu that was built earlier,
    and no page-load event has to race the user's first click.
    """
    override = os.environ.get(spec.env_var, "").strip()
    default = f"{override} ({spec.env_var})" if override else spec.default.label
    choices = [(f"default: {default}", ""), *((c.label, c.id) for c in spec.checkpoints)]
    return gr.Dropdown(
        choices=choices,
        value="",
        label="Checkpoint",
        info=f"A size from the list, a hub id, or a local path (default set by {spec.env_var}).",
        allow_custom_value=True,
    )


def engine_picker(spec: DemoSpec, info: str) -> gr.Dropdown:
    """The record's engines that run here, after a "fastest here" entry whose value is "".

    "" is resolved per request by `runtime.engine_for` (the fastest that runs on this device);
    any other name gets the runtime's message saying what runs here.
    """
    usable = [e for e in spec.engines if runtime.engine_runs_here(e)]
    fastest = f"fastest here: {usable[0].label}" if usable else "fastest here"
    return gr.Dropdown(
        choices=[(fastest, ""), *((e.label, e.key) for e in usable)],
        value="",
        allow_custom_value=True,
        label="Engine",
        info=info,
    )


class _ReadableUpload:
    """Mixin for input components: a file that Gradio's upload step cannot read becomes a message.

    Gradio decodes some uploads (images, numpy audio, videos) before the handler runs, so a
    corrupt or mislabelled file fails outside the handler's guard and reaches the user as
    Gradio's generic "upstream app raised an exception". `recover` may still read the file
    another way; `unreadable` words the message.
    """

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)  # type: ignore[misc]
        except gr.Error:
            raise
        except Exception as exc:
            try:
                return self.recover(payload, exc)
            except Exception as why:
                name = getattr(payload, "orig_name", None) or None
                message = self.unreadable(name, why)
                raise gr.Error(message, print_exception=False) from None

    def recover(self, payload: Any, exc: Exception) -> Any:
        raise exc

    def unreadable(self, name: str | None, exc: BaseException) -> str:
        raise NotImplementedError


class ImageInput(_ReadableUpload, gr.Image):
    """`gr.Image` whose unreadable uploads get a message. Shown in the browser as a plain Image."""

    @classmethod
    def get_block_name(cls) -> str:
        return "image"

    def unreadable(self, name: str | None, exc: BaseException) -> str:
        return images.unreadable(name, exc)


class VideoInput(_ReadableUpload, gr.Video):
    """`gr.Video` whose unreadable uploads get a message. Shown in the browser as a plain Video."""

    @classmethod
    def get_block_name(cls) -> str:
        return "video"

    def unreadable(self, name: str | None, exc: BaseException) -> str:
        what = f"“{name}”" if name else "This file"
        return f"{what} is not a video that can be read. Upload an MP4, WebM or MOV file."


class AudioInput(_ReadableUpload, gr.Audio):
    """`gr.Audio` that reads what it can and words what it cannot.

    - Streams (`type="numpy"`): a chunk Gradio cannot decode (it needs ffmpeg for anything but
      WAV) is read with soundfile (WAV, FLAC, OGG, MP3) before giving up with a message.
    - Examples: Gradio probes each example file with ffprobe when a tab is built (about 65 ms a
      file); PCM WAV files, which every browser plays, skip it (most of start-up otherwise).
    Shown in the browser as a plain Audio.
    """

    @classmethod
    def get_block_name(cls) -> str:
        return "audio"

    def recover(self, payload: Any, exc: Exception) -> Any:
        path = getattr(payload, "path", None)
        if self.type != "numpy" or not path:
            raise exc
        import soundfile

        samples, rate = soundfile.read(path, dtype="float32", always_2d=False)
        return rate, samples

    def unreadable(self, name: str | None, exc: BaseException) -> str:
        from demos.media import audio

        return audio.unreadable(name, exc)

    def postprocess(self, value: Any) -> Any:
        if isinstance(value, (str, Path)) and Path(value).suffix.lower() == ".wav":
            import soundfile

            with contextlib.suppress(Exception):
                if soundfile.info(str(value)).subtype.startswith("PCM"):
                    return FileData(path=str(value), orig_name=Path(value).name)
        return super().postprocess(value)


def audio_input(what: str = "Speech") -> gr.Audio:
    """An upload or a recording, handed over as a file path for `demos.media.audio.load_audio`."""
    from demos.media import audio  # numpy and soundfile: only the speech tabs need them

    return AudioInput(
        sources=["upload", "microphone"],
        type="filepath",
        label=f"{what} ({audio.FORMATS}; up to {audio.max_seconds() / 60:.0f} min)",
    )


def session_state(value: Any = None) -> gr.State:
    """Per-browser-session memory (the last result, a live recording), dropped after the
    retention window (`GALLERY_KEEP_FILES_MINUTES`) like the files: a user's picture or voice
    does not stay in the server's memory either."""
    from demos.core import retention

    return gr.State(value, time_to_live=retention.keep_seconds())


def summary_line(info: dict[str, Any] | None) -> str:
    """Run info as one line a class can read: "cpu · PyTorch float32 · 27 ms · loaded in 1.8 s"."""
    if not info:
        return ""
    parts = [str(info.get("device", "?"))]
    if info.get("engine") or info.get("dtype"):
        parts.append(" ".join(str(info[k]) for k in ("engine", "dtype") if info.get(k)))
    speed = info.get("speed_ms") or {}
    if speed:
        total = sum(v for k, v in speed.items() if k != "first_token" and k != "first_output")
        parts.append(f"{total:,.0f} ms")
    if "real_time_factor" in info:
        parts.append(f"{info['real_time_factor']:.2f}x real time")
    if info.get("loaded_now") and info.get("load_ms"):
        parts.append(f"loaded in {info['load_ms'] / 1000:.1f} s")
    return " · ".join(parts)


def run_info() -> gr.JSON:
    """Run info as one human line, with the full JSON behind a closed accordion.

    The JSON component is what handlers return (the API's output is unchanged); the line follows
    it in the browser only.
    """
    line = gr.Markdown(elem_classes="run-line")
    with gr.Accordion("Run info (JSON: device, engine, load and stage times in ms)", open=False):
        info = gr.JSON(label="Run info")
    info.change(summary_line, info, line, api_visibility="private", queue=False)
    return info


def reporter(progress: gr.Progress | None) -> runtime.Progress | None:
    """Adapt Gradio's progress bar to the runtime's (fraction, message) callback."""
    if progress is None:
        return None

    def report(fraction: float, message: str) -> None:
        # Outside a Gradio event (a direct Python call) there is no bar to update.
        with contextlib.suppress(Exception):
            progress(fraction, desc=message)

    return report


def to_label(predictions: list[dict[str, Any]]) -> dict[str, float]:
    """[{label, score}] → the {label: score} that `gr.Label` shows, best first."""
    out: dict[str, float] = {}
    for p in sorted(predictions, key=lambda p: p["score"], reverse=True):
        out.setdefault(str(p["label"]), float(p["score"]))
    return out
