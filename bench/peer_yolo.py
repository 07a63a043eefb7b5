"""YOLO against its peers (issue #16): the gallery's default call, ultralytics' ONNX Runtime export
called directly, and ultralytics' PyTorch call, on one checkpoint and one photo, on the CPU.

    python -m bench.peer_yolo [--runs 10] [--work-dir DIR]    # prints the figures as JSON

The checkpoint is YOLO26n at full size with random weights (`bench.architectures.yolo`: the real
`yolo26n.pt` cannot be downloaded here); the photo is `bus.jpg` as ultralytics ships it. Sides:

- **gallery**: `demos.vision.yolo.tab.predict(photo)` with nothing chosen, so the fastest engine
  here (ONNX Runtime on a CPU, on the checkpoint's cached export); the whole call: image to RGB,
  the detector, boxes and legend drawn.
- **ultralytics ONNX Runtime**: `YOLO("yolo26n.onnx").predict(bgr)`, the file from
  `YOLO("yolo26n.pt").export(format="onnx")` with ultralytics' defaults (640 x 640, static), as a
  user following ultralytics' documentation would run it. The same call on the gallery's own
  export (dynamic height and width) is reported beside it, so a difference can be told apart
  into the engine's overhead and the export's settings.
- **ultralytics PyTorch**: `YOLO("yolo26n.pt").predict(bgr)`.

Each side is timed in four blocks of calls (the sides in one order, then in reverse, and again,
so a machine that gets busier slows every side alike) after two warm-up calls; the figure is each
side's median wall time (ms). Each side's detections (class counts at
the default thresholds) are returned too, so equal speed can be seen to mean equal work; random
weights find few or no objects, the same few on every side.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import environment

TARGET_RATIO = 1.10  # the gallery may take at most 10 % longer than ultralytics' ONNX Runtime call
WARMUP = 2  # untimed calls per side (the first builds the predictor and the runtime's session)
BLOCKS = 4  # timed blocks per side, in alternating order
IMGSZ = 640  # px, ultralytics' default and the gallery's
# Ultralytics' trained YOLO26n as an int8 TFLite export, where ../shared is beside the project
REAL_TFLITE = Path(__file__).resolve().parents[2] / "shared/realweights/files/yolo26n_int8.tflite"


# helpers


def _counts(labels: list[str]) -> dict[str, int]:
    return dict(sorted(Counter(labels).items(), key=lambda kv: (-kv[1], kv[0])))


def _ultralytics_call(model: Any, bgr: np.ndarray) -> Callable[[], dict[str, Any]]:
    """One bare `model.predict` on the CPU at ultralytics' defaults: (class counts, stage ms)."""
    from demos.core import patches

    def call() -> dict[str, Any]:
        with patches.kept_torch_threads():  # as the gallery: no side changes the others' threads
            result = model.predict(bgr, imgsz=IMGSZ, device="cpu", verbose=False)[0]
        labels = [result.names[int(c)] for c in result.boxes.cls.tolist()]
        return {"detections": _counts(labels), "inference_ms": result.speed["inference"]}

    return call


def _time(sides: dict[str, Callable[[], dict[str, Any]]], runs: int) -> dict[str, dict]:
    """Each side `WARMUP` times, then `runs` timed calls in `BLOCKS` blocks, the sides in one
    order, then in reverse (A B C, C B A, A B C, ...): medians (ms).

    Blocks, not one call of each side in turn: ONNX Runtime's worker threads spin for a moment
    after a call, so a call that follows another session's is slowed by that session's threads.
    """
    walls: dict[str, list[float]] = {name: [] for name in sides}
    forward: dict[str, list[float]] = {name: [] for name in sides}
    last: dict[str, dict[str, Any]] = {}
    names = list(sides)
    for _ in range(WARMUP):
        for name in names:
            sides[name]()
    for block in range(BLOCKS):
        calls = runs // BLOCKS + (block < runs % BLOCKS)
        for name in names if block % 2 == 0 else names[::-1]:
            for _ in range(calls):
                start = time.perf_counter()
                last[name] = sides[name]()
                walls[name].append((time.perf_counter() - start) * 1000.0)
                forward[name].append(last[name]["inference_ms"])
    return {
        name: {
            "median_ms": round(statistics.median(walls[name]), 1),
            "min_ms": round(min(walls[name]), 1),
            "forward_pass_ms": round(statistics.median(forward[name]), 1),  # the network alone
            "detections": last[name]["detections"],
        }
        for name in sides
    }


