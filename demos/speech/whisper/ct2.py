"""Whisper on CTranslate2, through faster-whisper: one converted copy, int8 on CPU, float16 on CUDA.

References: OpenNMT/CTranslate2 (MIT), its `TransformersConverter`; SYSTRAN/faster-whisper (MIT),
whose `WhisperModel.transcribe` is OpenAI's `transcribe()` re-implemented on CTranslate2.

- **Conversion, once.** A Hugging Face Whisper checkpoint (a hub id, pinned or not, or a local
  folder) is converted by CTranslate2's converter into
  `$GALLERY_HOME/whisper-ct2/<name>-<revision or content hash>/`. The converter writes into a
  hidden `.part` folder beside it, which is renamed only when complete, so a half conversion
  (a crash, a full disk) never takes the name. A folder that already holds a CTranslate2 model
  (`model.bin` + a config without `model_type`, as faster-whisper's releases ship) is used as is.
- **One copy, quantised at load.** The copy is stored in float16 (`STORED`) and CTranslate2
  quantises it to the engine's precision when it loads (`compute_type`: int8 on CPU, float16 on
  CUDA, from the registry's record). float16 is half the disk of float32, loses nothing (OpenAI
  released Whisper's weights in float16) and loads as fast: whisper-base to int8 on CPU, 2
  threads, median of 8 loads, 1.60 s from float16 against 1.64 s from float32. An int8 copy is
  smaller still, but a GPU would then run int8-rounded weights.
- **Decoding** is faster-whisper's own, with OpenAI's `transcribe()` settings (`DECODING`): the
  temperature fallback against repetition loops, `condition_on_previous_text` with its prompt
  reset above temperature 0.5, greedy search (`BEAM_SIZE` says why). `vad_filter=False`: Silero
  VAD would cut the clip before the model hears it, so the two engines would no longer read the
  same audio (their texts and times could not be compared), and Whisper's own no-speech
  probability already skips silent windows. Language detection is the same one decoder step over
  the language tokens as the transformers engine, and its probabilities are kept: the top five
  are in the result.
- **What cannot run here says why** (`ConversionFailed`): a checkpoint that is not Whisper, one
  whose vocabulary or decoder context is not Whisper's (faster-whisper hard-codes both: the tiny
  random test models), a cache folder that cannot be written. The tab then falls back to the
  transformers engine and the run info says so.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from transformers.models.whisper.tokenization_whisper import LANGUAGES

from demos.core.errors import BadInput, ModelUnavailable
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.core.runtime import Progress
from demos.core.weights import cache_dir
from demos.media import audio
from demos.speech.whisper.pipeline import TASKS, language_code

log = logging.getLogger(__name__)

ENGINE = "ctranslate2"  # the engine key in the registry's record and the run info
CACHE = "whisper-ct2"  # $GALLERY_HOME/whisper-ct2/<name>-<tag>/
STORED = "float16"  # the converted copy's weights; quantised again at load (see above)
COMPUTE = {"cpu": "int8", "cuda": "float16"}  # compute_type when the record names none
# Greedy, as OpenAI's transcribe() (its CLI's beam of 5 is not its function's default) and the
# transformers engine. whisper-base, the 152 s clip of bench/peer_whisper.py, int8, 2 threads,
# medians of 3 alternating runs: greedy 5.7 s and WER 0.14; beam 5 13.2 s and WER 0.22, since
# beam search conditioned on the previous window's text dropped hard-to-hear sentences (LDC93S1).
BEAM_SIZE = 1
TOP_LANGUAGES = 5  # languages (with probabilities) kept from detection
WHISPER_VOCAB = 51864  # tokens in English-only Whisper; multilingual ones have 51865 or more
WHISPER_CONTEXT = 448  # decoder positions: faster-whisper's max_length, hard-coded
WHISPER_FRAMES = 1500  # encoder positions: 30 s of 20 ms frames
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
# Files of a Hugging Face Whisper folder that the conversion reads (weights, config, tokenizer).
SOURCE_FILES = ["*.json", "*.txt", "model*.safetensors*"]
COPIED = ("tokenizer.json", "preprocessor_config.json")  # faster-whisper reads them there
SIDECAR = "gallery.json"  # where a converted copy came from, and its parameter count


class ConversionFailed(ModelUnavailable):
    """This checkpoint cannot run on CTranslate2 here; the message says why (for the run info)."""


# helpers


def is_ct2_folder(path: Path) -> bool:
    """A CTranslate2 model folder: `model.bin`, and a config.json that is not a Hugging Face one."""
    config = path / "config.json"
    if not ((path / "model.bin").is_file() and config.is_file()):
        return False
    try:
        return "model_type" not in json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in text).strip("-.") or "whisper"


@functools.lru_cache(maxsize=256)
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    """sha256 of a file, hashed once per process while its size and mtime stay the same."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def content_hash(folder: Path) -> str:
    """sha256 over the folder's files (names and bytes): a changed checkpoint converts again."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        stat = path.stat()
        file_hash = _file_digest(path, stat.st_size, stat.st_mtime_ns)
        digest.update(f"{path.name}\0{file_hash}\n".encode())
    return digest.hexdigest()


def _hub_folder(checkpoint: Checkpoint) -> tuple[Path, str]:
    """A hub checkpoint's files in the Hugging Face cache, and the commit they are at."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(
            snapshot_download(
                checkpoint.id, revision=checkpoint.revision, allow_patterns=SOURCE_FILES
            )
        )
    except Exception as exc:  # offline, unknown repo, no network: the reason, in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConversionFailed(
            f"`{checkpoint.id}` could not be fetched to convert it ({type(exc).__name__}: "
            f"{first[:200]})"
        ) from exc
    return folder, folder.name  # snapshots/<commit>


