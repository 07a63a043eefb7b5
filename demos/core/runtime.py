"""The gallery's runtime, decided in one place: device, precision, the model cache, timings.

- Device: CUDA, then Apple MPS, then CPU, chosen once; `GALLERY_DEVICE` overrides.
- Precision: float16 on CUDA where the registry says the model takes it, float32 elsewhere.
- Cache: thread-safe, keyed by (demo, checkpoint, device). Several requests that arrive together
  for a model that is not loaded yet wait for one load. At most `GALLERY_MAX_LOADED` models stay
  loaded; the least recently used is evicted and its memory freed.
- Engine: a record lists the engines its model runs on, fastest first; `engine_for` picks the
  first that runs on the device and is installed, unless the user asked for another.
- Every result carries a `RunInfo`: engine, device, precision, load and per-stage times in ms.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import torch

from demos.core.errors import GalleryError, ModelUnavailable, explain_load_failure
from demos.core.registry import Checkpoint, DemoSpec, Engine

log = logging.getLogger(__name__)

DEFAULT_MAX_LOADED = 4  # four base-size models fit in 8 GB of GPU or 16 GB of RAM with room left

Progress = Callable[[float, str], None]  # (fraction done, message) -> None


# device and precision


@lru_cache(maxsize=1)
def device() -> torch.device:
    """The device every demo runs on: `GALLERY_DEVICE`, else CUDA, then MPS, then CPU."""
    wanted = os.environ.get("GALLERY_DEVICE", "").strip()
    if wanted:
        dev = torch.device(wanted)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise GalleryError(f"GALLERY_DEVICE={wanted} but CUDA is not available here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def engine_available(engine: Engine) -> bool:
    """Whether the engine's package is installed (checked without importing it)."""
    import importlib.util

    return engine.package is None or importlib.util.find_spec(engine.package) is not None


def engine_runs_here(engine: Engine, dev: torch.device | None = None) -> bool:
    """Whether `engine` runs on the gallery's device and is installed."""
    return (dev or device()).type in engine.devices and engine_available(engine)


def engine_for(spec: DemoSpec, requested: str | None = None, dev: torch.device | None = None):
    """The engine to run `spec` with: `requested` (its key) if it runs here, else the fastest.

    An engine the user asks for that cannot run here is an error that says why; with none asked
    for, the first engine of the record that runs on the device and is installed.
    """
    dev = dev or device()
    usable = [e for e in spec.engines if engine_runs_here(e, dev)]
    wanted = (requested or "").strip()
    if wanted:
        for engine in spec.engines:
            if wanted in (engine.key, engine.label):
                if engine not in usable:
                    where = (
                        "is not installed"
                        if not engine_available(engine)
                        else (f"does not run on {dev.type}")
                    )
                    raise GalleryError(
                        f"{spec.title} cannot run on {engine.label} here: it {where}. "
                        f"Pick one of: {', '.join(e.label for e in usable)}."
                    )
                return engine
        raise GalleryError(
            f"{spec.title} has no engine {wanted!r}; it runs on "
            f"{', '.join(e.label for e in spec.engines)}."
        )
    if not usable:
        raise GalleryError(f"{spec.title} has no engine that runs on {dev.type} here.")
    return usable[0]


def dtype_for(spec: DemoSpec, dev: torch.device | None = None) -> torch.dtype:
    """float16 on CUDA where the model supports it; float32 everywhere else."""
    dev = dev or device()
    return torch.float16 if dev.type == "cuda" and spec.half_precision else torch.float32


@lru_cache(maxsize=1)
def _glibc() -> Any:
    """The C library when it is glibc (Linux), for `malloc_trim`; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # musl and others: nothing to trim
        return None
    return libc if hasattr(libc, "malloc_trim") else None


M_ARENA_MAX = -8  # glibc's mallopt parameter number for the arena cap (malloc.h)
SERVER_ARENAS = 2  # malloc arenas for a serving process (glibc's own cap: 8 per core)


def limit_malloc_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Cap glibc's malloc arenas for a long-running server (unless MALLOC_ARENA_MAX is set).

    Every request thread may otherwise get an arena of its own, and freed memory scattered over
    many arenas is rarely returned: the load test saw RSS grow 13% over 200 requests to the
    ViT tab with 8 users, 3% with two arenas. Returns whether the cap was set.
    """
    libc = _glibc()
    if libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


def free_memory(dev: torch.device) -> None:
    """Hand memory of dropped models back: Python objects first, then the device's cache."""
    gc.collect()
    if (libc := _glibc()) is not None:
        # glibc keeps freed heap pages (tokenizers, vocabularies, small tensors) in the process;
        # trimming returns them, about 1 GB after cycling the full-size defaults (python -m bench).
        libc.malloc_trim(0)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    elif dev.type == "mps":
        torch.mps.empty_cache()


# timing


@dataclass
class RunInfo:
    """What every result reports besides its answer."""

    demo: str
    checkpoint: str
    device: str
    dtype: str
    load_ms: float  # how long this model took to load (when it was loaded)
    loaded_now: bool  # True when this request paid for the load
    params: int | None = None  # parameters of the loaded model, when it says
    engine: str = "pytorch"  # what ran it (a key of the record's engines)
    speed_ms: dict[str, float] = field(default_factory=dict)  # preprocess, inference, postprocess

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["load_ms"] = round(self.load_ms, 1)
        out["speed_ms"] = {k: round(v, 1) for k, v in self.speed_ms.items()}
        return out


