"""Compare vision: one image through the ImageNet classifiers (and YOLO's detector when present).

Top-5 labels side by side with latency and parameter count, and whether the classifiers agree
(same top-1 label; how many of the top-5 they share). Endpoint `/compare_vision`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from demos.core import compare, ui
from demos.core.compare import Outcome
from demos.media import assets, images

CLASSIFIERS = ["mobilenet_v2", "vit"]
DETECTORS = ["yolo"]
TOP_K = 5


# helpers


def _name(label: str) -> str:
    """'tabby, tabby cat' and 'Tabby cat' are one answer: compare first synonyms, lowercased."""
    return label.split(",")[0].strip().lower()


def agreement(outcomes: list[Outcome]) -> str:
    """A sentence on whether the classifiers that answered agree."""
    answered = [o for o in outcomes if o.ok and o.key in CLASSIFIERS]
    if len(answered) < 2:
        return ""
    tops = [{_name(p["label"]) for p in o.result} for o in answered]
    firsts = {_name(o.result[0]["label"]) for o in answered}
    shared = set.intersection(*tops)
    verdict = "agree" if len(firsts) == 1 else "disagree"
    return (
        f"**The classifiers {verdict} on the top label** ({', '.join(sorted(firsts))}); "
        f"they share {len(shared)} of their top-{TOP_K} labels."
    )


def run_one(spec: Any, image: Any) -> tuple[Any, Any]:
    """(plain result, run info) of one model on the image."""
    if spec.key in DETECTORS:
        result, info = compare.module(spec).predict(image)
        summary = {"detections": result["detections"], "counts": result["counts"]}
        return {"detections": summary, "annotated": result["annotated"]}, info
    predictions, *_, info = compare.module(spec).predict(image, TOP_K)
    return predictions, info


def compare_image(image: Any) -> Any:
    """Yield the outcomes (one per model) after each model finishes."""
    rgb = images.to_rgb(image)  # checked once, so a bad file is one clear message
    yield from compare.run_each(
        compare.present(CLASSIFIERS + DETECTORS), lambda spec: run_one(spec, rgb)
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
    columns: list[tuple[Any, ...]] = []
    with gr.Row(equal_height=False):
        for spec in specs:
            with gr.Column():
                gr.Markdown(f"#### {spec.title}")
                if spec.key in DETECTORS:
                    view: Any = gr.Image(label="Detections", type="numpy", format="png")
                else:
                    view = gr.Label(num_top_classes=TOP_K, label="Top-5")
                columns.append((spec, view, gr.Markdown()))
    details = gr.JSON(label="All results (as returned by the API)", visible=True)
    if assets.images():
        gr.Examples([[e] for e in assets.images()], inputs=[image])

    def render(outcomes: list[Outcome]) -> list[Any]:
        values: list[Any] = []
        for (spec, _view, _status), outcome in zip(columns, outcomes, strict=True):
            if not outcome.ok:
                values.append(None)
            elif spec.key in DETECTORS:
                values.append(outcome.result["annotated"])
            else:
                values.append(ui.to_label(outcome.result))
            values.append(compare.status(outcome))
        api = [o.as_dict() for o in outcomes]
        for entry in api:  # images stay in the UI; the API returns the detections
            if isinstance(entry.get("result"), dict):
                entry["result"] = entry["result"]["detections"]
        return [*values, agreement(outcomes), api]

    @ui.guarded("Compare vision")
    def handler(image: Any):
        for outcomes in compare_image(image):
            yield render(outcomes)

    outputs = [c for _, view, status in columns for c in (view, status)] + [verdict, details]
    button.click(handler, [image], outputs, api_name="compare_vision")
