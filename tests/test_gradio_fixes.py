"""Identical image outputs written at the same time are never served half-written."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from gradio import processing_utils
from PIL import Image

from demos.core import patches as gradio_fixes


def test_concurrent_identical_outputs_are_always_whole_files(tmp_path):
    gradio_fixes.apply()
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
