"""BERT and RoBERTa fill-mask: mask spelling, top-k lists, limits (tiny models: plumbing), and
the bidirectional demonstration: the left-only list must not move when only the words after the
mask change, and the attention shown must be the model's own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from demos.core import registry
from demos.core.errors import BadInput
from demos.language import fill_mask
from demos.language import fill_mask_views as views


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


# bidirectional, shown: both sides against the left side only, and where the mask looks

MASKS = {"bert": "[MASK]", "roberta": "<mask>"}
SENTENCE = "the capital of france is {mask} paris city ."
OTHER_AFTER = "the capital of france is {mask} the money boat dog ."  # same left side
OTHER_BEFORE = "a river bank of london is {mask} paris city ."  # same right side


def _run(key: str, template: str, top_k: int = 20) -> fill_mask.FillMaskResult:
    return fill_mask.predict(registry.get(key), template.format(mask=MASKS[key]), top_k=top_k)


def _largest_change(a: list[dict], b: list[dict]) -> float:
    """The largest change in probability over the words either list holds."""
    pa = {p["token_id"]: p["score"] for p in a}
    pb = {p["token_id"]: p["score"] for p in b}
    return max(abs(pa.get(t, 0.0) - pb.get(t, 0.0)) for t in pa.keys() | pb.keys())


@pytest.mark.parametrize("key", ["bert", "roberta"])
def test_words_after_the_mask_move_both_sides_and_never_the_left_only_list(key, tiny_env):
    first, other = _run(key, SENTENCE), _run(key, OTHER_AFTER)
    # Float noise between two runs of different lengths is about 1e-9; the tiny random model's
    # right-hand context moves the probabilities by about 1e-5.
    assert _largest_change(first.predictions, other.predictions) > 1e-6
    assert first.left_only == other.left_only  # exactly: the model never saw those words
    # The left-only list is what the model says when the sentence simply ends at the mask.
    ends_at_mask = _run(key, "the capital of france is {mask}")
    assert ends_at_mask.predictions == first.left_only
    for p in first.left_only:  # the sentence up to the mask, the mask filled, nothing after
        assert p["sequence"].replace(" ", "") == "thecapitaloffranceis" + p["label"].replace(
            " ", ""
        )


@pytest.mark.parametrize("key", ["bert", "roberta"])
def test_words_before_the_mask_move_both_lists(key, tiny_env):
    first, other = _run(key, SENTENCE), _run(key, OTHER_BEFORE)
    assert _largest_change(first.predictions, other.predictions) > 1e-4
    assert _largest_change(first.left_only, other.left_only) > 1e-4


@pytest.mark.parametrize("key", ["bert", "roberta"])
def test_nothing_after_the_mask_gives_two_equal_lists(key, tiny_env):
    result = _run(key, "the capital of france is {mask}")
    assert result.predictions == result.left_only
    assert "Nothing follows the mask" in views.lists_note(result.answer())


@pytest.mark.parametrize("key", ["bert", "roberta"])
def test_attention_row_is_the_models_own_and_sums_to_one(key, tiny_env):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    result = _run(key, SENTENCE)
    attention = result.attention
    tokenizer = AutoTokenizer.from_pretrained(tiny_env[key])
    ids = tokenizer(SENTENCE.format(mask=MASKS[key]), return_tensors="pt")["input_ids"]
    tokens, mask = attention["tokens"], attention["mask_index"]
    assert len(tokens) == ids.shape[1] and tokens[mask] == MASKS[key]
    assert tokens[:3] == [tokenizer.cls_token, "the", "capital"]  # readable, no "Ġ"
    weights = np.asarray(attention["weights"])
    assert weights.shape == (2, 2, len(tokens))  # the tiny models: 2 layers, 2 heads
    assert np.allclose(weights.sum(-1), 1.0, atol=1e-5)  # every head's row is a softmax
    # The same row, computed here without the gallery: the figure shows the model's numbers.
    model = AutoModelForMaskedLM.from_pretrained(tiny_env[key], attn_implementation="eager")
    with torch.inference_mode():
        maps = model(input_ids=ids, output_attentions=True).attentions
    expected = torch.stack([layer[0, :, mask, :] for layer in maps]).numpy()
    assert np.allclose(weights, expected, atol=1e-5)


def test_the_chosen_layer_and_head_change_the_weights_shown(tiny_env):
    attention = _run("bert", SENTENCE).attention
    weights = np.asarray(attention["weights"])
    shown = {
        (layer, head): views.attention_row(attention, layer, head)
        for layer in ["1", "2", views.AVERAGE]
        for head in ["1", "2", views.AVERAGE]
    }
    for row in shown.values():
        assert row.shape == (len(attention["tokens"]),)
        assert row.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(shown["2", "1"], weights[1, 0])
    assert np.allclose(shown[views.AVERAGE, views.AVERAGE], weights.mean((0, 1)))
    assert np.allclose(shown["1", views.AVERAGE], weights[0].mean(0))
    rows = list(shown.values())
    assert all(
        not np.allclose(a, b, rtol=0, atol=1e-7) for i, a in enumerate(rows) for b in rows[i + 1 :]
    )
    first = views.attention_figure(attention, "1", "1")
    assert first.ndim == 3 and first.shape[2] == 3
    assert not np.array_equal(first, views.attention_figure(attention, "2", "2"))
    with pytest.raises(ValueError, match="1 to 2"):
        views.attention_row(attention, "3", "1")  # the tiny model has two layers


def test_bert_endpoint_adds_left_only_and_attention_at_the_end(gallery_client, tiny_env):
    def call(template: str) -> tuple:
        return gallery_client.predict(template.format(mask="[MASK]"), 5, "", api_name="/bert")

    first, after, before = call(SENTENCE), call(OTHER_AFTER), call(OTHER_BEFORE)
    label, info, left_only, attention = first  # the first two as before; the state stays out
    assert len(label["confidences"]) == 5 and info["demo"] == "bert"
    assert len(left_only["confidences"]) == 5
    assert left_only == after[2] and left_only != before[2]
    assert label != after[0]
    assert attention["tokens"][attention["mask_index"]] == "[MASK]"
    assert np.allclose(np.asarray(attention["weights"]).sum(-1), 1.0, atol=1e-5)
    assert attention != after[3]
