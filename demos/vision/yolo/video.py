"""The YOLO tab's video path: detect and draw frame by frame, then write a browser-playable file.

Each frame goes through the same `detect` as a single image (the detector, then the boxes drawn
after its postprocess); this module only reads, counts, times and writes. Videos are cut at a
frame limit so that one upload cannot hold the model for minutes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from demos.core import runtime
from demos.core.errors import BadInput
from demos.media import video as video_io
from demos.vision.yolo.engines import LABELS
from demos.vision.yolo.pipeline import Detections

MAX_FRAMES = 300  # 10 s at 30 fps: about 30 s of work on one CPU core


# helpers


def most_in_one_frame(frames: list[dict[str, int]]) -> dict[str, int]:
    """Per class, the most objects seen in a single frame (no tracking: a fair count)."""
    most: dict[str, int] = {}
    for counts in frames:
        for label, n in counts.items():
            most[label] = max(most.get(label, 0), n)
    return dict(sorted(most.items(), key=lambda kv: (-kv[1], kv[0])))


def _summary(frames: int, fps: float, seconds: float, where: str, most: dict[str, int]) -> str:
    return (
        f"Annotated {frames} frames ({frames / fps:.1f} s at {fps:.0f} fps) in {seconds:.1f} s: "
        f"{frames / seconds:.1f} frames per second on {where}. Most objects in one frame: "
        + (", ".join(f"{label} {n}" for label, n in most.items()) or "none")
        + "."
    )


# the video path


def annotate(
    source: tuple[cv2.VideoCapture, video_io.VideoInfo],
    detect: Callable[[np.ndarray], Detections],
    run: runtime.RunInfo,
    progress: Any = None,
    limit: int = MAX_FRAMES,
) -> tuple[str, str, dict[str, Any]]:
    """Run `detect` on each RGB frame of an opened video: (annotated video path, summary, info).

    `run` is the loaded model's run info; its `speed_ms` becomes the mean per frame.
    """
    capture, meta = source
    total = min(limit, meta.frames) if meta.frames else limit  # for the progress bar
    per_frame: list[dict[str, int]] = []
    speed: dict[str, float] = {}
    cut = False
    start = time.perf_counter()
    frames = video_io.read_frames(capture, limit + 1)  # one more: is there anything after?
    with video_io.VideoWriter(meta.fps) as writer, contextlib.closing(frames):
        for i, frame in enumerate(frames):
            if i == limit:
                cut = True
                break
            if progress is not None:
                progress((i, total), desc=f"Frame {i + 1} of {total}", unit="frames")
            result = detect(frame)
            for stage, ms in result.info.speed_ms.items():
                speed[stage] = speed.get(stage, 0.0) + ms
            per_frame.append(result.counts)
            writer.write(result.annotated)
    if not writer.frames:
        raise BadInput("No frame of this video could be decoded.")
    seconds = time.perf_counter() - start
    run.speed_ms = {stage: ms / writer.frames for stage, ms in speed.items()}  # mean per frame
    most = most_in_one_frame(per_frame)
    where = f"{run.device}, {LABELS.get(run.engine, run.engine)}"  # "cpu, ONNX Runtime"
    lines = [_summary(writer.frames, meta.fps, seconds, where, most)]
    if cut:
        length = f"has {meta.frames} frames ({meta.seconds:.1f} s)" if meta.frames else "is longer"
        lines.append(
            f"The video {length}; only the first {writer.frames} were annotated (at most "
            f"{limit}, so the demo stays responsive). Trim the video to see a later part."
        )
    info = {
        **run.as_dict(),
        "frames": writer.frames,
        "frames_in_video": meta.frames or None,  # None: the file does not say
        "frames_per_second": round(writer.frames / seconds, 2),
        "codec": writer.codec.name,
        "most_in_one_frame": most,
    }
    return str(writer.path), "\n\n".join(lines), info
