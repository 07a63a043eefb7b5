"""The DeepSpeech / Coqui STT TFLite runner, on the tiny fixture graph (see deepspeech_tiny.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.tools import flatbuffer_utils

from demos.speech.deepspeech.alphabet import (
    DEFAULT_ALPHABET,
    alphabet_script,
    greedy_decode,
    load_alphabet,
)
from demos.speech.deepspeech.graph import DeepSpeechModel, DeepSpeechModelError, _meta_language
from tests.deepspeech_tiny import synthetic_clip, tiny_model_path

N_CONTEXT = 9
WINDOW, STEP = 512, 320  # samples


@pytest.fixture(scope="module")
def model() -> DeepSpeechModel:
    return DeepSpeechModel(tiny_model_path())


def expected_frames(n_samples: int) -> int:
    """Full windows, plus the one `finish()` makes of the samples left over."""
    full = (n_samples - WINDOW) // STEP + 1 if n_samples >= WINDOW else 0
    return full + 1


def record_calls(model: DeepSpeechModel, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Wrap `model.infer`; each call appends (steps, state in, state out)."""
    calls: list[tuple] = []
    infer = model.infer

    def recording(steps, state):
        probs, new_state = infer(steps, state)
        calls.append((steps.copy(), state, new_state))
        return probs, new_state

    monkeypatch.setattr(model, "infer", recording)
    return calls


def test_reads_sizes_and_alphabet_from_the_graph(model):
    spec = model.spec
    assert (spec.n_steps, spec.n_context, spec.n_features) == (16, N_CONTEXT, 26)
    assert (spec.state_size, spec.n_classes) == (8, 29)  # tiny LSTM, English alphabet + blank
    assert (spec.sample_rate, spec.window, spec.step) == (16_000, WINDOW, STEP)
    assert model.alphabet == DEFAULT_ALPHABET  # parsed from the embedded `metadata_alphabet`


def test_transcribes_a_synthetic_clip(model):
    clip = synthetic_clip(2.0)
    stream = model.create_stream()
    stream.feed(clip)
    text, probs = stream.finish()
    assert text and set(text) <= set(DEFAULT_ALPHABET)
    assert probs.shape == (expected_frames(len(clip)), 29)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)  # the graph's softmax
    assert text == greedy_decode(probs, model.alphabet) == model.transcribe(clip)


@pytest.mark.parametrize(
    "cuts", [(1, 777, 3000), (511, 512, 513, 9000, 9001), tuple(range(0, 32_000, 997))]
)
def test_uneven_chunks_give_exactly_the_whole_clip_result(model, cuts):
    clip = synthetic_clip(2.0, seed=1)
    whole = model.create_stream()
    whole.feed(clip)
    text, probs = whole.finish()

    stream = model.create_stream()
    edges = [0, *cuts, len(clip)]
    for start, stop in itertools.pairwise(edges):
        stream.feed(clip[start:stop])
        # Mid-stream transcripts cover the 16-step batches run so far
        done = len(stream.probs())
        assert done % 16 == 0
        assert stream.partial_text() == greedy_decode(probs[:done], model.alphabet)
    chunked_text, chunked_probs = stream.finish()
    assert chunked_text == text
    assert np.array_equal(chunked_probs, probs)


@pytest.mark.parametrize("n_samples", [0, 1, 511, 512, 513, 831, 832, 5_000, 16_000])
def test_one_frame_per_window_plus_the_leftover(model, n_samples):
    stream = model.create_stream()
    stream.feed(synthetic_clip(1.0)[:n_samples])
    assert len(stream.finish()[1]) == expected_frames(n_samples)


