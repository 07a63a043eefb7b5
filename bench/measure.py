"""The measurements, run inside one process (a `bench.worker` subprocess, or a test).

- `demo_vs_bare`: import the demo module, its first `predict` (cold: load + call), then warm
  calls of the demo and of the bare model interleaved (so drift in machine speed hits both),
  at least `repeats` each and more for quick calls (about 2 s per side, at most 50), medians
  and their ratio; peak RSS of the demo alone, read before the bare model is loaded.
- `concurrent_first_requests`: N threads call a demo's `predict` at once on an empty cache;
  counts how many times the loader ran (`runtime.load_model` is wrapped to count its loader).
- `all_loaded` / `cycle`: every demo loaded at once, and every demo in turn under a small
  `GALLERY_MAX_LOADED`; peak RSS (`ru_maxrss`), which for a process is its own high-water mark.
"""

from __future__ import annotations

import contextlib
import cProfile
import importlib
import io
import math
import os
import pstats
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.cases import CASES, Case

MB = 1024 * 1024
SAMPLE_MS = 2000.0  # warm calls fill about this much time per side when calls are quick
MAX_REPEATS = 50


# helpers


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024


def high_water_mb() -> float | None:
    """This process's peak resident memory since the last `reset_high_water` (Linux VmHWM)."""
    try:
        with open("/proc/self/status") as f:
            line = next(x for x in f if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return None


def reset_high_water() -> bool:
    """Start the peak over from the current RSS (Linux: `clear_refs` 5); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mb() -> float | None:
    """Resident memory now (Linux /proc); None where there is no /proc."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    except OSError:
        return None


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def sync() -> None:
    """Wait for queued GPU work, so a time covers the GPU's work and not only its launch."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def peak_gpu_mb() -> float | None:
    import torch

    if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
        return None
    return round(torch.cuda.max_memory_allocated() / MB, 1)


def timed_ms(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = call()
    sync()
    return ms_since(start), out


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, put back after (and the gallery's device
    choice read again with them)."""
    from demos.core import runtime

    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    runtime.device.cache_clear()  # GALLERY_DEVICE is read once; read it again, here and after
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        runtime.device.cache_clear()


def point_at(key: str, checkpoint: Path) -> None:
    """Make the demo load `checkpoint`, the way a user overrides its default."""
    os.environ[f"GALLERY_{key.upper()}_MODEL"] = str(checkpoint)


def import_demo(key: str) -> tuple[Any, Any, float]:
    """(registry record, demo module, import time in ms)."""
    from demos.core import registry

    spec = registry.get(key)
    start = time.perf_counter()
    module = importlib.import_module(spec.module)
    return spec, module, ms_since(start)


def profile_top(call: Callable[[], Any], lines: int = 25) -> str:
    """cProfile of one call: the functions with the most cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(call)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def _round(values: list[float]) -> list[float]:
    return [round(v, 2) for v in values]


# measurements


def demo_vs_bare(
    case: Case, checkpoint: Path, repeats: int = 5, profile: bool = False
) -> dict[str, Any]:
    """Cold and warm times of the demo's `predict` against the bare model on the same input."""
    from demos.core import runtime

    point_at(case.key, checkpoint)
    spec, module, import_ms = import_demo(case.key)
    base_rss = rss_mb()
    cold_ms, info = timed_ms(lambda: case.demo(module))
    if not info.loaded_now:
        raise RuntimeError(f"{case.key}: the first predict did not load the model")
    case.demo(module)  # one warm-up call: lazy allocations, kernel choices
    demo_peak = peak_rss_mb()  # the demo alone: read before the bare model exists
    demo_gpu_peak = peak_gpu_mb()

    dev = runtime.device()
    dtype = runtime.dtype_for(spec, dev)
    bare_load_ms, bare = timed_ms(lambda: case.bare(checkpoint, dev, dtype))
    bare_warm_ms = timed_ms(bare)[0]  # its warm-up call
    # A call of a few ms is at the mercy of the scheduler: take enough calls to fill about
    # SAMPLE_MS per side (at least `repeats`, at most MAX_REPEATS), the same count for both.
    repeats = max(repeats, min(MAX_REPEATS, math.ceil(SAMPLE_MS / max(bare_warm_ms, 1.0))))
    demo_ms, bare_ms, stages = [], [], []
    for i in range(repeats):
        # Alternate which goes first, so a slow patch of the machine hits both alike.
        order = ("demo", "bare") if i % 2 == 0 else ("bare", "demo")
        for which in order:
            if which == "demo":
                elapsed, run = timed_ms(lambda: case.demo(module))
                demo_ms.append(elapsed)
                stages.append(run.speed_ms)
            else:
                bare_ms.append(timed_ms(bare)[0])
    demo_median, bare_median = statistics.median(demo_ms), statistics.median(bare_ms)
    result = {
        "key": case.key,
        "checkpoint": str(checkpoint),
        "baseline": case.baseline,
        "device": info.device,
        "dtype": info.dtype,
        "engine": getattr(info, "engine", None),
        "params": info.params,
        "import_ms": round(import_ms, 1),
        "rss_after_import_mb": base_rss,
        "cold_call_ms": round(cold_ms, 1),
        "cold_load_ms": round(info.load_ms, 1),
        "peak_rss_mb": round(demo_peak, 1),
        "peak_gpu_mb": demo_gpu_peak,
        "bare_load_ms": round(bare_load_ms, 1),
        "repeats": repeats,
        "demo_ms": _round(demo_ms),
        "bare_ms": _round(bare_ms),
        "demo_median_ms": round(demo_median, 2),
        "bare_median_ms": round(bare_median, 2),
        "ratio": round(demo_median / bare_median, 3),
        "demo_stages_ms": {
            stage: round(statistics.median(s.get(stage, 0.0) for s in stages), 2)
            for stage in stages[0]
        },
    }
    if profile:
        result["profile"] = profile_top(lambda: case.demo(module))
    return result


@contextlib.contextmanager
def counting_loads() -> Iterator[list[str]]:
    """Wrap `runtime.load_model` so every run of a loader appends the checkpoint id to a list."""
    from demos.core import runtime

    calls: list[str] = []
    lock = threading.Lock()
    original = runtime.load_model

    def load_model(spec, checkpoint, loader, *args, **kwargs):
        def counted(ckpt, device, dtype):
            with lock:
                calls.append(ckpt.id)
            return loader(ckpt, device, dtype)

        return original(spec, checkpoint, counted, *args, **kwargs)  # progress, engine, ...

    runtime.load_model = load_model
    try:
        yield calls
    finally:
        runtime.load_model = original


def concurrent_first_requests(case: Case, checkpoint: Path, threads: int = 8) -> dict[str, Any]:
    """`threads` first requests at once to one demo: how many loads, did every request succeed."""
    point_at(case.key, checkpoint)
    _, module, _ = import_demo(case.key)
    barrier = threading.Barrier(threads)
    infos: list[Any] = []
    errors: list[str] = []

    def request() -> None:
        barrier.wait()  # all threads call predict together
        try:
            infos.append(case.demo(module))
        except Exception as exc:  # reported, not raised: the count is the result
            errors.append(f"{type(exc).__name__}: {exc}")

    with counting_loads() as loads:
        start = time.perf_counter()
        workers = [threading.Thread(target=request) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall_ms = ms_since(start)
    return {
        "key": case.key,
        "threads": threads,
        "loads": len(loads),
        "answered": len(infos),
        "loaded_now": sum(1 for i in infos if i.loaded_now),
        "errors": errors[:3],
        "wall_ms": round(wall_ms, 1),
    }


def all_loaded(keys: list[str], checkpoints: dict[str, Path]) -> dict[str, Any]:
    """Every demo's default loaded at once (the cache keeps them all): peak RSS."""
    from demos.core import runtime

    os.environ["GALLERY_MAX_LOADED"] = str(len(keys) + 1)
    modules = {}
    for key in keys:
        point_at(key, checkpoints[key])
        modules[key] = import_demo(key)[1]
    base = rss_mb()
    for key in keys:
        CASES[key].demo(modules[key])
    return {
        "keys": keys,
        "rss_after_import_mb": base,
        "loaded": len(runtime.CACHE.loaded_keys()),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_end_mb": rss_mb(),
    }


def torch_tensor_mb() -> float:
    """Megabytes held in torch tensors that the garbage collector can see (parameters, buffers):
    what tells a PyTorch model in memory from an ONNX Runtime or CTranslate2 one."""
    import gc

    import torch

    gc.collect()
    seen, total = set(), 0
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor) and id(obj) not in seen:
            seen.add(id(obj))
            total += obj.numel() * obj.element_size()
    return round(total / MB, 1)


def engine_load(key: str, checkpoint: Path, engine: str | None) -> dict[str, Any]:
    """One demo loaded on `engine` (None: its default here) and called once: RSS it added, and
    how much of it is torch tensors (a default engine that kept the PyTorch model too shows it)."""
    from demos.core import registry, runtime

    point_at(key, checkpoint)
    _, module, _ = import_demo(key)
    chosen = runtime.engine_for(registry.get(key), engine).key
    base = rss_mb()
    info = _engine_call(key, module, engine)
    return {
        "key": key,
        "engine": getattr(info, "engine", None) or chosen,
        "asked": engine or "default",
        "rss_after_import_mb": base,
        "rss_loaded_mb": rss_mb(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "torch_tensor_mb": torch_tensor_mb(),
    }


def _engine_call(key: str, module: Any, engine: str | None) -> Any:
    from bench import cases

    if key == "yolo":
        return module.predict(cases.image(), engine=engine).info
    if key == "whisper":
        clip = (cases.SAMPLE_RATE, cases.whisper_clip())
        return module.predict(clip, task="transcribe", language="en", engine=engine).info
    raise ValueError(f"no engine comparison for {key}")


def cycle(
    keys: list[str], checkpoints: dict[str, Path], max_loaded: int = 2, rounds: int = 2
) -> dict[str, Any]:
    """Every demo in turn, `rounds` times, with GALLERY_MAX_LOADED=`max_loaded`: peak RSS, with
    glibc's arenas capped as `python app.py` caps them (a server's memory, not a script's).

    All in this one process, so that the bound and the peak count alike: first every demo once
    (the libraries each engine loads on first use, ONNX Runtime, CTranslate2, LiteRT,
    transformers' model code, stay resident, as in a server after its first lesson), then each
    demo alone on an empty cache (its own peak above the floor: `alone_mb`), then the cache
    emptied (`base_mb`: the app after every tab was used, nothing loaded) and the rounds, whose
    peak is read from there (`peak_rss_mb`). The target is base + the two largest `alone_mb`.
    """
    from demos.core import runtime

    runtime.limit_malloc_arenas()
    os.environ["GALLERY_MAX_LOADED"] = str(max_loaded)
    modules = {}
    for key in keys:
        point_at(key, checkpoints[key])
        modules[key] = import_demo(key)[1]
    import_rss = rss_mb()

    def empty() -> float | None:
        runtime.CACHE.clear()
        runtime.free_memory(runtime.device())
        return rss_mb()

    for key in keys:  # first use: each engine's libraries come in once
        CASES[key].demo(modules[key])
    alone = {}
    for key in keys:
        floor = empty()
        if not reset_high_water() or floor is None:
            alone = {}
            break
        CASES[key].demo(modules[key])
        alone[key] = round(high_water_mb() - floor, 1)
    base = empty()
    reset_high_water()
    trace = []
    with counting_loads() as loads:
        for _ in range(rounds):
            for key in keys:
                info = CASES[key].demo(modules[key])
                trace.append(
                    {
                        "key": key,
                        "loaded_now": info.loaded_now,
                        "rss_mb": rss_mb(),
                        "loaded": len(runtime.CACHE.loaded_keys()),
                    }
                )
    return {
        "keys": keys,
        "max_loaded": max_loaded,
        "rounds": rounds,
        "rss_after_import_mb": import_rss,
        "base_mb": base,
        "alone_mb": alone,
        "loads": len(loads),
        "most_loaded_at_once": max(t["loaded"] for t in trace),
        "peak_rss_mb": round(high_water_mb() or peak_rss_mb(), 1),
        "trace": trace,
    }
