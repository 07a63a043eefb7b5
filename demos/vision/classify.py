"""ImageNet classification, shared by the MobileNetV2 and ViT tabs.

Labels come from the checkpoint's own label map (`config.id2label`), never from a separate list:
Google's TF-ported MobileNetV2 has 1001 classes with "background" at index 0, so a plain
1000-class ImageNet list would be off by one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gradio as gr
import torch
from PIL import Image

from demos.core import runtime, ui
from demos.core.pipeline import Pipeline, Result
from demos.core.registry import Checkpoint, DemoSpec
from demos.media import images

DEFAULT_TOP_K = 5


# helpers


def top_labels(logits: torch.Tensor, id2label: dict[int, str], top_k: int) -> list[dict[str, Any]]:
    """Softmax over all classes, then the `top_k` best as [{label, score, class_id}]."""
    probs = logits.float().softmax(-1)
    scores, ids = probs.topk(min(top_k, probs.numel()))
    return [
        {"label": id2label.get(i, str(i)), "score": s, "class_id": i}
        for s, i in zip(scores.tolist(), ids.tolist(), strict=True)
    ]


# classes


@dataclasses.dataclass(kw_only=True)
class Classification(Result):
    """A classifier's answer: the top-k labels, best first, as [{label, score, class_id}]."""

    predictions: list[dict[str, Any]]


class ImageClassifier(Pipeline[Image.Image, list[dict[str, Any]]]):
    """An image classifier from the hub with its image processor (size, crop, mean and std)."""

    model_kwargs: dict[str, Any] = {}  # noqa: RUF012  (extra from_pretrained arguments)

    def __init__(self, *, processor: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processor = processor
        self.id2label = {int(k): v for k, v in self.model.config.id2label.items()}

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> Any:
        kwargs = {"revision": checkpoint.revision} if checkpoint.revision else {}
        # At load, not import: these pull in torchvision and torch's compiler (about 1 s).
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        processor = AutoImageProcessor.from_pretrained(checkpoint.id, **kwargs)
        model = AutoModelForImageClassification.from_pretrained(
            checkpoint.id, dtype=dtype, **cls.model_kwargs, **kwargs
        )
        return cls(model=model.to(device), processor=processor, device=device, dtype=dtype)

    def preprocess(self, inputs: Any, **params: Any) -> dict[str, Any]:
        image = images.to_rgb(inputs)
        batch = self.processor(images=image, return_tensors="pt")
        return {"pixel_values": batch["pixel_values"]}

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        logits = self.model(**self.to_device(batch)).logits[0]
        return {"logits": logits.float().cpu()}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
        return top_labels(outputs["logits"], self.id2label, int(params.get("top_k", DEFAULT_TOP_K)))


# the tab


def classify(
    spec: DemoSpec,
    pipeline_cls: type[ImageClassifier],
    image: Any,
    top_k: int = DEFAULT_TOP_K,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> Classification:
    """Run `spec`'s classifier on `image`: its top-k labels and the run info."""
    pipe, info = runtime.load_model(spec, spec.checkpoint(checkpoint), pipeline_cls.load, progress)
    predictions, info.speed_ms = pipe(image, top_k=top_k)
    return Classification(predictions=predictions, info=info)


def image_input(examples: list[str]) -> tuple[gr.Image, gr.Slider]:
    """The input column: an image of any mode (converted by `images.to_rgb`) and top k."""
    # image_mode=None: Gradio keeps the file's mode and `images.to_rgb` converts it properly.
    image = ui.ImageInput(
        type="pil",
        image_mode=None,
        label="Image",
        value=examples[0] if examples else None,
        sources=["upload", "webcam", "clipboard"],
    )
    return image, gr.Slider(1, 10, value=DEFAULT_TOP_K, step=1, label="Top k")


def build_tab(spec: DemoSpec, examples: list[str]) -> None:
    """A plain classification tab (MobileNetV2): top-k labels with scores, endpoint `/<key>`."""
    ui.model_card(spec)
    with gr.Row():
        with gr.Column():
            image, top_k = image_input(examples)
            checkpoint = ui.checkpoint_picker(spec)
            button = gr.Button("Classify", variant="primary")
        with gr.Column():
            label = gr.Label(num_top_classes=10, label="Top labels")
            info = ui.run_info()
    if examples:
        gr.Examples([[e] for e in examples], inputs=[image])

    @ui.guarded(spec)
    def handler(
        image: Image.Image,
        top_k: float,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        result = classify(
            spec, ImageClassifier, image, int(top_k), checkpoint, ui.reporter(progress)
        )
        return ui.to_label(result.predictions), result.info.as_dict()

    button.click(handler, [image, top_k, checkpoint], [label, info], api_name=spec.key)
