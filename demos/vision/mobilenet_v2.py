"""MobileNetV2 image classification tab.

Model: MobileNetV2 1.0 at 224 px (`google/mobilenet_v2_1.0_224`), Sandler et al. 2018,
"MobileNetV2: Inverted Residuals and Linear Bottlenecks" (arXiv:1801.04381). Weights: Google's
TensorFlow release (Apache-2.0), ported to PyTorch by Hugging Face. The checkpoint has 1001
classes, index 0 "background"; labels come from its own label map, so there is no off-by-one.
"""

from __future__ import annotations

from typing import Any

from demos.core import registry, runtime
from demos.media import assets
from demos.vision import classify as image_classification
from demos.vision.classify import Classification

SPEC = registry.get("mobilenet_v2")


def build_tab() -> None:
    image_classification.build_tab(SPEC, assets.images())


def predict(
    image: Any,
    top_k: int = image_classification.DEFAULT_TOP_K,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> Classification:
    """The top-k ImageNet labels, best first, for any image, with the run info."""
    return image_classification.classify(
        SPEC, image_classification.ImageClassifier, image, top_k, checkpoint, progress
    )
