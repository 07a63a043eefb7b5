"""The YOLO tab's model code: detection with ultralytics, and drawing the boxes.

Where the weights come from, and how ultralytics is made offline-safe before it is imported, is
in `demos.vision.yolo.weights`.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from demos.core.errors import BadInput, ModelUnavailable
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.media import images
from demos.vision.yolo.weights import configure_ultralytics, weights_path

log = logging.getLogger(__name__)

IMGSZ = 640  # px, the longer side the COCO checkpoints were trained at (letterboxed)
DEFAULT_CONF = 0.25  # ultralytics' defaults
DEFAULT_IOU = 0.7
TASKS_WITH_BOXES = ("detect", "segment", "pose")  # checkpoints whose results carry `boxes`
PALETTE = colormaps["tab20"]  # 20 distinct colours, one per class id (mod 20)
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


# drawing


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled font: nothing to download
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def colour(class_id: int) -> tuple[int, int, int]:
    r, g, b, _ = PALETTE(class_id % PALETTE.N)
    return round(r * 255), round(g * 255), round(b * 255)


def draw_detections(rgb: np.ndarray, detections: list[dict[str, Any]]) -> np.ndarray:
    """Boxes and "label score" tags on a copy of an RGB image; best detections drawn last."""
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    side = (image.width + image.height) / 2
    line = max(2, round(side * 0.003))  # px, as ultralytics scales its boxes
    font = _font(max(12, round(side * 0.025)))
    pad = max(1, line // 2 + 1)
    for d in sorted(detections, key=lambda d: d["score"]):
        fill = colour(d["class_id"])
        x1, y1, x2, y2 = d["box"]
        draw.rectangle((x1, y1, x2, y2), outline=fill, width=line)
        text = f"{d['label']} {d['score']:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        height = bottom - top + 2 * pad
        y = y1 - height if y1 - height >= 0 else y1  # above the box, or inside it at the top
        draw.rectangle((x1, y, x1 + right - left + 2 * pad, y + height), fill=fill)
        ink = (0, 0, 0) if sum(fill) > 3 * 140 else (255, 255, 255)  # readable on light or dark
        draw.text((x1 + pad - left, y + pad - top), text, fill=ink, font=font)
    return np.array(image)


# classes


class Detector(Pipeline[Any, dict[str, Any]]):
    """An Ultralytics YOLO detector: RGB image in, boxes and an annotated copy out."""

    def __init__(self, *, yolo: Any, **kwargs: Any) -> None:
        super().__init__(model=yolo.model, **kwargs)  # the nn.Module: YOLO's own .train() trains
        self.yolo = yolo
        self.names = {int(k): str(v) for k, v in yolo.names.items()}
        self._ids = {v.lower(): k for k, v in reversed(self.names.items())}

    @property
    def class_names(self) -> list[str]:
        return list(self.names.values())

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> Detector:
        configure_ultralytics()
        path = weights_path(checkpoint)
        from ultralytics import YOLO

        yolo = YOLO(str(path))
        if yolo.task not in TASKS_WITH_BOXES:
            raise ModelUnavailable(
                f"YOLO could not use `{checkpoint.id}`: it is a {yolo.task} model, and this tab "
                f"draws boxes (a detect, segment or pose checkpoint such as yolo26n.pt)."
            )
        detector = cls(yolo=yolo, device=device, dtype=dtype)
        with torch.inference_mode():  # the first call builds the predictor and fuses layers
            detector.forward(detector.preprocess(np.zeros((IMGSZ, IMGSZ, 3), np.uint8)))
        return detector

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
        rgb = np.array(images.to_rgb(inputs))  # H x W x 3, uint8, RGB
        return {
            "bgr": np.ascontiguousarray(rgb[:, :, ::-1]),  # ultralytics reads arrays as BGR
            "rgb": rgb,
            "conf": conf,
            "iou": iou,
            "classes": self.class_ids(params.get("classes")),
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        # ultralytics' device selection calls torch.set_num_threads for the whole process (cores
        # - 1, at most 8): every other tab would run on that many threads afterwards. Put back
        # what the process had.
        threads = torch.get_num_threads()
        try:
            result = self.yolo.predict(
                batch["bgr"],
                conf=batch["conf"],
                iou=batch["iou"],
                classes=batch["classes"],
                imgsz=IMGSZ,
                device=str(self.device),
                half=self.dtype == torch.float16,
                verbose=False,
            )[0]
        finally:
            torch.set_num_threads(threads)
        boxes = result.boxes
        return {
            "xyxy": boxes.xyxy.float().cpu().numpy(),  # px in the input image
            "conf": boxes.conf.float().cpu().numpy(),
            "cls": boxes.cls.cpu().numpy().astype(int),
            "speed": dict(result.speed),  # ultralytics' own preprocess / inference / NMS, ms
            "rgb": batch["rgb"],
        }

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
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
            "annotated": draw_detections(outputs["rgb"], detections),
            "ultralytics_ms": outputs["speed"],
        }
