"""Wav2Vec 2.0: CTC transcript, word times from frames, emissions plot (tiny model: plumbing)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file
from PIL import Image
from transformers import Wav2Vec2Config

from demos.core import registry
from demos.media import assets, audio
from demos.speech import wav2vec2
from tests import wav2vec2_tiny

SPEC = registry.get("wav2vec2")
LETTERS = set("".join(wav2vec2_tiny.VOCAB[5:])) | {" "}


@pytest.fixture(scope="module")
def tiny_wav2vec2(tmp_path_factory):
    return wav2vec2_tiny.build(tmp_path_factory.mktemp("wav2vec2"))


@pytest.fixture
def tiny(tiny_wav2vec2, monkeypatch):
    monkeypatch.setenv(SPEC.env_var, str(tiny_wav2vec2))
    return tiny_wav2vec2


def _english() -> list[str]:
    found = [a for a in assets.audio() if "speech-en-" in a]
    assert found, "assets/ should hold the espeak-ng English speech examples"
    return found


def test_frame_length_comes_from_the_conv_strides():
    assert wav2vec2.frame_seconds(Wav2Vec2Config()) == pytest.approx(0.020)  # 320 samples
    slower = Wav2Vec2Config(conv_stride=(5, 2, 2, 2, 2, 2, 4))
    assert wav2vec2.frame_seconds(slower) == pytest.approx(0.040)


def test_windows_cover_every_sample_once():
    rate = audio.SAMPLE_RATE
    for seconds in (3, 40, 41, 125.3):
        n = int(seconds * rate)
        spans = wav2vec2.windows(n, rate)
        kept = [(ks, ke) for _rs, _re, ks, ke in spans]
        assert kept[0][0] == 0 and kept[-1][1] == n
        assert all(a[1] == b[0] for a, b in itertools.pairwise(kept))
        for read_start, read_end, keep_start, keep_end in spans:
            assert read_start <= keep_start < keep_end <= read_end
            assert read_end - read_start <= (wav2vec2.CHUNK_S + 2 * wav2vec2.CONTEXT_S) * rate


def test_transcript_word_times_and_emissions_through_the_endpoint(gallery_client, tiny):
    speech = _english()[0]
    text, words, emissions, info = gallery_client.predict(
        handle_file(speech), "", api_name="/wav2vec2"
    )
    duration = sf.info(speech).duration
    assert text and set(text) <= LETTERS
    rows = words["data"] if isinstance(words, dict) else words
    assert [r[2] for r in rows] == text.split()
    starts = [float(r[0]) for r in rows]
    assert starts == sorted(starts)
    for start, end, _word in rows:
        assert 0.0 <= float(start) < float(end) <= duration + 1e-6
    assert info["frame_ms"] == 20.0 and info["checkpoint"] == str(tiny)
    assert info["audio_s"] == pytest.approx(duration, abs=0.01) and info["real_time_factor"] > 0
    plot = Image.open(emissions)
    assert plot.width >= 800 and plot.height >= 300


def test_every_english_example_transcribes(gallery_client, tiny):
    for path in _english():
        text, _words, _plot, info = gallery_client.predict(
            handle_file(path), "", api_name="/wav2vec2"
        )
        assert set(text) <= LETTERS
        assert info["audio_s"] == pytest.approx(sf.info(path).duration, abs=0.01)


def test_long_audio_is_read_in_windows_without_losing_frames(tiny):
    one = audio.load_audio(_english()[0]).samples
    clip = np.tile(one, 20)[: 95 * audio.SAMPLE_RATE]  # 95 s: four windows
    result = wav2vec2.predict((audio.SAMPLE_RATE, clip))
    assert result.frames == pytest.approx(95 / 0.020, abs=4)
    assert result.log_probs.shape[0] == result.frames
    assert all(0 <= w["start"] < w["end"] <= 95.0 for w in result.words)
    assert max(w["end"] for w in result.words) > 85.0  # the last window was decoded too
    assert set(result.answer()) == {"text", "duration_s", "words", "chars", "frame_ms", "frames"}
    chars = result.chars
    assert all(a["start"] <= b["start"] for a, b in itertools.pairwise(chars))


def test_missing_weights_and_bad_audio_are_messages(gallery_client, tiny, tmp_path):
    speech = _english()[0]
    for checkpoint in (SPEC.default.id, "/no/such/wav2vec2"):
        with pytest.raises(Exception) as err:
            gallery_client.predict(handle_file(speech), checkpoint, api_name="/wav2vec2")
        message = str(err.value)
        assert checkpoint in message and SPEC.env_var in message
        assert "python -m demos.core.download wav2vec2" in message
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + bytes(200))
    with pytest.raises(Exception, match="could not be read"):
        gallery_client.predict(handle_file(str(corrupt)), "", api_name="/wav2vec2")
