"""Errors a user may see, and the messages that tell them what to do.

Handlers turn these into `gr.Error` (see `demos.core.ui.guarded`); anything else is logged with its
traceback on the server and shown as a short, generic message, so no stack trace (and no secret
inside one) ever reaches a browser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from demos.core.registry import Checkpoint, DemoSpec


class GalleryError(Exception):
    """An error whose message is written for the user of the gallery."""


class BadInput(GalleryError):
    """The input cannot be used (empty, corrupt, too large, wrong format)."""


class ModelUnavailable(GalleryError):
    """The model's weights could not be loaded; the message says how to fix it."""


_OFFLINE_HINTS = (
    "offline",
    "connection",
    "couldn't connect",
    "cannot find the requested files",
    "not a valid model identifier",
    "does not appear to have a file",
    "no such file",
    "localentrynotfound",
    "not found",
    "name or service",
    "max retries",
    "repository not found",
)


_DAMAGE_HINTS = (
    "deserializ",
    "corrupt",
    "truncated",
    "unpickling",
    "invalid load key",
    "pytorchstreamreader",
    "unexpected eof",
    "not a zip",
    "unable to open file",  # h5py on a damaged HDF5 file
    "safetensorerror",
)


def explain_load_failure(spec: DemoSpec, checkpoint: Checkpoint, exc: BaseException) -> str:
    """A message naming the checkpoint, the cause in one line, and the fixes."""
    cause = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    cause = cause[:300]
    where = f"{spec.title} could not load `{checkpoint.id}`"
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return (
            f"{where}: not enough memory ({cause}). Pick a smaller size in the checkpoint menu, "
            f"set GALLERY_MAX_LOADED=1 so fewer models stay loaded, or run on the CPU with "
            f"GALLERY_DEVICE=cpu."
        )
    text = f"{type(exc).__name__} {exc}".lower()
    if any(hint in text for hint in _DAMAGE_HINTS):
        return (
            f"{where}: a weights file is damaged or incomplete ({cause}). Download it again "
            f"(delete the damaged copy, then run `python -m demos.core.download {spec.key}`), or "
            f"point {spec.env_var} at a good copy. The tab retries on the next request."
        )
    if any(hint in text for hint in _OFFLINE_HINTS) or isinstance(exc, (OSError, ConnectionError)):
        return (
            f"{where}: its weights are not in the local cache and cannot be downloaded "
            f"({cause}). To fix it, either run `python -m demos.core.download {spec.key}` once "
            f"on a machine with internet (then the gallery works offline), or point "
            f"{spec.env_var} at a local copy of the checkpoint (a folder or file path)."
        )
    return (
        f"{where} ({cause}). Check that {spec.env_var} (if set) points at a {spec.title} "
        f"checkpoint, or run `python -m demos.core.download {spec.key}` to fetch the default one."
    )
