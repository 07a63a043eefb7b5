"""The speech tabs on real trained weights (../shared/realweights): right answers, not plumbing.

Whisper base and tiny.en are OpenAI's weights in Hugging Face form; `coqui-stt-armenian` is a
Coqui STT export (the DeepSpeech graph, alphabet and audio parameters in its metadata). Every
check goes through a tab's own `predict`, live step or endpoint, with the tab's checkpoint
variable pointing at the real weights. Skips, saying why, where ../shared or a model is missing.
Slow: a Whisper call takes one to a few seconds on two cores; the two-minute clip about half a
minute.

The long clip is made here from real recordings with known transcripts: jfk.wav and
new-home-in-the-stars-16k.wav, each followed by 1 s of silence, eight times over (133 s).
LDC93S1.wav is left out: whisper-base mishears it on its own ("She had Jadaxu and Grissy
Washwater all year."), which would measure that clip, not long-form decoding.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file

from demos.core.errors import BadInput
from demos.media import audio, noise
from demos.speech.deepspeech import tab as deepspeech
from demos.speech.whisper import live as whisper_live
from demos.speech.whisper import tab as whisper

pytestmark = pytest.mark.slow

JFK = (
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do "
    "for your country."
)
NEW_HOME = "We must find a new home in the stars."
RATE = audio.SAMPLE_RATE
MAX_CHARS_PER_S = 25  # fast speech is about 15 characters a second; a loop writes far more
MAX_RUN = 5  # no word said more than this many times in a row


# helpers


def normalised(text: str) -> str:
    """Lower-cased, punctuation removed (apostrophes kept), single spaces."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalised(reference), normalised(hypothesis) or "-")


def longest_run(text: str) -> int:
    """The most times one word follows itself ("פרד, פרד, פרד" is 3)."""
    words = normalised(text).split()
    return max((len(list(run)) for _, run in itertools.groupby(words)), default=0)


def samples(path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float32")
    assert rate == RATE
    return data


def _rows(table) -> list[list]:
    return table["data"] if isinstance(table, dict) else table


# fixtures


@pytest.fixture
def whisper_base(realweight, monkeypatch, whisper_home):
    path = realweight("whisper-base")
    monkeypatch.setenv(whisper.SPEC.env_var, str(path))
    monkeypatch.setenv("GALLERY_HOME", str(whisper_home))  # its CTranslate2 conversion, once
    return path


@pytest.fixture(scope="session")
def whisper_home(tmp_path_factory) -> Path:
    """One gallery home for the session: the default engine converts whisper-base once."""
    return tmp_path_factory.mktemp("whisper-gallery-home")


@pytest.fixture
def armenian(realweight, monkeypatch, tmp_path):
    path = realweight("coqui-stt-armenian")
    monkeypatch.setenv(deepspeech.SPEC.env_var, str(path))
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path / "gallery-home"))
    return path


# Whisper base


def test_jfk_through_the_endpoint_with_language_and_word_times(gallery_client, whisper_base, media):
    text, heard, segments, words, info, top, *_ = gallery_client.predict(
        handle_file(str(media("jfk.wav"))), "transcribe", "", True, "", api_name="/whisper"
    )
    assert top["label"] == "en" or "English" in top["label"], top
    probabilities = [c["confidence"] for c in top["confidences"]]
    assert all(0 <= p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-6
    assert wer(JFK, text) <= 0.05, text
    assert heard == "English (en, detected)"
    assert info["checkpoint"] == str(whisper_base) and info["audio_s"] == pytest.approx(11.0)
    assert " ".join(str(r[2]) for r in _rows(segments)) == text
    americans = [r for r in _rows(words) if "Americans" in str(r[2])]
    assert americans, _rows(words)
    assert 1.3 <= float(americans[0][0]) <= 2.1, americans


def test_jfk_through_background_noise(gallery_client, whisper_base, media, record_property):
    """Issue #17, "robust to background noise": jfk.wav with white noise at each of the noise
    control's levels, through the endpoint on the default engine; every level's WER is printed
    (run with -s) and recorded. At 20 dB SNR the sentence stays readable (WER <= 10%), judged
    on the median of five noise draws: one draw is one sample, and the tab's own (seed 0)
    turns "Americans, ask" into "America asked" twice (3 of 22 words) where seeds 1-8 cost
    0-2 words (measured on CTranslate2 int8 and transformers alike)."""
    path = str(media("jfk.wav"))
    clean = audio.load_audio(path).samples
    errors: dict[float, float] = {}
    texts: dict[float, str] = {}
    for level in noise.LEVELS_DB:
        text, *_, info, _top, heard, _caption = gallery_client.predict(
            handle_file(path), "transcribe", "", False, "", "", f"{level:g}", api_name="/whisper"
        )
        noisy, _rate = sf.read(heard["path"] if isinstance(heard, dict) else heard, dtype="float32")
        assert abs(noise.snr_db(clean, noisy) - level) < 0.5, level
        assert info["noise_snr_db"] == level
        errors[level], texts[level] = round(wer(JFK, text), 3), text
    engine = info["engine"]
    record_property("whisper_base_jfk_wer_by_snr_db", errors)
    print(f"\nwhisper-base on jfk.wav ({engine}), WER by SNR (dB): {errors}\n{texts}")
    others = [whisper.predict((RATE, noise.mix(clean, 20.0, seed))).text for seed in range(1, 5)]
    draws = [errors[20.0], *(round(wer(JFK, t), 3) for t in others)]
    print(f"at 20 dB, seeds 0-4: {draws}")
    assert float(np.median(draws)) <= 0.10, (draws, errors, texts, others)


def test_new_home_in_the_stars(whisper_base, media):
    result = whisper.predict(str(media("new-home-in-the-stars-16k.wav")))
    assert normalised(result.text) == normalised(NEW_HOME), result.text
    assert (result.language, result.language_detected) == ("en", True)


def test_translate_gives_english(whisper_base):
    german = next(row for row in whisper.examples() if row[2] == "de")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)  # a window that falls back to sampling reads the same each run
    result = whisper.predict(german[0], task="translate", language="de")
    print(f"\n{german[0].rsplit('/', 1)[-1]} translated: {result.text}")
    words = set(normalised(result.text).split())
    assert result.text.isascii() and words & {"the", "train", "to", "from", "please", "today"}, (
        result.text
    )
    assert (result.task, result.language_name) == ("translate", "German")


