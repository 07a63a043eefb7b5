"""DeepSpeech tab: Mozilla's open speech recogniser, run with LiteRT, from a file or live.

Model: Mozilla DeepSpeech 0.9.3 (December 2020), `deepspeech-0.9.3-models.tflite` from the v0.9.3
release of github.com/mozilla/DeepSpeech (about 47M parameters, stored as int8 in the TFLite
file), an implementation of Hannun et al. 2014, "Deep Speech: Scaling up end-to-end speech
recognition" (arXiv:1412.5567). Licence MPL-2.0. Coqui STT, its successor, ships models with the
same graph: Coqui's English v0.9.3 is a choice, any other Coqui STT model via
`GALLERY_DEEPSPEECH_MODEL` (a local .tflite; its alphabet, audio parameters and language come
from the model's metadata, or from an `alphabet.txt` beside it). Files: `deepspeech.files`.

The graph runs with LiteRT on the CPU in float32 whatever the gallery's device (the run info says
"cpu (LiteRT)"), through `deepspeech.graph`, which buffers audio as the native client did; the
pipeline (`deepspeech.pipeline`) decodes greedily (best letter per 20 ms frame) or by beam search
with the release's KenLM `.scorer` through flashlight-text (`deepspeech.scorer`), with the
scorer's own alpha and beta. Live: each microphone chunk goes through the pipeline's stream
(resampled exactly by `deepspeech.live`, fed to the session's runner stream); the greedy
transcript grows, and when the recording stops the chosen decoding runs once over all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput, GalleryError, ModelUnavailable
from demos.core.registry import Checkpoint
from demos.media import assets, audio
from demos.speech.deepspeech import files as deepspeech_files
from demos.speech.deepspeech.live import SESSIONS, LiveSession
from demos.speech.deepspeech.pipeline import (
    DECODERS,
    MAX_BEAM_WIDTH,
    DeepSpeechASR,
    DeepSpeechResult,
    check_options,
)
from demos.speech.deepspeech.scorer import DEFAULT_BEAM_WIDTH, BeamSearchDecoder, ScorerError

__all__ = ["SPEC", "build_tab", "check_options", "download", "live_finish", "live_step", "predict"]

SPEC = registry.get("deepspeech")
DEVICE = "cpu (LiteRT)"  # LiteRT's CPU kernels, whatever runtime.device() chose
LIVE_EVERY_S = 0.5  # seconds of microphone audio per chunk the browser sends
download = deepspeech_files.download


@dataclass
class LiveUpdate:
    """What a live call answers: the recording's token, its transcript so far, the run info."""

    token: str | None  # the recording's key into `live.SESSIONS` (None once it is dropped)
    text: str
    info: dict[str, Any]


# the model, for the tab and the compare tabs


def _load(checkpoint: Checkpoint, progress: runtime.Progress | None = None):
    pipe, run = runtime.load_model(SPEC, checkpoint, DeepSpeechASR.load, progress)
    run.device, run.dtype = DEVICE, "float32"
    return pipe, run


def beam_decoder(
    pipe: DeepSpeechASR, checkpoint: Checkpoint, progress: runtime.Progress | None = None
) -> tuple[BeamSearchDecoder, float | None]:
    """The scorer's beam-search decoder (cached like a model); its load time if loaded now."""
    path = deepspeech_files.scorer_path(checkpoint, pipe.files.model)
    stat = path.stat()
    alphabet = "\x1f".join(pipe.model.alphabet)
    key = (SPEC.key, f"scorer:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{alphabet}", "cpu")
    try:
        loaded, now = runtime.CACHE.get(
            key, lambda: BeamSearchDecoder.from_scorer(path, pipe.model.alphabet), progress
        )
    except ScorerError as exc:
        raise ModelUnavailable(f"DeepSpeech could not use the scorer {path.name}: {exc}") from None
    return loaded.value, (loaded.load_ms if now else None)


