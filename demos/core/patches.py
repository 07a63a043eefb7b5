"""A fix for Gradio 6.31's output cache, applied when the app is built.

Gradio saves an output image (or audio bytes) to `<cache>/<hash of its content>/<name>` with
`Path.write_bytes`, which truncates and rewrites the file on every request. When two requests
produce the same output at the same time (a class clicking the same example), one request's
browser can download the file while the other rewrites it, and gets an empty or cut-off image:
seen in the load test as "cannot identify image file". Writing under a temporary name and
renaming into place (atomic on POSIX and Windows), and not rewriting a file that is already
there, closes the race; Gradio already does exactly that for files it copies
(`save_file_to_cache`).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from gradio import processing_utils


def _write_once(target: Path, data: bytes) -> None:
    """Put `data` at `target` unless it is there already; readers never see a partial file."""
    if target.exists():
        return
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    target = (folder / f"{name}.{format}").resolve()
    _write_once(target, data)
    return str(target)


def apply() -> None:
    """Install the atomic writer (idempotent)."""
    processing_utils.save_pil_to_cache = save_pil_to_cache
