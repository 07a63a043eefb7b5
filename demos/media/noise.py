"""Background noise mixed into a clip at a chosen signal-to-noise ratio: Whisper's robustness,
shown on the class's own recording.

SNR (dB) = 10 log10(P_speech / P_noise), with P the mean power over the whole clip. The noise is
white Gaussian noise from a fixed seed (the same clip and SNR always give the same mixture, so
a class can compare runs), scaled to the exact power the SNR asks for. If the mixture would
clip, speech and noise are scaled down together, which keeps their ratio.
"""

from __future__ import annotations

import numpy as np

LEVELS_DB = (20.0, 10.0, 5.0, 0.0)  # the noise control's choices, from barely heard to as loud
SEED = 0


def power(samples: np.ndarray) -> float:
    """Mean power of the samples (a full-scale sine has 0.5)."""
    return float(np.mean(np.square(samples, dtype=np.float64)))


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """The SNR of `noisy` against the `clean` clip it was made from, in dB. Undoes a common
    gain first (the least-squares scale of `clean` in `noisy`), as `mix` may scale both."""
    clean64, noisy64 = clean.astype(np.float64), noisy.astype(np.float64)
    gain = float(np.dot(noisy64, clean64) / max(np.dot(clean64, clean64), 1e-20))
    noise = noisy64 - gain * clean64
    return 10.0 * np.log10(power(gain * clean64) / max(power(noise), 1e-20))


def mix(samples: np.ndarray, snr: float, seed: int = SEED) -> np.ndarray:
    """`samples` (float32 in [-1, 1]) with white noise at `snr` dB; float32, within [-1, 1]."""
    speech = samples.astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(len(speech))
    noise *= np.sqrt(power(speech) / (power(noise) * 10.0 ** (snr / 10.0)))
    mixture = speech + noise
    peak = float(np.max(np.abs(mixture))) if len(mixture) else 0.0
    if peak > 1.0:
        mixture /= peak  # both together: the ratio stays what was asked
    return mixture.astype(np.float32)
