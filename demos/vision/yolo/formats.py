"""Which Ultralytics files the YOLO tab reads, and a clear message for every other file.

Ultralytics runs its exports through the same `YOLO(path, task=...)` call as its PyTorch
checkpoints: `ultralytics.nn.autobackend.AutoBackend` picks a backend from the file's name. What
each format needs at run time (checked with ultralytics 8.4.190):

| format      | named                | runs on                          | class names from    |
|-------------|----------------------|----------------------------------|---------------------|
| PyTorch     | `*.pt`               | torch, weights_only (safe) load  | the checkpoint      |
| ONNX        | `*.onnx`             | onnxruntime                      | metadata_props      |
| TFLite      | `*.tflite`           | ai-edge-litert                   | metadata.json (zip) |
| TorchScript | `*.torchscript`      | torch.jit (torchvision's ops)    | extra/config.txt    |
| OpenVINO    | `*_openvino_model/`  | openvino (not a requirement)     | metadata.yaml       |

An export is used only when it carries Ultralytics' metadata (its task and class names), read
without loading the model (`BaseBackend.read_metadata`): a file from another tool, such as
Google's MobileNet `.tflite`, or a damaged one would otherwise fail deep inside a runtime, or
report boxes under class names made up by ultralytics.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from demos.core import registry
from demos.core.errors import ModelUnavailable

TASKS_WITH_BOXES = ("detect", "segment", "pose")  # models whose results carry `boxes`
OPENVINO_FOLDER = "_openvino_model"  # how ultralytics names an OpenVINO export's folder
READS = (
    "Ultralytics PyTorch `.pt` checkpoints and their exports: `.onnx`, `.tflite` and "
    "`.torchscript` files and `*_openvino_model/` folders"
)


# classes


@dataclass(frozen=True)
class Format:
    name: str  # what the user reads
    module: str | None = None  # the runtime it needs beyond torch (None: torch alone)
    package: str | None = None  # what `pip install` gives that module


FORMATS = {  # keyed by ultralytics' own format names (`AutoBackend._model_type`)
    "pt": Format("PyTorch"),
    "onnx": Format("ONNX", "onnxruntime", "onnxruntime"),
    "tflite": Format("TFLite", "ai_edge_litert", "ai-edge-litert"),
    "torchscript": Format("TorchScript"),
    "openvino": Format("OpenVINO", "openvino", "openvino"),
}


# helpers


def format_of(path: Path) -> str | None:
    """ "pt", "onnx", "tflite", "torchscript" or "openvino" (a folder); None for anything else."""
    if path.is_dir():
        return "openvino" if path.name.lower().endswith(OPENVINO_FOLDER) else None
    suffix = path.suffix.lower().removeprefix(".")
    return suffix if suffix in FORMATS and suffix != "openvino" else None


def unavailable(checkpoint_id: str, why: str) -> ModelUnavailable:
    """The message for a file the tab cannot use: why, what it reads, and how to fix it."""
    spec = registry.get("yolo")
    return ModelUnavailable(
        f"YOLO could not load `{checkpoint_id}`: {why}. The YOLO tab reads {READS}. Point "
        f"{spec.env_var} at one of those, or run `python -m demos.core.download yolo` to fetch "
        f"the default checkpoint."
    )


def unreadable(checkpoint_id: str, fmt: str, exc: BaseException) -> ModelUnavailable:
    """A runtime refused an export that looked right: say so in one line, without a traceback."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    cause = f"{type(exc).__name__}: {first.replace('ERROR ❌️', '').strip()}"[:240]
    return unavailable(
        checkpoint_id, f"its {FORMATS[fmt].name} runtime could not read it ({cause})"
    )


def check(path: Path, checkpoint_id: str) -> tuple[str, str]:
    """(format, task) of a file the tab can use; `ModelUnavailable` saying why for any other.

    A `.pt` checkpoint says its own task when loaded ("detect" is returned here); an export's
    task and class names come from its metadata.
    """
    fmt = format_of(path)
    if fmt is None:
        kind = "a folder that is not an OpenVINO export" if path.is_dir() else "not a format"
        raise unavailable(checkpoint_id, f"it is {kind} the tab reads")
    needs = FORMATS[fmt]
    if needs.module and importlib.util.find_spec(needs.module) is None:
        raise unavailable(
            checkpoint_id,
            f"{needs.name} models run on the `{needs.package}` package, which is not installed "
            f"here (`pip install {needs.package}`)",
        )
    if fmt == "pt":
        return fmt, "detect"
    from ultralytics.nn.backends.base import BaseBackend  # after configure_ultralytics

    metadata = BaseBackend.read_metadata(path)  # {} for a foreign, damaged or bare file
    task = metadata.get("task") if isinstance(metadata, dict) else None
    if not task or not metadata.get("names"):
        raise unavailable(
            checkpoint_id,
            f"it is not an Ultralytics YOLO export (this {needs.name} file carries no Ultralytics "
            f"metadata: no task, no class names), so it comes from another tool or is damaged",
        )
    if task not in TASKS_WITH_BOXES:
        raise unavailable(
            checkpoint_id,
            f"it is a {task} model, and this tab draws boxes (a detect, segment or pose model)",
        )
    return fmt, str(task)
