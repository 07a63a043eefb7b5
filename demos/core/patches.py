"""Third-party behaviour the gallery changes, in one place, each with its reason.

`apply()` runs once when the app is built (`app.build_app`). Ultralytics is imported only when the
YOLO tab first loads a model (no engine at start), so its two fixes are applied at that moment,
by `after_ultralytics_import()` (called from `demos.vision.yolo.weights.configure_ultralytics`,
the one door to ultralytics) and `kept_torch_threads()` around its predict.
`tests/test_patches.py` checks each one twice: that the third-party behaviour it answers is still
there (so a patch that is no longer needed is noticed and removed) and that the patch works.

1. **Gradio's output cache** (gradio 6.31). Gradio saves an output image to
   `<cache>/<hash of its content>/<name>` with `Path.write_bytes`, which truncates and rewrites
   the file on every request. When two requests produce the same output at the same time (a
   class clicking the same example), one browser can download the file while the other rewrites
   it and gets an empty or cut-off image (seen in the load test: 823 of 3,000 reads). Writing
   under a temporary name and renaming into place, once, closes the race; Gradio already does
   that for files it copies (`save_file_to_cache`).
2. **PIL's decompression-bomb limit.** PIL warns above 89 M pixels and refuses above twice that
   (179 M): a 15,000 x 15,000 scan would fail in Gradio's upload step. The gallery decodes up to
   400 M pixels (then downscales to `demos.media.images.MAX_SIDE`) and refuses more with its own
   message.
3. **ultralytics replaces `PIL.Image.open`** for the whole process (a HEIF-aware wrapper that, on a
   file PIL cannot identify, tries to pip-install a plugin). Every other tab opens images too:
   PIL's own function is put back, so a corrupt upload stays a clear message everywhere.
4. **ultralytics sets torch's thread count** for the whole process on every predict (its device
   selection calls `torch.set_num_threads(cores - 1)`): every other tab would then run on fewer
   threads. The count the process had is put back after each YOLO call.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import PIL.Image

MAX_IMAGE_PIXELS = 20_000 * 20_000  # decode at most this many pixels (400 M); PIL's default: 89 M
ORIGINALS: dict[str, object] = {}  # what each patch replaced, for the tests that check it


# 1. Gradio's output cache


def _write_once(target: Path, data: bytes) -> None:
    """Put `data` at `target` unless it is there already; readers never see a partial file.

    A file that is there already is served again: its age restarts, so the retention sweep
    (`demos.core.retention`) never deletes it under the user who just received it.
    """
    if target.exists():
        os.utime(target)
        return
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Gradio's `processing_utils.save_pil_to_cache`, writing atomically and once."""
    from gradio import processing_utils

    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    target = (folder / f"{name}.{format}").resolve()
    _write_once(target, data)
    return str(target)


# 3 and 4. ultralytics


def after_ultralytics_import() -> None:
    """Undo ultralytics' process-wide replacement of `PIL.Image.open` (idempotent)."""
    from ultralytics.utils import patches as ultralytics_patches

    PIL.Image.open = ultralytics_patches._image_open  # PIL's own, which ultralytics kept


@contextlib.contextmanager
def kept_torch_threads() -> Iterator[None]:
    """Run a block (an ultralytics predict) and put back the thread count it changes."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# all at start


@functools.cache
def apply() -> None:
    """Apply the start-up patches (1 and 2) once; 3 and 4 follow ultralytics when it comes."""
    from gradio import processing_utils

    ORIGINALS["save_pil_to_cache"] = processing_utils.save_pil_to_cache
    ORIGINALS["MAX_IMAGE_PIXELS"] = PIL.Image.MAX_IMAGE_PIXELS
    processing_utils.save_pil_to_cache = save_pil_to_cache
    PIL.Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
