"""RoBERTa fill-mask tab.

Model: RoBERTa base (`FacebookAI/roberta-base`), Liu et al. 2019, "RoBERTa: A Robustly Optimized
BERT Pretraining Approach" (arXiv:1907.11692). Weights: MIT, Facebook AI. Same masked-word game as
BERT (both sides against the left side only, and the mask position's attention), with a
byte-level BPE vocabulary whose mask token is `<mask>` (typing `[MASK]` works too).
"""

from __future__ import annotations

from demos.core import registry
from demos.language import fill_mask

SPEC = registry.get("roberta")
# The first: only the words after the mask tell what it is, a case for the right-hand context.
EXAMPLES = [
    "The <mask> barked at the postman all morning.",
    "The capital of France is <mask>.",
    "The doctor picked up her <mask> and left the room.",
    "I went to the river <mask> to watch the boats.",
    "The goal of life is <mask>.",
]


build_tab, predict = fill_mask.demo(SPEC, EXAMPLES)
