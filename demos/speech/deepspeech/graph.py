"""DeepSpeech: streaming speech-to-text with Mozilla's released TFLite graph, run by LiteRT.

Model: Mozilla DeepSpeech (Hannun et al., 2014, "Deep Speech: Scaling up end-to-end speech
recognition", arXiv 1412.5567), as released in 0.9.3: 26 MFCCs per 32 ms window every 20 ms,
each time step sees 9 frames of context on either side, three dense layers, one unidirectional
LSTM (2048 cells), two dense layers, a softmax over the alphabet plus the CTC blank (last).

Weights: `deepspeech-0.9.3-models.tflite` from https://github.com/mozilla/DeepSpeech/releases
(MPL-2.0). Coqui STT models share the graph (the same tensor names and metadata), so their
`.tflite` files run here too. Coqui's exporter stores the alphabet, sample rate, window, step and
language in `metadata_*` outputs (read here; an `alphabet.txt` given by the caller wins) and
leaves `mfccs` without a static shape until the graph has run once (its size is read after a run).

Mozilla's `deepspeech` and Coqui's `stt` wheels do not install on Python 3.11, so this module
drives the graph itself with `ai_edge_litert`, buffering audio the way their native client does:

    samples --(512-sample windows every 320)--> the graph's own `mfccs` subgraph, one window a call
    frames  --(9 zero frames before the first and after the last)--> time steps of 19 frames
    steps   --(16 at a time, LSTM state carried between calls)--> per-frame probabilities

`finish()` also turns the samples left over after the last full window (zero-padded to 512) into
one last frame, and feeds the last, partial batch zero-padded to 16 steps, keeping only the real
steps' outputs, as the native client does. Greedy decoding is in `alphabet`, beam search with a
KenLM `.scorer` in `scorer`.

Shapes: S time steps per call (`n_steps`, 16), C context frames per side (9), F MFCCs (26),
H LSTM cells (2048), K classes (29 for English), T frames in a clip.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.tools import flatbuffer_utils

from demos.speech.deepspeech.alphabet import (
    DEFAULT_ALPHABET,
    AlphabetError,
    greedy_decode,
    load_alphabet,
    parse_alphabet_blob,
)

PCM_SCALE = 1.0 / 32768  # int16 PCM -> [-1, 1), as the native client feeds `input_samples`
DEFAULT_SAMPLE_RATE = 16_000  # Hz, for graphs without `metadata_sample_rate`
DEFAULT_WIN_STEP_MS = 20  # for graphs without `metadata_feature_win_step`

INPUTS = ("input_node", "previous_state_c", "previous_state_h", "input_samples")
OUTPUTS = ("logits", "new_state_c", "new_state_h", "mfccs")
FEATURE_OUTPUTS = ("mfccs",)  # what the features-only copy of the graph computes


class DeepSpeechModelError(ValueError):
    """The file is not a usable DeepSpeech / Coqui STT TFLite graph (the message says why)."""


# helpers


def features_only_graph(model_bytes: bytes, outputs: Sequence[str]) -> bytes:
    """A copy of the graph that computes only `outputs` (and the operators they depend on).

    LiteRT's Python API runs every operator on each `invoke()`; the native client avoids running
    the whole acoustic model per 20 ms window by restricting the execution plan to the `mfccs`
    subgraph, which Python cannot do, so the window features run on this pruned copy instead.
    """
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    graph = model.subgraphs[0]
    names = [t.name.decode("utf-8", "replace") for t in graph.tensors]
    wanted = [names.index(name) for name in outputs]
    producer = {out: i for i, op in enumerate(graph.operators) for out in op.outputs}
    keep: set[int] = set()
    frontier = list(wanted)
    while frontier:
        op_index = producer.get(frontier.pop())
        if op_index is not None and op_index not in keep:
            keep.add(op_index)
            frontier.extend(t for t in graph.operators[op_index].inputs if t >= 0)
    graph.operators = [op for i, op in enumerate(graph.operators) if i in keep]
    used = {t for op in graph.operators for t in (*op.inputs, *op.outputs) if t >= 0}
    used.update(wanted)
    graph.inputs = [t for t in graph.inputs if t in used]
    graph.outputs = wanted
    model.signatureDefs = []
    # Drop the weights of everything pruned (most of the file for the 2048-cell model)
    live_buffers = {graph.tensors[t].buffer for t in used}
    for index, buffer in enumerate(model.buffers):
        if index not in live_buffers:
            buffer.data = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _meta_int(meta: dict[str, np.ndarray], name: str, default: int) -> int:
    return int(meta[name].reshape(-1)[0]) if name in meta else default


def _meta_language(meta: dict[str, np.ndarray]) -> str | None:
    """The `metadata_language` tag (e.g. "hy-Armn-AM"), or None where the exporter left its
    placeholder ("<language the model was trained on - IETF BCP 47 ...>") or nothing."""
    if "metadata_language" not in meta:
        return None
    raw = meta["metadata_language"].reshape(-1)[0]
    tag = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()
    return tag if tag and not tag.startswith("<") else None


def _by_name(details: list[dict], names: Sequence[str], kind: str, path: Path) -> dict[str, dict]:
    found = {d["name"]: d for d in details}
    missing = [name for name in names if name not in found]
    if missing:
        raise DeepSpeechModelError(
            f"{path.name}: no {kind} tensor named {', '.join(map(repr, missing))} "
            f"(the file's {kind}s: {', '.join(sorted(found))}); is it a DeepSpeech or Coqui STT "
            "TFLite export?"
        )
    return found


# classes


@dataclass(frozen=True)
class GraphSpec:
    """Sizes read from the graph's tensor shapes and `metadata_*` outputs, not hard-coded."""

    n_steps: int  # time steps per acoustic-model call (16 in the releases)
    n_context: int  # frames of context on each side of a time step (9)
    n_features: int  # MFCCs per frame (26)
    state_size: int  # LSTM cells (2048 in the releases)
    n_classes: int  # labels + CTC blank (29 for English)
    sample_rate: int  # Hz (16000)
    window: int  # samples per feature window (512 = 32 ms)
    step: int  # samples between window starts (320 = 20 ms)


