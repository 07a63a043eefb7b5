"""MobileNetV2 image classification tab, on two engines: the float PyTorch model and its mobile
form, Google's uint8 TFLite model run by LiteRT (`demos.vision.tflite_classifier`).

Model: MobileNetV2 1.0 at 224 px (`google/mobilenet_v2_1.0_224`), Sandler et al. 2018,
"MobileNetV2: Inverted Residuals and Linear Bottlenecks" (arXiv:1801.04381). Weights: Google's
TensorFlow release (Apache-2.0), ported to PyTorch by Hugging Face. The checkpoint has 1001
classes, index 0 "background"; labels come from its own label map, so there is no off-by-one.

The seed's claim, "depthwise convolutions, far fewer parameters, fast enough for a phone", is
shown from the model that ran: the weights its depthwise-separable blocks use against ordinary
convolutions of the same shapes (`demos.vision.footprint`), and the file size and latency of both
engines measured on this machine.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gradio as gr
import pandas as pd
import torch
from PIL import Image

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput, GalleryError
from demos.core.registry import Checkpoint, Engine
from demos.media import assets, images
from demos.vision import classify as image_classification
from demos.vision import footprint, tflite_classifier, views
from demos.vision.classify import Classification, ImageClassifier

SPEC = registry.get("mobilenet_v2")
LITERT = "litert"  # the engine key of the TFLite model in SPEC.engines
TABLE_HEADERS = ["Engine", "Precision", "Parameters", "File (MB)", "Inference (ms)", "Top-1"]


# classes


@dataclasses.dataclass(kw_only=True)
class MobileNetClassification(Classification):
    """MobileNetV2's answer, with what the model that ran is made of: each depthwise block's
    weights against an ordinary convolution of the same shape, read from its modules
    (`footprint.separable_blocks`; [] on LiteRT, whose graph is not torch modules)."""

    separable: list[dict[str, Any]] = dataclasses.field(default_factory=list)


# helpers


def _litert_checkpoint(labels: Checkpoint, requested: str | None) -> Checkpoint:
    """The cache entry of the TFLite model: its source (file or URL) and the label map it uses.

    The int8 file is MobileNetV2 1.0 at 224 px: another size from the menu is refused rather
    than silently swapped for it.
    """
    wanted = (requested or "").strip()
    if wanted and labels in SPEC.choices:
        raise BadInput(
            f"The LiteRT engine runs Google's int8 MobileNetV2 1.0 · 224 px only, not "
            f"{labels.label}. Pick the default checkpoint, or the PyTorch engine for other sizes."
        )
    source = tflite_classifier.tflite_source()
    return Checkpoint(id=f"{source} (labels: {labels.id})", label="int8 TFLite")


def _load_litert(labels: Checkpoint, requested: str | None, engine: Engine, progress: Any):
    key = _litert_checkpoint(labels, requested)
    threads = torch.get_num_threads()  # the same threads as the PyTorch engine: a fair race

    def load(_ckpt: Checkpoint, _dev: torch.device, _dtype: torch.dtype) -> Any:
        return tflite_classifier.TFLiteClassifier.load(
            labels, tflite_classifier.tflite_path(), threads
        )

    pipe, info = runtime.load_model(SPEC, key, load, progress, engine=engine)
    info.checkpoint, info.device = str(pipe.path), str(pipe.device)
    return pipe, info


def table_rows(results: list[MobileNetClassification]) -> list[list[Any]]:
    """One row per engine that ran: what it is, what it weighs, how fast it answered."""
    labels = {e.key: e.label for e in SPEC.engines}
    rows = []
    for r in results:
        info = r.info
        top = r.predictions[0] if r.predictions else {}
        rows.append(
            [
                labels.get(info.engine, info.engine),
                info.dtype,
                views.human(info.params),
                round(r.file_bytes / 1e6, 2) if r.file_bytes else None,
                round(info.speed_ms.get("inference", 0.0), 1),
                f"{top.get('label', '')} ({top.get('score', 0):.2f})" if top else "",
            ]
        )
    return rows


# the model


def predict(
    image: Any,
    top_k: int = image_classification.DEFAULT_TOP_K,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
    engine: str | None = None,
) -> MobileNetClassification:
    """The top-k ImageNet labels, best first, for any image, with the run info; `engine` is a key
    of the record's engines ("pytorch", "litert"; default: the first that runs here)."""
    chosen = runtime.engine_for(SPEC, engine)
    labels = SPEC.checkpoint(checkpoint)
    if chosen.key == LITERT:
        pipe, info = _load_litert(labels, checkpoint, chosen, progress)
    else:
        pipe, info = runtime.load_model(SPEC, labels, ImageClassifier.load, progress, chosen)
    if info.loaded_now:  # one untimed run first: the latency shown is the steady one
        pipe(image, top_k=top_k)
    predictions, info.speed_ms = pipe(image, top_k=top_k)
    return MobileNetClassification(
        predictions=predictions,
        info=info,
        file_bytes=pipe.file_bytes,
        separable=footprint.separable_blocks(pipe.model) if pipe.model is not None else [],
    )