def _check_whisper(folder: Path) -> dict[str, Any]:
    """The folder's config, if faster-whisper can run this checkpoint; else why not."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConversionFailed(f"{folder} has no readable config.json ({exc})") from exc
    kind = config.get("model_type")
    if kind != "whisper":
        raise ConversionFailed(f"{folder} is not a Whisper checkpoint (its model_type is {kind!r})")
    vocab = config.get("vocab_size", 0)
    context = config.get("max_target_positions", 0)
    frames = config.get("max_source_positions", 0)
    if vocab < WHISPER_VOCAB or context < WHISPER_CONTEXT or frames != WHISPER_FRAMES:
        raise ConversionFailed(
            f"faster-whisper runs Whisper's own vocabulary ({WHISPER_VOCAB:,}+ tokens), decoder "
            f"context ({WHISPER_CONTEXT} tokens) and 30 s window ({WHISPER_FRAMES} frames); this "
            f"checkpoint has {vocab:,} tokens, {context} positions and {frames} frames"
        )
    return config


class _Converter:
    """CTranslate2's `TransformersConverter`, reporting progress and counting parameters."""

    def __init__(self, source: Path, progress: Progress | None) -> None:
        from ctranslate2.converters import TransformersConverter  # slow import

        outer = self
        self.n_params: int | None = None

        class Converter(TransformersConverter):
            def load_model(self, model_class: Any, name: str, **kwargs: Any) -> Any:
                model = super().load_model(model_class, name, **kwargs)
                outer.n_params = sum(p.numel() for p in model.parameters())
                if progress:
                    progress(0.5, f"Converting to CTranslate2 ({STORED})…")
                return model

        copied = [name for name in COPIED if (source / name).is_file()]
        self.converter = Converter(str(source), copy_files=copied)

    def convert(self, out: Path) -> None:
        self.converter.convert(str(out), quantization=STORED, force=True)


