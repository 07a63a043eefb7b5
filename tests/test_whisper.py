"""Whisper: endpoint, language, timestamps, long-form, live, engines (tiny model: plumbing).

The tiny model cannot run on CTranslate2 (faster-whisper needs Whisper's own vocabulary and
decoder context), so the default engine falls back to transformers here and the run info says
why; tests/test_whisper_ct2.py checks the CTranslate2 engine on real weights.
"""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file

from demos.core import pipeline, registry
from demos.core.errors import BadInput, GalleryError
from demos.media import assets, audio
from demos.speech.whisper import pipeline as whisper_pipeline
from demos.speech.whisper import tab as whisper
from tests import whisper_tiny

SPEC = registry.get("whisper")


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    return whisper_tiny.build(tmp_path_factory.mktemp("whisper"))


@pytest.fixture
def tiny(tiny_whisper, monkeypatch):
    monkeypatch.setenv(SPEC.env_var, str(tiny_whisper))
    return tiny_whisper


@pytest.fixture(scope="module")
def speech() -> str:
    english = [a for a in assets.audio() if "speech-en-" in a]
    assert english, "assets/ should hold the espeak-ng speech examples"
    return english[0]


def _rows(table: dict) -> list[list]:
    return table["data"] if isinstance(table, dict) else table


def _check_times(rows: list[list], duration: float) -> None:
    for start, end, _text in rows:
        assert 0.0 <= float(start) <= float(end) <= duration + 1e-6
    starts = [float(r[0]) for r in rows]
    assert starts == sorted(starts)


# through the endpoint


def test_transcribe_with_detected_language_and_segment_times(gallery_client, tiny, speech):
    text, heard, segments, words, info, top = gallery_client.predict(
        handle_file(speech), "transcribe", "", False, "", api_name="/whisper"
    )
    duration = sf.info(speech).duration
    languages = whisper_tiny.LANGUAGES
    assert any(f"({code}, detected)" in heard for code in languages), heard
    # The detected language first among the top ones, with probabilities that sum to at most 1.
    confidences = top["confidences"]
    assert 1 <= len(confidences) <= 5 and heard.split(" (")[0] in confidences[0]["label"]
    assert sum(c["confidence"] for c in confidences) <= 1.0 + 1e-6
    rows = _rows(segments)
    assert rows and isinstance(text, str)
    _check_times(rows, duration)
    assert " ".join(str(r[2]) for r in rows if str(r[2])) == text
    assert _rows(words) == []  # not asked for
    assert info["checkpoint"] == str(tiny) and info["device"] == "cpu"
    assert info["audio_s"] == pytest.approx(duration, abs=0.01)
    expected_rtf = info["speed_ms"]["inference"] / 1000 / info["audio_s"]
    assert info["real_time_factor"] == pytest.approx(expected_rtf, rel=0.05, abs=1e-3)


def test_word_timestamps_and_a_chosen_language_for_translation(gallery_client, tiny, speech):
    text, heard, _segments, words, _info, top = gallery_client.predict(
        handle_file(speech), "translate", "de", True, "", api_name="/whisper"
    )
    assert heard == "German (de, as chosen)"
    assert top is None or not top.get("confidences")  # chosen, not detected: no probabilities
    rows = _rows(words)
    assert rows, "word timestamps were asked for"
    _check_times(rows, sf.info(speech).duration)
    assert all(str(r[2]).strip() for r in rows)
    # Every word is a piece of the transcript, in order.
    assert "".join(str(r[2]) for r in rows).replace(" ", "") == text.replace(" ", "")


def test_every_audio_example_transcribes(gallery_client, tiny):
    examples = assets.audio()
    assert len(examples) >= 2
    for path in examples:
        _text, heard, segments, _words, info, _top = gallery_client.predict(
            handle_file(path), "transcribe", "", False, "", api_name="/whisper"
        )
        assert _rows(segments) and "detected" in heard
        assert info["audio_s"] == pytest.approx(sf.info(path).duration, abs=0.01)


def test_missing_weights_and_bad_audio_are_messages(gallery_client, tiny, speech, tmp_path):
    for checkpoint in (SPEC.default.id, "/no/such/whisper"):
        with pytest.raises(Exception) as err:
            gallery_client.predict(
                handle_file(speech), "transcribe", "", False, checkpoint, api_name="/whisper"
            )
        message = str(err.value)
        assert checkpoint in message and SPEC.env_var in message
        assert "python -m demos.core.download whisper" in message
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16_000 * 2, np.int16), 16_000)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3\x03\x00\x00\x00 definitely not an mp3" * 10)
    for path, message in ((silent, "silent"), (corrupt, "could not be read")):
        with pytest.raises(Exception, match=message):
            gallery_client.predict(
                handle_file(str(path)), "transcribe", "", False, "", api_name="/whisper"
            )


def test_engines_default_falls_back_and_pytorch_is_selectable(gallery_client, tiny, speech):
    outputs = {
        engine: gallery_client.predict(
            handle_file(speech), "transcribe", "en", False, "", engine, api_name="/whisper"
        )
        for engine in ("", "ctranslate2", "pytorch")
    }
    for engine in ("", "ctranslate2"):  # CTranslate2 first; the tiny model cannot run on it
        info = outputs[engine][4]
        assert info["engine"] == "pytorch" and info["dtype"] == "float32"
        assert "faster-whisper runs Whisper's own vocabulary" in info["fallback"], info
    info = outputs["pytorch"][4]
    assert info["engine"] == "pytorch" and "fallback" not in info
    assert len({out[0] for out in outputs.values()}) == 1  # the same model ran each time
    with pytest.raises(GalleryError, match="no engine 'onnx'"):
        whisper.predict(speech, engine="onnx")


