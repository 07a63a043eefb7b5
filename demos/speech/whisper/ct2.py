"""Whisper on CTranslate2, through faster-whisper: int8 on CPU, float16 on CUDA.

References: SYSTRAN/faster-whisper (MIT), whose `WhisperModel.transcribe` is OpenAI's
`transcribe()` re-implemented on OpenNMT/CTranslate2 (MIT). The checkpoint is converted once
(`demos.speech.whisper.convert`) and quantised when it loads: `compute_type` int8 on CPU,
float16 on CUDA, as the registry's record says.

- **Decoding** is faster-whisper's own, with OpenAI's `transcribe()` settings (`DECODING`): the
  temperature fallback against repetition loops, `condition_on_previous_text` with its prompt
  reset above temperature 0.5, greedy search (`BEAM_SIZE` says why). `vad_filter=False`: Silero
  VAD would cut the clip before the model hears it, so the two engines would no longer read the
  same audio (their texts and times could not be compared), and Whisper's own no-speech
  probability already skips silent windows.
- **Language detection** is the same one decoder step over the language tokens as the
  transformers engine; its probabilities are kept, and the top five are in the result.
- **The same answer** as the transformers engine: `WhisperCT2.postprocess` returns the fields of
  `WhisperResult`, so the tab, the compare tab and the API cannot tell the engines apart but by
  the run info.
- **What cannot run here says why** (`ConversionFailed`, from the conversion or the load: on
  CUDA a first encoder pass finds a missing cuBLAS at load); the tab then runs the checkpoint on
  the transformers engine and the run info's `fallback` says why.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import torch

from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.core.runtime import Progress
from demos.media import audio
from demos.speech.whisper.convert import SIDECAR, ConversionFailed, converted
from demos.speech.whisper.pipeline import result_fields, task_and_language

__all__ = ["COMPUTE", "DECODING", "ENGINE", "ConversionFailed", "WhisperCT2", "warm_up"]

ENGINE = "ctranslate2"  # the engine key in the registry's record and the run info
COMPUTE = {"cpu": "int8", "cuda": "float16"}  # compute_type when the record names none
# Greedy, as OpenAI's transcribe() (its CLI's beam of 5 is not its function's default) and the
# transformers engine. whisper-base, the 152 s clip of bench/peer_whisper.py, int8, 2 threads,
# medians of 3 alternating runs: greedy 5.7 s and WER 0.14; beam 5 13.2 s and WER 0.22, since
# beam search conditioned on the previous window's text dropped hard-to-hear sentences (LDC93S1).
BEAM_SIZE = 1
# OpenAI's transcribe() defaults, which faster-whisper follows; spelled out so that the gallery
# and bench/peer_whisper.py's bare call decode alike.
DECODING: dict[str, Any] = {
    "beam_size": BEAM_SIZE,
    "best_of": 5,  # candidates when a window falls back to sampling
    "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),  # retried while a window fails a check below
    "compression_ratio_threshold": 2.4,  # gzip ratio of the text: above it, a repetition loop
    "log_prob_threshold": -1.0,  # mean token log-prob below it: a guess
    "no_speech_threshold": 0.6,  # with a low log-prob, a window this likely silent is skipped
    "condition_on_previous_text": True,  # OpenAI's default: the last window's text as a prompt
    "prompt_reset_on_temperature": 0.5,  # ... dropped after a window needed sampling
    "vad_filter": False,  # see the module docstring
}


# helpers


def _cpu_threads() -> int:
    """OMP_NUM_THREADS when set, else every core this process may use (CTranslate2's default
    is 4 whatever the machine)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        if hasattr(os, "sched_getaffinity"):
            return len(os.sched_getaffinity(0))
        return os.cpu_count() or 1


def warm_up(model: Any) -> None:
    """One encoder pass over a second of silence. On CUDA, CTranslate2 opens cuBLAS (its wheels
    want CUDA 12's libcublas.so.12, which a CUDA 13 PyTorch does not bring) at its first matrix
    product: a missing library then fails the load, which falls back, not a user's request."""
    import numpy as np
    from faster_whisper.audio import pad_or_trim

    model.encode(pad_or_trim(model.feature_extractor(np.zeros(audio.SAMPLE_RATE, np.float32))))