def converted(checkpoint: Checkpoint, progress: Progress | None = None) -> Path:
    """The CTranslate2 folder for `checkpoint`, converting it once into the gallery's cache."""
    local = Path(checkpoint.id).expanduser()
    if local.is_dir() and is_ct2_folder(local):
        return local  # already CTranslate2 (faster-whisper's releases)
    root = cache_dir(CACHE)
    if not local.is_dir() and checkpoint.revision:  # pinned: the name is known without the hub
        pinned = root / f"{_slug(checkpoint.id)}-{checkpoint.revision[:12]}"
        if is_ct2_folder(pinned):
            return pinned
    if local.is_dir():
        _check_whisper(local)  # before hashing its bytes
        source, tag = local, content_hash(local)
    else:
        source, tag = _hub_folder(checkpoint)
        _check_whisper(source)
    dest = root / f"{_slug(local.name if local.is_dir() else checkpoint.id)}-{tag[:12]}"
    if is_ct2_folder(dest):
        return dest
    try:  # can the cache be written? Known before minutes of converting, not after
        root.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=root))
    except OSError as exc:
        raise ConversionFailed(
            f"the converted copy cannot be written to {root} ({exc.strerror or exc}); set "
            f"GALLERY_HOME to a writable folder"
        ) from exc
    try:
        if progress:
            progress(0.05, f"Reading {checkpoint.label} to convert it for CTranslate2…")
        start = time.perf_counter()
        converter = _Converter(source, progress)
        try:
            converter.convert(part)
            if not (part / "tokenizer.json").is_file():  # only vocab.json + merges.txt
                from transformers import AutoTokenizer

                AutoTokenizer.from_pretrained(str(source)).backend_tokenizer.save(
                    str(part / "tokenizer.json")
                )
        except OSError as exc:  # a full disk, a vanished folder
            raise ConversionFailed(
                f"converting to CTranslate2 failed writing {part} ({exc.strerror or exc})"
            ) from exc
        except Exception as exc:  # the converter's own refusal: unsupported layers, options
            raise ConversionFailed(
                f"CTranslate2's converter could not convert it ({type(exc).__name__}: "
                f"{str(exc).strip()[:200]})"
            ) from exc
        sidecar = {
            "source": checkpoint.id,
            "revision": checkpoint.revision or tag,
            "stored": STORED,
            "n_params": converter.n_params,
            "convert_s": round(time.perf_counter() - start, 1),
        }
        (part / SIDECAR).write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
        try:
            os.rename(part, dest)  # atomic: the name appears complete or not at all
        except OSError:
            if not is_ct2_folder(dest):  # not another process that finished first
                raise
        log.info("converted %s to %s in %.1f s", checkpoint.id, dest, sidecar["convert_s"])
        if progress:
            progress(0.9, f"Converted in {sidecar['convert_s']:.0f} s; loading…")
        return dest
    finally:
        shutil.rmtree(part, ignore_errors=True)


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


def _languages(probs: list[tuple[str, float]] | None) -> list[dict[str, Any]]:
    return [
        {"language": code, "name": LANGUAGES.get(code, code).title(), "probability": round(p, 4)}
        for code, p in (probs or [])[:TOP_LANGUAGES]
    ]


# classes


class WhisperCT2(Pipeline[Any, dict[str, Any]]):
    """faster-whisper's `WhisperModel` behind the demo contract; the same fields as `WhisperASR`."""

    def __init__(
        self, *, model: Any, device: torch.device, compute_type: str, n_params: int | None
    ) -> None:
        # Not Pipeline.__init__: there is no torch module to put in eval mode.
        import threading

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
        task = params.get("task") or "transcribe"
        if task not in TASKS:
            raise BadInput(f"The task must be one of {', '.join(TASKS)}, not {task!r}.")
        language = language_code(params.get("language"))
        if not self.multilingual and (task == "translate" or language not in (None, "en")):
            raise BadInput(
                "This checkpoint is English-only: it transcribes English. Pick a multilingual "
                "size to translate or to hear other languages."
            )
        clip = audio.load_audio(inputs)
        return {
            "samples": clip.samples,
            "duration_s": clip.duration_s,
            "task": task,
            "language": language,
            "words": bool(params.get("word_timestamps")),
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        segments, info = self.model.transcribe(
            batch["samples"],
            language=batch["language"] if self.multilingual else "en",
            task=batch["task"],
            word_timestamps=batch["words"],
            **DECODING,
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
        code = outputs["language"]
        return {
            "text": " ".join(s["text"] for s in segments if s["text"]),
            "language": code,
            "language_name": LANGUAGES.get(code, code).title(),
            "language_detected": outputs["detected"],
            "languages": _languages(outputs["languages"]) if outputs["detected"] else [],
            "task": outputs["task"],
            "duration_s": round(end_s, 3),
            "segments": segments,
            "words": words,
        }
