"""Compare tabs: one result per model, and one model's failure stays in its own column."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from demos.core import compare
from demos.language import compare as compare_language
from demos.speech import compare as compare_speech
from demos.vision import compare as compare_vision


@pytest.fixture
def photo(tmp_path) -> str:
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(path)
    return str(path)


def _results(output) -> list[dict]:
    return output[-1]  # the JSON column: one entry per model, in column order


def test_compare_language_gives_one_top_k_per_model(gallery_client, tiny_env):
    out = gallery_client.predict(
        "the capital of france is [MASK].", 4, api_name="/compare_language"
    )
    results = _results(out)
    assert [r["model"] for r in results] == [
        s.key for s in compare.present(compare_language.FILL_MASK)
    ]
    for r in results:
        assert r["ok"], r
        scores = [p["score"] for p in r["result"]]
        assert len(scores) == 4 and scores == sorted(scores, reverse=True)
        assert r["info"]["checkpoint"] == str(tiny_env[r["model"]])


def _vision_results(output) -> list[dict]:
    return output[-2]  # /compare_vision: the JSON column, then the size-and-speed chart


def test_compare_vision_gives_one_result_per_model(gallery_client, tiny_env, photo):
    out = gallery_client.predict(handle_file(photo), api_name="/compare_vision")
    results = _vision_results(out)
    expected = [
        s.key for s in compare.present(compare_vision.CLASSIFIERS + compare_vision.DETECTORS)
    ]
    assert [r["model"] for r in results] == expected
    assert all(r["ok"] for r in results), results
    classifiers = [r for r in results if r["model"] in compare_vision.CLASSIFIERS]
    assert all(len(r["result"]) == compare_vision.TOP_K for r in classifiers)
    for r in results:
        if r["model"] in compare_vision.DETECTORS:
            counts = r["result"]["counts"]
            assert sum(counts.values()) == len(r["result"]["detections"])
    assert "classifiers" in out[-3]  # the agreement sentence
    for r in results:  # what the chart shows: parameters, weight files, inference time
        assert r["info"]["params"] > 0 and r["info"]["speed_ms"]["inference"] > 0
    classifiers = {r["model"]: r for r in classifiers}
    for key, r in classifiers.items():
        weights = tiny_env[key] / "model.safetensors"
        assert r["info"]["file_bytes"] == weights.stat().st_size
    chart = np.asarray(Image.open(out[-1]))
    assert chart.ndim == 3 and chart.shape[0] > 100, "the size-and-speed chart"


def test_compare_word_vectors_one_matrix_per_model(gallery_client, tiny_env):
    text = "we sat on the bank of the river .\nthe bank raised its rates .\nthe bank of money"
    results = _results(gallery_client.predict(text, "bank", api_name="/compare_word_vectors"))
    assert [r["model"] for r in results] == [
        s.key for s in compare.present(compare_language.WORD_VECTORS)
    ]
    for r in results:
        assert r["ok"], r
        sims = np.asarray(r["result"]["similarity"])
        assert sims.shape == (3, 3) and np.allclose(np.diag(sims), 1.0, atol=1e-4)
        assert np.allclose(sims, sims.T, atol=1e-5) and (sims <= 1.0 + 1e-6).all()
        assert len(r["result"]["occurrences"]) == 3 and "[bank]" in r["result"]["occurrences"][0]
    # Context changes the vectors under every model: the occurrences are not identical.
    assert all(np.asarray(r["result"]["similarity"])[0, 1] < 0.9999 for r in results)


def test_word_vectors_bad_input_is_a_message_in_every_column(gallery_client, tiny_env):
    results = _results(
        gallery_client.predict("only one bank here", "bank", api_name="/compare_word_vectors")
    )
    assert all(not r["ok"] and "at least twice" in r["error"] for r in results)


def test_compare_continuation_one_text_per_model(gallery_client, tiny_env):
    from demos.language.transformer_xl import tab as transformer_xl

    prompt = "the city was built in the"
    results = _results(gallery_client.predict(prompt, api_name="/compare_continuation"))
    assert [r["model"] for r in results] == [
        s.key for s in compare.present(compare_language.CONTINUATION)
    ]
    assert all(r["ok"] and isinstance(r["result"], str) for r in results), results
    by_model = {r["model"]: r for r in results}
    if "transformer_xl" in by_model:  # the compare column is the tab's own greedy answer
        expected = transformer_xl.predict(
            prompt, max_new_tokens=compare_language.NEW_TOKENS, temperature=0.0
        )
        assert by_model["transformer_xl"]["result"] == expected.text


def test_a_missing_model_fails_in_its_own_column(gallery_client, tiny_env, monkeypatch, photo):
    monkeypatch.setenv("GALLERY_BERT_MODEL", "/no/such/bert")
    results = _results(
        gallery_client.predict("the [MASK] of france.", 3, api_name="/compare_language")
    )
    by_model = {r["model"]: r for r in results}
    assert not by_model["bert"]["ok"]
    assert "/no/such/bert" in by_model["bert"]["error"]
    assert "GALLERY_BERT_MODEL" in by_model["bert"]["error"]
    assert by_model["roberta"]["ok"]

    monkeypatch.setenv("GALLERY_VIT_MODEL", "/no/such/vit")
    results = _vision_results(
        gallery_client.predict(handle_file(photo), api_name="/compare_vision")
    )
    by_model = {r["model"]: r for r in results}
    assert not by_model["vit"]["ok"] and "/no/such/vit" in by_model["vit"]["error"]
    assert by_model["mobilenet_v2"]["ok"]


def test_bad_input_to_a_compare_tab_is_one_clear_message(gallery_client, tiny_env, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("this is a text file renamed .png")
    with pytest.raises(Exception, match="not an image"):
        gallery_client.predict(handle_file(str(bogus)), api_name="/compare_vision")
    results = _results(gallery_client.predict("no mask at all", 3, api_name="/compare_language"))
    assert all(not r["ok"] and "no mask" in r["error"] for r in results)


def test_overview_lists_every_model_and_its_load_state(tiny_env):
    from demos.core import overview, registry, runtime

    for spec in registry.REGISTRY.values():
        text = overview.card_text(spec)
        assert spec.title in text and spec.card.licence in text and str(spec.card.year) in text
    spec = registry.get("bert")
    runtime.CACHE.clear()
    assert "not loaded" in overview.load_state(spec)
    spec_module = __import__("demos.language.bert", fromlist=["predict"])
    spec_module.predict("the [MASK] is a city.")
    assert "loaded" in overview.load_state(spec) and "cpu" in overview.load_state(spec)


def test_error_rates_on_a_hand_checked_example():
    # Normalised: "the cat sat on the mat" vs "the cat sat on a mat". Words: one substitution
    # (the -> a) in 6 = 1/6. Characters: "the" -> "a" is t->a, h deleted, e deleted: 3 edits in
    # the reference's 22 characters (spaces count) = 3/22.
    rates = compare_speech.error_rates("the cat sat on the mat", "The cat sat on a mat.")
    assert rates["wer"] == pytest.approx(1 / 6)
    assert rates["cer"] == pytest.approx(3 / 22)
    assert compare_speech.error_rates("", "anything") is None  # no reference, no score
    assert compare_speech.error_rates("hello world", "")["wer"] == 1.0


def test_compare_speech_one_transcript_per_model(gallery_client, tiny_env):
    from demos.media import assets

    clip = assets.audio()[0]
    out = gallery_client.predict(
        handle_file(clip), "the weather is fine today", api_name="/compare_speech"
    )
    results = _results(out)
    assert [r["model"] for r in results] == [
        s.key for s in compare.present(compare_speech.RECOGNISERS)
    ]
    for r in results:
        assert r["ok"], r
        assert isinstance(r["result"]["text"], str)
        assert r["result"]["errors"]["cer"] >= 0.0 and r["info"]["real_time_factor"] > 0
        expected = compare_speech.error_rates("the weather is fine today", r["result"]["text"])
        assert r["result"]["errors"] == pytest.approx(expected)


def test_a_missing_speech_model_fails_in_its_own_column(gallery_client, tiny_env, monkeypatch):
    from demos.media import assets

    monkeypatch.setenv("GALLERY_WAV2VEC2_MODEL", "/no/such/wav2vec2")
    results = _results(
        gallery_client.predict(handle_file(assets.audio()[0]), "", api_name="/compare_speech")
    )
    by_model = {r["model"]: r for r in results}
    assert not by_model["wav2vec2"]["ok"] and "/no/such/wav2vec2" in by_model["wav2vec2"]["error"]
    assert all(r["ok"] for k, r in by_model.items() if k != "wav2vec2")
    assert all(
        "errors" not in r.get("result", {}) or r["result"]["errors"] is None
        for r in results
        if r["ok"]
    )
