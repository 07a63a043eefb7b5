"""What a classroom leaves behind is deleted: uploads, outputs and the gallery's own temporary
files go once they are older than `GALLERY_KEEP_FILES_MINUTES`.

The end-to-end test runs `python app.py` with the window set to 15 seconds (0.25 minutes), so it
waits seconds, not minutes; the mechanism is the same as for the default hour.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from demos.core import patches, retention
from tests.serve import app_server, tiny_server_env

pytestmark = pytest.mark.slow

WINDOW_MIN = 0.25  # 15 s: longer than the requests take, short enough to wait for


# The app's own example media (kept while it runs): ours, and the photos ultralytics ships.
_ULTRALYTICS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
EXAMPLES = {
    p.name
    for folder in (Path(__file__).resolve().parents[1] / "assets", _ULTRALYTICS)
    for p in folder.iterdir()
}


def _files(folder: Path) -> set[Path]:
    """The files under `folder`, less the app's own example media (kept while it runs)."""
    if not folder.is_dir():
        return set()
    return {p for p in folder.rglob("*") if p.is_file() and p.name not in EXAMPLES}


def test_the_window_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("GALLERY_KEEP_FILES_MINUTES", raising=False)
    assert retention.keep_seconds() == 3600 and retention.schedule() == (300, 3600)
    monkeypatch.setenv("GALLERY_KEEP_FILES_MINUTES", "1")
    assert retention.schedule() == (15, 60)
    monkeypatch.setenv("GALLERY_KEEP_FILES_MINUTES", "a while")
    assert retention.keep_seconds() == 3600  # a typo keeps the default, with a warning


def test_sweep_deletes_old_folders_and_keeps_those_in_use():
    old, fresh = retention.temp_dir("video-"), retention.temp_dir("video-")
    (old / "annotated.mp4").write_bytes(b"x")
    (fresh / "annotated.mp4").write_bytes(b"x")
    past = time.time() - 120
    for path in (old, old / "annotated.mp4"):
        os.utime(path, (past, past))
    assert retention.sweep(max_age_s=60) >= 1
    assert not old.exists() and fresh.exists()
    retention.sweep(max_age_s=0, now=time.time() + 1)
    assert not fresh.exists()


def test_the_sweeper_deletes_old_outputs_and_keeps_gradios_examples(monkeypatch, tmp_path):
    """The sweeper's thread runs Gradio's own round on its clock: a file a request made goes
    once older than the window, an example Gradio keeps in its cache stays."""
    monkeypatch.setenv("GALLERY_KEEP_FILES_MINUTES", str(2 / 60))  # 2 s: a sweep every second
    output, example = tmp_path / "output.png", tmp_path / "example.png"
    for path in (output, example):
        path.write_bytes(b"png")
    made = {str(output), str(example)}
    blocks = SimpleNamespace(
        blocks={1: SimpleNamespace(keep_in_cache={str(example)})}, temp_file_sets=[made]
    )
    sweeper = retention.Sweeper(blocks)
    sweeper.start()
    try:
        deadline = time.monotonic() + 15
        while output.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        sweeper.stopped.set()
        sweeper.join(5)
    assert not output.exists() and made == {str(example)}
    assert example.exists()
    assert not sweeper.is_alive()


def test_an_output_served_again_starts_its_age_again(tmp_path):
    image = Image.new("RGB", (8, 8), "blue")
    path = Path(patches.save_pil_to_cache(image, str(tmp_path), format="png"))
    past = time.time() - 600
    os.utime(path, (past, past))
    patches.save_pil_to_cache(image, str(tmp_path), format="png")  # the same answer, later
    assert time.time() - path.stat().st_mtime < 60


def _video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    return path


def test_files_from_requests_are_gone_after_the_window(tiny_checkpoints, tiny_extra_env, tmp_path):
    gradio_tmp = tmp_path / "gradio"
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    env = tiny_server_env(tiny_checkpoints, tiny_extra_env, tmp_path / "hf")
    env |= {
        "GALLERY_KEEP_FILES_MINUTES": str(WINDOW_MIN),
        "GRADIO_TEMP_DIR": str(gradio_tmp),
        "TMPDIR": str(system_tmp),  # where the gallery's own folder goes
    }
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)).save(photo)
    with app_server(env, tmp_path / "server.log") as server:
        client = Client(server.url, verbose=False)
        client.predict(handle_file(str(photo)), 3, "", api_name="/vit")
        client.predict(
            handle_file(str(_video(tmp_path / "clip.mp4"))),
            0.25,
            0.7,
            [],
            "",
            api_name="/yolo_video",
        )
        after_requests = _files(gradio_tmp)
        ours = system_tmp / f"pretrained-gallery-{server.process.pid}"
        assert {"photo.png", "clip.mp4"} <= {p.name for p in after_requests}, "uploads cached"
        assert _files(ours), "the annotated video was written in the gallery's folder"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (_files(gradio_tmp) & after_requests or _files(ours)):
            time.sleep(1)
        left = _files(gradio_tmp) & after_requests
        empty = [d for d in gradio_tmp.iterdir() if d.is_dir() and not any(d.iterdir())]
        deadline = time.monotonic() + 30
        while empty and time.monotonic() < deadline:  # their folders follow a sweep later
            time.sleep(1)
            empty = [d for d in gradio_tmp.iterdir() if d.is_dir() and not any(d.iterdir())]
        assert not empty, "Gradio's emptied folders are removed too"
        assert not left, f"still there after the window: {sorted(p.name for p in left)}"
        assert not _files(ours)
        # and the server keeps serving
        client.predict(handle_file(str(photo)), 3, "", api_name="/vit")
