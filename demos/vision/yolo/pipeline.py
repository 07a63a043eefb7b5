"""The YOLO tab's model code: an Ultralytics detector as preprocess -> forward -> postprocess.

The detector is a PyTorch `.pt` checkpoint or one of its exports (ONNX, TFLite, TorchScript,
OpenVINO; see `demos.vision.yolo.formats`), all loaded through `YOLO(path, task=...)`. Where the
weights come from, and how ultralytics is made offline-safe before it is imported, is in
`demos.vision.yolo.weights`; which engine runs a checkpoint (PyTorch, or ONNX Runtime on its
cached ONNX export), in `demos.vision.yolo.engines`. Boxes are drawn after postprocess
(`demos.vision.yolo.draw`).

Colour order: ultralytics reads numpy images as BGR and the gallery hands over RGB, so the
detector is given a BGR copy.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from demos.core import patches
from demos.core.errors import BadInput, GalleryError, ModelUnavailable
from demos.core.pipeline import Pipeline, Result, ui_only
from demos.core.registry import Checkpoint
from demos.core.runtime import Progress
from demos.media import images
from demos.vision.yolo import engines, formats
from demos.vision.yolo.weights import configure_ultralytics, weights_path

log = logging.getLogger(__name__)

IMGSZ = 640  # px, the longer side the COCO checkpoints were trained at (letterboxed)
DEFAULT_CONF = 0.25  # ultralytics' defaults
DEFAULT_IOU = 0.7
TASKS_WITH_BOXES = formats.TASKS_WITH_BOXES
_COCO = (  # the 80 COCO classes in index order, as the official checkpoints name them
    "person,bicycle,car,motorcycle,airplane,bus,train,truck,boat,traffic light,fire hydrant,"
    "stop sign,parking meter,bench,bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,"
    "backpack,umbrella,handbag,tie,suitcase,frisbee,skis,snowboard,sports ball,kite,"
    "baseball bat,baseball glove,skateboard,surfboard,tennis racket,bottle,wine glass,cup,"
    "fork,knife,spoon,bowl,banana,apple,sandwich,orange,broccoli,carrot,hot dog,pizza,donut,"
    "cake,chair,couch,potted plant,bed,dining table,toilet,tv,laptop,mouse,remote,keyboard,"
    "cell phone,microwave,oven,toaster,sink,refrigerator,book,clock,vase,scissors,teddy bear,"
    "hair drier,toothbrush"
)
COCO_NAMES: tuple[str, ...] = tuple(_COCO.split(","))


# helpers


def _predict(yolo: Any, bgr: np.ndarray, device: torch.device, half: bool, **params: Any) -> Any:
    """One `yolo.predict` on a BGR array, leaving the process's torch thread count alone."""
    with patches.kept_torch_threads():  # ultralytics' device selection sets it process-wide
        return yolo.predict(
            bgr,
            imgsz=IMGSZ,
            device=str(device),
            quantize=16 if half else None,
            verbose=False,
            **params,
        )[0]


def _is_ready(image: Any) -> bool:
    """Already what `images.to_rgb` makes (as the tab hands it over): 8-bit RGB, not too big."""
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
        and max(image.shape[:2]) <= images.MAX_SIDE
        and min(image.shape[:2]) > 0
    )


def _open(path: Path, fmt: str, task: str, checkpoint_id: str, device: torch.device, half: bool):
    """`YOLO(path, task=...)` for a checkpoint or an export, run once (which builds the predictor
    and, for an export, its runtime); a clear `ModelUnavailable` when it cannot."""
    from ultralytics import YOLO

    try:
        yolo = YOLO(str(path), task=task)  # a .pt says its own task; an export, its metadata
        if yolo.task not in TASKS_WITH_BOXES:
            raise ModelUnavailable(
                f"YOLO could not use `{checkpoint_id}`: it is a {yolo.task} model, and this tab "
                f"draws boxes (a detect, segment or pose checkpoint such as yolo26n.pt)."
            )
        with torch.inference_mode():  # the first call builds the predictor and fuses layers
            _predict(yolo, np.zeros((IMGSZ, IMGSZ, 3), np.uint8), device, half)
    except GalleryError:
        raise
    except Exception as exc:
        if fmt == "pt":
            raise  # the loader's own message: missing, damaged or unsafe checkpoint
        log.warning("reading %s as %s failed: %r", checkpoint_id, fmt, exc)
        raise formats.unreadable(checkpoint_id, fmt, exc) from exc
    return yolo


