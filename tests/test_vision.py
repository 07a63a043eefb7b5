"""MobileNetV2 and ViT classification, and ViT's attention rollout (tiny models: plumbing)."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from demos.core import registry
from demos.vision import mobilenet_v2, vit
from demos.vision.classify import Classification


def _photo(seed: int = 0, size=(64, 48)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _labels(checkpoint) -> dict[int, str]:
    config = json.loads((checkpoint / "config.json").read_text())
    return {int(k): v for k, v in config["id2label"].items()}


@pytest.mark.parametrize("key", ["mobilenet_v2", "vit"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "I;16"])
def test_top_k_labels_come_from_the_checkpoints_label_map(key, mode, tiny_env):
    module = importlib.import_module(registry.get(key).module)
    result = module.predict(_photo().convert(mode), top_k=5)
    predictions, info = result.predictions, result.info
    assert isinstance(result, Classification)
    labels = _labels(tiny_env[key])
    scores = [p["score"] for p in predictions]
    assert len(predictions) == 5
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert all(labels[p["class_id"]] == p["label"] for p in predictions)
    assert info.checkpoint == str(tiny_env[key]) and info.speed_ms["inference"] > 0


def test_mobilenet_background_class_keeps_its_index(tiny_env):
    """Index 0 is "background" in Google's 1001-class checkpoint: no off-by-one in labels."""
    predictions = mobilenet_v2.predict(_photo(1), top_k=6).predictions
    assert {p["class_id"]: p["label"] for p in predictions}[0] == "background"
    assert sum(p["score"] for p in predictions) == pytest.approx(1.0, abs=1e-5)


def test_rollout_of_uniform_attention_is_uniform_and_of_a_spike_is_that_patch():
    n = 1 + 16  # class token + a 4x4 grid of patches
    uniform = [torch.full((1, 2, n, n), 1.0 / n) for _ in range(3)]
    flat = vit.attention_rollout(uniform)
    assert flat.shape == (16,)
    assert torch.allclose(flat, flat[0].expand(16))
    spike = torch.zeros(1, 2, n, n)
    spike[..., :, 0] = 0.5
    spike[..., 0, 6] = 0.5  # the class token looks at patch 5; every other token at itself
    spike[..., torch.arange(1, n), torch.arange(1, n)] = 0.5
    rolled = vit.attention_rollout([spike])
    assert int(rolled.argmax()) == 5 and rolled.max() == 1.0


def test_vit_overlay_has_the_images_size(tiny_env):
    result = vit.predict(_photo(size=(90, 30)), top_k=3)
    heat = result.overlay
    assert heat.shape == (30, 90, 3) and heat.dtype == np.uint8
    assert len(result.predictions) == 3
    config = json.loads((tiny_env["vit"] / "config.json").read_text())
    assert len(result.rollout) == (config["image_size"] // config["patch_size"]) ** 2
    assert set(result.answer()) == {"predictions", "rollout"}, "the overlay stays in the UI"


def test_the_vit_overlay_is_drawn_after_postprocess_from_the_rollout(tiny_env):
    """The pipeline returns plain weights; the heat map is the rollout laid over the image."""
    photo = _photo(3, size=(64, 64))
    result = vit.predict(photo, top_k=2)
    assert np.array_equal(result.overlay, vit.overlay(photo, result.rollout))
    assert max(result.rollout) == pytest.approx(1.0)