# the measurement


def measure(work_dir: Path, runs: int = 10) -> dict[str, Any]:
    """Time the three sides on the CPU; the checkpoint, exports and caches live in `work_dir`."""
    import torch
    from PIL import Image

    from bench import architectures
    from demos.vision.yolo import engines
    from demos.vision.yolo import weights as yolo_weights

    work_dir = Path(work_dir)
    home = work_dir / "gallery-home"  # the gallery's ONNX export cache, inside the work folder
    with environment(GALLERY_HOME=str(home), GALLERY_DEVICE="cpu"):
        yolo_weights.configure_ultralytics()
        from ultralytics import YOLO

        from demos.vision.yolo import tab

        pt = work_dir / "yolo26n" / "yolo26n.pt"
        weights_used = "YOLO26n, full size, random weights (yolo26n.yaml)"
        if REAL_TFLITE.is_file():  # the trained network, so the detections mean something
            weights_used = (
                "YOLO26n, trained COCO weights (../shared/realweights yolo26n_int8.tflite, "
                "dequantised into a .pt)"
            )
            if not pt.is_file():
                from tests.yolo_tiny import from_tflite

                pt.parent.mkdir(parents=True, exist_ok=True)
                from_tflite(REAL_TFLITE, pt)
        elif not pt.is_file():
            architectures.yolo(pt.parent)
        photo_path = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
        photo = Image.open(photo_path / "bus.jpg").convert("RGB")
        bgr = np.ascontiguousarray(np.asarray(photo)[:, :, ::-1])  # ultralytics reads BGR

        default_onnx = pt.with_suffix(".onnx")  # ultralytics' defaults, beside the checkpoint
        if not default_onnx.is_file():
            slim = importlib.util.find_spec("onnxslim") is not None  # else it would pip-install
            YOLO(str(pt)).export(format="onnx", imgsz=IMGSZ, simplify=slim, verbose=False)
        seen: dict[str, Any] = {}

        def gallery() -> dict[str, Any]:
            result = tab.predict(photo, checkpoint=str(pt))
            seen["info"] = result.info
            labels = [d["label"] for d in result.detections]
            return {
                "detections": _counts(labels),
                "inference_ms": result.ultralytics_ms["inference"],
            }

        gallery()  # loads (and exports, once) before anything is timed
        sides = {
            "gallery": gallery,
            "ultralytics_onnxruntime": _ultralytics_call(
                YOLO(str(default_onnx), task="detect"), bgr
            ),
            "ultralytics_onnxruntime_gallery_export": _ultralytics_call(
                YOLO(str(engines.onnx_path(pt)), task="detect"), bgr
            ),
            "ultralytics_pytorch": _ultralytics_call(YOLO(str(pt)), bgr),
        }
        figures = _time(sides, runs)

    info = seen["info"]
    gallery_ms = figures["gallery"]["median_ms"]
    ratio = gallery_ms / figures["ultralytics_onnxruntime"]["median_ms"]
    same_file = gallery_ms / figures["ultralytics_onnxruntime_gallery_export"]["median_ms"]
    return {
        "checkpoint": weights_used,
        "image": f"ultralytics/assets/bus.jpg ({photo.width} x {photo.height})",
        "runs": runs,
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "gallery_engine": f"{info.engine} {info.dtype}",
        "exports": {
            "ultralytics_onnxruntime": "ultralytics' default export: 640 x 640, static",
            "ultralytics_onnxruntime_gallery_export": "the gallery's: "
            + ", ".join(f"{k}={v}" for k, v in engines.EXPORT.items() if k != "format"),
        },
        **figures,
        "ratio_gallery_to_onnxruntime": round(ratio, 3),
        "ratio_gallery_to_onnxruntime_same_export": round(same_file, 3),  # the engine's overhead
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "same_detections": len({json.dumps(f["detections"]) for f in figures.values()}) == 1,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        folder = args.work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        print(json.dumps(measure(folder, args.runs), indent=2))
