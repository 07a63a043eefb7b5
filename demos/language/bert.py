"""BERT fill-mask tab.

Model: BERT base uncased (`google-bert/bert-base-uncased`), Devlin et al. 2018, "BERT: Pre-training
of Deep Bidirectional Transformers for Language Understanding" (arXiv:1810.04805). Weights:
Apache-2.0, Google. BERT was pre-trained by masking 15% of the words and predicting them from both
sides; this tab plays that game and shows both sides at work: the same guess from the left context
alone, and which tokens the mask position attends to in each layer and head.
"""

from __future__ import annotations

from demos.core import registry
from demos.language import fill_mask

SPEC = registry.get("bert")
# The first: only the words after the mask tell what it is, a case for the right-hand context.
EXAMPLES = [
    "The [MASK] barked at the postman all morning.",
    "The capital of France is [MASK].",
    "The doctor picked up her [MASK] and left the room.",
    "I went to the river [MASK] to watch the boats.",
    "Paris is to France as Tokyo is to [MASK].",
]


build_tab, predict = fill_mask.demo(SPEC, EXAMPLES)
