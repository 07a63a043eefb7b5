"""What the gallery keeps on disk, and for how long: nothing a user sends outlives the window.

Students upload their own photos and voices; a classroom runs the gallery all day. Every file a
request brings or makes is deleted once it is older than `GALLERY_KEEP_FILES_MINUTES` (default
60; fractions allowed):

- Gradio's own cache (uploads, and the images, plots, audio and videos a tab returns) is swept by
  Gradio itself (`gr.Blocks(delete_cache=...)`, on `sweep_every_s()`), by each file's age.
- Gradio deletes the files but leaves their folders; `sweep_empty_folders` removes those.
- The gallery's own temporary files (annotated videos before Gradio copies them, audio
  conversions) live in one folder, `<system temp>/pretrained-gallery-<pid>/`, made with
  `temp_dir()`; `sweep()` deletes what is older than the window there, on the same schedule, while
  the server runs (`lifespan`), and the whole folder when it stops.

A file someone is still looking at stays: Gradio serves an output from its cache by path, and an
output that is produced again (the same example clicked later) has its age reset when it is
written again (`demos.core.patches`), so it is never deleted under a user within the window.
Nothing a user sends is logged, and an API key is never written anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_KEEP_MINUTES = 60.0
MIN_SWEEP_S, MAX_SWEEP_S = 1, 300  # sweep every window/4, within these bounds


def keep_seconds() -> float:
    """How long a file may live: `GALLERY_KEEP_FILES_MINUTES` (default 60), in seconds."""
    raw = os.environ.get("GALLERY_KEEP_FILES_MINUTES", "").strip()
    try:
        minutes = float(raw) if raw else DEFAULT_KEEP_MINUTES
    except ValueError:
        log.warning("GALLERY_KEEP_FILES_MINUTES=%r is not a number; keeping files 60 min", raw)
        minutes = DEFAULT_KEEP_MINUTES
    return max(minutes, 0.0) * 60.0


def sweep_every_s() -> int:
    """How often the sweeps run: a quarter of the window, from 1 s to 5 min."""
    return int(min(max(keep_seconds() / 4, MIN_SWEEP_S), MAX_SWEEP_S))


def delete_cache() -> tuple[int, int]:
    """Gradio's `delete_cache` setting: (how often, how old) in whole seconds."""
    return sweep_every_s(), max(1, round(keep_seconds()))


def temp_root() -> Path:
    """The gallery's own temporary folder, one per server process."""
    return Path(tempfile.gettempdir()) / f"pretrained-gallery-{os.getpid()}"


def temp_dir(prefix: str) -> Path:
    """A new folder for one request's files, deleted by `sweep` once older than the window."""
    root = temp_root()
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder for the length of a block (an audio conversion), then deleted."""
    folder = temp_dir(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(max_age_s: float | None = None, now: float | None = None) -> int:
    """Delete the gallery's temporary folders older than `max_age_s` (default: the window).

    Returns how many were deleted. Age is the newest modification inside a folder, so a folder
    still being written to is kept.
    """
    root = temp_root()
    if not root.is_dir():
        return 0
    max_age_s = keep_seconds() if max_age_s is None else max_age_s
    now = time.time() if now is None else now
    deleted = 0
    for entry in root.iterdir():
        with contextlib.suppress(FileNotFoundError):
            newest = max(
                [entry.stat().st_mtime]
                + [p.stat().st_mtime for p in entry.rglob("*") if p.exists()]
            )
            if now - newest > max_age_s:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
                deleted += 1
    return deleted


def gradio_cache() -> Path:
    """Gradio's temporary folder: `GRADIO_TEMP_DIR`, else `<system temp>/gradio`."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def sweep_empty_folders(max_age_s: float | None = None, now: float | None = None) -> int:
    """Delete the empty folders Gradio leaves in its cache (it deletes files, not their folders:
    one per upload or output, thousands over a school day). Returns how many went."""
    root = gradio_cache()
    if not root.is_dir():
        return 0
    max_age_s = keep_seconds() if max_age_s is None else max_age_s
    now = time.time() if now is None else now
    deleted = 0
    for folder in root.iterdir():
        with contextlib.suppress(OSError):  # not empty, or gone meanwhile: leave it
            if folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
                folder.rmdir()
                deleted += 1
    return deleted


@contextlib.asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """While the server runs, sweep the gallery's folder on Gradio's schedule; empty it at exit."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(sweep_every_s())
            await asyncio.to_thread(sweep)
            await asyncio.to_thread(sweep_empty_folders)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        shutil.rmtree(temp_root(), ignore_errors=True)