def _clamp(start: float, end: float, end_s: float) -> tuple[float, float]:
    """(start, end) in s, within the clip and in order, to 10 ms."""
    start = min(float(start), end_s)
    return round(start, 2), round(min(max(float(end), start), end_s), 2)


# classes


class WhisperCT2(Pipeline[Any, dict[str, Any]]):
    """faster-whisper's `WhisperModel` behind the demo contract; the same fields as `WhisperASR`."""

    def __init__(
        self, *, model: Any, device: torch.device, compute_type: str, n_params: int | None
    ) -> None:
        # Not Pipeline.__init__: there is no torch module to put in eval mode.
        self.model = model
        self.device = device
        self.dtype = compute_type
        self._lock = threading.Lock()  # one transcription at a time per loaded model
        self.n_params = n_params  # from the conversion; None for a folder converted elsewhere
        self.multilingual = bool(model.model.is_multilingual)

    @classmethod
    def load(
        cls,
        checkpoint: Checkpoint,
        device: torch.device,
        compute_type: str | None = None,
        progress: Progress | None = None,
    ) -> WhisperCT2:
        """Convert once if needed, then load at `compute_type` (int8 on CPU, float16 on CUDA)."""
        if device.type not in COMPUTE:
            raise ConversionFailed(f"CTranslate2 runs on CPU and CUDA, not {device.type}")
        folder = converted(checkpoint, progress)
        sidecar = folder / SIDECAR
        meta = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
        from faster_whisper import WhisperModel  # slow import, and only for this engine

        compute_type = compute_type or COMPUTE[device.type]
        try:
            model = WhisperModel(
                str(folder),
                device=device.type,
                device_index=device.index or 0,
                compute_type=compute_type,
                cpu_threads=_cpu_threads(),
            )
            if device.type == "cuda":
                warm_up(model)
        except (RuntimeError, ValueError) as exc:  # a damaged model.bin, an unsupported type
            raise ConversionFailed(
                f"CTranslate2 could not run {folder} at {compute_type} on {device.type} ({exc})"
            ) from exc
        return cls(
            model=model, device=device, compute_type=compute_type, n_params=meta.get("n_params")
        )

    def preprocess(self, inputs: Any, **params: Any) -> dict[str, Any]:
        task, language = task_and_language(params, self.multilingual)
        clip = audio.load_audio(inputs)
        return {
            "samples": clip.samples,
            "duration_s": clip.duration_s,
            "task": task,
            "language": language,
            "words": bool(params.get("word_timestamps")),
            "draft": bool(params.get("draft")),
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        decoding = {**DECODING, "temperature": (0.0,)} if batch["draft"] else DECODING
        segments, info = self.model.transcribe(
            batch["samples"],
            language=batch["language"] if self.multilingual else "en",
            task=batch["task"],
            word_timestamps=batch["words"],
            **decoding,
        )
        segments = list(segments)  # the generator decodes window by window, here under the lock
        return {
            "segments": segments,
            "language": info.language,
            "detected": self.multilingual and batch["language"] is None,
            "languages": info.all_language_probs,
            "duration_s": batch["duration_s"],
            "task": batch["task"],
        }

    def forward_steps(self, batch: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """One step: the whole pass (the live panel re-transcribes its buffer as one)."""
        yield self.forward(batch)

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        end_s = outputs["duration_s"]
        segments, words = [], []
        for seg in outputs["segments"]:
            # A confused model may stamp past the end of the audio; clamp to it (plain floats:
            # faster-whisper's word times are numpy's).
            start, end = _clamp(seg.start, seg.end, end_s)
            segments.append({"start": start, "end": end, "text": seg.text.strip()})
            for w in seg.words or ():
                if w.word.strip():
                    w_start, w_end = _clamp(w.start, w.end, end_s)
                    words.append({"word": w.word.strip(), "start": w_start, "end": w_end})
        return result_fields(outputs, segments, words)