class DeepSpeechModel:
    """A DeepSpeech / Coqui STT `.tflite` graph, with the native client's streaming buffers.

    Thread-safe: the interpreters are shared under a lock, each stream keeps its own LSTM state.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        alphabet: str | os.PathLike[str] | Sequence[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        """`alphabet`: a path to an `alphabet.txt` or a sequence of labels; by default the one
        the model embeds (`metadata_alphabet`), else English."""
        self.path = Path(model_path)
        if not self.path.is_file():
            raise FileNotFoundError(f"DeepSpeech model not found: {self.path}")
        try:  # from the path, so the weights are memory-mapped rather than copied
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise DeepSpeechModelError(f"{self.path.name}: not a loadable .tflite: {exc}") from exc
        inputs = _by_name(self._interpreter.get_input_details(), INPUTS, "input", self.path)
        outputs = _by_name(self._interpreter.get_output_details(), OUTPUTS, "output", self.path)
        self._in = {name: inputs[name]["index"] for name in INPUTS}
        self._out = {name: outputs[name]["index"] for name in OUTPUTS}
        metadata = [name for name in outputs if name.startswith("metadata_")]

        feature_graph = features_only_graph(self.path.read_bytes(), [*FEATURE_OUTPUTS, *metadata])
        self._features = Interpreter(model_content=feature_graph, num_threads=num_threads)
        self._features.allocate_tensors()
        self._features.invoke()  # constant `metadata_*` outputs are readable after one run
        feature_ins = {d["name"]: d["index"] for d in self._features.get_input_details()}
        feature_outs = {d["name"]: d["index"] for d in self._features.get_output_details()}
        meta = {name: self._features.get_tensor(feature_outs[name]) for name in metadata}
        self._samples_index = feature_ins["input_samples"]
        self._mfccs_index = feature_outs["mfccs"]
        self._lock = threading.Lock()

        _, n_steps, n_frames, n_features = (int(n) for n in inputs["input_node"]["shape"])
        sample_rate = _meta_int(meta, "metadata_sample_rate", DEFAULT_SAMPLE_RATE)
        step_ms = _meta_int(meta, "metadata_feature_win_step", DEFAULT_WIN_STEP_MS)
        window = int(np.prod(inputs["input_samples"]["shape"]))
        win_ms = _meta_int(meta, "metadata_feature_win_len", window * 1000 // sample_rate)
        self.spec = GraphSpec(
            n_steps=n_steps,
            n_context=(n_frames - 1) // 2,
            n_features=n_features,
            state_size=int(inputs["previous_state_c"]["shape"][-1]),
            n_classes=int(outputs["logits"]["shape"][-1]),
            sample_rate=sample_rate,
            window=window,
            step=sample_rate * step_ms // 1000,
        )
        if sample_rate * win_ms // 1000 != window:
            raise DeepSpeechModelError(
                f"{self.path.name}: the metadata says {win_ms} ms windows at {sample_rate} Hz, "
                f"but `input_samples` takes {window} samples"
            )
        # Coqui's exporter leaves `mfccs` without a static shape ([]) until the graph has run
        # once: read the size of what it gave on the run above when the graph does not say.
        declared = [int(n) for n in outputs["mfccs"]["shape"]]
        per_window = (
            int(np.prod(declared))
            if declared
            else self._features.get_tensor(self._mfccs_index).size
        )
        if per_window != n_features:
            raise DeepSpeechModelError(
                f"{self.path.name}: `mfccs` gives {per_window} values per window, "
                f"`input_node` expects {n_features}"
            )

        try:
            if alphabet is None and "metadata_alphabet" in meta:
                labels = parse_alphabet_blob(bytes(meta["metadata_alphabet"].reshape(-1)[0]))
            elif alphabet is None:
                labels = DEFAULT_ALPHABET
            elif isinstance(alphabet, str | os.PathLike):
                labels = load_alphabet(alphabet)
            else:
                labels = tuple(alphabet)
        except AlphabetError as exc:
            raise DeepSpeechModelError(f"{self.path.name}: {exc}") from exc
        if len(labels) + 1 != self.spec.n_classes:
            raise DeepSpeechModelError(
                f"{self.path.name}: the alphabet has {len(labels)} labels but the model outputs "
                f"{self.spec.n_classes} classes (labels + blank); pass the model's alphabet.txt"
            )
        self.alphabet = labels
        self.language = _meta_language(meta)

    def create_stream(self) -> DeepSpeechStream:
        return DeepSpeechStream(self)

    def transcribe(self, samples: np.ndarray) -> str:
        """Greedy transcript of a whole clip of 16 kHz mono int16 samples."""
        stream = self.create_stream()
        stream.feed(samples)
        return stream.finish()[0]

    def window_features(self, window: np.ndarray) -> np.ndarray:
        """MFCCs [F] of one window (float samples in [-1, 1), zero-padded up to `spec.window`),
        computed by the graph's own `mfccs` subgraph."""
        padded = np.zeros(self.spec.window, np.float32)
        padded[: len(window)] = window
        with self._lock:
            self._features.set_tensor(self._samples_index, padded)
            self._features.invoke()
            return self._features.get_tensor(self._mfccs_index).reshape(-1).copy()

    def infer(
        self, steps: np.ndarray, state: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """One acoustic-model call on `steps` [n ≤ S, 2C+1, F]: zero-pads to S steps and returns
        the probabilities [n, K] of the real steps and the new LSTM state (c, h), each [1, H]."""
        n = len(steps)
        batch = np.zeros((1, self.spec.n_steps, *steps.shape[1:]), np.float32)
        batch[0, :n] = steps
        with self._lock:
            self._interpreter.set_tensor(self._in["input_node"], batch)
            self._interpreter.set_tensor(self._in["previous_state_c"], state[0])
            self._interpreter.set_tensor(self._in["previous_state_h"], state[1])
            self._interpreter.invoke()
            probs = self._interpreter.get_tensor(self._out["logits"])
            new_c = self._interpreter.get_tensor(self._out["new_state_c"]).copy()
            new_h = self._interpreter.get_tensor(self._out["new_state_h"]).copy()
        return probs.reshape(-1, self.spec.n_classes)[:n].copy(), (new_c, new_h)


class DeepSpeechStream:
    """Feed audio in chunks of any size; the result does not depend on how it was chunked."""

    def __init__(self, model: DeepSpeechModel) -> None:
        self.model = model
        spec = model.spec
        self._audio = np.zeros(0, np.float32)  # samples from the start of the next window on
        # Feature frames not yet the centre of a processed time step; starts with C zero frames
        self._frames = np.zeros((spec.n_context, spec.n_features), np.float32)
        zeros = np.zeros((1, spec.state_size), np.float32)
        self._state = (zeros, zeros.copy())
        self._probs: list[np.ndarray] = []
        self._finished = False

    def feed(self, samples: np.ndarray) -> None:
        """Buffer 16 kHz mono int16 samples; runs the model on every complete 16-step batch."""
        if self._finished:
            raise RuntimeError("this stream is finished; create a new one")
        samples = np.asarray(samples)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise TypeError(f"expected 1-D int16 samples, got {samples.dtype} {samples.shape}")
        spec = self.model.spec
        audio = np.concatenate([self._audio, samples.astype(np.float32) * PCM_SCALE])
        n_windows = (len(audio) - spec.window) // spec.step + 1 if len(audio) >= spec.window else 0
        frames = [
            self.model.window_features(audio[i * spec.step : i * spec.step + spec.window])
            for i in range(n_windows)
        ]
        self._audio = audio[n_windows * spec.step :]
        self._push(frames)
        self._run_batches(final=False)

    def probs(self) -> np.ndarray:
        """Per-frame probabilities [T, K] of the batches processed so far."""
        if not self._probs:
            return np.zeros((0, self.model.spec.n_classes), np.float32)
        if len(self._probs) > 1:
            self._probs = [np.concatenate(self._probs)]  # joined once, not on every read
        return self._probs[0]

    def partial_text(self) -> str:
        """Greedy transcript of the batches processed so far (up to S steps behind the audio)."""
        return greedy_decode(self.probs(), self.model.alphabet)

    def finish(self) -> tuple[str, np.ndarray]:
        """Flush the buffers; returns the greedy transcript and per-frame probabilities [T, K]."""
        if self._finished:
            raise RuntimeError("this stream is already finished")
        spec = self.model.spec
        # What is left after the last full window becomes one more (zero-padded) window
        self._push([self.model.window_features(self._audio)])
        self._audio = self._audio[:0]
        self._push(list(np.zeros((spec.n_context, spec.n_features), np.float32)))
        self._run_batches(final=True)
        self._finished = True
        probs = self.probs()
        return greedy_decode(probs, self.model.alphabet), probs

    # internals

    def _push(self, frames: list[np.ndarray]) -> None:
        if frames:
            self._frames = np.concatenate([self._frames, np.stack(frames)])

    def _run_batches(self, *, final: bool) -> None:
        spec = self.model.spec
        width = 2 * spec.n_context + 1
        while (ready := len(self._frames) - width + 1) >= spec.n_steps or (final and ready > 0):
            n = min(ready, spec.n_steps)
            # [n, width, F]: time step t sees frames t .. t + 2C, centred on frame t + C
            steps = np.lib.stride_tricks.sliding_window_view(
                self._frames[: n + width - 1], width, axis=0
            ).transpose(0, 2, 1)
            probs, self._state = self.model.infer(steps, self._state)
            self._probs.append(probs)
            self._frames = self._frames[n:]
