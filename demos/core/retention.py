"""What the gallery keeps on disk, and for how long: nothing a user sends outlives the window.

Students upload their own photos and voices; a classroom runs the gallery all day. Every file a
request brings or makes is deleted once it is older than `GALLERY_KEEP_FILES_MINUTES` (default
60; fractions allowed):

- Gradio's own cache (uploads, and the images, plots, audio and videos a tab returns) is swept
  with Gradio's own function (the one behind `gr.Blocks(delete_cache=...)`, which knows the
  files it must keep: the examples), by each file's age.
- Gradio deletes the files but leaves their folders; `sweep_empty_folders` removes those.
- The gallery's own temporary files (annotated videos before Gradio copies them, audio
  conversions) live in one folder, `<system temp>/pretrained-gallery-<pid>/`, made with
  `temp_dir()`; `sweep()` deletes what is older than the window there.
- All three run every `sweep_every_s()` in a thread of their own (`Sweeper`, started by
  `lifespan`), and everything goes when the server stops. Gradio's own schedule waits for the
  event loop and then for a free worker thread; under the soak's classroom load it ran up to a
  minute late (outputs seen 207 s old with a 120 s window), while a thread waits only for its
  clock.

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
import threading
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


def schedule() -> tuple[int, int]:
    """(how often the sweeps run, how old a file may get), in whole seconds."""
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


def sweep_all(blocks: Any, max_age_s: float | None = None) -> None:
    """One round over what is older than `max_age_s` (default: the window; 0 at exit: all):
    the files Gradio made for `blocks`, the gallery's own folder, the empty folders Gradio
    leaves."""
    from gradio.route_utils import delete_files_created_by_app  # Gradio's delete_cache round

    max_age_s = schedule()[1] if max_age_s is None else max_age_s
    try:
        delete_files_created_by_app(blocks, max_age_s)
    except RuntimeError as exc:  # a request added a file while the round read the set
        log.debug("retention: Gradio's cache is swept next round (%s)", exc)
    sweep(max_age_s)
    sweep_empty_folders(max_age_s)


class Sweeper(threading.Thread):
    """`sweep_all` every `sweep_every_s()`, on a clock no busy request can hold up."""

    def __init__(self, blocks: Any) -> None:
        super().__init__(name="gallery-retention", daemon=True)
        self.blocks = blocks
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(sweep_every_s()):
            try:
                sweep_all(self.blocks)
            except Exception:  # a round that fails must not end the schedule
                log.exception("retention: a sweep failed; the next one runs as planned")


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """While the server runs, sweep on the schedule; at exit, delete everything it made."""
    blocks = app.get_blocks()
    sweeper = Sweeper(blocks)
    sweeper.start()
    try:
        yield
    finally:
        sweeper.stopped.set()
        await asyncio.to_thread(sweeper.join, 10)
        sweep_all(blocks, 0)
        shutil.rmtree(temp_root(), ignore_errors=True)
