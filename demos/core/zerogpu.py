"""Hugging Face ZeroGPU support: GPU work runs inside `spaces.GPU` there, untouched elsewhere.

On a ZeroGPU Space (`SPACES_ZERO_GPU` is set) a GPU is attached only while a function decorated
with `spaces.GPU` runs; every tab handler is such a function (see `demos.core.ui.guarded`). The
`spaces` package comes with ZeroGPU Spaces; it is imported only there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

GPU_SECONDS = 60  # the longest a single request may hold the shared GPU (Whisper on long audio)


def on_zerogpu() -> bool:
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true", "yes")


def gpu(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`spaces.GPU(fn)` on ZeroGPU; `fn` itself everywhere else."""
    if not on_zerogpu():
        return fn
    import spaces  # only on ZeroGPU Spaces, where it is installed

    return spaces.GPU(duration=GPU_SECONDS)(fn)
