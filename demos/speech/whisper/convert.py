"""Whisper checkpoints converted for CTranslate2, once, into the gallery's cache.

Reference: OpenNMT/CTranslate2 (MIT), its `TransformersConverter`; the engine that runs the
converted copy is `demos.speech.whisper.ct2`.

- A Hugging Face Whisper checkpoint (a hub id, pinned or not, or a local folder) is converted
  into `$GALLERY_HOME/whisper-ct2/<name>-<revision or content hash>/`: a pinned hub checkpoint is
  found there by its revision without asking the hub; a local folder by the sha256 of its files,
  so a changed checkpoint converts again.
- Atomic: the converter writes into a hidden `.part` folder beside the target, renamed only when
  complete, so a half conversion (a crash, a full disk) never takes the name; a process that
  loses the race to another uses the other's copy.
- A folder that already holds a CTranslate2 model (`model.bin` + a config without `model_type`,
  as faster-whisper's releases ship) is used as it is.
- The copy is stored in float16 (`STORED`); the engine quantises it when it loads (int8 on CPU,
  float16 on CUDA). float16 is half the disk of float32, loses nothing (OpenAI released
  Whisper's weights in float16) and loads as fast: whisper-base to int8 on CPU, 2 threads,
  median of 8 loads, 1.60 s from float16 against 1.64 s from float32. An int8 copy is smaller
  still, but a GPU would then run int8-rounded weights.
- What cannot be converted says why (`ConversionFailed`): a checkpoint that is not Whisper, one
  whose vocabulary, decoder context or window is not Whisper's (faster-whisper hard-codes them:
  the tiny random test models), a hub checkpoint that cannot be fetched, a cache folder that
  cannot be written (found before converting, not after).
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
from pathlib import Path
from typing import Any

from demos.core.errors import ModelUnavailable
from demos.core.registry import Checkpoint
from demos.core.runtime import Progress
from demos.core.weights import cache_dir

log = logging.getLogger(__name__)

CACHE = "whisper-ct2"  # $GALLERY_HOME/whisper-ct2/<name>-<tag>/
STORED = "float16"  # the converted copy's weights; quantised again at load (see above)
WHISPER_VOCAB = 51864  # tokens in English-only Whisper; multilingual ones have 51865 or more
WHISPER_CONTEXT = 448  # decoder positions: faster-whisper's max_length, hard-coded
WHISPER_FRAMES = 1500  # encoder positions: 30 s of 20 ms frames
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
