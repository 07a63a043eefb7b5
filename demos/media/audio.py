"""Audio input, in one place: whatever a user uploads or records becomes 16 kHz mono float32.

Every speech demo (Whisper, Wav2Vec 2.0, DeepSpeech, the speech compare tab) takes its audio
through this module, so they all accept the same things and refuse them with the same messages.

API
---
`load_audio(source) -> Audio`
    `source` may be a file path (str or Path), the file's bytes, Gradio's `(sample_rate, ndarray)`
    tuple, a `{"path": ...}` dict (Gradio's FileData), or an `Audio` (checked and returned).
    Arrays may be 1-D or 2-D (frames x channels or channels x frames: the shorter axis is taken
    as channels), int8/uint8/int16/int32 or float, at any sample rate. The result is mono (the
    channels averaged), resampled to 16 kHz with `torchaudio.functional.resample`, float32 in
    [-1, 1]. Raises `BadInput` with a readable message for: nothing given, an empty or too short
    clip, a silent clip, a clip longer than `max_seconds()`, a file that cannot be decoded, and a
    compressed file when the ffmpeg binary is missing (with the install hint).
`Audio(samples, sample_rate=16000)`
    `.samples` (float32, 1-D), `.sample_rate`, `.duration_s`.
`AudioStream`
    Microphone streaming: `stream.append(chunk)` takes each chunk Gradio sends (`(sr, ndarray)`
    or a path), `stream.duration_s` is what has arrived so far, `stream.audio()` the whole buffer
    as an `Audio` (no silence check: a stream starts quiet).
`max_seconds()`
    The longest clip accepted: `GALLERY_MAX_AUDIO_SECONDS`, default 600 s (10 min).
`run_info(run, duration_s)`
    A speech result's run-info dict: `run.as_dict()` plus `audio_s` and `real_time_factor`
    (inference time / audio time; below 1 is faster than real time).

Files are read with soundfile (wav, flac, ogg/vorbis/opus, mp3 with libsndfile >= 1.1) and, for
what it cannot read (m4a/aac, webm, mp4, ...), with the ffmpeg binary, which also resamples and
downmixes (`ffmpeg -nostdin -i file -f f32le -ac 1 -ar 16000 -`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from demos.core import retention
from demos.core.errors import BadInput

if TYPE_CHECKING:
    from demos.core.runtime import RunInfo

SAMPLE_RATE = 16_000  # Hz: what Whisper, Wav2Vec 2.0 and DeepSpeech were trained on
DEFAULT_MAX_SECONDS = 600.0  # 10 min: Whisper long-form on a CPU takes about a minute for it
MIN_SECONDS = 0.1  # shorter than one spoken syllable; Wav2Vec 2.0 needs >= 25 ms anyway
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS: below a quiet room's noise floor through a mic
FFMPEG_TIMEOUT_S = 300  # decoding 10 minutes of audio takes a few seconds; this is a hang
INSTALL_FFMPEG = "install it with `apt install ffmpeg` (Debian/Ubuntu) or `brew install ffmpeg`"
FORMATS = "wav, flac, mp3, ogg, m4a or webm"


# classes


@dataclass(frozen=True)
class Audio:
    """A mono float32 waveform in [-1, 1] (16 kHz once it has come through `load_audio`)."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass
class AudioStream:
    """Microphone chunks appended as they arrive; kept at the source rate, resampled on read."""

    source_rate: int | None = None
    chunks: list[np.ndarray] = field(default_factory=list)
    frames: int = 0

    @property
    def duration_s(self) -> float:
        return self.frames / self.source_rate if self.source_rate else 0.0

    def append(self, chunk: Any) -> None:
        """Add one chunk (Gradio's `(sr, ndarray)`, a path or bytes); `None` is ignored."""
        if chunk is None:
            return
        samples, rate = _decode(chunk, limit_s=None)
        samples = _to_mono_float(samples)
        if self.source_rate is None:
            self.source_rate = rate
        elif rate != self.source_rate:  # a browser does not change rates mid-stream, but be safe
            samples = resample(samples, rate, self.source_rate)
        self.chunks.append(samples)
        self.frames += len(samples)

    def audio(self) -> Audio:
        """Everything so far as 16 kHz mono (empty when nothing has arrived)."""
        if not self.chunks or self.source_rate is None:
            return Audio(np.zeros(0, np.float32))
        joined = np.concatenate(self.chunks)
        self.chunks = [joined]  # concatenate once, not on every read
        return Audio(resample(joined, self.source_rate, SAMPLE_RATE))


