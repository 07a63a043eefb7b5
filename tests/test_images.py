"""Image input: any mode and size becomes 8-bit RGB; bad files get a clear message."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from demos.core.errors import BadInput
from demos.media import images


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1", "CMYK", "I", "F", "I;16"])
def test_every_mode_becomes_rgb(mode):
    image = Image.new("RGB", (20, 10), (200, 30, 30)).convert(mode)
    out = images.to_rgb(image)
    assert out.mode == "RGB" and out.size == (20, 10)


def test_sixteen_bit_greyscale_keeps_its_tones():
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    png = _png_bytes(Image.fromarray(ramp))  # saved and reopened as a 16-bit PNG
    assert Image.open(io.BytesIO(png)).mode.startswith("I")
    out = np.asarray(images.to_rgb(png))
    # PIL's own convert("RGB") would clip everything above 255 to white.
    assert out[..., 0].min() == 0 and out[..., 0].max() == 255
    assert len(np.unique(out[..., 0])) > 32


def test_transparent_pixels_show_on_white():
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert np.asarray(images.to_rgb(image))[0, 0].tolist() == [255, 255, 255]


def test_arrays_of_any_dtype():
    assert images.to_rgb(np.zeros((5, 6), dtype=np.uint8)).size == (6, 5)
    assert images.to_rgb(np.ones((5, 6, 3), dtype=np.float32)).getpixel((0, 0)) == (255, 255, 255)
    assert images.to_rgb(np.zeros((5, 6, 4), dtype=np.uint16)).mode == "RGB"
    with pytest.raises(BadInput, match="shape"):
        images.to_rgb(np.zeros((5, 6, 7)))


def test_huge_images_are_shrunk():
    out = images.to_rgb(Image.new("RGB", (images.MAX_SIDE * 2, 100)))
    assert max(out.size) == images.MAX_SIDE


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "No image"),
        (b"definitely not an image", "not an image"),
        (_png_bytes(Image.new("RGB", (10, 10)))[:40], "not an image"),  # truncated file
    ],
)
def test_bad_input_gets_a_clear_message(bad, message):
    with pytest.raises(BadInput, match=message):
        images.to_rgb(bad)
