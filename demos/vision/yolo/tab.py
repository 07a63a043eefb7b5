"""YOLO tab: real-time object detection on an image, a webcam stream or a video file.

Model: Ultralytics YOLO26 nano (`yolo26n.pt`, 2.4M parameters, COCO's 80 classes), by Glenn Jocher
and Jing Qiu (Ultralytics), released January 2026 with no paper; the line began with Redmon et al.
2015, "You Only Look Once: Unified, Real-Time Object Detection" (arXiv:1506.02640). Weights and
code: AGPL-3.0. Weights are the official assets of github.com/ultralytics/assets, release v8.4.0,
fetched by `python -m demos.core.download yolo` into the gallery's own folder.

Ultralytics is made offline-safe in one place (`configure_ultralytics`, before its first import):
no telemetry, no update or online checks, no installs, safe (weights_only) loading, settings in a
folder of the gallery's own. Boxes are drawn here with PIL's built-in font, because ultralytics'
own plotting downloads a font when a label is not plain ASCII.

Colour order: ultralytics reads numpy images as BGR and Gradio hands over RGB, so the detector is
given a BGR copy; boxes are drawn on the RGB original.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import gradio as gr
import pandas as pd
from PIL import Image

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput
from demos.media import assets
from demos.media import video as video_io
from demos.vision.yolo.pipeline import COCO_NAMES, DEFAULT_CONF, DEFAULT_IOU, Detector
from demos.vision.yolo.weights import configure_ultralytics, download, weights_dir

__all__ = ["SPEC", "build_tab", "configure_ultralytics", "download", "predict", "weights_dir"]

SPEC = registry.get("yolo")
MAX_VIDEO_FRAMES = 300  # 10 s at 30 fps: about 30 s of work on one CPU core
STREAM_EVERY = 0.2  # s between webcam frames sent to the server (5 per second at most)
STREAM_LIMIT = 120  # s a webcam stream runs before the user restarts it
FPS_WINDOW = 10  # frames over which the webcam's frames per second are averaged
COLUMNS = ["class", "confidence", "x1", "y1", "x2", "y2"]


# the model, for the tab and the compare tabs


def predict(
    image: Any,
    conf: float = DEFAULT_CONF,
    iou: float = DEFAULT_IOU,
    classes: list[str] | None = None,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> tuple[dict[str, Any], runtime.RunInfo]:
    """Detect objects: ({detections, counts, annotated RGB array, ultralytics_ms}, run info)."""
    pipe, info = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), Detector.load, progress)
    result, info.speed_ms = pipe(image, conf=conf, iou=iou, classes=classes)
    return result, info


# helpers


def _table(detections: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        [d["label"], round(d["score"], 3), *(round(v, 1) for v in d["box"])] for d in detections
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _details(result: dict[str, Any], run: runtime.RunInfo) -> dict[str, Any]:
    """Run info plus what the detector itself timed (its preprocess / inference / NMS, in ms)."""
    return {
        **run.as_dict(),
        "objects": len(result["detections"]),
        "ultralytics_ms": {k: round(v, 1) for k, v in result["ultralytics_ms"].items()},
    }


def _summary(objects: int, speed_ms: dict[str, float], device: str) -> str:
    """A line such as "3 objects · 80 ms on cpu" (preprocess + inference + postprocess)."""
    return f"{objects} object{'s' * (objects != 1)} · {sum(speed_ms.values()):.0f} ms on {device}"


def _fps(times: list[float]) -> float | None:
    """Frames per second over the recorded arrival times (s); None before the second frame."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


def _most_in_one_frame(frames: list[dict[str, int]]) -> dict[str, int]:
    """Per class, the most objects seen in a single frame (no tracking: a fair count)."""
    most: dict[str, int] = {}
    for counts in frames:
        for label, n in counts.items():
            most[label] = max(most.get(label, 0), n)
    return dict(sorted(most.items(), key=lambda kv: (-kv[1], kv[0])))


# the handlers behind the tab (and its endpoints)


def detect_video(
    path: str | None,
    conf: float = DEFAULT_CONF,
    iou: float = DEFAULT_IOU,
    classes: list[str] | None = None,
    checkpoint: str | None = None,
    progress: gr.Progress | None = None,
) -> tuple[str, str, dict[str, Any]]:
    """Annotate a video frame by frame: (video path, summary, run info)."""
    capture, meta = video_io.open_video(path)
    pipe, run = runtime.load_model(
        SPEC, SPEC.checkpoint(checkpoint), Detector.load, ui.reporter(progress)
    )
    limit = MAX_VIDEO_FRAMES
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
            result, stage_ms = pipe(frame, conf=conf, iou=iou, classes=classes)
            for stage, ms in stage_ms.items():
                speed[stage] = speed.get(stage, 0.0) + ms
            per_frame.append(result["counts"])
            writer.write(result["annotated"])
    if not writer.frames:
        raise BadInput("No frame of this video could be decoded.")
    seconds = time.perf_counter() - start
    run.speed_ms = {stage: ms / writer.frames for stage, ms in speed.items()}  # mean per frame
    most = _most_in_one_frame(per_frame)
    lines = [
        f"Annotated {writer.frames} frames ({writer.frames / meta.fps:.1f} s at {meta.fps:.0f} "
        f"fps) in {seconds:.1f} s: {writer.frames / seconds:.1f} frames per second on "
        f"{run.device}. Most objects in one frame: "
        + (", ".join(f"{label} {n}" for label, n in most.items()) or "none")
        + "."
    ]
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


