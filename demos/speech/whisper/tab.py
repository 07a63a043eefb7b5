"""Whisper tab: transcribe or translate speech, with the language it heard and timestamps.

Model: Whisper base (`openai/whisper-base`, 74M), Radford et al. 2022, "Robust Speech Recognition
via Large-Scale Weak Supervision" (arXiv:2212.04356). Weights: Apache-2.0 on the Hugging Face
Hub; OpenAI's code: MIT. Trained on 680,000 hours of web audio in 99 languages. How a clip is
decoded (language detection, the guard against loops, timestamps, long-form): the pipeline,
`demos.speech.whisper.pipeline`.

Engines (the registry's record, fastest first): CTranslate2 through faster-whisper (int8 on CPU,
float16 on CUDA; `demos.speech.whisper.ct2`, which converts a checkpoint once), then transformers
(PyTorch). A checkpoint CTranslate2 cannot run (not Whisper's vocabulary, a cache that cannot be
written) runs on transformers instead, and the run info's `fallback` says why.

Live microphone: chunks accumulate in an `AudioStream`; the growing buffer is re-transcribed
through the pipeline's stream (its lock and timing) about once a second, less often when the
machine is slower than real time, and once more when the recording stops, so the last words
are heard too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from demos.core import registry, runtime, ui
from demos.core.registry import Engine
from demos.media import assets, audio
from demos.speech.transcript import word_rows
from demos.speech.whisper import ct2
from demos.speech.whisper.pipeline import (
    TASKS,
    WINDOW_S,
    WhisperASR,
    WhisperResult,
    language_choices,
    language_code,
)

__all__ = ["SPEC", "WINDOW_S", "build_tab", "language_code", "live_finish", "live_step", "predict"]

log = logging.getLogger(__name__)

SPEC = registry.get("whisper")
LIVE_EVERY_S = 1.0  # re-transcribe the live buffer after at least this much new audio
LIVE_DETECT_S = 3.0  # the language is re-detected until this much audio, then kept
LIVE_WINDOW_S = 25.0  # then start a new window: the text so far is kept, the audio dropped
STAGES = ("preprocess", "inference", "postprocess")  # what a pass costs, from the pipeline


# the model, for the tab and the compare tab


@dataclass
class EngineRunInfo(runtime.RunInfo):
    """The run info of a request that asked for an engine that could not run the checkpoint."""

    fallback: str | None = None  # why the engine asked for did not run, in one sentence


def _runs_here(engine: Engine) -> bool:
    return runtime.device().type in engine.devices and runtime.engine_available(engine)


def _load(
    checkpoint: str | None,
    progress: runtime.Progress | None = None,
    engine: str | None = None,
) -> tuple[WhisperASR | ct2.WhisperCT2, runtime.RunInfo]:
    """The pipeline on `engine` (a key of the record's engines; "" or None: the fastest here)."""
    ckpt, chosen = SPEC.checkpoint(checkpoint), runtime.engine_for(SPEC, engine)
    if chosen.key != ct2.ENGINE:
        return runtime.load_model(SPEC, ckpt, WhisperASR.load, progress, engine=chosen)

    def load(c: registry.Checkpoint, dev: Any, _dtype: Any) -> ct2.WhisperCT2:
        compute = chosen.precision_on(dev.type, ct2.COMPUTE.get(dev.type, "float32"))
        return ct2.WhisperCT2.load(c, dev, compute, progress)

    try:
        return runtime.load_model(SPEC, ckpt, load, progress, engine=chosen)
    except ct2.ConversionFailed as exc:
        other = next((e for e in SPEC.engines if e.key != ct2.ENGINE and _runs_here(e)), None)
        if other is None:
            raise
        log.warning("Whisper %s on %s: %s; running on %s", ckpt.id, chosen.key, exc, other.key)
        pipe, info = runtime.load_model(SPEC, ckpt, WhisperASR.load, progress, engine=other)
        reason = f"{chosen.label} could not run {ckpt.label}: {exc}"
        return pipe, EngineRunInfo(**vars(info), fallback=reason)


def predict(
    clip: Any,
    task: str = "transcribe",
    language: str | None = None,
    word_timestamps: bool = False,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
    engine: str | None = None,
) -> WhisperResult:
    """Transcribe (or translate) `clip`: text, language, segments, words and run info.

    `engine` is a key of the record's engines ("ctranslate2", "pytorch"); by default the
    fastest that runs here."""
    pipe, info = _load(checkpoint, progress, engine)
    fields, info.speed_ms = pipe(
        clip, task=task, language=language, word_timestamps=word_timestamps
    )
    return WhisperResult(info=info, **fields)


def examples() -> list[list[Any]]:
    """[clip, task, language] rows. English is left to detection; other languages are named,
    since whisper-base hears espeak-ng's German as Yiddish (see assets/README.md)."""
    rows = []
    for path in assets.audio():
        code = Path(path).name.split("-")[1]  # speech-<language>-<what>.wav
        rows.append([path, "transcribe", "" if code == "en" else language_code(code) or ""])
    return rows


# live


@dataclass
class LiveState:
    """What the live tab remembers between microphone chunks."""

    stream: audio.AudioStream = field(default_factory=audio.AudioStream)
    committed: str = ""  # text of earlier windows
    current: str = ""  # text of the window being recorded
    transcribed_s: float = 0.0  # buffer length at the last transcription
    wait_s: float = LIVE_EVERY_S  # new audio needed before the next transcription
    language: str | None = None  # detected once, then kept (saves a pass per update)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(t for t in (self.committed, self.current) if t)


def live_step(
    state: LiveState | None,
    chunk: Any,
    task: str = "transcribe",
    language: str | None = None,
    checkpoint: str | None = None,
    engine: str | None = None,
) -> LiveState:
    """Append one microphone chunk; re-transcribe the buffer when enough new audio arrived."""
    state = state or LiveState()
    state.stream.append(chunk)
    if state.stream.duration_s - state.transcribed_s < state.wait_s:
        return state
    clip = state.stream.audio()
    if clip.duration_s < audio.MIN_SECONDS or abs(clip.samples).max() < audio.SILENCE_PEAK:
        if state.stream.duration_s >= LIVE_WINDOW_S:  # a long silence: drop it
            state.stream, state.transcribed_s = audio.AudioStream(), 0.0
        return state  # nothing said yet
    pipe, run = _load(checkpoint, engine=engine)
    params = {"task": task, "language": language or state.language, "word_timestamps": False}
    for fields in pipe.stream(clip, run.speed_ms, **params):
        result = WhisperResult(info=run, **fields)
    if not language and state.language is None and clip.duration_s >= LIVE_DETECT_S:
        state.language = result.language  # then kept: one pass less per update
    state.current = result.text
    state.transcribed_s = state.stream.duration_s
    # When the machine is slower than real time, wait for as much audio as a pass takes.
    state.wait_s = max(LIVE_EVERY_S, sum(run.speed_ms.get(s, 0.0) for s in STAGES) / 1000)
    state.info = result.run_info()
    if state.stream.duration_s >= LIVE_WINDOW_S:  # a new window keeps each pass short
        state.committed, state.current = state.text, ""
        state.stream, state.transcribed_s = audio.AudioStream(), 0.0
    return state


def live_finish(
    state: LiveState | None,
    task: str = "transcribe",
    language: str | None = None,
    checkpoint: str | None = None,
    engine: str | None = None,
) -> LiveState | None:
    """When the recording stops: transcribe the audio that arrived since the last pass."""
    if state is None or state.stream.duration_s <= state.transcribed_s:
        return state
    state.wait_s = 0.0  # whatever is left, however little
    return live_step(state, None, task, language, checkpoint, engine)


# the handlers behind the tab


def transcribe(
    clip: str | None,
    task: str,
    language: str,
    words: bool,
    checkpoint: str,
    engine: str = "",
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[str, str, list[list[Any]], list[list[Any]], dict[str, Any], dict[str, float] | None]:
    result = predict(clip, task, language, words, checkpoint, ui.reporter(progress), engine)
    how = "detected" if result.language_detected else "as chosen"
    top = {f"{t['name']} ({t['language']})": t["probability"] for t in result.languages}
    return (
        result.text,
        f"{result.language_name} ({result.language}, {how})",
        word_rows(result.segments, "text"),
        word_rows(result.words),
        result.run_info(),
        top or None,
    )


def live(
    chunk: Any, state: LiveState | None, task: str, language: str, checkpoint: str, engine: str = ""
):
    state = live_step(state, chunk, task, language, checkpoint, engine)
    return state.text, state.info or None, state


def live_stop(state: LiveState | None, task: str, language: str, checkpoint: str, engine: str = ""):
    state = live_finish(state, task, language, checkpoint, engine)
    return (state.text, state.info or None, state) if state else ("", None, None)


def _engine_choices() -> list[tuple[str, str]]:
    first = next((e for e in SPEC.engines if _runs_here(e)), SPEC.engines[0])
    return [(f"default: {first.label}", "")] + [(e.label, e.key) for e in SPEC.engines]


# the tab


def build_tab() -> None:
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column():
            clip = ui.audio_input("Speech")
            with gr.Row():
                task = gr.Radio(
                    list(TASKS),
                    value="transcribe",
                    label="Task",
                    info="translate: speech in any language → English text",
                )
                language = gr.Dropdown(
                    language_choices(), value="", label="Spoken language", info="or auto-detect"
                )
            words = gr.Checkbox(label="Word timestamps", value=False)
            checkpoint = ui.checkpoint_picker(SPEC)
            engine = gr.Dropdown(
                choices=_engine_choices(),
                value="",
                label="Engine",
                info="CTranslate2 converts the checkpoint once (int8 on CPU, float16 on CUDA)",
            )
            button = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Text", lines=5)
            heard = gr.Textbox(label="Language")
            top_languages = gr.Label(
                label="Languages heard (top 5, when detected)", num_top_classes=5
            )
            segments = gr.Dataframe(
                headers=["start (s)", "end (s)", "text"], label="Segments", wrap=True
            )
            word_table = gr.Dataframe(
                headers=["start (s)", "end (s)", "word"], label="Words (when asked for)"
            )
            info = ui.run_info()
    if rows := examples():
        gr.Examples(rows, inputs=[clip, task, language])
    with gr.Accordion("Live: transcribe while you speak", open=False):
        gr.Markdown(
            "Press record and talk: the text is redone about once a second from everything "
            f"said so far (a new window starts every {LIVE_WINDOW_S:.0f} s). Uses the task, "
            "language, checkpoint and engine above."
        )
        mic = ui.AudioInput(
            sources=["microphone"], streaming=True, type="filepath", label="Microphone"
        )
        live_text = gr.Textbox(label="Live text", lines=4)
        live_info = ui.run_info()
        state = ui.session_state(None)

    button.click(
        ui.guarded(SPEC)(transcribe),
        [clip, task, language, words, checkpoint, engine],
        [text, heard, segments, word_table, info, top_languages],
        api_name=SPEC.key,
    )
    mic.start_recording(
        lambda: (None, "", None), None, [state, live_text, live_info], api_visibility="private"
    )
    mic.stream(
        ui.guarded(SPEC)(live),
        [mic, state, task, language, checkpoint, engine],
        [live_text, live_info, state],
        stream_every=1.0,
        time_limit=int(audio.max_seconds()),
        api_visibility="private",
    )
    mic.stop_recording(
        ui.guarded(SPEC)(live_stop),
        [state, task, language, checkpoint, engine],
        [live_text, live_info, state],
        api_visibility="private",
    )
