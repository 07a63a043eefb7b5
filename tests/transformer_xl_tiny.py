"""Where the tiny Transformer-XL fixtures live (written once by tools/make_transformer_xl_fixture).

`tiny_transformer_xl_dir()` is a complete model directory in the hub checkpoint's layout
(config.json, pytorch_model.bin, vocab.pkl), 84 words, loadable by
`demos.language.transformer_xl.model.load_transformer_xl` or through
`GALLERY_TRANSFORMER_XL_MODEL`. It also holds the reference outputs (`expected.npz`,
`tokenisation.json`) of transformers 4.37.2, which the parity tests compare against.
"""

from __future__ import annotations

from pathlib import Path

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "transformer_xl"


def tiny_transformer_xl_dir() -> Path:
    """The wt103-shaped tiny model: adaptive clusters, tied weights, same_length, clamp_len."""
    return FIXTURE_DIR


def tiny_transformer_xl_untied_dir() -> Path:
    """The other config branches: div_val 1, untied weights, shared r biases, pre-LayerNorm."""
    return FIXTURE_DIR / "untied"
