"""ImageNet classification, shared by the MobileNetV2 and ViT tabs.

Labels come from the checkpoint's own label map (`config.id2label`), never from a separate list:
Google's TF-ported MobileNetV2 has 1001 classes with "background" at index 0, so a plain
1000-class ImageNet list would be off by one. Every answer also says what the model weighs on
disk (`file_bytes`: the weight files it was loaded from), beside the parameter count in its run
info, so a compare tab can chart size and speed from the models that just ran.
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
from demos.vision.footprint import size_on_disk, weight_files

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
    """A classifier's answer: the top-k labels, best first, as [{label, score, class_id}], and
    the size of the weight files that ran (bytes; None when not known)."""

    predictions: list[dict[str, Any]]
    file_bytes: int | None = None

    def info_dict(self) -> dict[str, Any]:
        """The run info as the tab and the API show it, with the weight files' size added."""
        return {**self.info.as_dict(), "file_bytes": self.file_bytes}


class ImageClassifier(Pipeline[Image.Image, list[dict[str, Any]]]):
    """An image classifier from the hub with its image processor (size, crop, mean and std)."""

    model_kwargs: dict[str, Any] = {}  # noqa: RUF012  (extra from_pretrained arguments)

    def __init__(self, *, processor: Any, file_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processor = processor
        self.id2label = {int(k): v for k, v in self.model.config.id2label.items()}
        self.file_bytes = file_bytes  # the checkpoint's weight files on disk

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> Any:
        kwargs = {"revision": checkpoint.revision} if checkpoint.revision else {}
        # At load, not import: these pull in torchvision and torch's compiler (about 1 s).
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        processor = AutoImageProcessor.from_pretrained(checkpoint.id, **kwargs)
        model = AutoModelForImageClassification.from_pretrained(
            checkpoint.id, dtype=dtype, **cls.model_kwargs, **kwargs
        )
        on_disk = size_on_disk(weight_files(checkpoint.id, checkpoint.revision))
        return cls(
            model=model.to(device),
            processor=processor,
            file_bytes=on_disk,
            device=device,
            dtype=dtype,
        )

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
    return Classification(predictions=predictions, info=info, file_bytes=pipe.file_bytes)


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
