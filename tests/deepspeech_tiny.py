"""The tiny DeepSpeech-shaped `.tflite` fixture, and synthetic audio to feed it.

`tests/fixtures/deepspeech/tiny.tflite` (about 90 KB) has the tensor names, shapes, `mfccs`
subgraph and `metadata_*` outputs of Mozilla's DeepSpeech 0.9.3 export, with an 8-cell LSTM and
seeded random weights, so transcripts are gibberish but never empty for sound. It was built once
by `tools/make_deepspeech_fixture.py` (TensorFlow in a throwaway venv); tests only read it. Point
`GALLERY_DEEPSPEECH_MODEL` at `tiny_model_path()` to run the demo on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "deepspeech" / "tiny.tflite"
SAMPLE_RATE = 16_000  # Hz, what the graph expects


def tiny_model_path() -> Path:
    """Path of the tiny DeepSpeech-shaped `.tflite` (checked in, built by tools/)."""
    if not FIXTURE.is_file():
        raise FileNotFoundError(f"{FIXTURE} is missing; run tools/make_deepspeech_fixture.py")
    return FIXTURE


def synthetic_clip(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Int16 mono 16 kHz audio: chirps gated on and off twice a second, over faint noise."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    gate = np.sin(2 * np.pi * 2 * t) > 0
    chirp = 0.3 * np.sin(2 * np.pi * (300 + 600 * t) * t)
    noise = np.random.default_rng(seed).normal(0.0, 0.01, len(t))
    return np.round((gate * chirp + noise) * 32767).astype(np.int16)
