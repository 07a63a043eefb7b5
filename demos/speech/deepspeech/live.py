"""Live microphone transcription for the DeepSpeech tab: chunks in, int16 at the model's rate out.

A browser records at 44.1 or 48 kHz and sends a chunk every half second. Resampling each chunk on
its own would put a zero-padded edge (a click) at every chunk boundary, so `StreamResampler` keeps
enough of the previous audio to compute every output sample exactly as resampling the whole
recording at once would (`demos.media.audio.resample`, torchaudio's windowed sinc), holding back
only the few samples that still depend on audio not yet arrived. The pipeline
(`demos.speech.deepspeech.pipeline`) feeds what `LiveSession.take` gives to the session's stream,
so a recording chunked any way gives the transcript of the whole recording.

Sessions (one per recording) live in a small store keyed by a random token that the page keeps in
a `gr.State`; they are dropped after `IDLE_S` without a chunk, the oldest first beyond
`MAX_SESSIONS`, so the state Gradio holds per browser is a short string, not the model's buffers.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from demos.core.errors import BadInput
from demos.media import audio
from demos.speech.deepspeech.graph import DeepSpeechModel, DeepSpeechStream

# torchaudio's resample defaults: a Hann-windowed sinc 6 zero crossings wide at 0.99 of Nyquist
LOWPASS_WIDTH, ROLLOFF = 6, 0.99
IDLE_S = 15 * 60  # a recording untouched this long is abandoned
MAX_SESSIONS = 32  # recordings held at once (each holds its LSTM state and a few frames)
PCM_MAX = 32767


# helpers


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] → int16: the exact inverse of `demos.media.audio`'s reading."""
    return np.clip(np.round(samples * 32768.0), -32768, PCM_MAX).astype(np.int16)


# classes


class StreamResampler:
    """Resample a stream chunk by chunk to 16 kHz, sample for sample as `audio.resample` would.

    torchaudio's resampler reads the input in frames of `a` samples (the rates' ratio is a:b in
    lowest terms) and writes `b` samples per frame; frame f reads input samples
    [f*a - width, f*a + a + width). A frame is final once its last input sample has arrived; the
    buffer keeps the `width` samples before the next frame and restarts on a frame boundary, so
    every frame sees the same samples and kernel phase as in one pass over the whole recording.
    """

    def __init__(self, rate: int, target: int = audio.SAMPLE_RATE) -> None:
        self.rate, self.target = rate, target
        g = math.gcd(rate, target)
        self.a, self.b = rate // g, target // g
        self.width = math.ceil(LOWPASS_WIDTH * self.a / (min(self.a, self.b) * ROLLOFF))
        self._buf = np.zeros(0, np.float32)  # input from global sample `_start` on
        self._start = 0  # a multiple of `a`
        self._seen = 0  # input samples so far
        self._done = 0  # output frames emitted

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Append input; returns the output samples that no later input can change."""
        if self.rate == self.target:
            return samples.astype(np.float32, copy=False)
        self._buf = np.concatenate([self._buf, samples.astype(np.float32, copy=False)])
        self._seen += len(samples)
        final = max(0, (self._seen - self.a - self.width) // self.a + 1)  # frames ready
        return self._emit(final)

    def finish(self) -> np.ndarray:
        """The rest, with the end of the recording zero-padded as a one-pass resample pads it."""
        if self.rate == self.target:
            return np.zeros(0, np.float32)
        total = math.ceil(self.b * self._seen / self.a)  # what one pass would return
        return self._emit(None, total)

    def _emit(self, frames: int | None, total: int | None = None) -> np.ndarray:
        first = self._start // self.a
        if frames is not None and frames <= self._done:
            return np.zeros(0, np.float32)
        out = audio.resample(self._buf, self.rate, self.target)
        stop = (frames - first) * self.b if frames is not None else total - first * self.b
        new = out[(self._done - first) * self.b : stop]
        if frames is not None:
            self._done = frames
            keep_from = max(0, (frames * self.a - self.width) // self.a * self.a)
            self._buf = self._buf[keep_from - self._start :]
            self._start = keep_from
        return new


@dataclass
class LiveSession:
    """One recording: its checkpoint, the runner's stream and the audio bookkeeping."""

    checkpoint: str
    stream: DeepSpeechStream
    source: audio.AudioStream = field(default_factory=audio.AudioStream)
    resampler: StreamResampler | None = None
    fed_samples: int = 0  # samples at the model's rate handed to the pipeline
    speed_ms: dict[str, float] = field(default_factory=dict)  # the pipeline's stage times, summed
    finished: bool = False
    text: str = ""  # the final transcript, once finished
    info: dict[str, Any] = field(default_factory=dict)
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rate(self) -> int:
        return self.stream.model.spec.sample_rate

    @property
    def seconds(self) -> float:
        return self.fed_samples / self.rate

    def take(self, chunk: Any) -> np.ndarray:
        """Decode a chunk (Gradio's `(rate, array)` or a file) and resample it: the int16
        samples that no later chunk can change, for the runner."""
        if chunk is None:
            return np.zeros(0, np.int16)
        self.source.append(chunk)
        new = np.concatenate(self.source.chunks) if self.source.chunks else np.zeros(0)
        self.source.chunks.clear()  # only the count is kept: the runner buffers what it needs
        if self.resampler is None:
            self.resampler = StreamResampler(self.source.source_rate or self.rate, self.rate)
        limit = audio.max_seconds()
        if self.source.duration_s > limit:
            raise BadInput(
                f"This recording passed {limit:.0f} s, the longest this gallery takes "
                "(GALLERY_MAX_AUDIO_SECONDS); start a new one."
            )
        return self._counted(self.resampler.push(new))

    def flush(self) -> np.ndarray:
        """The resampler's last samples, at the end of the recording."""
        if self.resampler is None:
            return np.zeros(0, np.int16)
        return self._counted(self.resampler.finish())

    def _counted(self, samples: np.ndarray) -> np.ndarray:
        self.fed_samples += len(samples)
        return to_pcm16(samples)


class SessionStore:
    """Live sessions by token, expiring when idle; thread-safe."""

    def __init__(self, idle_s: float = IDLE_S, max_sessions: int = MAX_SESSIONS) -> None:
        self.idle_s, self.max_sessions = idle_s, max_sessions
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, LiveSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, token: str | None) -> LiveSession | None:
        with self._lock:
            self._expire()
            session = self._sessions.get(token or "")
            if session is not None:
                session.last_used = time.monotonic()
                self._sessions.move_to_end(token or "")
            return session

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(12)

    def create(self, model: DeepSpeechModel, checkpoint: str, token: str | None = None) -> str:
        token = token or self.new_token()
        with self._lock:
            self._expire()
            self._sessions[token] = LiveSession(checkpoint=checkpoint, stream=model.create_stream())
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return token

    def drop(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, s in self._sessions.items() if now - s.last_used > self.idle_s]:
            del self._sessions[token]


SESSIONS = SessionStore()
