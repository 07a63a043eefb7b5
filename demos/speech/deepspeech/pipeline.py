"""DeepSpeech's pipeline: audio in, the graph's letter probabilities per frame, a transcript out.

The graph runs with LiteRT (`demos.speech.deepspeech.graph`), not torch, so of the base class
only the contract is used: preprocess → forward → postprocess, the lock and the per-stage times.
A whole file is one forward. A live recording goes through `Pipeline.stream` one chunk at a time:
preprocess resamples the chunk exactly (`live.LiveSession.take`), each forward step is one
acoustic-model call (16 steps of 20 ms, the LSTM state carried on in the session's stream), and
postprocess gives the greedy transcript so far; the chosen decoding (greedy, or beam search with
a KenLM scorer) runs once, on the last step of the recording.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from demos.core.errors import BadInput
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.media import audio
from demos.speech.deepspeech import files as deepspeech_files
from demos.speech.deepspeech.alphabet import alphabet_script, greedy_decode
from demos.speech.deepspeech.graph import DeepSpeechModel, DeepSpeechStream
from demos.speech.deepspeech.live import LiveSession, to_pcm16
from demos.speech.deepspeech.scorer import DEFAULT_BEAM_WIDTH
from demos.speech.transcript import Transcript

DECODERS = (
    ("greedy: the likeliest letter per 20 ms frame", "greedy"),
    ("beam search with the KenLM scorer (language model)", "beam"),
)
MAX_BEAM_WIDTH = 1024  # DeepSpeech's clients' largest default; wider only costs time
WEIGHT_TYPES = {0, 1, 3, 9}  # TFLite FLOAT32, FLOAT16, UINT8, INT8 tensors: the weights


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


@dataclasses.dataclass(kw_only=True)
class DeepSpeechResult(Transcript):
    """DeepSpeech's answer: the chosen decoding's text, the greedy one and how it was decoded."""

    greedy_text: str  # best letter per frame (what the language model started from)
    decoder: str  # "greedy" or "beam"
    frames: int  # 20 ms output frames in the clip
    frame_ms: float  # one frame, ms
    beam: dict[str, Any] | None = None  # width, alpha, beta, scorer, vocabulary (beam only)
    scorer_load_ms: float | None = None  # when this request loaded the scorer


class DeepSpeechASR(Pipeline[Any, dict[str, Any]]):
    """The TFLite graph with its audio buffering (a `DeepSpeechModel`) and the decoding."""

    def __init__(self, *, model: DeepSpeechModel, files: deepspeech_files.ModelFiles) -> None:
        # No torch module: LiteRT runs the graph, so the base class's model and device handling
        # is not used; its per-stage timing, its stream and its lock are.
        self.model = model
        self.files = files
        self.device, self.dtype = torch.device("cpu"), torch.float32
        self._lock = threading.Lock()

    @functools.cached_property
    def n_params(self) -> int:
        return count_parameters(str(self.files.model))

    @property
    def language(self) -> str:
        """What the model says it hears: its metadata's language tag, else its alphabet's script."""
        if self.model.language:
            return self.model.language
        script = alphabet_script(self.model.alphabet)
        stated = "not stated in the model's metadata"
        return f"{stated}; its alphabet is {script}" if script else stated

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
        """A whole clip (`inputs`), or with `session`, one chunk of a recording (`finish`: its
        last): int16 samples at the model's rate, and the stream that is to hear them."""
        session: LiveSession | None = params.get("session")
        if session is None:
            clip = audio.load_audio(inputs)
            rate = self.model.spec.sample_rate
            samples = audio.resample(clip.samples, clip.sample_rate, rate)
            return {
                "stream": self.model.create_stream(),
                "pcm": to_pcm16(samples),
                "finish": True,
                "duration_s": clip.duration_s,
            }
        pcm = session.take(inputs)
        if params.get("finish"):
            pcm = np.concatenate([pcm, session.flush()])
        return {
            "stream": session.stream,
            "pcm": pcm,
            "finish": bool(params.get("finish")),
            "duration_s": session.seconds,
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        stream: DeepSpeechStream = batch["stream"]
        stream.feed(batch["pcm"])
        return self._outputs(stream, batch)

    def forward_steps(self, batch: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """One acoustic-model call per step (S time steps of audio), then the end if asked."""
        stream: DeepSpeechStream = batch["stream"]
        spec = self.model.spec
        per_call = spec.n_steps * spec.step  # samples: 16 frames of 20 ms
        pcm = batch["pcm"]
        pieces = [pcm[i : i + per_call] for i in range(0, len(pcm), per_call)] or [pcm]
        for piece in pieces[:-1]:
            stream.feed(piece)
            yield {"probs": stream.probs(), "final": False, "duration_s": batch["duration_s"]}
        stream.feed(pieces[-1])
        yield self._outputs(stream, batch)

    def _outputs(self, stream: DeepSpeechStream, batch: dict[str, Any]) -> dict[str, Any]:
        probs = stream.finish()[1] if batch["finish"] else stream.probs()
        return {"probs": probs, "final": batch["finish"], "duration_s": batch["duration_s"]}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        """Greedy text; on the last step, beam search too when a decoder (`beam`) is given."""
        probs, beam = outputs["probs"], params.get("beam")
        greedy = greedy_decode(probs, self.model.alphabet)
        fields: dict[str, Any] = {
            "text": greedy,
            "greedy_text": greedy,
            "decoder": "greedy",
            "frames": len(probs),
            "frame_ms": 1000 * self.model.spec.step / self.model.spec.sample_rate,
            "duration_s": round(outputs["duration_s"], 3),
        }
        if outputs["final"] and beam is not None:
            width = params.get("beam_width") or DEFAULT_BEAM_WIDTH
            package = beam.package
            fields["text"] = beam.decode(probs, width)
            fields["decoder"] = "beam"
            fields["beam"] = {
                "width": width,
                "alpha": round(beam.alpha, 4),
                "beta": round(beam.beta, 4),
                "scorer": package.path.name if package else None,
                "vocabulary": len(beam.words),
            }
        return fields
