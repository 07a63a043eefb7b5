"""Vision Transformer tab: top-5 labels and an attention-rollout map over the 16x16 patches.

Model: ViT-B/16 at 224 px (`google/vit-base-patch16-224`), Dosovitskiy et al. 2020, "An Image is
Worth 16x16 Words: Transformers for Image Recognition at Scale" (arXiv:2010.11929). Weights:
Apache-2.0, Google Research (ImageNet-21k pre-training, ImageNet-1k fine-tuning).

The map is attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers",
arXiv:2005.00928): per layer, heads averaged and the residual path added as 0.5·A + 0.5·I, rows
renormalised, layers multiplied; the class token's row, over the patches, is what the model's
answer drew on. It shows the seed's point: ViT reads patches the way BERT reads words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import gradio as gr
import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from demos.core import registry, runtime, ui
from demos.core.pipeline import ui_only
from demos.media import assets, images
from demos.vision import classify as image_classification
from demos.vision.classify import Classification, ImageClassifier

SPEC = registry.get("vit")
OVERLAY_ALPHA = 0.55  # how much of the heat map covers the photo


# helpers


def attention_rollout(attentions: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """[layers x (1, heads, N, N)] → the class token's rollout over the N-1 patches, max 1."""
    n = attentions[0].shape[-1]
    eye = torch.eye(n)
    rollout = eye
    for layer in attentions:
        a = layer[0].float().cpu().mean(0)  # average the heads
        a = 0.5 * a + 0.5 * eye  # the residual connection carries half the signal
        a = a / a.sum(-1, keepdim=True)
        rollout = a @ rollout
    cls_to_patches = rollout[0, 1:]
    # Scaled by the maximum, not stretched from the minimum: equal weights stay equal.
    return cls_to_patches / cls_to_patches.max().clamp_min(1e-12)


def overlay(image: Image.Image, weights: Sequence[float] | torch.Tensor) -> np.ndarray:
    """The patch weights as a heat map laid over the image (the processor resizes, not crops)."""
    grid = np.asarray(weights, dtype=np.float32)
    side = round(grid.size**0.5)
    heat = Image.fromarray((grid.reshape(side, side) * 255).astype(np.uint8)).resize(
        image.size, Image.Resampling.NEAREST
    )
    colours = colormaps["inferno"](np.asarray(heat) / 255.0)[:, :, :3]
    blend = (1 - OVERLAY_ALPHA) * np.asarray(image) / 255.0 + OVERLAY_ALPHA * colours
    return (blend * 255).clip(0, 255).astype(np.uint8)


# classes


@dataclasses.dataclass(kw_only=True)
class AttentionClassification(Classification):
    """ViT's answer: the top-k labels, the rollout weights per patch, and the heat map over the
    image (drawn after postprocess, for the tab only)."""

    rollout: list[float] = dataclasses.field(default_factory=list)  # per patch, max 1
    overlay: np.ndarray | None = ui_only()  # H x W x 3 RGB


class ViTClassifier(ImageClassifier):
    """ViT with attentions returned (the eager kernel: fused attention does not return them)."""

    model_kwargs = {"attn_implementation": "eager"}  # noqa: RUF012

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = self.model(**self.to_device(batch), output_attentions=True)
        return {
            "logits": out.logits[0].float().cpu(),
            "attentions": [a.float().cpu() for a in out.attentions],
        }

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        """{predictions: top-k labels, rollout: the class token's weight per patch}."""
        return {
            "predictions": super().postprocess(outputs, **params),
            "rollout": attention_rollout(outputs["attentions"]).tolist(),
        }


# the tab


def predict(
    image: Any,
    top_k: int = image_classification.DEFAULT_TOP_K,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> AttentionClassification:
    """Top-k labels and the attention-rollout overlay (an RGB array of the image's size)."""
    rgb = images.to_rgb(image)  # what is classified and what the heat map is laid over
    pipe, info = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), ViTClassifier.load, progress)
    out, info.speed_ms = pipe(rgb, top_k=top_k)
    return AttentionClassification(
        predictions=out["predictions"],
        rollout=out["rollout"],
        overlay=overlay(rgb, out["rollout"]),
        info=info,
    )


def on_image(
    image: Image.Image,
    top_k: float,
    checkpoint: str,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[dict[str, float], np.ndarray | None, dict[str, Any]]:
    result = predict(image, int(top_k), checkpoint, ui.reporter(progress))
    return ui.to_label(result.predictions), result.overlay, result.info.as_dict()


def build_tab() -> None:
    examples = assets.images()
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column():
            image, top_k = image_classification.image_input(examples)
            checkpoint = ui.checkpoint_picker(SPEC)
            button = gr.Button("Classify", variant="primary")
        with gr.Column():
            label = gr.Label(num_top_classes=10, label="Top labels")
            heat = gr.Image(
                label="Attention rollout: patches the class token drew on",
                type="numpy",
                format="png",
            )
            info = ui.run_info()
    if examples:
        gr.Examples([[e] for e in examples], inputs=[image])
    button.click(
        ui.guarded(SPEC)(on_image),
        [image, top_k, checkpoint],
        [label, heat, info],
        api_name=SPEC.key,
    )
