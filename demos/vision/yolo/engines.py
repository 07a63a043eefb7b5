"""Which engine runs a YOLO checkpoint, and the ONNX export that ONNX Runtime runs.

Engines (the registry's record lists them fastest first; `demos.core.runtime.engine_for` picks):

- **ONNX Runtime on CPU.** YOLO26n on bus.jpg with 2 threads: ultralytics' PyTorch path 51-61 ms
  per forward pass, its ONNX Runtime export 33-34 ms, its OpenVINO export 34 ms (FACTS.md).
  ONNX Runtime is chosen over OpenVINO for the same speed without another runtime: it is
  already a requirement (the tab reads `.onnx` exports with it), and its export is one `.onnx`
  file where OpenVINO's is a folder of files per model.
- **PyTorch on CUDA** (float16) and everywhere else: onnxruntime's CPU wheel has no CUDA provider,
  and onnxruntime-gpu would bring a second CUDA stack beside torch's own.

A `.pt` checkpoint asked to run on ONNX Runtime is exported once by ultralytics
(`YOLO(pt).export(**EXPORT)`) into `$GALLERY_HOME/yolo/onnx/<key>/<name>.onnx`, where `<key>`
hashes the `.pt`'s bytes and the export settings: a changed checkpoint, or changed settings, export
again; the same file is never exported twice. A checkpoint that is already an export (`.onnx`,
`.tflite`, ...) runs on its own format's runtime whatever the engine menu says.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from demos.core import patches
from demos.core import weights as gallery_weights
from demos.core.runtime import Progress
from demos.vision.yolo.weights import configure_ultralytics, weights_dir

log = logging.getLogger(__name__)

PYTORCH = "pytorch"  # engine keys, as in the registry's record and the run info
ONNX_RUNTIME = "onnxruntime"
ENGINE_OF_FORMAT = {  # what runs each file format (a key of `formats.FORMATS`)
    "pt": PYTORCH,
    "onnx": ONNX_RUNTIME,
    "tflite": "litert",
    "torchscript": "torchscript",
    "openvino": "openvino",
}
LABELS = {  # shown to users
    PYTORCH: "PyTorch",
    ONNX_RUNTIME: "ONNX Runtime",
    "litert": "LiteRT",
    "torchscript": "TorchScript",
    "openvino": "OpenVINO",
}
EXPORT: dict[str, Any] = {  # ultralytics' `model.export` arguments for the ONNX Runtime engine
    "format": "onnx",
    "imgsz": 640,  # px: the size the COCO checkpoints were trained and are predicted at
    # Height and width left free: ultralytics then letterboxes to the smallest multiple of 32
    # that holds the image (640 x 480 for a 4:3 photo or a webcam frame), exactly as its PyTorch
    # path does, instead of padding every input to 640 x 640. Both engines see the same pixels
    # (their boxes agree to a fraction of a pixel) and ONNX Runtime does a quarter less work:
    # YOLO26n, 2 threads, medians: 640 x 640 static 65.9 ms, dynamic 61.9 ms; 640 x 480 49.8 ms.
    "dynamic": True,
    # Not simplified: onnxslim folds a quarter of the nodes away, but ONNX Runtime's own graph
    # optimisation does the same when the session starts (YOLO26n on a 640 x 480 input, 2
    # threads: 47.9 ms simplified, 46.1 ms not), and onnxslim is not a requirement.
    "simplify": False,
    # What ultralytics picks for torch 2.11 (`best_onnx_opset`), pinned so that the file, and the
    # cache key, do not change with a torch upgrade; every onnxruntime >= 1.14 runs it.
    "opset": 18,
    "batch": 1,
    "device": "cpu",  # traced on the CPU; the export runs wherever ONNX Runtime does
}
EXPORT_MESSAGE = "Exporting {name} to ONNX for ONNX Runtime (once; cached in {folder})…"


# helpers


def onnx_cache_dir() -> Path:
    return weights_dir() / "onnx"


def export_key(pt: Path) -> str:
    """16 hex digits of sha256(the checkpoint's bytes, the export settings)."""
    digest = hashlib.sha256(gallery_weights.sha256(pt).encode())
    digest.update(json.dumps(EXPORT, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def onnx_path(pt: Path) -> Path:
    """Where the ONNX export of the checkpoint at `pt` is cached (whether or not it exists)."""
    return onnx_cache_dir() / export_key(pt) / f"{pt.stem}.onnx"


def cause(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first.replace('ERROR ❌️', '').strip()}"[:240].rstrip(": ")


# the export


def export_onnx(pt: Path, progress: Progress | None = None) -> Path:
    """The ONNX export of the `.pt` checkpoint at `pt`, exported now unless it is cached.

    ultralytics writes its export beside the checkpoint it reads, so it is given a link to the
    checkpoint inside a private folder; the finished file is then renamed into the cache, so a
    reader never sees half a file and two processes exporting at once both end with a whole one.
    Raises whatever the export raised (the caller falls back to PyTorch and says why).
    """
    target = onnx_path(pt)
    if target.is_file():
        return target
    if progress:
        progress(0.0, EXPORT_MESSAGE.format(name=pt.name, folder=target.parent))
    log.info("exporting %s to %s", pt, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    configure_ultralytics()
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work:
        link = Path(work) / pt.name
        try:
            link.symlink_to(pt.resolve())
        except OSError:  # no symbolic links on this file system: a copy does the same
            link.write_bytes(pt.read_bytes())
        yolo = YOLO(str(link))
        about = {"checkpoint": pt.name, "params": sum(p.numel() for p in yolo.model.parameters())}
        with patches.kept_torch_threads():  # the export selects a device, which sets threads
            exported = Path(yolo.export(verbose=False, **EXPORT))
        target.with_suffix(".json").write_text(json.dumps(about))
        os.replace(exported, target)
    return target


def exported_params(onnx: Path) -> int | None:
    """The parameter count of the checkpoint an export in the cache was made from, if recorded."""
    try:
        return int(json.loads(onnx.with_suffix(".json").read_text())["params"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