def test_windows_context_and_state_match_the_graph(model, monkeypatch):
    clip = synthetic_clip(0.75, seed=2)  # 12000 samples: 36 windows + leftover = 37 steps
    calls = record_calls(model, monkeypatch)
    stream = model.create_stream()
    stream.feed(clip)
    stream.finish()

    # 16 + 16 + 5 steps; the last, partial batch is zero-padded inside `infer`
    assert [len(steps) for steps, *_ in calls] == [16, 16, 5]
    steps = np.concatenate([s for s, *_ in calls])  # [T, 19, 26]
    assert len(steps) == expected_frames(len(clip)) == 37

    # The centre frame of step t is the graph's own `mfccs` of window t, computed here on the
    # full graph (the runner uses a pruned copy); the last is the zero-padded leftover
    full = Interpreter(model_path=str(tiny_model_path()))
    full.allocate_tensors()
    ins = {d["name"]: d["index"] for d in full.get_input_details()}
    outs = {d["name"]: d["index"] for d in full.get_output_details()}
    audio = clip.astype(np.float32) / 32768
    for t in range(len(steps)):
        window = np.zeros(WINDOW, np.float32)
        chunk = audio[t * STEP : t * STEP + WINDOW]
        window[: len(chunk)] = chunk
        full.set_tensor(ins["input_samples"], window)
        full.invoke()
        assert np.array_equal(steps[t, N_CONTEXT], full.get_tensor(outs["mfccs"]).reshape(-1))
    assert len(audio) - (len(steps) - 1) * STEP < WINDOW  # the last window was a partial one

    # Nine zero frames of context before the first window and after the last
    assert not steps[0, :N_CONTEXT].any() and steps[0, N_CONTEXT].any()
    assert not steps[-1, N_CONTEXT + 1 :].any() and steps[-1, N_CONTEXT].any()
    # Neighbouring steps overlap: frame k of step t is the centre of step t + k - 9
    for t in range(len(steps) - 1):
        assert np.array_equal(steps[t, 1:], steps[t + 1, :-1])

    # The LSTM state starts at zero and is carried from one call to the next
    assert not calls[0][1][0].any() and not calls[0][1][1].any()
    for (_, _, state_out), (_, state_in, _) in itertools.pairwise(calls):
        assert state_in is state_out


def test_real_speech_runs_through(model, shared_dir):
    samples, rate = sf.read(shared_dir / "media" / "LDC93S1.wav", dtype="int16")
    assert rate == 16_000
    stream = model.create_stream()
    stream.feed(samples)
    text, probs = stream.finish()
    assert len(probs) == expected_frames(len(samples))
    assert text  # gibberish from random weights; only the plumbing is under test


def test_greedy_decode_merges_repeats_and_drops_blanks():
    alphabet = ("a", "b")  # blank is class 2
    path = [0, 0, 2, 0, 1, 1, 2, 2, 1]
    probs = np.eye(3, dtype=np.float32)[path]
    assert greedy_decode(probs, alphabet) == "aabb"
    assert greedy_decode(np.zeros((0, 3)), alphabet) == ""


def test_alphabet_file_is_used(tmp_path):
    text = "# Coqui-style alphabet\n \n" + "\n".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + "\n\\#\n"
    (tmp_path / "alphabet.txt").write_text(text, encoding="utf-8")
    labels = load_alphabet(tmp_path / "alphabet.txt")
    assert labels[0] == " " and labels[1] == "A" and labels[-1] == "#" and len(labels) == 28

    upper = DeepSpeechModel(tiny_model_path(), alphabet=tmp_path / "alphabet.txt")
    lower = DeepSpeechModel(tiny_model_path())
    clip = synthetic_clip(1.0)
    expected = lower.transcribe(clip).upper().replace("'", "#")
    assert upper.transcribe(clip) == expected


def test_alphabet_of_the_wrong_size_is_refused():
    with pytest.raises(DeepSpeechModelError, match="27 labels but the model outputs 29"):
        DeepSpeechModel(tiny_model_path(), alphabet=DEFAULT_ALPHABET[:-1])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.tflite"):
        DeepSpeechModel(tmp_path / "nope.tflite")


def test_missing_tensor_is_named(tmp_path):
    graph = flatbuffer_utils.read_model_from_bytearray(bytearray(tiny_model_path().read_bytes()))
    for tensor in graph.subgraphs[0].tensors:
        if tensor.name == b"previous_state_h":
            tensor.name = b"state_h"
    broken = tmp_path / "renamed.tflite"
    broken.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(graph)))
    with pytest.raises(DeepSpeechModelError, match="no input tensor named 'previous_state_h'"):
        DeepSpeechModel(broken)


def test_not_a_tflite_file(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer" * 8)
    with pytest.raises(DeepSpeechModelError, match=r"junk.tflite: not a loadable \.tflite"):
        DeepSpeechModel(junk)


def test_stream_misuse(model):
    stream = model.create_stream()
    with pytest.raises(TypeError, match="int16"):
        stream.feed(np.zeros(100, np.float32))
    stream.finish()
    with pytest.raises(RuntimeError, match="finished"):
        stream.feed(np.zeros(100, np.int16))


def test_language_comes_from_the_metadata_unless_it_is_the_exporters_placeholder():
    tag = np.array([b"hy-Armn-AM"], dtype=object)
    placeholder = np.array([b"<language the model was trained on - IETF BCP 47 ...>"], dtype=object)
    assert _meta_language({"metadata_language": tag}) == "hy-Armn-AM"
    assert _meta_language({"metadata_language": placeholder}) is None
    assert _meta_language({}) is None
    assert alphabet_script(DEFAULT_ALPHABET) == "Latin"
    assert alphabet_script((" ", "ա", "բ", "գ", "'")) == "Armenian"
    assert alphabet_script((" ", "'")) is None
