"""Video in and out with OpenCV, for tabs that annotate a video frame by frame.

OpenCV (`cv2`, installed with ultralytics) reads whatever its bundled FFmpeg decodes. For writing,
the first codec that works here is used, in this order:

- H.264 in MP4 (`avc1`): every browser plays it, but the pip wheels of OpenCV usually lack the
  encoder;
- with the `ffmpeg` program installed: MPEG-4 part 2 in MP4 (`mp4v`, about 5 ms a frame), which
  Gradio's `gr.Video` re-encodes to H.264 before it reaches the browser;
- without it: VP8 in WebM (browsers play it; about 0.1-0.2 s a 640x480 frame on one CPU core:
  VP9 would take twice that), then `mp4v`, then Motion-JPEG in AVI.

Frames are handed over and taken back as 8-bit RGB arrays; OpenCV's BGR stays inside this module.
"""

from __future__ import annotations

import functools
import logging
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from demos.core import retention
from demos.core.errors import BadInput

log = logging.getLogger(__name__)

MAX_SIDE = 1280  # px; larger frames are shrunk first (detectors read 640 px; encoding 4K is slow)
DEFAULT_FPS = 25.0  # frames per second, when a file does not say


# classes


@dataclass(frozen=True)
class Codec:
    fourcc: str  # OpenCV's four-character code
    suffix: str  # container, by file extension
    name: str  # for people


H264 = Codec("avc1", ".mp4", "H.264 MP4")
MP4V = Codec("mp4v", ".mp4", "MPEG-4 MP4")
VP8 = Codec("VP80", ".webm", "VP8 WebM")
MJPG = Codec("MJPG", ".avi", "Motion-JPEG AVI")


@dataclass(frozen=True)
class VideoInfo:
    fps: float  # frames per second
    frames: int  # as the container reports it; 0 when unknown
    width: int  # px, before any shrinking
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps if self.frames else 0.0


class VideoWriter:
    """Writes RGB frames to a new file in a temporary folder; the first frame sets the size."""

    def __init__(self, fps: float, stem: str = "annotated") -> None:
        self.codec = writer_codec()
        self.fps = fps
        self.path = retention.temp_dir("video-") / f"{stem}{self.codec.suffix}"
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None

    def write(self, rgb: np.ndarray) -> None:
        if self._writer is None:
            height, width = rgb.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*self.codec.fourcc)
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
            if not self._writer.isOpened():
                raise RuntimeError(f"OpenCV could not open a {self.codec.name} writer")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# helpers


def _works(codec: Codec) -> bool:
    """Whether this OpenCV build can write `codec`: a two-frame test file."""
    with retention.scratch("codec-") as folder:
        path = folder / f"probe{codec.suffix}"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec.fourcc), 10, (32, 32))
        if not writer.isOpened():
            return False
        for _ in range(2):
            writer.write(np.zeros((32, 32, 3), np.uint8))
        writer.release()
        return path.is_file() and path.stat().st_size > 0


@functools.cache
def writer_codec() -> Codec:
    """The codec this machine writes with (decided once per process; see the module docstring)."""
    # With ffmpeg installed, Gradio turns mp4v into H.264, which is faster than writing VP8.
    order = (H264, MP4V, VP8, MJPG) if shutil.which("ffmpeg") else (H264, VP8, MP4V, MJPG)
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # failed probes are expected
    try:
        for codec in order:
            if _works(codec):
                log.info("annotated videos are written as %s", codec.name)
                return codec
    finally:
        cv2.utils.logging.setLogLevel(level)
    raise RuntimeError("OpenCV cannot write video here (no H.264, MPEG-4, VP8 or MJPEG encoder)")


def shrink(rgb: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Scale a frame down (never up) so that its longer side is at most `max_side` px."""
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def open_video(path: str | Path | None) -> tuple[cv2.VideoCapture, VideoInfo]:
    """Open a video file for reading; an unreadable file is a `BadInput`."""
    if not path:
        raise BadInput("No video was given: upload a video file.")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise BadInput("This file is not a video that can be read (OpenCV could not open it).")
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    info = VideoInfo(
        fps=fps if math.isfinite(fps) and 0 < fps <= 1000 else DEFAULT_FPS,
        frames=int(frames) if math.isfinite(frames) and frames > 0 else 0,
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )
    return capture, info


def read_frames(capture: cv2.VideoCapture, limit: int) -> Iterator[np.ndarray]:
    """Up to `limit` frames as RGB arrays, each at most MAX_SIDE px a side; releases the file."""
    try:
        for _ in range(limit):
            ok, bgr = capture.read()
            if not ok:
                return
            yield shrink(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