def predict(
    clip: Any,
    decoder: str = "greedy",
    beam_width: int = DEFAULT_BEAM_WIDTH,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> DeepSpeechResult:
    """Transcribe `clip`: the text, the greedy text, how it was decoded, and run info."""
    mode, width = check_options(decoder, beam_width)
    ckpt = SPEC.checkpoint(checkpoint)
    pipe, run = _load(ckpt, progress)
    beam, scorer_ms = beam_decoder(pipe, ckpt, progress) if mode == "beam" else (None, None)
    fields, run.speed_ms = pipe(clip, beam=beam, beam_width=width)
    loaded = round(scorer_ms, 1) if scorer_ms is not None else None
    return DeepSpeechResult(info=run, scorer_load_ms=loaded, **fields)


def run_info(result: DeepSpeechResult) -> dict[str, Any]:
    """The run info the tab shows: plus the decoding, and what the language model changed."""
    info = result.run_info()
    info.update(decoder=result.decoder, frames=result.frames, frame_ms=result.frame_ms)
    if result.beam is not None:
        info["beam"] = result.beam
    if result.scorer_load_ms is not None:
        info["scorer_load_ms"] = result.scorer_load_ms
    if result.decoder == "beam":
        info["greedy_text"] = result.greedy_text
    return info


def language_line(checkpoint: str | None) -> str:
    """The loaded model's language, as its metadata gives it (empty if it did not load)."""
    try:
        pipe, _ = _load(SPEC.checkpoint(checkpoint))
    except GalleryError:
        return ""
    return f"**The model's language:** {pipe.language}"


# live


def _live_session(token: str | None, checkpoint: str | None, *, restart: bool):
    """The session for `token`, or a new one (then loading the model if needed)."""
    ckpt = SPEC.checkpoint(checkpoint)
    session = SESSIONS.get(token)
    if session is not None and session.checkpoint == ckpt.id and not (restart and session.finished):
        return token, session, ckpt
    pipe, _ = _load(ckpt)
    token = SESSIONS.create(pipe.model, ckpt.id, None if session is not None else token)
    return token, SESSIONS.get(token), ckpt


def _through_pipeline(
    session: LiveSession, ckpt: Checkpoint, chunk: Any, **params: Any
) -> DeepSpeechResult:
    """Run a chunk (or the end) of a recording through the pipeline's stream; the last result."""
    pipe, run = _load(ckpt)
    for fields in pipe.stream(chunk, session.speed_ms, session=session, **params):
        result = DeepSpeechResult(info=run, **fields)
    run.speed_ms = dict(session.speed_ms)  # the whole recording's, so far
    return result


def live_step(
    token: str | None, chunk: Any, checkpoint: str | None = None, *, restart: bool = False
) -> LiveUpdate:
    """Feed one microphone chunk; the greedy transcript so far.

    A chunk that arrives after its recording was finished is ignored (the browser may send one
    last chunk after "stop"), unless `restart`, which starts a new recording with it (the API).
    """
    token, session, ckpt = _live_session(token, checkpoint, restart=restart)
    with session.lock:
        if session.finished:
            return LiveUpdate(token, session.text, session.info)
        result = _through_pipeline(session, ckpt, chunk)
    return LiveUpdate(token, result.text, audio.run_info(result.info, session.seconds))


def live_finish(
    token: str | None,
    decoder: str = "greedy",
    beam_width: int = DEFAULT_BEAM_WIDTH,
    checkpoint: str | None = None,
) -> LiveUpdate:
    """End the recording: the chosen decoding over all of it."""
    mode, width = check_options(decoder, beam_width)
    session = SESSIONS.get(token)
    if session is None:
        raise BadInput("Nothing was recorded yet (or the recording expired): record again.")
    ckpt = SPEC.checkpoint(session.checkpoint)  # the model that heard it, whatever is picked now
    with session.lock:
        if not session.finished and session.source.frames == 0:
            SESSIONS.drop(token)
            raise BadInput("Nothing was recorded: press record, speak, then stop.")
        if not session.finished:
            pipe, _ = _load(ckpt)
            beam, _ = beam_decoder(pipe, ckpt) if mode == "beam" else (None, None)
            result = _through_pipeline(
                session, ckpt, None, finish=True, beam=beam, beam_width=width
            )
            session.finished = True
            session.text, session.info = result.text, run_info(result)
        return LiveUpdate(token, session.text, session.info)


# the handlers behind the tab (and its endpoints)


def transcribe(
    clip: str | None,
    decoder: str,
    beam_width: int,
    checkpoint: str,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[str, dict[str, Any]]:
    result = predict(clip, decoder, beam_width, checkpoint, ui.reporter(progress))
    return result.text, run_info(result)


def live_start() -> tuple[str, str, None]:
    return SESSIONS.new_token(), "", None


def live_chunk(chunk: Any, token: str | None, checkpoint: str):
    update = live_step(token, chunk, checkpoint)
    return update.text, update.info, update.token


def live_stop(token: str | None, decoder: str, beam_width: int, checkpoint: str):
    update = live_finish(token, decoder, beam_width, checkpoint)
    return update.text, update.info, update.token


def api_chunk(
    chunk: Any, decoder: str, beam_width: int, checkpoint: str, finish: bool, token: str | None
):
    """One chunk per call for API clients; `finish` ends the recording (and its session)."""
    update = live_step(token, chunk, checkpoint, restart=True)
    if finish:
        update = live_finish(update.token, decoder, beam_width, checkpoint)
        SESSIONS.drop(update.token)
        update.token = None
    return update.text, update.info, update.token


# the tab


def build_tab() -> gr.Textbox:
    examples = assets.audio("en")  # the released model hears English only
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column():
            clip = ui.audio_input("Speech in the model's language (English for the default)")
            decoder = gr.Radio(list(DECODERS), value="greedy", label="Decoding")
            beam_width = gr.Slider(
                1,
                MAX_BEAM_WIDTH,
                value=DEFAULT_BEAM_WIDTH,
                step=1,
                label="Beam width (beam search only)",
                info="The scorer is the release's .scorer beside the model (Mozilla's: 950 MB, "
                f"fetched on first use) or {deepspeech_files.SCORER_ENV}.",
            )
            checkpoint = ui.checkpoint_picker(SPEC)
            button = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Transcript", lines=4)
            language = gr.Markdown()
            info = ui.run_info()
    if examples:
        gr.Examples([[e] for e in examples], inputs=[clip])
    with gr.Accordion("Live: transcribe while you speak", open=True):
        gr.Markdown(
            "Press record and talk: each half second of audio goes through the network as it "
            "arrives (its LSTM state carried on), and the greedy transcript grows about a third "
            "of a second behind you. When you stop, the decoding chosen above runs once over the "
            "whole recording."
        )
        mic = ui.AudioInput(
            sources=["microphone"], streaming=True, type="numpy", label="Microphone"
        )
        live_text = gr.Textbox(label="Live transcript", lines=4)
        live_info = ui.run_info()
    token = ui.session_state(None)  # this page's recording, a key into deepspeech.live.SESSIONS
    finish = gr.Checkbox(False, visible=False, label="Finish the recording")
    guarded, private = ui.guarded(SPEC), {"api_visibility": "private"}
    button.click(
        guarded(transcribe),
        [clip, decoder, beam_width, checkpoint],
        [text, info],
        api_name=SPEC.key,
    ).success(language_line, [checkpoint], [language], **private)
    mic.start_recording(live_start, None, [token, live_text, live_info], **private)
    mic.stream(
        guarded(live_chunk),
        [mic, token, checkpoint],
        [live_text, live_info, token],
        stream_every=LIVE_EVERY_S,
        time_limit=int(audio.max_seconds()),
        **private,
    )
    mic.stop_recording(
        guarded(live_stop),
        [token, decoder, beam_width, checkpoint],
        [live_text, live_info, token],
        **private,
    ).success(language_line, [checkpoint], [language], **private)
    # The browser's streaming protocol is not one gradio_client speaks, so API clients send
    # the recording one chunk per call to this hidden button's event (as YOLO's /yolo_stream).
    one_chunk = gr.Button("Transcribe one chunk", visible=False)
    one_chunk.click(
        guarded(api_chunk),
        [mic, decoder, beam_width, checkpoint, finish, token],
        [live_text, live_info, token],
        api_name=f"{SPEC.key}_stream",
    )
    return text
