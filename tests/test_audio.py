"""Audio input: whatever arrives becomes 16 kHz mono float32 in [-1, 1], or a clear message."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from demos.core.errors import BadInput
from demos.media import audio

TONE_HZ = 1000.0  # far below every Nyquist here (4 kHz at 8 kHz): it must survive resampling


def _tone(rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float64)


def _peak_hz(samples: np.ndarray, rate: int = audio.SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def _check(clip: audio.Audio, seconds: float, amplitude: float | None = None) -> None:
    assert clip.sample_rate == 16_000
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert abs(clip.duration_s - seconds) < 1e-3
    assert np.abs(clip.samples).max() <= 1.0
    assert _peak_hz(clip.samples) == pytest.approx(TONE_HZ, abs=2.0)
    if amplitude is not None:  # away from the edges, where the resampling filter ramps in
        middle = clip.samples[len(clip.samples) // 4 : -len(clip.samples) // 4]
        assert np.abs(middle).max() == pytest.approx(amplitude, rel=0.03)


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("the ffmpeg binary is absent (apt install ffmpeg / brew install ffmpeg)")
    return exe


# arrays: rates, sample types, channels, clipping


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100, 48_000])
def test_any_rate_becomes_16k_with_the_same_pitch_and_length(rate):
    _check(audio.load_audio((rate, _tone(rate, 1.5))), 1.5, amplitude=0.5)


@pytest.mark.parametrize(
    ("dtype", "full_scale"),
    [(np.int16, 32767), (np.int32, 2**31 - 1), (np.float32, 1.0), (np.float64, 1.0)],
)
def test_integer_and_float_samples_are_scaled_by_their_type(dtype, full_scale):
    data = (_tone(22_050, amplitude=0.25) * full_scale).astype(dtype)
    _check(audio.load_audio((22_050, data)), 1.0, amplitude=0.25)


def test_unsigned_8_bit_is_centred():
    data = np.round(128 + 127 * _tone(16_000)).astype(np.uint8)
    clip = audio.load_audio((16_000, data))
    _check(clip, 1.0, amplitude=0.5)
    assert abs(float(clip.samples.mean())) < 0.01


@pytest.mark.parametrize("channels_first", [False, True])
def test_stereo_is_averaged_whichever_axis_holds_the_channels(channels_first):
    tone = _tone(48_000, 2.0, amplitude=0.8)
    stereo = np.stack([tone, np.zeros_like(tone)], axis=0 if channels_first else 1)
    _check(audio.load_audio((48_000, (stereo * 32767).astype(np.int16))), 2.0, amplitude=0.4)


def test_clipped_recordings_stay_in_range():
    square = np.sign(_tone(16_000))
    clipped_int = np.where(square > 0, 32767, -32768).astype(np.int16)  # hit both rails
    clip = audio.load_audio((16_000, clipped_int))
    assert clip.samples.max() <= 1.0 and clip.samples.min() >= -1.0
    over = audio.load_audio((16_000, (1.5 * _tone(16_000, amplitude=1.0)).astype(np.float32)))
    assert over.samples.max() == 1.0 and over.samples.min() == -1.0
    assert np.isfinite(audio.load_audio((16_000, np.array([np.nan, 0.5] * 8000))).samples).all()


def test_librosa_order_and_gradio_filedata_are_accepted(tmp_path):
    _check(audio.load_audio((_tone(16_000), 16_000)), 1.0)
    path = tmp_path / "tone.wav"
    sf.write(path, _tone(16_000), 16_000)
    _check(audio.load_audio({"path": str(path), "meta": {"_type": "gradio.FileData"}}), 1.0)


# files and bytes


@pytest.mark.parametrize(
    ("suffix", "rate", "subtype"),
    [
        (".wav", 44_100, "PCM_16"),
        (".wav", 8_000, "PCM_32"),
        (".wav", 48_000, "FLOAT"),
        (".flac", 48_000, "PCM_24"),
        (".ogg", 44_100, "VORBIS"),
    ],
)
def test_files_and_their_bytes_decode(tmp_path, suffix, rate, subtype):
    path = tmp_path / f"speech{suffix}"
    stereo = np.stack([_tone(rate, 2.0), _tone(rate, 2.0)], axis=1)
    sf.write(path, stereo, rate, subtype=subtype)
    _check(audio.load_audio(str(path)), 2.0)
    _check(audio.load_audio(path.read_bytes()), 2.0)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [(".mp3", "libmp3lame"), (".m4a", "aac"), (".webm", "libopus")],  # webm: browser recordings
)
def test_compressed_files_decode(tmp_path, suffix, codec):
    exe = _ffmpeg()
    wav, out = tmp_path / "tone.wav", tmp_path / f"tone{suffix}"
    sf.write(wav, np.stack([_tone(44_100, 3.0)] * 2, axis=1), 44_100)
    subprocess.run(
        [exe, "-nostdin", "-loglevel", "error", "-i", wav, "-c:a", codec, out], check=True
    )
    clip = audio.load_audio(str(out))
    assert clip.sample_rate == 16_000 and clip.samples.dtype == np.float32
    assert abs(clip.duration_s - 3.0) < 0.1  # encoders add a few ms of priming
    assert _peak_hz(clip.samples) == pytest.approx(TONE_HZ, abs=2.0)


def test_without_ffmpeg_an_m4a_says_how_to_install_it(tmp_path, monkeypatch):
    exe = _ffmpeg()
    wav, m4a = tmp_path / "tone.wav", tmp_path / "tone.m4a"
    sf.write(wav, _tone(16_000), 16_000)
    subprocess.run([exe, "-nostdin", "-loglevel", "error", "-i", wav, m4a], check=True)
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(BadInput, match=r"ffmpeg.*apt install ffmpeg.*brew install ffmpeg"):
        audio.load_audio(str(m4a))


# what gets refused, and how


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (None, "No audio was given"),
        ("", "No audio was given"),
        ((16_000, np.zeros(0, np.int16)), "empty"),
        (b"", "empty"),
        ((16_000, np.zeros(16_000, np.float32)), "silent"),
        ((16_000, (np.full(16_000, 10, np.int16))), "silent"),  # -70 dBFS of DC: nothing said
        ((16_000, _tone(16_000, 0.02)), "only 20 ms long"),
        ((0, _tone(16_000)), "sample rate"),
        ((16_000, np.array(["a", "b"])), "Expected audio samples"),
        (12345, "Expected an audio file"),
    ],
)
def test_unusable_input_gets_a_clear_message(source, message):
    with pytest.raises(BadInput, match=message):
        audio.load_audio(source)


def test_corrupt_and_missing_files_get_a_clear_message(tmp_path):
    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt not really a wav file" * 3)
    with pytest.raises(BadInput, match="could not be read") as err:
        audio.load_audio(str(corrupt))
    assert str(tmp_path) not in str(err.value)  # no server paths in what users see
    with pytest.raises(BadInput, match="does not exist"):
        audio.load_audio(str(tmp_path / "gone.wav"))


def test_too_long_is_refused_from_the_header_and_the_limit_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("GALLERY_MAX_AUDIO_SECONDS", "5")
    long_wav = tmp_path / "long.wav"
    sf.write(long_wav, _tone(16_000, 7.0), 16_000)
    for source in (str(long_wav), (16_000, _tone(16_000, 7.0))):
        with pytest.raises(BadInput, match=r"0:07 \(7 s\) long.*up to 0:05.*GALLERY_MAX_AUDIO"):
            audio.load_audio(source)
    monkeypatch.delenv("GALLERY_MAX_AUDIO_SECONDS")
    assert audio.max_seconds() == 600.0
    _check(audio.load_audio(str(long_wav)), 7.0)


def test_real_recordings_keep_their_true_duration(shared_dir):
    for name in ("jfk.wav", "LDC93S1.wav"):
        path = shared_dir / "media" / name
        clip = audio.load_audio(str(path))
        assert clip.sample_rate == 16_000 and clip.samples.ndim == 1
        assert clip.duration_s == pytest.approx(sf.info(str(path)).duration, abs=1e-4)
        assert 0.05 < np.abs(clip.samples).max() <= 1.0  # speech, not silence or noise blown up


# streaming


def test_stream_appends_microphone_chunks_in_order():
    stream = audio.AudioStream()
    tone = (_tone(48_000, 3.0) * 32767).astype(np.int16)
    for start in range(0, len(tone), 24_000):  # half-second chunks, as a browser sends them
        stream.append((48_000, tone[start : start + 24_000]))
        assert stream.duration_s == pytest.approx((start + 24_000) / 48_000)
    stream.append(None)
    _check(stream.audio(), 3.0, amplitude=0.5)
    assert audio.AudioStream().audio().duration_s == 0.0


def test_nan_audio_is_called_damaged_and_a_few_nans_are_silenced():
    with pytest.raises(BadInput, match="no valid samples"):
        audio.load_audio((16_000, np.full(16_000, np.nan)))
    glitch = _tone(16_000, 1.0)
    glitch[100:110] = np.nan
    clip = audio.load_audio((16_000, glitch))
    assert np.isfinite(clip.samples).all() and clip.duration_s == pytest.approx(1.0)
