"""BERT and RoBERTa fill-mask: mask spelling, top-k lists, limits (tiny models: plumbing)."""

from __future__ import annotations

import pytest

from demos.core import registry
from demos.core.errors import BadInput
from demos.language import fill_mask


@pytest.mark.parametrize(
    "text", ["Paris is the [MASK].", "Paris is the <mask>.", "Paris is the [mask]."]
)
@pytest.mark.parametrize("mask", ["[MASK]", "<mask>"])
def test_either_mask_spelling_becomes_the_models_own(text, mask):
    assert fill_mask.use_model_mask(text, mask) == f"Paris is the {mask}."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type a sentence"),
        ("   ", "Type a sentence"),
        ("No mask here.", "no mask"),
        ("[MASK] and <mask>", "2 masks"),
        ("x" * 20_000 + " [MASK]", "characters long"),
    ],
)
def test_zero_several_or_no_masks_get_a_clear_answer(text, message):
    with pytest.raises(BadInput, match=message):
        fill_mask.use_model_mask(text, "[MASK]")


@pytest.mark.parametrize("key", ["bert", "roberta"])
@pytest.mark.parametrize("typed", ["[MASK]", "<mask>"])
def test_top_k_from_the_models_vocabulary(key, typed, tiny_env):
    spec = registry.get(key)
    result = fill_mask.predict(spec, f"The capital of France is {typed}.", top_k=7)
    predictions, info = result.predictions, result.info
    pipe_tokenizer = __import__("transformers").AutoTokenizer.from_pretrained(tiny_env[key])
    scores = [p["score"] for p in predictions]
    assert len(predictions) == 7
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    special = set(pipe_tokenizer.all_special_ids)
    for p in predictions:
        assert p["token_id"] not in special
        assert p["label"] == pipe_tokenizer.decode([p["token_id"]]).strip()
        assert pipe_tokenizer.mask_token not in p["sequence"]
    assert info.device == "cpu" and info.checkpoint == str(tiny_env[key])
    assert set(info.speed_ms) == {"preprocess", "inference", "postprocess"}


@pytest.mark.parametrize(("key", "limit"), [("bert", 64), ("roberta", 62)])
def test_text_longer_than_the_model_reads_is_refused(key, limit, tiny_env):
    # RoBERTa's positions start after its padding index: 64 positions read 62 tokens.
    long_text = " ".join(["city"] * 200) + " [MASK]."
    with pytest.raises(BadInput, match=f"reads at most {limit}"):
        fill_mask.predict(registry.get(key), long_text)