# helpers


def max_seconds() -> float:
    """The longest clip accepted, in seconds (`GALLERY_MAX_AUDIO_SECONDS`, default 600)."""
    raw = os.environ.get("GALLERY_MAX_AUDIO_SECONDS", "").strip()
    try:
        return float(raw) if raw else DEFAULT_MAX_SECONDS
    except ValueError:
        return DEFAULT_MAX_SECONDS


def run_info(run: RunInfo, duration_s: float) -> dict[str, Any]:
    """`run.as_dict()` plus the audio length (s) and the real-time factor (inference / audio)."""
    info = run.as_dict()
    info["audio_s"] = round(duration_s, 2)
    seconds = run.speed_ms.get("inference", 0.0) / 1000.0
    info["real_time_factor"] = round(seconds / duration_s, 3) if duration_s > 0 else None
    return info


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _too_long(seconds: float | None, limit: float) -> BadInput:
    length = f"{_clock(seconds)} ({seconds:.0f} s) long" if seconds else "too long"
    return BadInput(
        f"The recording is {length}; this gallery takes up to {_clock(limit)} ({limit:.0f} s). "
        f"Trim it, or raise the limit with GALLERY_MAX_AUDIO_SECONDS."
    )


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (torchaudio's windowed sinc); float32 in, float32 out."""
    if rate == target or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    import torch
    import torchaudio.functional as AF

    out = AF.resample(torch.from_numpy(np.ascontiguousarray(samples, np.float32)), rate, target)
    return out.numpy()


def _to_mono_float(data: np.ndarray) -> np.ndarray:
    """Any PCM array → 1-D float32 in [-1, 1]: scaled by its integer type, channels averaged."""
    data = np.asarray(data)
    if data.dtype.kind not in "iuf" or data.ndim not in (1, 2):
        raise BadInput(
            f"Expected audio samples (a 1-D array, or frames x channels), got an array of "
            f"{data.dtype} with shape {data.shape}."
        )
    if data.dtype.kind == "u":  # 8-bit WAV is unsigned, centred on 128
        half = 2.0 ** (8 * data.dtype.itemsize - 1)
        data = (data.astype(np.float64) - half) / half
    elif data.dtype.kind == "i":
        data = data.astype(np.float64) / 2.0 ** (8 * data.dtype.itemsize - 1)
    else:
        finite = np.isfinite(data)
        if data.size and not finite.any():
            raise BadInput(
                "The audio holds no valid samples (every value is NaN or infinite): the file is "
                "damaged. Record it again or pick another file."
            )
        # A few bad samples (a glitch) become silence rather than spoiling the whole clip.
        data = np.nan_to_num(data.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
        peak = float(np.abs(data).max(initial=0.0))
        if peak > 2.0:  # integer samples stored as floats: not the [-1, 1] convention at all
            data = data / peak
    if data.ndim == 2:
        # Gradio and soundfile give frames x channels, torchaudio channels x frames.
        channel_axis = 1 if data.shape[1] <= data.shape[0] else 0
        data = data.mean(axis=channel_axis)
    return np.clip(data, -1.0, 1.0).astype(np.float32)  # clipped recordings stay in range


def unreadable(name: str | None, exc: BaseException) -> str:
    """The message for a file no decoder here can read, naming it but not the server's folders."""
    reason = re.sub(r"'?(/[^\s']+)+'?|<[^>]+>", "", str(exc)).strip(" :.")[:200] or "unreadable"
    what = f"“{name}”" if name else "This file"
    return f"{what} could not be read as audio ({reason}). Upload {FORMATS}, or record again."


def _ffmpeg(path: str, limit_s: float | None, why_not_sndfile: str) -> np.ndarray:
    """Decode with the ffmpeg binary to 16 kHz mono float32 (at most `limit_s` + 1 s of it)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise BadInput(
            f"This file could not be read as WAV, FLAC, OGG or MP3 ({why_not_sndfile}). Other "
            f"formats (m4a, webm, ...) need the ffmpeg program, which is not installed on the "
            f"server: {INSTALL_FFMPEG}. Or convert the file to WAV."
        )
    cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path]
    if limit_s is not None:
        cmd += ["-t", f"{limit_s + 1:.3f}"]  # decode no more than we could accept, plus a bit
    cmd += ["-vn", "-f", "f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"]
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise BadInput(f"Decoding this file took over {FFMPEG_TIMEOUT_S} s; try a WAV.") from None
    if run.returncode != 0:
        lines = run.stderr.decode(errors="replace").strip().splitlines()
        detail = lines[-1] if lines else f"ffmpeg exit status {run.returncode}"
        detail = detail.replace(path, Path(path).name)[:200]  # no server paths in messages
        raise BadInput(f"This file could not be read as audio ({detail}). Upload {FORMATS}.")
    samples = np.frombuffer(run.stdout, dtype="<f4").astype(np.float32)
    if limit_s is not None and len(samples) > limit_s * SAMPLE_RATE:
        raise _too_long(None, limit_s)  # ffmpeg stopped at the cap: the true length is unknown
    return samples


def _read_file(path: str, limit_s: float | None) -> tuple[np.ndarray, int]:
    """soundfile first (checks the length from the header before reading), then ffmpeg."""
    if not Path(path).is_file():
        raise BadInput(f"The audio file {Path(path).name!r} does not exist (upload it again).")
    if Path(path).stat().st_size == 0:
        raise BadInput("The audio file is empty (0 bytes).")
    try:
        info = sf.info(path)
        if limit_s is not None and info.frames > 0 and info.duration > limit_s:
            raise _too_long(info.duration, limit_s)
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except BadInput:
        raise
    except Exception as exc:  # not a format libsndfile knows (m4a, webm...), or corrupt
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        why = why.replace(repr(path), "the file").replace(path, "the file")[:160].rstrip(".")
        return _ffmpeg(path, limit_s, why), SAMPLE_RATE
    return data, int(rate)


def _decode(source: Any, limit_s: float | None) -> tuple[np.ndarray, int]:
    """(samples as given, sample rate) from any of the accepted sources."""
    if isinstance(source, dict) and source.get("path"):
        source = source["path"]
    if isinstance(source, (str, Path)):
        return _read_file(str(source), limit_s)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise BadInput("The audio file is empty (0 bytes).")
        with retention.scratch("audio-") as tmp:
            path = Path(tmp) / "upload"
            path.write_bytes(bytes(source))
            return _read_file(str(path), limit_s)
    if isinstance(source, tuple) and len(source) == 2:
        rate, data = source
        if isinstance(rate, np.ndarray):  # (ndarray, sr), as librosa orders them
            rate, data = data, rate
        if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or rate <= 0:
            raise BadInput(f"The sample rate must be a positive whole number of Hz, not {rate!r}.")
        return np.asarray(data), int(rate)
    raise BadInput(
        f"Expected an audio file ({FORMATS}) or a recording, got {type(source).__name__}."
    )


def load_audio(source: Any, *, limit_s: float | None = None) -> Audio:
    """Any accepted audio (see the module docstring) as 16 kHz mono float32 in [-1, 1].

    `limit_s` overrides `max_seconds()` (the env setting) for this call.
    """
    if source is None or (isinstance(source, str) and not source.strip()):
        raise BadInput(f"No audio was given: upload a file ({FORMATS}) or record one.")
    limit = max_seconds() if limit_s is None else limit_s
    if isinstance(source, Audio):
        samples, rate = source.samples, source.sample_rate
    else:
        samples, rate = _decode(source, limit)
    mono = _to_mono_float(samples)
    seconds = len(mono) / rate
    if seconds > limit:
        raise _too_long(seconds, limit)
    if len(mono) == 0:
        raise BadInput("The recording is empty (it has no samples).")
    if seconds < MIN_SECONDS:
        raise BadInput(
            f"The recording is only {seconds * 1000:.2g} ms long; speak for at least "
            f"{MIN_SECONDS:.1f} s."
        )
    if float(np.abs(mono).max()) < SILENCE_PEAK:
        raise BadInput(
            "The recording is silent (its loudest sample is below -60 dBFS). Check that the "
            "microphone is on and not muted, or pick another file."
        )
    return Audio(resample(mono, rate, SAMPLE_RATE))


def write_wav(audio: Audio, path: str | Path) -> str:
    """Save as 16-bit PCM WAV (for examples and tests); returns the path."""
    sf.write(str(path), audio.samples, audio.sample_rate, subtype="PCM_16")
    return str(path)