def _precision(yolo: Any, fmt: str, dtype: torch.dtype) -> str:
    """What the weights run at: the dtype for a .pt; for an export, what its metadata says, else
    what a TFLite file's weights are stored as (older exports record no arguments)."""
    if fmt == "pt":
        return str(dtype).removeprefix("torch.")
    backend = yolo.predictor.model
    metadata = getattr(backend, "metadata", None)
    args = metadata.get("args", {}) if isinstance(metadata, dict) else {}
    quantize = str(args.get("quantize") or "")
    if args.get("int8") or quantize in {"8", "int8"}:
        return "int8"
    if args.get("half") or quantize in {"16", "fp16"}:
        return "float16"
    interpreter = getattr(backend, "interpreter", None)  # LiteRT
    if interpreter is not None:
        stored = {np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
        if stored & {np.dtype(np.int8), np.dtype(np.uint8)}:
            return "int8"
        if np.dtype(np.float16) in stored:
            return "float16"
    return "float32"


# classes


@dataclasses.dataclass(kw_only=True)
class Detections(Result):
    """A detector's answer: boxes best first, objects per class, and the image with boxes drawn."""

    detections: list[dict[str, Any]]  # [{label, score, class_id, box: [x1, y1, x2, y2] px}]
    counts: dict[str, int]  # objects per class, most first
    annotated: np.ndarray | None = ui_only()  # H x W x 3 RGB, boxes drawn (after postprocess)
    ultralytics_ms: dict[str, float] = dataclasses.field(  # the detector's own stage times
        default_factory=dict, metadata={"api": False}
    )
    legend: str = ui_only("")  # HTML: the forward pass, its boxes, one swatch per class
    draw_ms: float = dataclasses.field(default=0.0, metadata={"api": False})  # boxes + legend
    note: str = dataclasses.field(  # why another engine ran than the one asked for ("": none)
        default="", metadata={"api": False}
    )


class Detector(Pipeline[Any, dict[str, Any]]):
    """An Ultralytics YOLO detector: RGB image in, boxes as plain Python out."""

    def __init__(
        self,
        *,
        yolo: Any,
        fmt: str = "pt",
        note: str = "",
        params: int | None = None,
        **kwargs: Any,
    ) -> None:
        # YOLO's own nn.Module for a .pt (its .train() would train); the runtime's wrapper
        # (ultralytics' AutoBackend, built by the first predict) for an export, whose `model`
        # is only a path.
        exported = not isinstance(yolo.model, torch.nn.Module)
        super().__init__(model=yolo.predictor.model if exported else yolo.model, **kwargs)
        self.yolo = yolo
        self.format = fmt  # a key of `formats.FORMATS`: pt, onnx, tflite, torchscript, openvino
        self.engine = engines.ENGINE_OF_FORMAT[fmt]  # what runs it: pytorch, onnxruntime, ...
        self.precision = _precision(yolo, fmt, self.dtype)  # float32, float16, int8
        self.note = note  # why it runs on another engine than the one asked for ("": it does not)
        self._params = params  # an export of a .pt: the checkpoint's count, recorded at export
        self.names = {int(k): str(v) for k, v in yolo.names.items()}
        self._ids = {v.lower(): k for k, v in reversed(self.names.items())}

    @functools.cached_property
    def n_params(self) -> int | None:
        """Parameters of a PyTorch checkpoint (or of the one the gallery exported); None for an
        export given as such (its runtime holds them)."""
        if self.format != "pt":
            return self._params
        return sum(p.numel() for p in self.model.parameters())

    @property
    def class_names(self) -> list[str]:
        return list(self.names.values())

    @classmethod
    def load(
        cls,
        checkpoint: Checkpoint,
        device: torch.device,
        dtype: torch.dtype,
        *,
        engine: str = engines.PYTORCH,
        progress: Progress | None = None,
    ) -> Detector:
        """The detector for `checkpoint` on `engine` (a key of `demos.vision.yolo.engines`).

        A `.pt` asked to run on ONNX Runtime runs its cached ONNX export (made now if needed);
        when that export fails, it runs on PyTorch and `note` says why. An export runs on its own
        format's runtime, whatever the engine.
        """
        configure_ultralytics()
        path = weights_path(checkpoint)
        fmt, task = formats.check(path, checkpoint.id)
        note = ""
        if fmt == "pt" and engine == engines.ONNX_RUNTIME:
            try:
                onnx = engines.export_onnx(path, progress)
                _, onnx_task = formats.check(onnx, checkpoint.id)
                yolo = _open(onnx, "onnx", onnx_task, checkpoint.id, device, half=False)
                params = engines.exported_params(onnx)
                return cls(yolo=yolo, fmt="onnx", params=params, device=device, dtype=dtype)
            except Exception as exc:  # the checkpoint itself may still load: try it on PyTorch
                log.warning("ONNX export of %s failed; running it on PyTorch: %r", path, exc)
                note = (
                    f"ONNX Runtime did not run {checkpoint.id}: exporting it to ONNX failed "
                    f"({engines.cause(exc)}), so it ran on PyTorch."
                )
        half = dtype == torch.float16
        yolo = _open(path, fmt, task, checkpoint.id, device, half)
        return cls(yolo=yolo, fmt=fmt, note=note, device=device, dtype=dtype)

    def class_ids(self, selected: list[str] | None) -> list[int] | None:
        """Class names → ids for the filter; None (all classes) when nothing is selected."""
        wanted = [s.strip() for s in selected or [] if s and s.strip()]
        if not wanted:
            return None
        unknown = [w for w in wanted if w.lower() not in self._ids]
        if unknown:
            known = ", ".join(self.class_names[:10])
            raise BadInput(
                f"This model has no class {', '.join(map(repr, unknown))}. It knows "
                f"{len(self.names)} classes: {known}{', …' if len(self.names) > 10 else ''}."
            )
        return sorted({self._ids[w.lower()] for w in wanted})

    def preprocess(self, inputs: Any, **params: Any) -> dict[str, Any]:
        conf = float(params.get("conf", DEFAULT_CONF))
        iou = float(params.get("iou", DEFAULT_IOU))
        if not 0.0 <= conf <= 1.0:
            raise BadInput(f"The confidence threshold is a number from 0 to 1, not {conf}.")
        if not 0.0 < iou <= 1.0:
            raise BadInput(f"The IoU threshold is a number above 0 and at most 1, not {iou}.")
        rgb = inputs if _is_ready(inputs) else np.asarray(images.to_rgb(inputs))  # H x W x 3
        return {
            "bgr": cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),  # ultralytics reads arrays as BGR
            "conf": conf,
            "iou": iou,
            "classes": self.class_ids(params.get("classes")),
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        half = self.dtype == torch.float16
        params = {k: batch[k] for k in ("conf", "iou", "classes")}
        result = _predict(self.yolo, batch["bgr"], self.device, half, **params)
        boxes = result.boxes
        return {
            "xyxy": boxes.xyxy.float().cpu().numpy(),  # px in the input image
            "conf": boxes.conf.float().cpu().numpy(),
            "cls": boxes.cls.cpu().numpy().astype(int),
            "speed": dict(result.speed),  # ultralytics' own preprocess / inference / NMS, ms
        }

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        """{detections best first, counts per class, ultralytics_ms}: plain Python."""
        detections = [
            {
                "label": self.names.get(int(c), str(int(c))),
                "score": float(s),
                "class_id": int(c),
                "box": [float(v) for v in box],  # x1, y1, x2, y2
            }
            for box, s, c in zip(outputs["xyxy"], outputs["conf"], outputs["cls"], strict=True)
        ]
        detections.sort(key=lambda d: d["score"], reverse=True)
        counts = Counter(d["label"] for d in detections)
        return {
            "detections": detections,
            "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
            "ultralytics_ms": outputs["speed"],
        }
