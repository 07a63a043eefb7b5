"""Each third-party patch (`demos.core.patches`) checked twice: the behaviour it answers is still
there (else the patch should go), and the patch works."""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from gradio import processing_utils
from PIL import Image

from demos.core import patches
from demos.core.errors import BadInput
from demos.media import images

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> str:
    """Run `code` in a fresh interpreter (no gallery patch applied); its stdout."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A 1x1 PNG whose header claims `width` x `height`: PIL's size check runs at open."""
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


# 1. Gradio's output cache


def test_gradio_still_rewrites_an_output_that_is_already_cached(tmp_path, monkeypatch):
    patches.apply()
    original = patches.ORIGINALS["save_pil_to_cache"]
    writes: list[str] = []
    real_write = Path.write_bytes

    def counting(self, data):
        writes.append(self.name)
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", counting)
    image = Image.new("RGB", (8, 8), "red")
    first = original(image, str(tmp_path), format="png")
    second = original(image, str(tmp_path), format="png")
    assert first == second and len(writes) == 2, "Gradio fixed the race: drop patch 1"


def test_concurrent_identical_outputs_are_always_whole_files(tmp_path):
    patches.apply()
    rng = np.random.default_rng(0)
    # Large enough that writing takes a while: unpatched, ~800 of 3,000 reads here saw a
    # truncated (mostly empty) file.
    image = Image.fromarray(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8))
    bad: list[int] = []
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            processing_utils.save_pil_to_cache(image, str(tmp_path), format="png")

    def reader():
        path = processing_utils.save_pil_to_cache(image, str(tmp_path), format="png")
        for _ in range(1000):
            data = Path(path).read_bytes()
            if not data.endswith(b"IEND\xaeB`\x82"):  # every PNG ends with this chunk
                bad.append(len(data))

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    reader()
    stop.set()
    for t in threads:
        t.join()
    assert bad == [], f"{len(bad)} reads saw a partial file"
    assert list(tmp_path.rglob("*.partial")) == []


# 2. PIL's decompression-bomb limit


def test_pil_alone_refuses_a_large_scan(tmp_path):
    scan = _png_claiming(tmp_path / "scan.png", 15_000, 15_000)
    code = (
        f"import PIL.Image\ntry:\n    PIL.Image.open({str(scan)!r})\n"
        "except PIL.Image.DecompressionBombError:\n    print('refused')"
    )
    assert _python(code) == "refused", "PIL's default takes 225 M pixels now: drop patch 2"


def test_the_gallery_opens_it_and_refuses_a_real_bomb_with_a_message(tmp_path):
    patches.apply()
    with PIL.Image.open(_png_claiming(tmp_path / "scan.png", 15_000, 15_000)) as image:
        assert image.size == (15_000, 15_000)
    with pytest.raises(BadInput, match="too large to open safely"):
        images.to_rgb(str(_png_claiming(tmp_path / "bomb.png", 30_000, 30_000)))


# 3. ultralytics replaces PIL.Image.open


def test_ultralytics_still_replaces_pil_image_open():
    code = (
        "import PIL.Image\nown = PIL.Image.open\nimport ultralytics.utils.patches\n"
        "print(PIL.Image.open is own)"
    )
    assert _python(code) == "False", "ultralytics leaves PIL.Image.open alone now: drop patch 3"


def test_after_ultralytics_pil_image_open_is_pil_own():
    from demos.vision.yolo.weights import configure_ultralytics

    configure_ultralytics()
    assert PIL.Image.open.__module__ == "PIL.Image"


# 4. ultralytics sets torch's thread count


def test_ultralytics_still_changes_the_thread_count_and_the_patch_puts_it_back():
    from demos.vision.yolo.weights import configure_ultralytics

    configure_ultralytics()
    from ultralytics.utils.torch_utils import NUM_THREADS, select_device

    before = torch.get_num_threads()
    mine = NUM_THREADS + 1  # any count other than the one ultralytics sets
    try:
        torch.set_num_threads(mine)
        select_device("cpu", verbose=False)
        assert torch.get_num_threads() == NUM_THREADS, "ultralytics keeps threads: drop patch 4"
        torch.set_num_threads(mine)
        with patches.kept_torch_threads():
            select_device("cpu", verbose=False)
        assert torch.get_num_threads() == mine
    finally:
        torch.set_num_threads(before)