# the tab


def build_tab() -> None:
    examples = assets.images()
    ui.model_card(SPEC)
    with gr.Row():
        conf = gr.Slider(0.0, 1.0, value=DEFAULT_CONF, step=0.01, label="Confidence threshold")
        iou = gr.Slider(0.05, 1.0, value=DEFAULT_IOU, step=0.05, label="IoU (overlap) threshold")
    with gr.Row():
        classes = gr.Dropdown(
            choices=list(COCO_NAMES),
            value=[],
            multiselect=True,
            allow_custom_value=True,
            label="Only these classes (empty: all)",
            info="The model's class names; filled from the loaded model after the first run.",
        )
        checkpoint = ui.checkpoint_picker(SPEC)
    settings = [conf, iou, classes, checkpoint]

    with gr.Tabs():
        with gr.Tab("Image"), gr.Row():
            with gr.Column():
                image = ui.ImageInput(
                    type="pil",
                    image_mode=None,
                    label="Image",
                    value=examples[0] if examples else None,
                    sources=["upload", "webcam", "clipboard"],
                )
                button = gr.Button("Detect objects", variant="primary")
                if examples:
                    gr.Examples([[e] for e in examples], inputs=[image])
            with gr.Column():
                annotated = gr.Image(label="Detections", type="numpy", format="png")
                headline = gr.Markdown()
                counts = gr.JSON(label="Objects per class")
                table = gr.Dataframe(
                    headers=COLUMNS, label="Detections (box corners in pixels)", interactive=False
                )
        with gr.Tab("Webcam"), gr.Row():
            webcam = ui.ImageInput(
                type="pil", image_mode=None, label="Webcam", sources=["webcam"], streaming=True
            )
            with gr.Column():
                live = gr.Image(label="Live detections", type="numpy", format="jpeg")
                live_stats = gr.Textbox(label="Speed", interactive=False)
        with gr.Tab("Video"), gr.Row():
            with gr.Column():
                video_in = gr.Video(label="Video", sources=["upload"])
                video_button = gr.Button("Detect objects in the video", variant="primary")
                gr.Markdown(
                    f"At most {MAX_VIDEO_FRAMES} frames are annotated; longer videos are cut."
                )
            with gr.Column():
                video_out = gr.Video(label="Annotated video")
                video_summary = gr.Markdown()
    info = ui.run_info()

    @ui.guarded(SPEC)
    def handler(
        image: Image.Image,
        conf: float,
        iou: float,
        classes: list[str] | None,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        result, run = predict(image, conf, iou, classes, checkpoint, ui.reporter(progress))
        rows = _table(result["detections"])
        return result["annotated"], rows, result["counts"], _details(result, run)

    @ui.guarded(SPEC)
    def after_run(checkpoint: str, selected: list[str] | None, details: dict[str, Any]):
        """The headline above the image, and the loaded model's own class names in the filter."""
        pipe, _ = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), Detector.load)
        line = _summary(details["objects"], details["speed_ms"], details["device"])
        return f"**{line}**", gr.Dropdown(choices=pipe.class_names, value=selected or [])

    @ui.guarded(SPEC)
    def stream_handler(
        frame: Image.Image,
        conf: float,
        iou: float,
        classes: list[str] | None,
        checkpoint: str,
        times: list[float] | None,
    ):
        result, run = predict(frame, conf, iou, classes, checkpoint)
        times = [*(times or [])[-(FPS_WINDOW - 1) :], time.monotonic()]
        fps = _fps(times)
        rate = f"{fps:.1f} frames per second · " if fps else ""
        line = _summary(len(result["detections"]), run.speed_ms, run.device)
        return result["annotated"], rate + line, times

    @ui.guarded(SPEC)
    def video_handler(
        path: str,
        conf: float,
        iou: float,
        classes: list[str] | None,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        return detect_video(path, conf, iou, classes, checkpoint, progress)

    outputs = [annotated, table, counts, info]
    button.click(handler, [image, *settings], outputs, api_name=SPEC.key).success(
        after_run, [checkpoint, classes, info], [headline, classes], api_visibility="private"
    )
    times = gr.State([])  # arrival times (s) of this session's last frames
    webcam.stream(
        stream_handler,
        [webcam, *settings, times],
        [live, live_stats, times],
        api_visibility="private",
        stream_every=STREAM_EVERY,
        time_limit=STREAM_LIMIT,
    )
    # The browser's stream protocol is not one gradio_client speaks (it has no "process_streaming"
    # message), so API clients send frames one call at a time to the same handler.
    one_frame = gr.Button("Annotate one frame", visible=False)
    one_frame.click(
        stream_handler,
        [webcam, *settings, times],
        [live, live_stats, times],
        api_name=f"{SPEC.key}_stream",
    )
    video_button.click(
        video_handler,
        [video_in, *settings],
        [video_out, video_summary, info],
        api_name=f"{SPEC.key}_video",
    )