@contextmanager
def timed(speed: dict[str, float], stage: str) -> Iterator[None]:
    """Add the wall time of the block, in ms, to `speed[stage]`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        speed[stage] = speed.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0


# the model cache


@dataclass
class Loaded:
    """A loaded model (or pipeline) and how long its load took."""

    value: Any
    load_ms: float


class _Slot:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while this entry loads: others wait, not reload
        self.loaded: Loaded | None = None


# One load at a time in the whole process. transformers 5.24 swaps `PreTrainedModel.tie_weights`
# process-wide during a load (`no_tie_weights()`, no lock): two loads that overlap can leave it a
# no-op, and from then on every model with tied weights (BERT, RoBERTa, Whisper) fails to load
# ("Cannot copy out of meta tensor") until the server restarts (found by `python -m bench --soak`;
# huggingface/transformers#41782). Loads are CPU- and disk-bound anyway, so little is lost; a
# request for a model that is already loaded never waits for this lock.
_LOADING = threading.RLock()


class ModelCache:
    """Loads each (demo, checkpoint, device) once and keeps the `max_loaded` most recently used."""

    def __init__(self, max_loaded: int | None = None) -> None:
        self._max_loaded = max_loaded
        self._lock = threading.Lock()  # guards the dict, never held during a load
        self._slots: OrderedDict[tuple[str, str, str], _Slot] = OrderedDict()

    @property
    def max_loaded(self) -> int:
        if self._max_loaded is not None:
            return self._max_loaded
        return max(1, int(os.environ.get("GALLERY_MAX_LOADED", DEFAULT_MAX_LOADED)))

    def loaded_keys(self) -> list[tuple[str, str, str]]:
        """Keys of the loaded models, least recently used first."""
        with self._lock:
            return [k for k, s in self._slots.items() if s.loaded is not None]

    def get(
        self,
        key: tuple[str, str, str],
        load: Callable[[], Any],
        progress: Progress | None = None,
    ) -> tuple[Loaded, bool]:
        """The cached value for `key`, loading it with `load()` if needed.

        Returns (loaded, loaded_now). A failed load leaves nothing behind, so the next call tries
        again (after the user fixed the cause).
        """
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
            self._slots.move_to_end(key)
        with slot.lock:
            if slot.loaded is not None:
                return slot.loaded, False
            if progress:
                progress(0.0, f"Loading {key[1]} on {key[2]}…")
            # Make room first, so that at most `max_loaded` models are resident even while this
            # one loads (evicting only afterwards would briefly hold one model more).
            self._evict(keep=key, incoming=1)
            start = time.perf_counter()
            try:
                with _LOADING:
                    value = load()
            except BaseException:
                with self._lock:
                    if self._slots.get(key) is slot:
                        del self._slots[key]
                raise
            slot.loaded = Loaded(value, (time.perf_counter() - start) * 1000.0)
            if progress:
                progress(1.0, f"Loaded {key[1]} in {slot.loaded.load_ms:.0f} ms")
            loaded = slot.loaded
        self._evict(keep=key)
        return loaded, True

    def clear(self) -> None:
        with self._lock:
            devices = {torch.device(k[2]) for k in self._slots}
            self._slots.clear()
        for dev in devices:
            free_memory(dev)

    def _evict(self, keep: tuple[str, str, str], incoming: int = 0) -> None:
        """Drop the least recently used models beyond `max_loaded - incoming`, never `keep`."""
        evicted: list[tuple[str, str, str]] = []
        with self._lock:
            loaded = [k for k, s in self._slots.items() if s.loaded is not None]
            limit = max(0, self.max_loaded - incoming)
            for k in loaded[: max(0, len(loaded) - limit)]:
                if k != keep:
                    del self._slots[k]
                    evicted.append(k)
        for k in evicted:
            log.info("evicted %s/%s from %s (GALLERY_MAX_LOADED=%d)", *k, self.max_loaded)
            free_memory(torch.device(k[2]))


CACHE = ModelCache()


def load_model(
    spec: DemoSpec,
    checkpoint: Checkpoint,
    loader: Callable[[Checkpoint, torch.device, torch.dtype], Any],
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> tuple[Any, RunInfo]:
    """Get `spec`'s model for `checkpoint` from the cache, loading it on the gallery's device.

    Load failures (offline, missing files, out of memory) become `ModelUnavailable` with a message
    that names the checkpoint and says how to fix it.
    """
    dev = device()
    dtype = dtype_for(spec, dev)
    engine = engine or spec.engines[0]
    # One cache entry per engine: switching engines in the tab keeps the other one loaded only
    # while the cache has room (GALLERY_MAX_LOADED), like any other model.
    name = spec.key if engine is spec.engines[0] else f"{spec.key}:{engine.key}"
    key = (name, f"{checkpoint.id}@{checkpoint.revision or 'main'}", str(dev))
    try:
        loaded, now = CACHE.get(key, lambda: loader(checkpoint, dev, dtype), progress)
    except GalleryError:
        raise
    except Exception as exc:  # any load failure is reported in the tab, not as a traceback
        log.warning("loading %s for %s failed: %r", checkpoint.id, spec.key, exc)
        raise ModelUnavailable(explain_load_failure(spec, checkpoint, exc)) from exc
    info = RunInfo(
        demo=spec.key,
        checkpoint=checkpoint.id,
        device=str(dev),
        dtype=engine.precision_on(dev.type, str(dtype).removeprefix("torch.")),
        load_ms=loaded.load_ms,
        loaded_now=now,
        params=getattr(loaded.value, "n_params", None),
        engine=engine.key,
    )
    return loaded.value, info
