"""Vision Transformer tab: top-5 labels and an attention-rollout map over the 16x16 patches.

Model: ViT-B/16 at 224 px (`google/vit-base-patch16-224`), Dosovitskiy et al. 2020, "An Image is
Worth 16x16 Words: Transformers for Image Recognition at Scale" (arXiv:2010.11929). Weights:
Apache-2.0, Google Research (ImageNet-21k pre-training, ImageNet-1k fine-tuning).

The map is attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers",
arXiv:2005.00928): per layer, heads averaged and the residual path added as 0.5·A + 0.5·I, rows
renormalised, layers multiplied; the class token's row, over the patches, is what the model's
answer drew on. It shows the seed's point: ViT reads patches the way BERT reads words. The tab
shows the image cut into its patches, the "sentence" (224 / 16 = 14, so 14² = 196 words for the
base model, read from the model's config), and the rollout up to any layer on that picture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos.core import registry, runtime, ui
from demos.core.pipeline import ui_only
from demos.media import assets, images
from demos.vision import classify as image_classification
from demos.vision import views
from demos.vision.classify import Classification, ImageClassifier

SPEC = registry.get("vit")
OVERLAY_ALPHA = 0.55  # how much of the heat map covers the photo
MAX_LAYERS = 24  # the slider's end: ViT-L, the deepest size in the menu, has 24 layers


# helpers


def layer_rollouts(attentions: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """[layers x (1, heads, N, N)] → (layers, N-1): row L is the class token's rollout over the
    patches through layers 1..L, each row scaled to max 1."""
    n = attentions[0].shape[-1]
    eye = torch.eye(n)
    rollout = eye
    rows = []
    for layer in attentions:
        a = layer[0].float().cpu().mean(0)  # average the heads
        a = 0.5 * a + 0.5 * eye  # the residual connection carries half the signal
        a = a / a.sum(-1, keepdim=True)
        rollout = a @ rollout
        cls_to_patches = rollout[0, 1:]
        # Scaled by the maximum, not stretched from the minimum: equal weights stay equal.
        rows.append(cls_to_patches / cls_to_patches.max().clamp_min(1e-12))
    return torch.stack(rows)


def attention_rollout(attentions: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """[layers x (1, heads, N, N)] → the class token's rollout over the N-1 patches, max 1."""
    return layer_rollouts(attentions)[-1]


def pick_layer(layer: int | float | None, n_layers: int) -> int:
    """The slider's layer (1..n); 0 or None means the last, larger values are clamped."""
    wanted = int(layer or 0)
    return n_layers if wanted <= 0 else min(wanted, n_layers)


def overlay(image: Image.Image, weights: Sequence[float] | torch.Tensor) -> np.ndarray:
    """The patch weights as a heat map laid over the image (the processor resizes, not crops)."""
    from matplotlib import colormaps  # at draw time: no matplotlib at start-up

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
    layer_rollouts: list[list[float]] = dataclasses.field(default_factory=list)  # per layer
    image_size: int = 0  # px per side the model reads (config.image_size)
    patch_size: int = 0  # px per side of a patch (config.patch_size)
    layer: int = 0  # the layer the patch picture shows the rollout up to (1-based)
    overlay: np.ndarray | None = ui_only()  # H x W x 3 RGB
    patches: np.ndarray | None = ui_only()  # the image cut into patches, lit by `layer`

    @property
    def grid(self) -> int:
        """Patches per side (14 for 224 px and 16 px patches)."""
        return views.patch_grid(self.image_size, self.patch_size)


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
        """{predictions: top-k labels, layers: the class token's weight per patch through each
        layer (the last is the rollout)}."""
        return {
            "predictions": super().postprocess(outputs, **params),
            "layers": layer_rollouts(outputs["attentions"]).tolist(),
        }


# the tab


def predict(
    image: Any,
    top_k: int = image_classification.DEFAULT_TOP_K,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
    layer: int = 0,
) -> AttentionClassification:
    """Top-k labels, the attention-rollout overlay (an RGB array of the image's size) and the
    image cut into its patches, lit by the rollout up to `layer` (0: the last)."""
    rgb = images.to_rgb(image)  # what is classified and what the heat map is laid over
    pipe, info = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), ViTClassifier.load, progress)
    out, info.speed_ms = pipe(rgb, top_k=top_k)
    config = pipe.model.config
    layers = out["layers"]
    shown = pick_layer(layer, len(layers))
    # Drawn after postprocess, from the rollout of this image.
    return AttentionClassification(
        predictions=out["predictions"],
        rollout=layers[-1],
        layer_rollouts=layers,
        image_size=int(config.image_size),
        patch_size=int(config.patch_size),
        layer=shown,
        overlay=overlay(rgb, layers[-1]),
        patches=views.patch_sentence(rgb, config.image_size, config.patch_size, layers[shown - 1]),
        info=info,
        file_bytes=pipe.file_bytes,
    )


def patches_caption(result: AttentionClassification) -> str:
    side, n = result.grid, len(result.layer_rollouts)
    return (
        f"**The image as a sentence:** {result.image_size} px cut into {result.patch_size} px "
        f"patches, {side} × {side} = {side * side} words (plus the class token), read left to "
        f"right, top to bottom. Bright patches are the ones the class token drew on through "
        f"layer {result.layer} of {n}; slide to watch the attention gather layer by layer."
    )


def on_image(
    image: Image.Image,
    top_k: float,
    checkpoint: str,
    layer: float = 0,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
):
    rgb = images.to_rgb(image)
    result = predict(rgb, int(top_k), checkpoint, ui.reporter(progress), int(layer))
    # What the layer slider redraws from, and no more: the picture at the size the model reads
    # it (all the patch picture uses) and the rollouts, not the upload or the drawn images.
    small = rgb.resize((result.image_size, result.image_size), Image.Resampling.BILINEAR)
    kept = {"image": small, "result": dataclasses.replace(result, overlay=None, patches=None)}
    return (
        ui.to_label(result.predictions),
        result.overlay,
        result.info_dict(),
        result.patches,
        patches_caption(result),
        kept,
    )


def on_layer(layer: float, kept: dict[str, Any] | None):
    """The patch picture for another layer, from the last run's rollouts (no model run)."""
    if not kept:
        return gr.skip(), gr.skip()
    result: AttentionClassification = kept["result"]
    shown = pick_layer(layer, len(result.layer_rollouts))
    weights = result.layer_rollouts[shown - 1]
    picture = views.patch_sentence(kept["image"], result.image_size, result.patch_size, weights)
    return picture, patches_caption(dataclasses.replace(result, layer=shown))


def build_tab() -> gr.Image:
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
    with gr.Row():
        with gr.Column():
            layer = gr.Slider(
                0,
                MAX_LAYERS,
                value=0,
                step=1,
                label="Rollout up to layer (0: the last)",
                info="The base model has 12 layers; a larger number shows the last.",
            )
            caption = gr.Markdown()
        patches = gr.Image(label="The image cut into patches", type="numpy", format="png")
    kept = ui.session_state(None)
    if examples:
        gr.Examples([[e] for e in examples], inputs=[image])
    button.click(
        ui.guarded(SPEC)(on_image),
        [image, top_k, checkpoint, layer],
        [label, heat, info, patches, caption, kept],
        api_name=SPEC.key,
    )
    layer.release(  # a redraw from the kept rollouts: no model, no GPU
        on_layer,
        [layer, kept],
        [patches, caption],
        api_visibility="private",
        queue=False,
    )
    return heat
