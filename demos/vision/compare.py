"""Compare vision: one image through the ImageNet classifiers (and YOLO's detector when present).

Top-5 labels side by side with latency and parameter count, and whether the classifiers agree
(same top-1 label; how many of the top-5 they share). A chart puts the models' size and speed
side by side, from the models that just ran: parameters (`sum(p.numel())`, in the run info),
weight files on disk, inference time on this machine. It is the seed's contrast in numbers:
MobileNetV2's depthwise convolutions against ViT's full attention. Endpoint `/compare_vision`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from demos.core import compare, registry, ui
from demos.core.compare import Outcome
from demos.core.pipeline import Result
from demos.media import assets, images
from demos.vision import views
from demos.vision.classify import Classification
from demos.vision.footprint import size_on_disk
from demos.vision.yolo.pipeline import Detections

CLASSIFIERS = ["mobilenet_v2", "vit"]
DETECTORS = ["yolo"]
TOP_K = 5


# helpers


def _name(label: str) -> str:
    """'tabby, tabby cat' and 'Tabby cat' are one answer: compare first synonyms, lowercased."""
    return label.split(",")[0].strip().lower()


def agreement(outcomes: list[Outcome]) -> str:
    """A sentence on whether the classifiers that answered agree."""
    answered = [o.result for o in outcomes if o.ok and isinstance(o.result, Classification)]
    if len(answered) < 2:
        return ""
    tops = [{_name(p["label"]) for p in r.predictions} for r in answered]
    firsts = {_name(r.predictions[0]["label"]) for r in answered}
    shared = set.intersection(*tops)
    verdict = "agree" if len(firsts) == 1 else "disagree"
    return (
        f"**The classifiers {verdict} on the top label** ({', '.join(sorted(firsts))}); "
        f"they share {len(shared)} of their top-{TOP_K} labels."
    )


def run_one(spec: Any, image: Any) -> Result:
    """The typed result of one model on the image."""
    module = compare.module(spec)
    return module.predict(image) if spec.key in DETECTORS else module.predict(image, TOP_K)


def column_value(result: Result) -> Any:
    """What a column shows: the annotated image of a detector, the labels of a classifier."""
    if isinstance(result, Detections):
        return result.annotated
    if isinstance(result, Classification):
        return ui.to_label(result.predictions)
    raise TypeError(f"no column view for {type(result).__name__}")


def answer(result: Result) -> Any:
    """What the API returns for a column: a classifier's labels; a detector's boxes and counts
    (`Result.answer()`: the annotated image stays in the UI)."""
    return result.predictions if isinstance(result, Classification) else result.answer()


def file_bytes(result: Result) -> int | None:
    """The weight files' size of the model that gave `result`: what a classifier reports, else
    the checkpoint's file (or export folder) when the run info names a local path."""
    if isinstance(result, Classification):
        return result.file_bytes
    path = Path(result.info.checkpoint).expanduser()
    if not path.exists() and result.info.demo in DETECTORS:  # a bare name such as yolo26n.pt
        from demos.vision.yolo.weights import weights_path

        try:
            path = weights_path(registry.get(result.info.demo).checkpoint(result.info.checkpoint))
        except FileNotFoundError:
            return None
    return size_on_disk(path) if path.exists() else None


def footprints(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Size and speed of each model that answered: {model, params, file_bytes, inference_ms}."""
    return [
        {
            "model": o.title,
            "params": o.result.info.params,
            "file_bytes": file_bytes(o.result),
            "inference_ms": o.result.info.speed_ms.get("inference"),
        }
        for o in outcomes
        if o.ok
    ]


def footprint_chart(outcomes: list[Outcome]) -> np.ndarray | None:
    """The chart of `footprints`, drawn once at least one model answered."""
    rows = footprints(outcomes)
    return views.footprint_chart(rows) if rows else None


def api(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """The outcomes as plain JSON, each answer in its API form; the run info also says the
    size of the weight files (`file_bytes`)."""
    entries = [o.as_dict() for o in outcomes]
    for entry, outcome in zip(entries, outcomes, strict=True):
        if "result" in entry:
            entry["result"] = answer(outcome.result)
            entry["info"] = {**entry["info"], "file_bytes": file_bytes(outcome.result)}
    return entries


def compare_image(image: Any) -> Any:
    """Yield the outcomes (one per model) after each model finishes."""
    rgb = images.to_rgb(image)  # checked once, so a bad file is one clear message
    yield from compare.run_each(
        compare.present(CLASSIFIERS + DETECTORS), lambda spec: run_one(spec, rgb), answer=answer
    )


# the tab


def build_tab() -> None:
    specs = compare.present(CLASSIFIERS + DETECTORS)
    gr.Markdown(
        "### One image, every vision model\nThe classifiers answer with ImageNet labels; the "
        "detector (when present) draws boxes. Columns fill in as each model finishes."
    )
    with gr.Row():
        image = ui.ImageInput(type="pil", image_mode=None, label="Image", scale=1)
        with gr.Column(scale=1):
            button = gr.Button("Compare", variant="primary")
            verdict = gr.Markdown()
    columns: list[tuple[Any, Any]] = []  # (the answer's component, the status line) per model
    with gr.Row(equal_height=False):
        for spec in specs:
            with gr.Column():
                gr.Markdown(f"#### {spec.title}")
                if spec.key in DETECTORS:
                    shown: Any = gr.Image(label="Detections", type="numpy", format="png")
                else:
                    shown = gr.Label(num_top_classes=TOP_K, label="Top-5")
                columns.append((shown, gr.Markdown()))
    details = gr.JSON(label="All results (as returned by the API)", visible=True)
    gr.Markdown(
        "**Size and speed, measured here** from the models that just ran: parameters, weight "
        "files on disk, inference time. Look at how small MobileNetV2's bars are next to ViT's: "
        "depthwise convolutions instead of full attention."
    )
    chart = gr.Image(label="Size and speed of the models that ran", type="numpy", format="png")
    if assets.images():
        gr.Examples([[e] for e in assets.images()], inputs=[image])

    def render(outcomes: list[Outcome]) -> list[Any]:
        values: list[Any] = []
        for outcome in outcomes:
            shown = column_value(outcome.result) if outcome.ok else None
            values += [shown, compare.status(outcome)]
        return [*values, agreement(outcomes), api(outcomes), footprint_chart(outcomes)]

    @ui.guarded("Compare vision")
    def handler(image: Any):
        for outcomes in compare_image(image):
            yield render(outcomes)

    outputs = [c for column in columns for c in column] + [verdict, details, chart]
    button.click(handler, [image], outputs, api_name="compare_vision")
