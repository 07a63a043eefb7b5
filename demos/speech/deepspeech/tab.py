"""DeepSpeech tab: Mozilla's open speech recogniser, run with LiteRT, from a file or live.

Model: Mozilla DeepSpeech 0.9.3 (December 2020), `deepspeech-0.9.3-models.tflite` from the v0.9.3
release of github.com/mozilla/DeepSpeech (about 47M parameters, stored as int8 in the TFLite
file), an implementation of Hannun et al. 2014, "Deep Speech: Scaling up end-to-end speech
recognition" (arXiv:1412.5567). Licence MPL-2.0. Coqui STT, its successor, ships models with the
same graph: Coqui's English v0.9.3 is a choice, any other via `GALLERY_DEEPSPEECH_MODEL` (a local
.tflite, with its `alphabet.txt` beside it). Files and their checks: `demos.speech.deepspeech.files`.

The graph runs with LiteRT on the CPU in float32 whatever the gallery's device (the run info says
"cpu (LiteRT)"), through `demos.speech.deepspeech.graph`, which buffers audio as the native client did.
Decoding: greedy CTC (best letter per 20 ms frame), or beam search with the release's KenLM
`.scorer` through flashlight-text (`demos.speech.deepspeech.scorer`), with the scorer's own alpha
and beta. Live: microphone chunks are resampled exactly (`demos.speech.deepspeech.live`) and fed to the
runner's stream as they arrive; the greedy transcript grows, and when the recording stops the
chosen decoding runs once over all of it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import gradio as gr
import numpy as np
import torch

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput, ModelUnavailable
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.media import assets, audio
from demos.speech.deepspeech import files as deepspeech_files
from demos.speech.deepspeech.graph import DeepSpeechModel, greedy_decode
from demos.speech.deepspeech.live import SESSIONS, LiveSession, to_pcm16
from demos.speech.deepspeech.scorer import DEFAULT_BEAM_WIDTH, BeamSearchDecoder, ScorerError

__all__ = ["SPEC", "build_tab", "download", "live_finish", "live_step", "predict"]

SPEC = registry.get("deepspeech")
DEVICE = "cpu (LiteRT)"  # LiteRT's CPU kernels, whatever runtime.device() chose
DECODERS = (
    ("greedy: the likeliest letter per 20 ms frame", "greedy"),
    ("beam search with the KenLM scorer (language model)", "beam"),
)
MAX_BEAM_WIDTH = 1024  # DeepSpeech's clients' largest default; wider only costs time
LIVE_EVERY_S = 0.5  # seconds of microphone audio per chunk the browser sends
WEIGHT_TYPES = {0, 1, 3, 9}  # TFLite FLOAT32, FLOAT16, UINT8, INT8 tensors: the weights
download = deepspeech_files.download


# helpers


def count_parameters(path: str) -> int:
    """Elements of the graph's constant weight tensors (int8 in the release, counted as one)."""
    from ai_edge_litert import schema_py_generated as schema

    with open(path, "rb") as f:
        model = schema.Model.GetRootAsModel(f.read(), 0)
    graph, total = model.Subgraphs(0), 0
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        buffer = model.Buffers(tensor.Buffer())
        named = (tensor.Name() or b"").decode("utf-8", "replace")
        if buffer is None or tensor.Type() not in WEIGHT_TYPES or named.startswith("metadata_"):
            continue
        if buffer.DataLength() or buffer.Size():  # data inline, or at an offset (large files)
            total += int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
    return total


def check_options(decoder: str | None, beam_width: Any) -> tuple[str, int]:
    mode = (decoder or "greedy").strip().lower()
    if mode not in {value for _, value in DECODERS}:
        raise BadInput(f"The decoding must be 'greedy' or 'beam', not {decoder!r}.")
    try:
        width = int(beam_width) if beam_width not in (None, "") else DEFAULT_BEAM_WIDTH
    except (TypeError, ValueError):
        raise BadInput(f"The beam width must be a whole number, not {beam_width!r}.") from None
    if not 1 <= width <= MAX_BEAM_WIDTH:
        raise BadInput(f"The beam width must be from 1 to {MAX_BEAM_WIDTH}, not {width}.")
    return mode, width


