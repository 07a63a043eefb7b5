"""One measurement in a fresh process, so that peak RSS and the model cache are its own.

    python -m bench.worker REQUEST.json RESULT.json

REQUEST: {"mode": "build" | "demo" | "concurrency" | "all" | "cycle", "keys": [...],
"checkpoints": {key: path}, "work_dir": ..., "repeats": n, "profile": bool}. RESULT gets the
measurement's dict plus "machine" (what this process sees: torch threads, device, versions).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("bench.worker")
BUILT = ".bench-built"  # marker written after a checkpoint is complete: a rerun reuses it


def machine() -> dict[str, Any]:
    """Versions and what torch sees here (the parent process never imports torch)."""
    import gradio
    import torch
    import transformers

    from demos.core import runtime

    dev = runtime.device()
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gradio": gradio.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(dev),
        "gpu": gpu,
    }


def build(keys: list[str], work_dir: Path) -> dict[str, Any]:
    """Build (or reuse) each key's full-size checkpoint; returns paths and seconds per key."""
    from bench.architectures import BUILDERS, weights_of

    paths, seconds, weights = {}, {}, {}
    for key in keys:
        out = work_dir / "models" / key
        marker = out / BUILT
        if marker.is_file():
            paths[key] = marker.read_text(encoding="utf-8").strip()
            seconds[key], weights[key] = 0.0, weights_of(out)
            continue
        log.info("building %s at full size", key)
        start = time.perf_counter()
        path = BUILDERS[key](out)
        out.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(path), encoding="utf-8")
        paths[key], seconds[key] = str(path), round(time.perf_counter() - start, 1)
        weights[key] = weights_of(out)
        gc.collect()
    return {"checkpoints": paths, "build_s": seconds, "weights": weights}


def run(request: dict[str, Any]) -> dict[str, Any]:
    from bench import measure
    from bench.cases import CASES

    mode, keys = request["mode"], request.get("keys", [])
    checkpoints = {k: Path(v) for k, v in request.get("checkpoints", {}).items()}
    if mode == "build":
        result = build(keys, Path(request["work_dir"]))
    elif mode == "demo":
        (key,) = keys
        result = measure.demo_vs_bare(
            CASES[key], checkpoints[key], request.get("repeats", 5), request.get("profile", False)
        )
    elif mode == "concurrency":
        (key,) = keys
        result = measure.concurrent_first_requests(CASES[key], checkpoints[key])
    elif mode == "all":
        result = measure.all_loaded(keys, checkpoints)
    elif mode == "engine":
        (key,) = keys
        result = measure.engine_load(key, checkpoints[key], request.get("engine"))
    elif mode == "cycle":
        result = measure.cycle(keys, checkpoints)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    result["machine"] = machine()
    return result


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    request_path, result_path = argv
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = run(request)
    Path(result_path).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
