"""Image input, in one place: whatever arrives becomes an 8-bit RGB `PIL.Image`.

Gradio hands over PIL images in their own mode (the tabs ask for `image_mode=None`, because PIL's
own conversion of 16-bit greyscale to RGB clips everything above 255 to white). Transparent
pixels are put on white, as a browser shows them; 16-bit and float images are rescaled to 8 bits;
huge images are shrunk to at most `MAX_SIDE` pixels per side before any model sees them.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from demos.core.errors import BadInput

MAX_SIDE = 4096  # px; larger images are downscaled (every model here reads ≤ 640 px anyway)
# How many pixels PIL decodes is set once at start, with the other third-party patches
# (`demos.core.patches.MAX_IMAGE_PIXELS`); beyond it PIL raises and the user gets a message.


def _to_8bit(arr: np.ndarray) -> np.ndarray:
    """Scale an integer or float array to uint8, by its type's range (or its own for floats)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        return np.clip(arr.astype(np.float64) / top * 255.0, 0, 255).astype(np.uint8)
    arr = np.nan_to_num(arr.astype(np.float64))
    lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if lo >= 0.0 and hi <= 1.0:  # floats in [0, 1], the usual convention
        return (arr * 255.0 + 0.5).astype(np.uint8)
    span = hi - lo or 1.0
    return ((arr - lo) / span * 255.0 + 0.5).astype(np.uint8)


def _from_array(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise BadInput(f"Expected an image (H x W, H x W x 3 or H x W x 4), got shape {arr.shape}.")
    arr = _to_8bit(arr)
    return Image.fromarray(arr)  # uint8 H x W, H x W x 3, H x W x 4: L, RGB, RGBA


def unreadable(name: str | None, exc: BaseException) -> str:
    """The message for a file PIL cannot read, naming the file but not the server's folders."""
    if isinstance(exc, UnidentifiedImageError):
        reason = "its contents are not in any image format PIL knows"
    elif isinstance(exc, FileNotFoundError):
        reason = "the file is missing"
    elif "truncated" in str(exc).lower():
        reason = "the file is cut short"
    else:
        reason = re.sub(r"'?(/[^\s']+)+'?|<[^>]+>", "", str(exc)).strip(" :.") or "unreadable"
    what = f"“{name}”" if name else "This file"
    return f"{what} is not an image that can be read: {reason}. Upload a JPEG, PNG or WebP."


def to_rgb(image: Image.Image | np.ndarray | str | Path | bytes | None) -> Image.Image:
    """Any image (PIL of any mode, array, path or bytes) as 8-bit RGB, at most MAX_SIDE a side."""
    if image is None:
        raise BadInput("No image was given: upload a picture or pick an example.")
    name = Path(image).name if isinstance(image, (str, Path)) else None
    try:
        if isinstance(image, (str, Path)):
            image = Image.open(image)
        elif isinstance(image, bytes):
            image = Image.open(io.BytesIO(image))
        if isinstance(image, np.ndarray):
            image = _from_array(image)
        image.load()
    except Image.DecompressionBombError as exc:
        raise BadInput(f"This image is too large to open safely ({exc}).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, ImportError) as exc:
        raise BadInput(unreadable(name, exc)) from exc
    if image.width == 0 or image.height == 0:
        raise BadInput("This image is empty (0 pixels wide or high).")
    image = ImageOps.exif_transpose(image)  # phone photos: honour the orientation flag
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = Image.fromarray(_to_8bit(np.asarray(image)), "L")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image
