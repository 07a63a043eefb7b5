"""The gallery's ELMo biLM against AllenNLP's reference fixture, and on a tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from demos.language.elmo.bilm import ElmoBiLM, ElmoWeightsError, ScalarMix, load_elmo
from demos.language.elmo.chars import batch_to_char_ids, word_to_char_ids
from tests.elmo_tiny import write_tiny_elmo

ATOL = 1e-5  # the fixture's references reproduce to about 1e-6


# helpers


@pytest.fixture(scope="module")
def elmo_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "elmo"


@pytest.fixture(scope="module")
def fixture_model(elmo_dir: Path) -> ElmoBiLM:
    return load_elmo(elmo_dir / "options.json", elmo_dir / "lm_weights.hdf5")


@pytest.fixture(scope="module")
def streams(elmo_dir: Path) -> list[list[list[str]]]:
    """3 streams of 10 tokenised sentences."""
    raw = json.loads((elmo_dir / "sentences.json").read_text(encoding="utf-8"))
    return [[sentence.split() for sentence in stream] for stream in raw]


def top_layer_reference(elmo_dir: Path, stream: int, sentence: int) -> np.ndarray:
    """[n_tokens, 2P]: forward outputs then backward outputs of the top biLSTM layer."""
    with h5py.File(elmo_dir / f"lm_embeddings_{stream}.hdf5", "r") as fin:
        fwd_bwd = fin[str(sentence)][...]
    return np.concatenate([fwd_bwd[0], fwd_bwd[1]], axis=-1)


def max_diff(a: torch.Tensor, b: np.ndarray) -> float:
    assert tuple(a.shape) == b.shape
    return float(np.abs(a.numpy() - b).max())


# the reference fixture


def test_stateful_run_reproduces_all_top_layer_references(fixture_model, streams, elmo_dir):
    diffs = []
    for k, stream in enumerate(streams):
        state = None  # each stream starts from zero and carries its state sentence to sentence
        for i, sentence in enumerate(stream):
            out = fixture_model.embed_sentences([sentence], state)
            state = out.state
            diffs.append(max_diff(out.layers[-1, 0], top_layer_reference(elmo_dir, k, i)))
    assert len(diffs) == 30
    assert max(diffs) <= ATOL, f"max abs diff {max(diffs):.2e}"


def test_stateful_batch_of_three_streams_reproduces_references(fixture_model, streams, elmo_dir):
    # Row k carries stream k: sentences of different lengths share a padded batch and a state.
    state = None
    for i in range(10):
        batch = [stream[i] for stream in streams]
        out = fixture_model.embed_sentences(batch, state)
        state = out.state
        for k, sentence in enumerate(batch):
            n = len(sentence)
            assert out.mask[k].sum() == n
            assert max_diff(out.layers[-1, k, :n], top_layer_reference(elmo_dir, k, i)) <= ATOL


def test_zero_state_matches_only_the_first_sentence(fixture_model, streams, elmo_dir):
    for k, stream in enumerate(streams):
        first = fixture_model.embed_sentences([stream[0]])
        assert max_diff(first.layers[-1, 0], top_layer_reference(elmo_dir, k, 0)) <= ATOL
        later = fixture_model.embed_sentences([stream[3]])
        assert max_diff(later.layers[-1, 0], top_layer_reference(elmo_dir, k, 3)) > 0.1


def test_context_free_token_embeddings(fixture_model, elmo_dir):
    # The reference ran each line of vocab_test.txt (458, the last without a newline) as a lone
    # token; its <S> and </S> lines use the sentence-marker spelling.
    text = (elmo_dir / "vocab_test.txt").read_text(encoding="utf-8")
    words = [line.strip() for line in text.split("\n")]
    with h5py.File(elmo_dir / "elmo_token_embeddings.hdf5", "r") as fin:
        expected = fin["embedding"][...]
    assert len(words) == expected.shape[0] == 458
    assert max_diff(fixture_model.token_embeddings(words), expected) <= ATOL


def test_batched_padded_equals_one_at_a_time(fixture_model, streams):
    sentences = [streams[0][3], streams[0][1], streams[2][9], streams[1][9]]  # 3, 51, 9, 5 tokens
    batched = fixture_model.embed_sentences(sentences)
    n_layers = fixture_model.opts.n_layers + 1
    assert batched.layers.shape == (n_layers, 4, 51, 2 * fixture_model.opts.projection_dim)
    for b, sentence in enumerate(sentences):
        n = len(sentence)
        single = fixture_model.embed_sentences([sentence])
        assert batched.mask[b].tolist() == [True] * n + [False] * (51 - n)
        assert torch.allclose(batched.layers[:, b, :n], single.layers[:, 0], atol=1e-6, rtol=0)
        assert not batched.layers[:, b, n:].any()  # padding stays zero
        for (fwd_b, bwd_b), (fwd_s, bwd_s) in zip(batched.state, single.state, strict=True):
            for got, want in (*zip(fwd_b, fwd_s, strict=True), *zip(bwd_b, bwd_s, strict=True)):
                assert torch.allclose(got[b], want[0], atol=1e-6, rtol=0)


# character ids


def test_char_ids_layout():
    char_ids, mask = batch_to_char_ids([["a", "é"], []])
    assert char_ids.shape == (2, 4, 50) and char_ids.dtype == torch.long
    assert mask.tolist() == [[True] * 4, [True, True, False, False]]
    assert char_ids[0, 0, :4].tolist() == [259, 257, 260, 261]  # <S>: bow, bos, eow, pad
    assert char_ids[0, 3, :4].tolist() == [259, 258, 260, 261]  # </S>
    assert char_ids[0, 1, :4].tolist() == [259, ord("a") + 1, 260, 261]
    assert char_ids[0, 2, :5].tolist() == [259, 0xC3 + 1, 0xA9 + 1, 260, 261]  # UTF-8 bytes
    assert char_ids[1, 1].tolist() == char_ids[0, 3].tolist()  # empty sentence: <S> </S>
    assert not char_ids[1, 2:].any()
    long_word = word_to_char_ids("x" * 60)
    assert len(long_word) == 50 and long_word[-1] == 260  # 48 bytes kept, then eow


# a tiny random model in the released layout


@pytest.fixture
def tiny_files(tmp_path: Path) -> tuple[Path, Path]:
    return write_tiny_elmo(tmp_path)


def test_tiny_model_loads_and_runs(tiny_files):
    model = load_elmo(*tiny_files)
    sentences = [["the", "cat", "sat"], ["a", "dog", "saw", "the", "cat", "today"]]
    out = model.embed_sentences(sentences)
    assert out.layers.shape == (3, 2, 6, 16)
    assert torch.isfinite(out.layers).all()
    assert model.token_embeddings(["cat"]).shape == (1, 8)

    cat_first, cat_second = out.layers[:, 0, 1], out.layers[:, 1, 4]
    assert torch.equal(cat_first[0], cat_second[0])  # character layer: context-free
    assert torch.allclose(cat_first[0][:8], model.token_embeddings(["cat"])[0])
    for k in (1, 2):  # LSTM layers see the context
        assert (cat_first[k] - cat_second[k]).abs().max() > 1e-3

    mix = ScalarMix(n_layers=3)
    assert torch.allclose(mix(out.layers), out.layers.mean(dim=0), atol=1e-6)
    top_only = ScalarMix(n_layers=3, weights=[-1e4, -1e4, 0.0], gamma=2.0)
    assert torch.allclose(top_only(out.layers), 2.0 * out.layers[2], atol=1e-6)


def test_missing_dataset_is_named(tiny_files):
    options, weights = tiny_files
    path = "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"
    with h5py.File(weights, "a") as fout:
        del fout[path]
    with pytest.raises(ElmoWeightsError, match=path):
        load_elmo(options, weights)


def test_options_that_do_not_match_the_weights(tiny_files):
    options, weights = tiny_files
    data = json.loads(options.read_text(encoding="utf-8"))
    data["lstm"]["projection_dim"] = 6  # the file holds 8
    options.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ElmoWeightsError) as err:
        load_elmo(options, weights)
    message = str(err.value)
    assert "CNN_proj/W_proj" in message
    assert "(20, 6)" in message and "(20, 8)" in message
    assert isinstance(err.value, ValueError)
