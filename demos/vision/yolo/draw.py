"""Boxes and "label score" tags drawn on an RGB image, after the detector's postprocess.

Drawn with PIL's bundled font, because ultralytics' own plotting downloads a font when a label is
not plain ASCII; one colour per class id from matplotlib's tab20.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

PALETTE = colormaps["tab20"]  # 20 distinct colours, one per class id (mod 20)


# helpers


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
