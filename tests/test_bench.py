"""The benchmark's machinery on a tiny BERT (the full-size run, `python -m bench`, is not in CI)."""

from __future__ import annotations

import shutil

import pytest

from bench import measure, report, vocab
from bench.__main__ import available
from bench.cases import CASES
from tests import tiny_models


@pytest.fixture
def tiny_bert(tmp_path, monkeypatch):
    """A tiny BERT no other test has loaded, so the gallery's cache starts cold for it."""
    path = tiny_models.bert(tmp_path / "bert")
    monkeypatch.setenv("GALLERY_BERT_MODEL", str(path))  # restored after the test
    return path


def test_demo_and_bare_call_are_timed_on_the_same_model(tiny_bert):
    result = measure.demo_vs_bare(CASES["bert"], tiny_bert, repeats=3)
    assert result["checkpoint"] == str(tiny_bert)
    assert result["cold_load_ms"] > 0 and result["cold_call_ms"] >= result["cold_load_ms"]
    # a 2 ms call of the tiny model: enough calls for about 2 s per side, the same for both
    assert len(result["demo_ms"]) == len(result["bare_ms"]) == result["repeats"]
    assert 3 < result["repeats"] <= measure.MAX_REPEATS
    assert result["ratio"] == pytest.approx(
        result["demo_median_ms"] / result["bare_median_ms"], rel=1e-2
    )
    assert set(result["demo_stages_ms"]) == {"preprocess", "inference", "postprocess"}
    assert result["peak_rss_mb"] >= result["rss_after_import_mb"] > 0
    assert 0 < result["params"] < 1_000_000  # the tiny model, not bert-base


def test_concurrent_first_requests_are_counted_as_one_load(tiny_bert, tmp_path):
    fresh = shutil.copytree(tiny_bert, tmp_path / "fresh")  # a checkpoint nobody loaded yet
    result = measure.concurrent_first_requests(CASES["bert"], fresh, threads=4)
    assert result["answered"] == 4 and not result["errors"]
    assert result["loads"] == 1 and result["loaded_now"] == 1


def test_the_report_says_pass_or_miss_with_the_margin(tmp_path):
    demo = {
        "params": 110_000_000,
        "cold_load_ms": 2000.0,
        "cold_call_ms": 2100.0,
        "demo_median_ms": 120.0,
        "bare_median_ms": 100.0,
        "ratio": 1.2,
        "peak_rss_mb": 1500.0,
        "rss_after_import_mb": 600.0,
        "baseline": "pipeline",
    }
    results = {
        "machine": {**report.host(), "device": "cpu", "torch_threads": 2},
        "options": {"repeats": 5, "quick": False},
        "architectures": {"bert": "bert-base", "vit": "vit-base"},
        "demos": {"bert": demo, "vit": {**demo, "ratio": 1.05, "peak_rss_mb": 900.0}},
        "skipped": {"deepspeech": "no registry record yet"},
        "startup": {
            "runs": 3,
            "app_median_s": 12.0,
            "imports_median_s": 10.0,
            "ratio": 1.2,
            "bare_imports": "import gradio",
        },
        "cache": {"key": "bert", "threads": 8, "loads": 2, "answered": 8, "errors": []},
    }
    table = report.markdown(results)
    assert "| bert |" in table and "| 1.200 | MISS (0.100 over)" in table
    assert "| 1.050 | PASS (0.050 under)" in table  # vit
    assert "PASS (0.00 under)" in table  # start-up exactly at its target
    assert "2 load(s)" in table and "| MISS |" in table  # the cache loaded twice
    assert "deepspeech (no registry record yet)" in table

    cycled = {"base_mb": 700.0, "alone_mb": {"bert": 900.0, "elmo": 100.0, "vit": 300.0}}
    bound = report.memory_bound(cycled)
    assert bound == {"base_mb": 700, "largest": {"bert": 900, "vit": 300}, "bound_mb": 1900}

    readme = tmp_path / "README.md"
    readme.write_text(f"# X\n{report.README_START}\nold\n{report.README_END}\nafter\n")
    report.update_readme(readme, table)
    text = readme.read_text()
    assert "old" not in text and "| bert |" in text and text.endswith("after\n")
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="bench:start"):
        report.update_readme(readme, table)


def test_demos_without_a_record_or_module_are_skipped_with_a_reason():
    keys, skipped = available(["bert", "deepspeech", "nonsense"])
    assert "bert" in keys and "nonsense" not in keys
    assert skipped["nonsense"] == "unknown key"
    assert ("deepspeech" in keys) != ("deepspeech" in skipped)  # benchmarked, or said why not


@pytest.mark.parametrize("size", [300, 2_000])
def test_vocabularies_have_exactly_the_size_asked(size):
    table, merges = vocab.byte_level_bpe(size, first=["<s>"])
    assert len(table) == size and sorted(table.values()) == list(range(size))
    assert all(a + b in table for a, b in merges)  # every merge makes a token of the vocabulary
    assert len(set(vocab.wordpiece(size, ["[PAD]"]))) == size
    assert len(set(vocab.word_list(size, first=["<eos>"]))) == size