def test_engine_record_and_menu():
    assert [e.key for e in SPEC.engines] == ["ctranslate2", "pytorch"]
    fast = SPEC.engines[0]
    assert (fast.precision_on("cpu", "float32"), fast.precision_on("cuda", "float32")) == (
        "int8",
        "float16",
    )
    assert "mps" not in fast.devices and fast.package == "faster_whisper"
    choices = whisper._engine_choices()
    assert choices[0] == (f"default: {fast.label}", "") and len(choices) == 3


# in Python


def test_ten_minutes_go_through_long_form_in_full(tiny, speech):
    one = audio.load_audio(speech).samples
    ten_minutes = np.tile(one, int(600 / audio.Audio(one).duration_s) + 1)[: 600 * 16_000]
    result = whisper.predict((16_000, ten_minutes), language="en")
    segments = result.segments
    assert result.duration_s == pytest.approx(600.0)
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts) and segments[-1]["end"] <= 600.0
    # Windows after the first 30 s were decoded: segments reach the last half-minute.
    assert max(s["end"] for s in segments) > 570.0
    assert len({int(s["start"] // whisper.WINDOW_S) for s in segments}) >= 10
    assert result.info.speed_ms["inference"] > 0


def test_language_and_task_checks(tiny, speech):
    assert whisper.language_code("English") == "en" and whisper.language_code("") is None
    with pytest.raises(BadInput, match="does not know the language"):
        whisper.predict(speech, language="klingon")
    with pytest.raises(BadInput, match="not trained on Japanese"):
        whisper.predict(speech, language="ja")  # Whisper knows it; this checkpoint does not
    with pytest.raises(BadInput, match="task"):
        whisper.predict(speech, task="summarise")


class SlowPasses:
    """The pipeline's own stage timer, but every forward step takes `pass_s` seconds."""

    def __init__(self, pass_s: float) -> None:
        self.pass_s = pass_s

    @contextlib.contextmanager
    def __call__(self, speed: dict[str, float], stage: str):
        yield
        speed[stage] = speed.get(stage, 0.0) + (self.pass_s * 1000.0 if stage == "inference" else 0)


def _live(chunks: list, pass_s: float, monkeypatch, state=None):
    monkeypatch.setattr(pipeline, "timed", SlowPasses(pass_s))
    heard: list[float] = []  # buffer length at each transcription
    for chunk in chunks:
        before = state.info.get("audio_s") if state else None
        state = whisper.live_step(state, chunk, engine="pytorch")
        if state.info and state.info["audio_s"] != before:
            heard.append(state.info["audio_s"])
    return state, heard


def test_live_chunks_grow_the_transcript(tiny, speech, monkeypatch):
    one = audio.load_audio(speech).samples
    pcm = (np.tile(one, 3) * 32767).astype(np.int16)
    rate, step = 16_000, 8_000  # half-second int16 chunks, as the browser's stream arrives
    silence = [(rate, np.zeros(step, np.int16))] * 3
    state, heard = _live(silence, 0.2, monkeypatch)
    assert state.text == "" and heard == []  # 1.5 s of silence: nothing transcribed
    monkeypatch.setattr(whisper, "LIVE_WINDOW_S", 5.0)  # roll over to a second window quickly
    speaking = [(rate, pcm[i : i + step]) for i in range(0, 6 * rate, step)]
    state, heard = _live(speaking, 0.2, monkeypatch, state)
    assert heard[:4] == [2.0, 3.0, 4.0, 5.0]  # re-transcribed every second of new audio
    assert state.language in whisper_tiny.LANGUAGES  # detected once, then kept
    assert state.committed, "the first window's text is kept after the rollover"
    assert state.text.startswith(state.committed)
    assert state.info["real_time_factor"] > 0
    # A machine slower than real time waits for as much new audio as a pass takes.
    _state, slow = _live(speaking, 2.5, monkeypatch)
    assert len(slow) >= 2 and all(b - a >= 2.5 for a, b in itertools.pairwise(slow))


def test_the_guard_against_loops_runs_on_short_clips_too(tiny, speech, monkeypatch):
    pipe, _ = whisper._load(None)
    monkeypatch.setattr(pipe, "decoding", {**whisper_pipeline.DECODING, "max_length": 5})
    seen: list[dict] = []
    generate = pipe.model.generate

    def spy(**kwargs):
        seen.append(kwargs)
        return generate(**kwargs)

    monkeypatch.setattr(pipe.model, "generate", spy)
    result = whisper.predict(speech, language="en")  # 5 s: one window
    assert result.duration_s < whisper.WINDOW_S
    short = seen[-1]
    assert short["temperature"] == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert short["compression_ratio_threshold"] == 1.7 and short["logprob_threshold"] == -1.0
    assert "no_speech_threshold" not in short  # a second encoder pass, for long-form only
    one = audio.load_audio(speech).samples
    whisper.predict((16_000, np.tile(one, 8)), language="en")  # over 30 s: long-form
    assert seen[-1]["no_speech_threshold"] == 0.6


def test_examples_name_the_language_where_detection_is_unsure():
    rows = {Path(path).name: (task, language) for path, task, language in whisper.examples()}
    assert rows["speech-de-train.wav"] == ("transcribe", "de")  # whisper-base hears Yiddish
    assert all(lang == "" for name, (_, lang) in rows.items() if name.startswith("speech-en-"))