def test_two_minutes_go_through_long_form(whisper_base, media):
    silence = np.zeros(RATE, np.float32)
    parts = [samples(media(name)) for name in ("jfk.wav", "new-home-in-the-stars-16k.wav")]
    one_round = np.concatenate([x for part in parts for x in (part, silence)])
    clip = np.tile(one_round, 8)
    assert len(clip) / RATE >= 120.0
    result = whisper.predict((RATE, clip), language="en")
    reference = " ".join([JFK, NEW_HOME] * 8)
    error = wer(reference, result.text)
    print(f"\nlong clip ({len(clip) / RATE:.0f} s): WER {error:.1%}: {result.text}")
    assert error <= 0.10, result.text
    assert result.duration_s == pytest.approx(len(clip) / RATE, abs=1e-3)
    assert max(s["end"] for s in result.segments) > 100.0  # windows past the first were decoded
    starts = [s["start"] for s in result.segments]
    assert starts == sorted(starts)


def test_live_panel_fed_half_second_chunks_ends_on_the_file_text(whisper_base, media):
    path = media("jfk.wav")
    whole = whisper.predict(str(path))
    pcm = (samples(path) * 32767).astype(np.int16)
    state = None
    for start in range(0, len(pcm), RATE // 2):
        state = whisper_live.live_step(state, (RATE, pcm[start : start + RATE // 2]))
    state = whisper_live.live_finish(state)
    assert state.text == whole.text
    assert state.language == "en" and state.info["audio_s"] == pytest.approx(11.0)


def test_every_example_clip_has_no_repetition_loop(whisper_base, record_property):
    """As the tab offers them (the German clip with its language named), and left to
    detection, where whisper-base hears the German clip as Yiddish: bounded text either way."""
    runs = [(path, task, language) for path, task, language in whisper.examples()]
    runs += [(path, "transcribe", "") for path, _, language in whisper.examples() if language]
    for path, task, language in runs:
        result = whisper.predict(path, task=task, language=language)
        name = path.rsplit("/", 1)[-1]
        print(f"\n{name} ({task}, {language or 'detected'} → {result.language}): {result.text}")
        record_property(f"{name}:{language or 'auto'}", result.text)
        assert result.text.strip(), name
        assert longest_run(result.text) <= MAX_RUN, result.text
        assert len(result.text) <= MAX_CHARS_PER_S * result.duration_s, result.text


# Whisper tiny.en


def test_tiny_english_only(realweight, monkeypatch, media):
    monkeypatch.setenv(whisper.SPEC.env_var, str(realweight("whisper-tiny.en")))
    result = whisper.predict(str(media("jfk.wav")))
    assert wer(JFK, result.text) <= 0.10, result.text
    assert (result.language, result.language_detected) == ("en", False)  # no detection to do
    with pytest.raises(BadInput, match="English-only"):
        whisper.predict(str(media("jfk.wav")), task="translate")


# Coqui STT (DeepSpeech's graph), Armenian


def _is_armenian(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("ARMENIAN")


def test_coqui_stt_armenian_writes_armenian_and_streams_the_same(armenian, media, gallery_client):
    path = media("armenian-espeak-16k.wav")
    text, info = gallery_client.predict(
        handle_file(str(path)), "greedy", 100, "", api_name="/deepspeech"
    )
    print(f"\narmenian-espeak-16k.wav: {text}")
    letters = [ch for ch in text if not ch.isspace()]
    assert len(text.split()) >= 3 and letters and all(_is_armenian(ch) for ch in letters), text
    assert info["frames"] == pytest.approx(info["audio_s"] * 50, abs=2)  # 20 ms frames
    assert "Armenian" in deepspeech.language_line("")
    pcm = (samples(path) * 32768).round().clip(-32768, 32767).astype(np.int16)
    token = None
    for start in range(0, len(pcm), 7_919):  # uneven chunks, as a browser might send them
        token = deepspeech.live_step(token, (RATE, pcm[start : start + 7_919])).token
    assert deepspeech.live_finish(token).text == text


# the compare tab


def test_compare_speech_scores_real_whisper(gallery_client, tiny_env, whisper_base, media):
    out = gallery_client.predict(
        handle_file(str(media("jfk.wav"))), JFK.upper(), api_name="/compare_speech"
    )
    results = {r["model"]: r for r in out[-1]}
    answer = results["whisper"]["result"]
    print(f"\ncompare, whisper-base on jfk.wav: {answer}")
    assert results["whisper"]["ok"] and results["whisper"]["info"]["checkpoint"] == str(
        whisper_base
    )
    assert answer["errors"]["wer"] <= 0.05 and answer["errors"]["cer"] <= 0.03, answer