# classes


class DeepSpeechASR(Pipeline[Any, dict[str, Any]]):
    """The TFLite graph with its audio buffering (a `DeepSpeechModel`) and the decoding."""

    def __init__(self, *, model: DeepSpeechModel, files: deepspeech_files.ModelFiles) -> None:
        # No torch module: LiteRT runs the graph, so the base class's model and device handling
        # is not used; its per-stage timing and its lock are.
        self.model = model
        self.files = files
        self.device, self.dtype = torch.device("cpu"), torch.float32
        self._lock = threading.Lock()

    @functools.cached_property
    def n_params(self) -> int:
        return count_parameters(str(self.files.model))

    @classmethod
    def load(
        cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype
    ) -> DeepSpeechASR:
        files = deepspeech_files.resolve(checkpoint)
        model = DeepSpeechModel(files.model, alphabet=files.alphabet)
        pipe = cls(model=model, files=files)
        pipe.n_params  # noqa: B018 - read once here, while loading, not in the first request
        return pipe

    def preprocess(self, inputs: Any, **params: Any) -> dict[str, Any]:
        clip = audio.load_audio(inputs)
        return {"pcm": to_pcm16(clip.samples), "duration_s": clip.duration_s}

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        stream = self.model.create_stream()
        stream.feed(batch["pcm"])
        _, probs = stream.finish()
        return {"probs": probs, "duration_s": batch["duration_s"]}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        return self.decode(
            outputs["probs"],
            params.get("beam"),
            params.get("beam_width"),
            {"duration_s": round(outputs["duration_s"], 3)},
        )

    def decode(
        self,
        probs: np.ndarray,
        beam: BeamSearchDecoder | None,
        beam_width: int | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Greedy, and beam search when a decoder is given: the plain-Python result."""
        greedy = greedy_decode(probs, self.model.alphabet)
        result: dict[str, Any] = {"text": greedy, "greedy_text": greedy, "decoder": "greedy"}
        if beam is not None:
            width = beam_width or DEFAULT_BEAM_WIDTH
            result["text"] = beam.decode(probs, width)
            package = beam.package
            result["decoder"] = "beam"
            result["beam"] = {
                "width": width,
                "alpha": round(beam.alpha, 4),
                "beta": round(beam.beta, 4),
                "scorer": package.path.name if package else None,
                "vocabulary": len(beam.words),
            }
        result["frames"] = len(probs)
        result["frame_ms"] = 1000 * self.model.spec.step / self.model.spec.sample_rate
        return {**result, **(extra or {})}


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
) -> tuple[dict[str, Any], runtime.RunInfo]:
    """Transcribe `clip`: ({text, greedy_text, decoder, beam, frames, duration_s}, run info)."""
    mode, width = check_options(decoder, beam_width)
    ckpt = SPEC.checkpoint(checkpoint)
    pipe, run = _load(ckpt, progress)
    beam, scorer_ms = beam_decoder(pipe, ckpt, progress) if mode == "beam" else (None, None)
    result, run.speed_ms = pipe(clip, beam=beam, beam_width=width)
    if scorer_ms is not None:
        result["scorer_load_ms"] = round(scorer_ms, 1)
    return result, run


def _info(run: runtime.RunInfo, result: dict[str, Any], seconds: float) -> dict[str, Any]:
    info = audio.run_info(run, seconds)
    info.update({k: result[k] for k in ("decoder", "frames", "frame_ms") if k in result})
    for key in ("beam", "scorer_load_ms"):
        if key in result:
            info[key] = result[key]
    if result.get("decoder") == "beam":
        info["greedy_text"] = result["greedy_text"]  # what the language model changed
    return info


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


def _live_info(session: LiveSession, ckpt: Checkpoint, result: dict[str, Any] | None = None):
    _, run = _load(ckpt)
    run.speed_ms = {"inference": session.inference_ms}
    return _info(run, result or {}, session.seconds)


def live_step(
    token: str | None, chunk: Any, checkpoint: str | None = None, *, restart: bool = False
) -> tuple[str | None, str, dict[str, Any]]:
    """Feed one microphone chunk; returns (token, greedy transcript so far, run info).

    A chunk that arrives after its recording was finished is ignored (the browser may send one
    last chunk after "stop"), unless `restart`, which starts a new recording with it (the API).
    """
    token, session, ckpt = _live_session(token, checkpoint, restart=restart)
    with session.lock:
        if session.finished:
            return token, session.text, session.info
        session.push(chunk)
        text = session.stream.partial_text()
    return token, text, _live_info(session, ckpt)


def live_finish(
    token: str | None,
    decoder: str = "greedy",
    beam_width: int = DEFAULT_BEAM_WIDTH,
    checkpoint: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """End the recording: the chosen decoding over all of it (text, run info)."""
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
            probs = session.finish()
            beam, _ = beam_decoder(pipe, ckpt) if mode == "beam" else (None, None)
            result = pipe.decode(probs, beam, width, {"duration_s": round(session.seconds, 3)})
            session.text, session.info = result["text"], _live_info(session, ckpt, result)
        return session.text, session.info


# the tab


def build_tab() -> None:
    examples = assets.audio("en")  # the released model hears English only
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column():
            clip = ui.audio_input("English speech")
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
        mic = gr.Audio(sources=["microphone"], streaming=True, type="numpy", label="Microphone")
        live_text = gr.Textbox(label="Live transcript", lines=4)
        live_info = ui.run_info()
    token = gr.State(
        None
    )  # this page's recording, a key into demos.speech.deepspeech.live.SESSIONS
    finish = gr.Checkbox(False, visible=False, label="Finish the recording")

    @ui.guarded(SPEC)
    def handler(
        clip: str | None,
        decoder: str,
        beam_width: int,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        result, run = predict(clip, decoder, beam_width, checkpoint, ui.reporter(progress))
        return result["text"], _info(run, result, result["duration_s"])

    def start() -> tuple[str, str, None]:
        return SESSIONS.new_token(), "", None

    @ui.guarded(SPEC)
    def live_chunk(chunk: Any, token: str | None, checkpoint: str):
        token, text, info = live_step(token, chunk, checkpoint)
        return text, info, token

    @ui.guarded(SPEC)
    def live_stop(token: str | None, decoder: str, beam_width: int, checkpoint: str):
        text, info = live_finish(token, decoder, beam_width, checkpoint)
        return text, info, token

    @ui.guarded(SPEC)
    def api_chunk(
        chunk: Any, decoder: str, beam_width: int, checkpoint: str, finish: bool, token: str | None
    ):
        """One chunk per call for API clients; `finish` ends the recording (and its session)."""
        token, text, info = live_step(token, chunk, checkpoint, restart=True)
        if finish:
            text, info = live_finish(token, decoder, beam_width, checkpoint)
            SESSIONS.drop(token)
            token = None
        return text, info, token

    button.click(handler, [clip, decoder, beam_width, checkpoint], [text, info], api_name=SPEC.key)
    mic.start_recording(start, None, [token, live_text, live_info], api_visibility="private")
    mic.stream(
        live_chunk,
        [mic, token, checkpoint],
        [live_text, live_info, token],
        stream_every=LIVE_EVERY_S,
        time_limit=int(audio.max_seconds()),
        api_visibility="private",
    )
    mic.stop_recording(
        live_stop,
        [token, decoder, beam_width, checkpoint],
        [live_text, live_info, token],
        api_visibility="private",
    )
    # The browser's streaming protocol is not one gradio_client speaks, so API clients send
    # the recording one chunk per call to this hidden button's event (as YOLO's /yolo_stream).
    one_chunk = gr.Button("Transcribe one chunk", visible=False)
    one_chunk.click(
        api_chunk,
        [mic, decoder, beam_width, checkpoint, finish, token],
        [live_text, live_info, token],
        api_name=f"{SPEC.key}_stream",
    )
