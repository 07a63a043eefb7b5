"""The noise control mixes at the SNR it says, within 0.5 dB, on real speech and on a quiet one."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from demos.media import noise


@pytest.mark.parametrize("snr", [*noise.LEVELS_DB, -5.0])
def test_the_mixture_has_the_asked_snr(snr):
    t = np.arange(16_000 * 3) / 16_000
    speechlike = (0.4 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(
        np.float32
    )
    noisy = noise.mix(speechlike, snr)
    assert noisy.dtype == np.float32 and np.abs(noisy).max() <= 1.0
    assert abs(noise.snr_db(speechlike, noisy) - snr) < 0.5
    assert np.array_equal(noisy, noise.mix(speechlike, snr)), "the same clip, the same noise"


def test_real_speech_at_every_level(media):
    speech, _rate = sf.read(media("jfk.wav"), dtype="float32")
    for snr in noise.LEVELS_DB:
        noisy = noise.mix(speech, snr)
        assert abs(noise.snr_db(speech, noisy) - snr) < 0.5, snr
    louder = [noise.power(noise.mix(speech, s) - speech) for s in noise.LEVELS_DB]
    assert louder == sorted(louder), "less SNR, more noise"
