"""Figures of the vision tabs, drawn after postprocess from what the model that just ran returned.

Each returns an RGB array (H x W x 3, uint8) for a `gr.Image`, so the tab shows exactly what was
drawn here and the time to draw it is measured here (matplotlib's Agg canvas, no pyplot: safe
from several request threads). Each takes well under 150 ms (tests/test_vision.py times them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

FLOAT_COLOUR = "#4c72b0"  # ordinary convolutions, float weights
LEAN_COLOUR = "#dd8452"  # depthwise separable, int8 weights
MISSING = "n/a"


# helpers


def _figure(width_in: float, height_in: float) -> Any:
    from matplotlib.figure import Figure

    # Margins set by hand (see the callers): a constrained layout costs about 40 ms a figure.
    return Figure(figsize=(width_in, height_in), dpi=100)


def _pixels(fig: Any) -> np.ndarray:
    """The figure rasterised: H x W x 3 uint8."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def human(n: float | None, unit: str = "") -> str:
    """3506153 → '3.51M', 14_400_000 → '14.4M'; None → 'n/a'."""
    if n is None:
        return MISSING
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.3g}{suffix}{unit}"
    return f"{n:.3g}{unit}"


# MobileNetV2: depthwise separable against ordinary convolutions


def separable_chart(blocks: Sequence[dict[str, Any]]) -> np.ndarray:
    """Per block, the weights of its depthwise + pointwise pair against an ordinary k x k
    convolution of the same shape (c → c_out), with the totals in the title."""
    fig = _figure(7.5, 3.4)
    ax = fig.add_subplot()
    x = np.arange(len(blocks))
    full = np.array([b["full"] for b in blocks], float) / 1e3
    lean = np.array([b["separable"] for b in blocks], float) / 1e3
    ax.bar(x - 0.2, full, 0.4, color=FLOAT_COLOUR, label="ordinary k×k conv: k²·c·c_out")
    ax.bar(x + 0.2, lean, 0.4, color=LEAN_COLOUR, label="depthwise k²·c + pointwise c·c_out")
    ax.set_xticks(x, [str(i + 1) for i in x], fontsize=8)
    ax.set_xlabel("depthwise block, input to output")
    ax.set_ylabel("weights (thousands)")
    total_full, total_lean = full.sum() * 1e3, lean.sum() * 1e3
    ratio = total_full / total_lean if total_lean else 0.0
    ax.set_title(
        f"{len(blocks)} blocks: {human(total_lean)} weights separable vs {human(total_full)} "
        f"as ordinary convolutions ({ratio:.1f}x fewer)",
        fontsize=10,
    )
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.09, right=0.99, bottom=0.14, top=0.9)
    return _pixels(fig)


# compare: size and speed of the models that just ran


def footprint_chart(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """Three panels, one bar per model: parameters (millions), weight files (MB), inference
    (ms). `rows`: [{model, params, file_bytes, inference_ms}], a value None when not known."""
    panels = (
        ("params", "parameters (millions)", 1e-6),
        ("file_bytes", "weight files (MB)", 1e-6),
        ("inference_ms", "inference (ms, this machine)", 1.0),
    )
    height = 0.8 + 0.4 * max(len(rows), 1)  # inches: a title band and a band per model
    fig = _figure(9.0, height)
    names = [r["model"] for r in rows]
    y = np.arange(len(rows))
    for i, (key, title, scale) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        values = [r.get(key) for r in rows]
        known = [v * scale if v is not None else 0.0 for v in values]
        colours = [LEAN_COLOUR if "MobileNet" in n else FLOAT_COLOUR for n in names]
        ax.barh(y, known, color=colours)
        top = max(known, default=0.0) or 1.0
        for yi, v, shown in zip(y, values, known, strict=True):
            text = MISSING if v is None else f"{shown:.3g}"
            ax.text(shown + top * 0.02, yi, text, va="center", fontsize=8)
        ax.set_xlim(0, top * 1.3)
        ax.set_yticks(y, names if i == 0 else [""] * len(names), fontsize=9)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.17, right=0.98, bottom=0.3 / height, top=1 - 0.35 / height)
    fig.subplots_adjust(wspace=0.25)
    return _pixels(fig)


# ViT: the image as a sentence of patches


def patch_grid(image_size: int, patch_size: int) -> int:
    """Patches per side: 224 / 16 = 14, so 14² = 196 patches (the model config's numbers)."""
    return image_size // patch_size


def patch_sentence(
    image: Image.Image,
    image_size: int,
    patch_size: int,
    weights: Sequence[float] | None = None,
    gap: int = 2,
) -> np.ndarray:
    """The image as ViT sees it (resized to `image_size`), cut into its patches with a gap
    between them: the words of its sentence, read left to right, top to bottom. With `weights`
    (one per patch, max 1: an attention rollout), each patch is as bright as the class token's
    weight on it; the rest fade towards black."""
    side = patch_grid(image_size, patch_size)
    view = np.asarray(
        image.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR),
        np.float32,
    )[: side * patch_size, : side * patch_size]
    zoom = max(1, 448 // (side * patch_size))  # about 450 px across, whatever the model
    cells = view.reshape(side, patch_size, side, patch_size, 3)
    if weights is not None:
        w = np.asarray(weights, np.float32).reshape(side, 1, side, 1, 1)
        cells = cells * (0.12 + 0.88 * w)  # a patch with no weight keeps a trace of itself
    cell = patch_size * zoom
    out = np.full((side * (cell + gap) + gap, side * (cell + gap) + gap, 3), 255, np.uint8)
    tiles = cells.repeat(zoom, axis=1).repeat(zoom, axis=3).clip(0, 255).astype(np.uint8)
    for r in range(side):
        for c in range(side):
            y, x = gap + r * (cell + gap), gap + c * (cell + gap)
            out[y : y + cell, x : x + cell] = tiles[r, :, c]
    return out
