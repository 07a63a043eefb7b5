"""YOLO tab: real-time object detection on an image, a webcam stream or a video file.

Model: Ultralytics YOLO26 nano (`yolo26n.pt`, 2.4M parameters, COCO's 80 classes), by Glenn Jocher
and Jing Qiu (Ultralytics), released January 2026 with no paper; the line began with Redmon et al.
2015, "You Only Look Once: Unified, Real-Time Object Detection" (arXiv:1506.02640). Weights and
code: AGPL-3.0. Weights are the official assets of github.com/ultralytics/assets, release v8.4.0,
fetched by `python -m demos.core.download yolo` into the gallery's own folder. Ultralytics' exports
of a detector (`.onnx`, `.tflite`, `.torchscript`, `*_openvino_model/`) load the same way, with the
class names they carry (`demos.vision.yolo.formats`).

Ultralytics is made offline-safe in one place (`configure_ultralytics`, before its first import):
no telemetry, no update or online checks, no installs, safe (weights_only) loading, settings in a
folder of the gallery's own. The detector returns plain boxes; they are drawn here, after its
postprocess, on the RGB image the user gave (`demos.vision.yolo.draw`), with a legend of the
classes in the boxes' colours under the line "1 forward pass · 38 ms · 5 boxes".

Engines (`demos.vision.yolo.engines`): ONNX Runtime on CPU (a `.pt` runs its ONNX export, made
once and cached), PyTorch on CUDA; the Engine menu picks another. Examples with many objects are
the two photos ultralytics ships in its package (`ultralytics/assets/`), read from there.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from demos.core import registry, runtime, ui
from demos.media import assets, images
from demos.media import video as video_io
from demos.vision.yolo import engines, formats, video
from demos.vision.yolo.draw import draw_detections, legend
from demos.vision.yolo.pipeline import COCO_NAMES, DEFAULT_CONF, DEFAULT_IOU, Detections, Detector
from demos.vision.yolo.weights import configure_ultralytics, download, weights_dir

__all__ = [
    "SPEC",
    "Detections",
    "build_tab",
    "configure_ultralytics",
    "detect",
    "download",
    "examples",
    "load_detector",
    "predict",
    "weights_dir",
]

SPEC = registry.get("yolo")
MAX_VIDEO_FRAMES = video.MAX_FRAMES  # frames annotated per video at most
STREAM_EVERY = 0.2  # s between webcam frames sent to the server (5 per second at most)
STREAM_LIMIT = 120  # s a webcam stream runs before the user restarts it
FPS_WINDOW = 10  # frames over which the webcam's frames per second are averaged
COLUMNS = ["class", "confidence", "x1", "y1", "x2", "y2"]
# Photos with many objects that ultralytics ships inside its package (AGPL-3.0, as ultralytics):
# bus.jpg (people and a bus), zidane.jpg (two men and a tie).
ULTRALYTICS_EXAMPLES = ("bus.jpg", "zidane.jpg")


# the model, for the tab and the compare tabs


def load_detector(
    checkpoint: str | None, engine: str | None = None, progress: runtime.Progress | None = None
) -> tuple[Detector, runtime.RunInfo]:
    """The detector for `checkpoint` (None: the tab's default) on `engine` (None or "": the
    fastest here), from the model cache; its run info names what actually runs it.

    Load YOLO through here rather than `runtime.load_model`: the engine decides the loader.
    """
    ckpt = SPEC.checkpoint(checkpoint)
    if formats.format_of(Path(ckpt.id)) in (None, "pt"):
        chosen = runtime.engine_for(SPEC, engine)  # an engine that cannot run here says why
    else:  # an export runs on its own format's runtime: one cache entry, whatever was asked
        chosen = runtime.engine_for(SPEC)
    loader = functools.partial(Detector.load, engine=chosen.key, progress=progress)
    pipe, info = runtime.load_model(SPEC, ckpt, loader, progress, engine=chosen)
    info.engine, info.dtype = pipe.engine, pipe.precision
    return pipe, info


def _note(pipe: Detector, engine: str | None) -> str:
    """Why the engine that ran is not the one asked for ("" when it is)."""
    if pipe.note:
        return pipe.note
    wanted = (engine or "").strip()
    if wanted and wanted not in (pipe.engine, engines.LABELS[pipe.engine]):
        return (
            f"This checkpoint is a {formats.FORMATS[pipe.format].name} export: it runs on "
            f"{engines.LABELS[pipe.engine]}, whatever the engine menu says (the menu applies to "
            f".pt checkpoints)."
        )
    return ""


def detect(pipe: Detector, info: runtime.RunInfo, image: Any, **params: Any) -> Detections:
    """Run a loaded detector on `image`, then draw its boxes (and their legend) on the RGB image
    it was given."""
    rgb = np.asarray(images.to_rgb(image))  # H x W x 3 uint8: what is detected and drawn on
    found, info.speed_ms = pipe(rgb, **params)
    start = time.perf_counter()
    annotated = draw_detections(rgb, found["detections"])
    key = legend(found["detections"], found["ultralytics_ms"].get("inference", 0.0))
    return Detections(
        detections=found["detections"],
        counts=found["counts"],
        annotated=annotated,
        ultralytics_ms=found["ultralytics_ms"],
        legend=key,
        draw_ms=(time.perf_counter() - start) * 1000.0,
        note=pipe.note,
        info=info,
    )


def predict(
    image: Any,
    conf: float = DEFAULT_CONF,
    iou: float = DEFAULT_IOU,
    classes: list[str] | None = None,
    checkpoint: str | None = None,
    engine: str | None = None,
    progress: runtime.Progress | None = None,
) -> Detections:
    """Detect objects: boxes best first, counts per class, the annotated image and its legend,
    run info (with the engine that ran)."""
    pipe, info = load_detector(checkpoint, engine, progress)
    result = detect(pipe, info, image, conf=conf, iou=iou, classes=classes)
    result.note = _note(pipe, engine)
    return result


def examples() -> list[str]:
    """The image examples: ultralytics' own photos with many objects (read from its installed
    package, without importing it), then the gallery's assets."""
    found = importlib.util.find_spec("ultralytics")
    package = Path(found.origin).parent if found and found.origin else None
    shipped = [package / "assets" / name for name in ULTRALYTICS_EXAMPLES] if package else []
    return [str(p) for p in shipped if p.is_file()] + assets.images()


