"""Boxes and "label score" tags drawn on an RGB image, and their legend, after postprocess.

Drawn with PIL's bundled font, because ultralytics' own plotting downloads a font when a label is
not plain ASCII; one colour per class id from matplotlib's tab20, the same in the legend (HTML:
one swatch per class with its count, under the line "1 forward pass · 38 ms · 5 boxes").
"""

from __future__ import annotations

import functools
import html
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# helpers


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled font: nothing to download
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


@functools.cache
def _palette():
    """matplotlib's tab20: 20 distinct colours, one per class id (mod 20); loaded on first use,
    not at start-up."""
    from matplotlib import colormaps

    return colormaps["tab20"]


def colour(class_id: int) -> tuple[int, int, int]:
    palette = _palette()
    r, g, b, _ = palette(class_id % palette.N)
    return round(r * 255), round(g * 255), round(b * 255)


def hex_colour(class_id: int) -> str:
    """The class's colour as CSS ("#1f77b4"), as its boxes are drawn."""
    return "#{:02x}{:02x}{:02x}".format(*colour(class_id))


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


LEGEND_CAPTION = (
    "YOLO looks at the whole image once: a single pass of the network proposes every box at the "
    "same time, so many objects cost no more than one. Colours match the boxes."
)


def legend(detections: list[dict[str, Any]], forward_ms: float) -> str:
    """HTML: "1 forward pass · 38 ms · 5 boxes", a caption, then each class in its box colour
    with its count, most first (as `counts`). `forward_ms` is the network's pass alone."""
    per_class: dict[str, list[int]] = {}  # label -> [class id, boxes]
    for d in detections:
        per_class.setdefault(d["label"], [d["class_id"], 0])[1] += 1
    items = []
    for label, (class_id, n) in sorted(per_class.items(), key=lambda kv: (-kv[1][1], kv[0])):
        fill, name = hex_colour(class_id), html.escape(label)
        items.append(
            f'<li data-label="{html.escape(label, quote=True)}" data-count="{n}" '
            f'data-colour="{fill}" style="display:inline-flex;align-items:center;gap:.35em;'
            f'margin:0 1em .3em 0"><span style="display:inline-block;width:1em;height:1em;'
            f'border-radius:3px;background:{fill}"></span>{name} × {n}</li>'
        )
    boxes = len(detections)
    head = f"1 forward pass · {forward_ms:.0f} ms · {boxes} box{'es' * (boxes != 1)}"
    listing = (
        f'<ul style="list-style:none;padding:0;margin:.4em 0 0">{"".join(items)}</ul>'
        if items
        else "<p>No object above the confidence threshold.</p>"
    )
    return (
        f'<div class="yolo-legend"><p class="yolo-pass"><strong>{head}</strong></p>'
        f'<p class="yolo-caption" style="opacity:.8;margin:.2em 0">{LEGEND_CAPTION}</p>'
        f"{listing}</div>"
    )
