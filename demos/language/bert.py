"""BERT fill-mask tab.

Model: BERT base uncased (`google-bert/bert-base-uncased`), Devlin et al. 2018, "BERT: Pre-training
of Deep Bidirectional Transformers for Language Understanding" (arXiv:1810.04805). Weights:
Apache-2.0, Google. BERT was pre-trained by masking 15% of the words and predicting them from both
sides; this tab plays that game and shows both sides at work: the same guess from the left context
alone, and which tokens the mask position attends to in each layer and head.
"""

from __future__ import annotations

from demos.core import registry, runtime
from demos.language import fill_mask
from demos.language.fill_mask import FillMaskResult

SPEC = registry.get("bert")
# The first: only the words after the mask tell what it is, a case for the right-hand context.
EXAMPLES = [
    "The [MASK] barked at the postman all morning.",
    "The capital of France is [MASK].",
    "The doctor picked up her [MASK] and left the room.",
    "I went to the river [MASK] to watch the boats.",
    "Paris is to France as Tokyo is to [MASK].",
]


def build_tab() -> None:
    fill_mask.build_tab(SPEC, EXAMPLES)


def predict(
    text: str,
    top_k: int = fill_mask.DEFAULT_TOP_K,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> FillMaskResult:
    """The top-k words, best first, for the one [MASK] in `text`."""
    return fill_mask.predict(SPEC, text, top_k, checkpoint, progress)