# helpers


def _table(detections: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        [d["label"], round(d["score"], 3), *(round(v, 1) for v in d["box"])] for d in detections
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _details(result: Detections) -> dict[str, Any]:
    """Run info plus what the detector itself timed (its preprocess / inference / NMS, in ms)."""
    extra = {"engine_note": result.note} if result.note else {}
    return {
        **result.info.as_dict(),
        **extra,
        "objects": len(result.detections),
        "ultralytics_ms": {k: round(v, 1) for k, v in result.ultralytics_ms.items()},
        "draw_ms": round(result.draw_ms, 1),
    }


def _summary(objects: int, speed_ms: dict[str, float], device: str, engine: str) -> str:
    """A line such as "3 objects · 80 ms on cpu, ONNX Runtime" (all three stages)."""
    where = f"{device}, {engines.LABELS.get(engine, engine)}"
    return f"{objects} object{'s' * (objects != 1)} · {sum(speed_ms.values()):.0f} ms on {where}"


def _fps(times: list[float]) -> float | None:
    """Frames per second over the recorded arrival times (s); None before the second frame."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


# the handlers behind the tab (and its endpoints); `build_tab` wraps each in `ui.guarded`


def on_image(
    image: Image.Image,
    conf: float,
    iou: float,
    classes: list[str] | None,
    checkpoint: str,
    engine: str = "",
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[Any, pd.DataFrame, dict[str, int], dict[str, Any], str]:
    result = predict(image, conf, iou, classes, checkpoint, engine, ui.reporter(progress))
    details = _details(result)
    return result.annotated, _table(result.detections), result.counts, details, result.legend


def after_image(checkpoint: str, engine: str, selected: list[str] | None, details: dict[str, Any]):
    """The headline above the image, and the loaded model's own class names in the filter."""
    pipe, _ = load_detector(checkpoint, engine)
    keys = ("objects", "speed_ms", "device", "engine")
    line = f"**{_summary(*(details[k] for k in keys))}**"
    if details.get("engine_note"):
        line += f"\n\n{details['engine_note']}"
    return line, gr.Dropdown(choices=pipe.class_names, value=selected or [])


def on_frame(
    frame: Image.Image,
    conf: float,
    iou: float,
    classes: list[str] | None,
    checkpoint: str,
    engine: str,
    times: list[float] | None,
) -> tuple[Any, str, list[float]]:
    """One webcam frame: its annotated copy, the speed line, this session's arrival times.

    The rate is how many frames came back per second (the browser sends at most one every
    `STREAM_EVERY` s); the engine's own rate (one frame's detection time) follows it.
    """
    result = predict(frame, conf, iou, classes, checkpoint, engine)
    times = [*(times or [])[-(FPS_WINDOW - 1) :], time.monotonic()]
    fps = _fps(times)
    rate = f"{fps:.1f} frames per second · " if fps else ""
    info = result.info
    line = _summary(len(result.detections), info.speed_ms, info.device, info.engine)
    ms = sum(info.speed_ms.values()) + result.draw_ms  # detection and drawing, per frame
    return result.annotated, f"{rate}{line} (up to {1000 / ms:.0f} per second)", times


def on_video(
    path: str | None,
    conf: float,
    iou: float,
    classes: list[str] | None,
    checkpoint: str,
    engine: str = "",
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[str, str, dict[str, Any]]:
    """Annotate a video frame by frame: (video path, summary, run info)."""
    source = video_io.open_video(path)  # an unreadable file is a message before any load
    pipe, run = load_detector(checkpoint, engine, ui.reporter(progress))
    params = {"conf": conf, "iou": iou, "classes": classes}

    def frame(rgb: np.ndarray) -> Detections:  # each frame times itself in a copy of the info
        return detect(pipe, dataclasses.replace(run), rgb, **params)

    return video.annotate(source, frame, run, progress, limit=MAX_VIDEO_FRAMES)


# the tab


def _settings() -> list[Any]:
    """Confidence, IoU, the class filter, the checkpoint and the engine: shared by the sub-tabs."""
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
        engine = ui.engine_picker(
            SPEC, "What runs a .pt checkpoint; an export (.onnx, .tflite) runs on its own runtime."
        )
    return [conf, iou, classes, checkpoint, engine]


def _image_tab(settings: list[Any], info: gr.JSON) -> gr.Image:
    shown = examples()
    with gr.Tab("Image"), gr.Row():
        with gr.Column():
            image = ui.ImageInput(
                type="pil",
                image_mode=None,
                label="Image",
                value=shown[0] if shown else None,
                sources=["upload", "webcam", "clipboard"],
            )
            button = gr.Button("Detect objects", variant="primary")
            if shown:
                gr.Examples([[e] for e in shown], inputs=[image])
        with gr.Column():
            annotated = gr.Image(label="Detections", type="numpy", format="png")
            headline = gr.Markdown()
            key = gr.HTML(label="One pass, many boxes")
            counts = gr.JSON(label="Objects per class")
            table = gr.Dataframe(
                headers=COLUMNS, label="Detections (box corners in pixels)", interactive=False
            )
    guarded = ui.guarded(SPEC)
    _, _, classes, checkpoint, engine = settings
    outputs = [annotated, table, counts, info, key]
    button.click(guarded(on_image), [image, *settings], outputs, api_name=SPEC.key).success(
        guarded(after_image), [checkpoint, engine, classes, info], [headline, classes],
        api_visibility="private",
    )  # fmt: skip
    return annotated


def _webcam_tab(settings: list[Any]) -> None:
    with gr.Tab("Webcam"), gr.Row():
        webcam = ui.ImageInput(
            type="pil", image_mode=None, label="Webcam", sources=["webcam"], streaming=True
        )
        with gr.Column():
            live = gr.Image(label="Live detections", type="numpy", format="jpeg")
            live_stats = gr.Textbox(label="Speed", interactive=False)
            # The browser's stream protocol is not one gradio_client speaks (it has no
            # "process_streaming" message), so API clients send frames one call at a time to
            # the same handler, through this hidden button.
            one_frame = gr.Button("Annotate one frame", visible=False)
    handler = ui.guarded(SPEC)(on_frame)
    times = ui.session_state([])  # arrival times (s) of this session's last frames
    inputs, outputs = [webcam, *settings, times], [live, live_stats, times]
    webcam.stream(
        handler,
        inputs,
        outputs,
        api_visibility="private",
        stream_every=STREAM_EVERY,
        time_limit=STREAM_LIMIT,
    )
    one_frame.click(handler, inputs, outputs, api_name=f"{SPEC.key}_stream")


def _video_tab(settings: list[Any], info: gr.JSON) -> None:
    with gr.Tab("Video"), gr.Row():
        with gr.Column():
            video_in = ui.VideoInput(label="Video", sources=["upload"])
            button = gr.Button("Detect objects in the video", variant="primary")
            gr.Markdown(f"At most {MAX_VIDEO_FRAMES} frames are annotated; longer videos are cut.")
        with gr.Column():
            video_out = gr.Video(label="Annotated video")
            summary = gr.Markdown()
    button.click(
        ui.guarded(SPEC)(on_video),
        [video_in, *settings],
        [video_out, summary, info],
        api_name=f"{SPEC.key}_video",
    )


def build_tab() -> gr.Image:
    ui.model_card(SPEC)
    settings = _settings()
    tabs = gr.Column()  # filled below, once the run info they share (shown after them) exists
    info = ui.run_info()
    with tabs, gr.Tabs():
        annotated = _image_tab(settings, info)
        _webcam_tab(settings)
        _video_tab(settings, info)
    return annotated
