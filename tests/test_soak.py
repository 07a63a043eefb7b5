"""The classroom soak (bench/soak.py), short: 6 students for a minute against `python app.py`.

The full run is `python -m bench --soak` (30 students, 10 minutes). This one checks the same
bounds on a shorter day, with a 30-second retention window so that the sweep runs during it: no
errors, no answer unlike the same request made alone, server RSS within 10% of its RSS after
warm-up, open descriptors back near where they started, no upload or output outliving the window.
About 2 minutes on 2 cores (tiny models built, a reference pass over every case, the minute).
"""

from __future__ import annotations

import pytest

from bench import soak

# checking answers (fast)


def test_answers_are_compared_without_their_timings(tmp_path):
    first = {
        "demo": "yolo",
        "speed_ms": {"inference": 80.1},
        "loaded_now": True,
        "objects": 3,
        "headers": ["Engine", "Inference (ms)", "Top-1"],
        "data": [["PyTorch", 80.1, "banana (1.00)"]],
    }
    again = {**first, "speed_ms": {"inference": 12.0}, "loaded_now": False}
    again["data"] = [["PyTorch", 12.0, "banana (1.00)"]]
    texts = ["cpu · 80 ms (inference 78 ms) · 0.4M params · loaded in 42 ms", "Annotated 6 frames"]
    same = soak.signature("/yolo", [first, texts[0], texts[1]], tmp_path, frozenset())
    other = soak.signature(
        "/yolo",
        [again, "cpu · 9 ms (inference 7 ms) · 0.4M params", texts[1]],
        tmp_path,
        frozenset(),
    )
    assert not list(soak.differences(same, other))
    moved = soak.signature("/yolo", [{**first, "objects": 4}, *texts], tmp_path, frozenset())
    assert list(soak.differences(same, moved)) == ["[0].objects: 3 vs 4"]


def test_a_compare_tab_whose_model_failed_is_an_error(tmp_path):
    results = [{"model": "bert", "ok": True}, {"model": "roberta", "ok": False, "error": "oom"}]
    with pytest.raises(soak.AnswerError, match="roberta: oom"):
        soak.signature("/compare_language", ["x", results], tmp_path, frozenset())


def test_every_endpoint_has_cases(tmp_path):
    cases = soak.classroom_cases(soak.classroom_media(tmp_path))
    endpoints = {c.endpoint for c in cases}
    assert {"/yolo_stream", "/deepspeech_stream", "/yolo_video", "/compare_speech"} <= endpoints
    assert len(endpoints) == 20 and len({c.name for c in cases}) == len(cases)


# the short day (slow)


@pytest.mark.slow
def test_a_short_classroom_day_stays_within_bounds(tmp_path):
    cfg = soak.SoakConfig(minutes=1, students=6, keep_minutes=0.5)
    results = soak.run(cfg, out=tmp_path)
    m, retention = results["milestones"], results["retention"]
    assert (tmp_path / "soak.md").is_file() and (tmp_path / "soak.json").is_file()
    assert results["requests"] >= 20 and len(results["tabs"]) >= 10
    assert not results["errors"], results["error_examples"]
    assert not results["mismatches"], results["mismatch_examples"]
    rss = results["rss_mb"]  # under load: means over the half minute before each point
    assert rss["end"] <= soak.RSS_GROWTH * rss["warm"], results["samples"]
    fds = results["fds"]  # matplotlib's per-thread font cache apart: bounded by its size
    assert fds["idle"] <= fds["start"] + soak.FD_SLACK, results["descriptors"]
    assert fds["idle_fonts"] <= soak.FONT_FDS, results["descriptors"]
    assert retention["oldest_file_seen_s"] <= retention["bound_s"], retention["overdue_files"]
    assert retention["written_files"] > m["idle"]["temp_files"]  # the sweep deleted files
    assert not results["broken"]
