"""Whisper: endpoint, language, timestamps, long-form, live, engines (tiny model: plumbing).

The tiny model cannot run on CTranslate2 (faster-whisper needs Whisper's own vocabulary and
decoder context), so the default engine falls back to transformers here and the run info says
why; tests/test_whisper_ct2.py checks the CTranslate2 engine on real weights.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file

from demos.core import pipeline, registry
from demos.core.errors import BadInput, GalleryError
from demos.media import assets, audio, noise
from demos.speech.whisper import engines as whisper_engines
from demos.speech.whisper import live as whisper_live
from demos.speech.whisper import pipeline as whisper_pipeline
from demos.speech.whisper import tab as whisper
from tests import whisper_tiny
from tests.conftest import ROOT

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
    text, heard, segments, words, info, top, *_ = gallery_client.predict(
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
    text, heard, _segments, words, _info, top, *_ = gallery_client.predict(
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
        _text, heard, segments, _words, info, _top, *_ = gallery_client.predict(
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
    from demos.core import ui

    menu = ui.engine_picker(SPEC, "")
    assert menu.choices[0] == (f"fastest here: {fast.label}", "") and len(menu.choices) == 3


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
        state = whisper_live.live_step(state, chunk, engine="pytorch")
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
    monkeypatch.setattr(whisper_live, "LIVE_WINDOW_S", 5.0)  # roll over to a second window quickly
    speaking = [(rate, pcm[i : i + step]) for i in range(0, 6 * rate, step)]
    state, heard = _live(speaking, 0.2, monkeypatch, state)
    every = whisper_live.LIVE_EVERY_S  # re-transcribed after this much new audio, no sooner
    assert heard[:4] == [2.0 + k * every for k in range(4)]
    assert state.language in whisper_tiny.LANGUAGES  # detected once, then kept
    assert state.committed, "the first window's text is kept after the rollover"
    assert state.text.startswith(state.committed)
    assert state.info["real_time_factor"] > 0
    # A machine slower than real time waits for as much new audio as a pass takes.
    _state, slow = _live(speaking, 2.5, monkeypatch)
    assert len(slow) >= 2 and all(b - a >= 2.5 for a, b in itertools.pairwise(slow))


def _generate_calls(pipe, monkeypatch) -> list[dict]:
    """The keyword arguments of every `generate` call the loaded model gets from now on."""
    seen: list[dict] = []
    generate = pipe.model.generate

    def spy(**kwargs):
        seen.append(kwargs)
        return generate(**kwargs)

    monkeypatch.setattr(pipe.model, "generate", spy)
    return seen


def test_the_guard_against_loops_runs_on_short_clips_too(tiny, speech, monkeypatch):
    pipe, _ = whisper_engines.load(None)
    monkeypatch.setattr(pipe, "decoding", {**whisper_pipeline.DECODING, "max_length": 5})
    seen = _generate_calls(pipe, monkeypatch)
    result = whisper.predict(speech, language="en")  # 5 s: one window
    assert result.duration_s < whisper.WINDOW_S
    short = seen[-1]
    assert short["temperature"] == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert short["compression_ratio_threshold"] == 1.7 and short["logprob_threshold"] == -1.0
    assert "no_speech_threshold" not in short  # a second encoder pass, for long-form only
    one = audio.load_audio(speech).samples
    whisper.predict((16_000, np.tile(one, 8)), language="en")  # over 30 s: long-form
    assert seen[-1]["no_speech_threshold"] == 0.6


def test_live_drafts_decode_once_and_the_last_pass_in_full(tiny, speech, monkeypatch):
    """While the speaker talks, a pass is one greedy attempt (the fallback to sampling would
    cost seconds on a buffer cut mid-word); the pass after the stop keeps OpenAI's guard, so the
    text that stays is the one a file upload gives."""
    pipe, _ = whisper_engines.load(None, engine="pytorch")
    seen = _generate_calls(pipe, monkeypatch)
    pcm = (audio.load_audio(speech).samples * 32767).astype(np.int16)
    state = None
    for start in range(0, 16_000 * 2, 8_000):
        state = whisper_live.live_step(
            state, (16_000, pcm[start : start + 8_000]), engine="pytorch"
        )
    drafts = len(seen)
    assert drafts >= 2
    assert all(s["temperature"] == 0.0 for s in seen)  # one temperature: nothing to fall back to
    state = whisper_live.live_step(state, (16_000, pcm[32_000:40_000]), engine="pytorch")
    whisper_live.live_finish(state, engine="pytorch")
    assert len(seen) == drafts + 2  # one more draft, then the stop's full pass
    assert seen[-1]["temperature"] == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def test_examples_name_the_language_where_detection_is_unsure():
    rows = {Path(path).name: (task, language) for path, task, language in whisper.examples()}
    assert rows["speech-de-train.wav"] == ("transcribe", "de")  # whisper-base hears Yiddish
    assert all(lang == "" for name, (_, lang) in rows.items() if name.startswith("speech-en-"))


# background noise (issue #17)


def test_background_noise_is_what_the_model_hears_at_the_asked_snr(gallery_client, tiny, speech):
    clean = audio.load_audio(speech).samples

    def run(*noise_choice):
        return gallery_client.predict(
            handle_file(speech), "transcribe", "en", False, "", "pytorch", *noise_choice,
            api_name="/whisper",
        )  # fmt: skip

    omitted, none = run(), run("none")  # a caller from before the control, and its default
    assert omitted[:4] == none[:4] and omitted[6:] == none[6:]
    assert none[6] is None and "No background noise" in none[7]
    assert none[4]["noise_snr_db"] is None
    for level in noise.LEVELS_DB:
        text, *_, info, _top, heard, caption = run(f"{level:g}")
        noisy, rate = sf.read(heard["path"] if isinstance(heard, dict) else heard, dtype="float32")
        assert rate == audio.SAMPLE_RATE and len(noisy) == len(clean)
        assert abs(noise.snr_db(clean, noisy) - level) < 0.5, level
        assert info["noise_snr_db"] == level and info["audio_s"] == none[4]["audio_s"]
        assert f"{level:g} dB SNR" in caption and "Listen for" in caption
        assert isinstance(text, str)


def test_the_mixture_is_made_once_before_the_pipeline(tiny, speech, monkeypatch):
    pipe, _ = whisper_engines.load(None, engine="pytorch")
    seen = []
    preprocess = pipe.preprocess

    def spy(inputs, **params):
        seen.append(audio.load_audio(inputs).samples)
        return preprocess(inputs, **params)

    monkeypatch.setattr(pipe, "preprocess", spy)
    result = whisper.predict(speech, language="en", engine="pytorch", noise_snr_db=5.0)
    assert len(seen) == 1 and np.array_equal(seen[0], result.heard)
    clean = audio.load_audio(speech).samples
    assert np.array_equal(result.heard, noise.mix(clean, 5.0))  # the same seed: repeatable
    assert result.info_dict()["noise_snr_db"] == 5.0 and result.info.speed_ms["preprocess"] > 0
    assert "heard" not in result.answer()  # played in the tab, not sent as JSON
    plain = whisper.predict(speech, language="en", engine="pytorch")
    assert np.array_equal(seen[-1], clean) and plain.heard is None and plain.noise_snr_db is None


def test_noise_choices_and_captions():
    assert [value for _, value in whisper.NOISE_CHOICES] == ["none", "20", "10", "5", "0"]
    assert whisper.noise_level("none") is None and whisper.noise_level("") is None
    assert whisper.noise_level("10") == 10.0 and whisper.noise_level("5 dB") == 5.0
    with pytest.raises(BadInput, match="Background noise must be one of"):
        whisper.noise_level("loud")
    with pytest.raises(BadInput, match="number of dB"):
        whisper.with_noise(np.zeros(10), float("nan"))
    assert "as loud as the noise" in whisper.noise_caption(0.0)
    assert "100× the noise's power" in whisper.noise_caption(20.0)


# start-up


def test_the_language_table_is_transformers_and_the_tab_builds_without_it():
    from transformers.models.whisper import tokenization_whisper

    from demos.speech.whisper import languages

    assert languages.LANGUAGES == tokenization_whisper.LANGUAGES
    assert languages.TO_LANGUAGE_CODE == tokenization_whisper.TO_LANGUAGE_CODE
    code = (
        "import sys, gradio as gr\n"
        "from demos.speech.whisper import tab\n"
        "with gr.Blocks():\n"
        "    tab.build_tab()\n"
        "print('transformers.models' in sys.modules)\n"
    )
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