def download(checkpoint: Checkpoint) -> str:
    """`python -m demos.core.download mobilenet_v2`: the hub checkpoint and the TFLite file."""
    from demos.core.download import hub_download

    return f"{hub_download(checkpoint)}; {tflite_classifier.download()}"


# the tab


def on_image(
    image: Image.Image,
    top_k: float,
    checkpoint: str,
    engine: str = "",
    both: bool = False,
    measured: dict[str, list[Any]] | None = None,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
):
    """Classify with the chosen engine (and, with `both`, the other one on the same image)."""
    rgb = images.to_rgb(image)  # one clear message for a bad file, before any model runs
    first = predict(rgb, int(top_k), checkpoint, ui.reporter(progress), engine or None)
    results, failed = [first], []
    for other in SPEC.engines if both else ():
        if other.key == first.info.engine or not runtime.engine_runs_here(other):
            continue
        try:
            results.append(predict(rgb, int(top_k), checkpoint, None, other.key))
        except GalleryError as exc:  # the answer stands; the table says why the other is missing
            failed.append([other.label, "", "", None, None, str(exc)])
    measured = dict(measured or {})
    measured.update({row[0]: row for row in table_rows(results) + failed})
    table = pd.DataFrame(list(measured.values()), columns=TABLE_HEADERS)
    # Drawn after postprocess, from the modules of the PyTorch model that just ran.
    blocks = next((r.separable for r in results if r.separable), [])
    chart = views.separable_chart(blocks) if blocks else None
    return ui.to_label(first.predictions), first.info_dict(), table, chart, measured


def build_tab() -> gr.Label:
    examples = assets.images()
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column():
            image, top_k = image_classification.image_input(examples)
            checkpoint = ui.checkpoint_picker(SPEC)
            engine = ui.engine_picker(
                SPEC,
                "PyTorch runs the float model; LiteRT runs Google's int8 TFLite file, the form "
                "that ships in phone apps.",
            )
            both = gr.Checkbox(value=False, label="Run both engines on this image")
            button = gr.Button("Classify", variant="primary")
        with gr.Column():
            label = gr.Label(num_top_classes=10, label="Top labels")
            info = ui.run_info()
    gr.Markdown(
        "**Float against int8, measured on this machine.** Each engine's row fills in when it "
        "runs: the int8 file holds the same weights in a quarter of the bytes. Inference time is "
        "the latest run's; the first run after loading is slower."
    )
    table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, label="Engines measured here")
    gr.Markdown(
        "**Depthwise separable against ordinary convolutions**, counted from the modules of the "
        "PyTorch model that just ran: for each block, a k×k filter per channel plus a 1×1 mix "
        "(orange) against one k×k filter per input and output channel (blue). The orange bars "
        "are why it fits a phone."
    )
    chart = gr.Image(label="Weights per depthwise block", type="numpy", format="png")
    measured = ui.session_state({})
    if examples:
        gr.Examples([[e] for e in examples], inputs=[image])
    button.click(
        ui.guarded(SPEC)(on_image),
        [image, top_k, checkpoint, engine, both, measured],
        [label, info, table, chart, measured],
        api_name=SPEC.key,
    )
    return label
