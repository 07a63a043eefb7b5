"""A random-weight YOLO26n (the real architecture), built offline from ultralytics' yolo26n.yaml."""

from __future__ import annotations

import math
from pathlib import Path

import torch

CLASS_PRIOR = 0.02  # the class scores' starting point; see `build`


def build(path: Path, seed: int = 0) -> Path:
    """Save a random YOLO26n with COCO's class names as `path` (a .pt file, about 5 MB).

    Ultralytics starts the class logits of a new head near -10 (a score of about 1e-4), so a
    random model finds nothing even at a confidence threshold of 0.001. The class biases are
    lifted to `CLASS_PRIOR` instead: boxes then appear at low thresholds (tests pass 0.001) and
    none at the default 0.25. Which boxes, and where, is left to the random weights.
    """
    from demos.vision.yolo import pipeline as yolo_model
    from demos.vision.yolo import weights as yolo_weights

    yolo_weights.configure_ultralytics()  # before ultralytics is imported: offline, safe load
    from ultralytics import YOLO

    torch.manual_seed(seed)
    model = YOLO("yolo26n.yaml")
    model.model.names = dict(enumerate(yolo_model.COCO_NAMES))
    head = model.model.model[-1]
    logit = math.log(CLASS_PRIOR / (1 - CLASS_PRIOR))
    with torch.no_grad():
        for module in head.modules():
            is_class_logit = isinstance(module, torch.nn.Conv2d) and module.bias is not None
            if is_class_logit and module.out_channels == head.nc:
                module.bias.fill_(logit)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def export(pt: Path, fmt: str, imgsz: int = 320) -> Path:
    """Ultralytics' own export of the model at `pt` ("onnx", "torchscript"), offline.

    320 px keeps the export small and quick; ultralytics then predicts at the export's size.
    Not simplified, so the ONNX export needs the `onnx` package only (not onnxslim).
    """
    from demos.vision.yolo import weights as yolo_weights

    yolo_weights.configure_ultralytics()
    from ultralytics import YOLO

    options = {"simplify": False} if fmt == "onnx" else {}
    return Path(YOLO(str(pt)).export(format=fmt, imgsz=imgsz, verbose=False, **options))
