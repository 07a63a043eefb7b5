"""Build the tiny DeepSpeech-shaped `.tflite` used by tests/test_deepspeech_model.py.

The graph copies the *interface* of Mozilla DeepSpeech 0.9.3's TFLite export (tensor names,
shapes, the `mfccs` feature subgraph and the `metadata_*` constants), not its size: the LSTM has
8 cells instead of 2048 and the weights are seeded random numbers. TensorFlow is needed only to
build the file, so run this once in a throwaway venv, never in the project's:

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow==2.21.0
    /tmp/tfenv/bin/python tools/make_deepspeech_fixture.py

from the project root; it writes tests/fixtures/deepspeech/tiny.tflite (about 90 KB).

A TF1-style graph converted with `TFLiteConverter.from_session` keeps node names such as
`input_node` (TF2's converter renames them), and `allow_custom_ops=True` lets the
AudioSpectrogram and Mfcc ops through as custom ops, which LiteRT's default resolver runs.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "deepspeech" / "tiny.tflite"

# The interface of the released graph (DeepSpeech 0.9.3 training/flags defaults)
SAMPLE_RATE = 16_000  # Hz
WIN_LEN_MS, WIN_STEP_MS = 32, 20  # 512-sample windows every 320 samples
WINDOW = SAMPLE_RATE * WIN_LEN_MS // 1000  # 512 samples
STEP = SAMPLE_RATE * WIN_STEP_MS // 1000  # 320 samples
N_INPUT = 26  # MFCC coefficients per window
N_CONTEXT = 9  # frames of context on each side: 2 * 9 + 1 = 19 frames per time step
N_STEPS = 16  # time steps per call of the acoustic model
GRAPH_VERSION = 6  # what the 0.9.x native client expects at least
ALPHABET = [" ", *"abcdefghijklmnopqrstuvwxyz", "'"]
N_CLASSES = len(ALPHABET) + 1  # + CTC blank, last
# Tiny where the real model is big (2048 everywhere)
N_HIDDEN = 24
N_CELL = 8


def serialize_alphabet(labels: list[str]) -> bytes:
    """The native client's alphabet blob: u16 count, then (u16 label, u16 length, utf-8) each."""
    out = [struct.pack("<H", len(labels))]
    for i, label in enumerate(labels):
        data = label.encode("utf-8")
        out.append(struct.pack("<HH", i, len(data)) + data)
    return b"".join(out)


def build(sess: v1.Session) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
    rng = np.random.default_rng(1412_5567)

    def const(*shape: int, scale: float = 1.0) -> tf.Tensor:
        return tf.constant((rng.standard_normal(shape) * scale).astype(np.float32))

    # Features: the same ops and attributes as DeepSpeech's audio_to_features
    input_samples = v1.placeholder(tf.float32, [WINDOW], name="input_samples")
    spectrogram = tf.raw_ops.AudioSpectrogram(
        input=tf.expand_dims(input_samples, -1),
        window_size=WINDOW,
        stride=STEP,
        magnitude_squared=True,
    )
    mfcc = tf.raw_ops.Mfcc(
        spectrogram=spectrogram,
        sample_rate=tf.constant(SAMPLE_RATE, tf.int32),
        upper_frequency_limit=SAMPLE_RATE / 2,  # as DeepSpeech set it
        lower_frequency_limit=20.0,  # TF's default, which DeepSpeech kept
        filterbank_channel_count=40,  # TF's default, which DeepSpeech kept
        dct_coefficient_count=N_INPUT,
    )
    mfccs = tf.identity(tf.reshape(mfcc, [-1, N_INPUT]), name="mfccs")

    # Acoustic model: dense -> LSTM (state carried by the caller) -> dense -> softmax
    input_node = v1.placeholder(
        tf.float32, [1, N_STEPS, 2 * N_CONTEXT + 1, N_INPUT], name="input_node"
    )
    state_c = v1.placeholder(tf.float32, [1, N_CELL], name="previous_state_c")
    state_h = v1.placeholder(tf.float32, [1, N_CELL], name="previous_state_h")

    # Rough per-coefficient statistics of speech MFCCs, so random weights see unit-scale inputs
    mean = np.zeros(N_INPUT, np.float32)
    mean[0] = -24.0  # log energy
    std = np.ones(N_INPUT, np.float32)
    std[:3] = [8.0, 4.5, 2.0]
    x = tf.reshape((input_node - mean) / std, [N_STEPS, (2 * N_CONTEXT + 1) * N_INPUT])
    n_in = x.shape[1]
    hidden = tf.nn.relu(tf.matmul(x, const(n_in, N_HIDDEN, scale=n_in**-0.5)) + const(N_HIDDEN))
    w_gates, b_gates = const(N_HIDDEN + N_CELL, 4 * N_CELL, scale=0.3), const(4 * N_CELL)
    c, h, outputs = state_c, state_h, []
    for t in range(N_STEPS):
        gates = tf.matmul(tf.concat([hidden[t : t + 1], h], axis=1), w_gates) + b_gates
        i, g, f, o = tf.split(gates, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        outputs.append(h)
    rnn = tf.concat([*outputs], axis=0)  # [N_STEPS, N_CELL]
    features = tf.concat([rnn, hidden], axis=1)  # skip path so frames differ more
    # Favour blank and a handful of letters so a greedy transcript is short but non-empty
    bias = np.full(N_CLASSES, -3.0, np.float32)
    bias[[ALPHABET.index(ch) for ch in "helo "]] = 0.0
    bias[-1] = 1.0
    w_out = const(N_HIDDEN + N_CELL, N_CLASSES, scale=0.5)
    logits = tf.nn.softmax(tf.matmul(features, w_out) + bias, name="logits")
    new_c = tf.identity(c, name="new_state_c")
    new_h = tf.identity(h, name="new_state_h")

    metadata = [
        tf.constant([GRAPH_VERSION], name="metadata_version"),
        tf.constant([SAMPLE_RATE], name="metadata_sample_rate"),
        tf.constant([WIN_LEN_MS], name="metadata_feature_win_len"),
        tf.constant([WIN_STEP_MS], name="metadata_feature_win_step"),
        tf.constant([500], name="metadata_beam_width"),
        tf.constant([serialize_alphabet(ALPHABET)], name="metadata_alphabet"),
    ]
    inputs = [input_node, state_c, state_h, input_samples]
    return inputs, [logits, new_c, new_h, mfccs, *metadata]


def main() -> int:
    v1.disable_eager_execution()
    with tf.Graph().as_default(), v1.Session() as sess:
        inputs, outputs = build(sess)
        converter = v1.lite.TFLiteConverter.from_session(sess, inputs, outputs)
        converter.allow_custom_ops = True
        blob = converter.convert()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(blob)
    print(f"wrote {OUT} ({len(blob)} bytes) with TensorFlow {tf.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
