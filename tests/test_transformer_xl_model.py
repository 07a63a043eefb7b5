"""The gallery's Transformer-XL against transformers 4.37.2 on tiny random checkpoints.

Reference outputs were recorded once by tools/make_transformer_xl_fixture.py (see its docstring);
the tests need neither that transformers version nor the network.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from demos.language.transformer_xl.inference import generate, segment_losses
from demos.language.transformer_xl.model import TransformerXLWeightsError, load_transformer_xl
from demos.language.transformer_xl.vocab import (
    UnsafePickleError,
    Vocab,
    VocabError,
    detokenize,
    read_vocab_pickle,
)
from tests.transformer_xl_tiny import tiny_transformer_xl_dir, tiny_transformer_xl_untied_dir

TOL = 1e-4  # max abs difference in log-probabilities (nats)
DIRS = {"wt103_like": tiny_transformer_xl_dir(), "untied": tiny_transformer_xl_untied_dir()}


@pytest.fixture(scope="module", params=list(DIRS))
def loaded(request):
    model_dir = DIRS[request.param]
    model, vocab = load_transformer_xl(model_dir)
    return model, vocab, np.load(model_dir / "expected.npz", allow_pickle=False)


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny model directory."""
    dst = tmp_path / "model"
    shutil.copytree(tiny_transformer_xl_dir(), dst, ignore=shutil.ignore_patterns("untied"))
    return dst


def run_segments(model, ids: torch.Tensor, seg_len: int, first_mems, carry: bool) -> list:
    mems, out = first_mems, []
    for s in range(ids.shape[1] // seg_len):
        with torch.no_grad():
            lp, new_mems = model(ids[:, s * seg_len : (s + 1) * seg_len], mems)
        out.append(lp)
        mems = new_mems if carry else first_mems
    return out


# parity with the reference


@pytest.mark.parametrize("mode", ["carried", "reset", "zeros"])
def test_log_probs_match_reference(loaded, mode):
    model, vocab, expected = loaded
    ids, seg_len = torch.from_numpy(expected["ids"]), int(expected["segment_len"])
    first = model.zero_mems(ids.shape[0]) if mode == "zeros" else None
    ours = run_segments(model, ids, seg_len, first, carry=mode != "reset")
    ref = expected[f"lp_{mode}"]
    assert len(ours) == len(ref) == 3
    for lp, want in zip(ours, ref, strict=True):
        assert lp.shape == (2, seg_len, len(vocab))
        assert float((lp - torch.from_numpy(want)).abs().max()) <= TOL
        assert torch.allclose(lp.exp().sum(-1), torch.ones(2, seg_len), atol=1e-5)


def test_memory_changes_the_outputs(loaded):
    """The parity above is not vacuous: carried, reset and zero-filled memory differ a lot."""
    _, _, expected = loaded
    assert np.abs(expected["lp_carried"][1:] - expected["lp_reset"][1:]).max() > 0.1
    assert np.abs(expected["lp_carried"] - expected["lp_zeros"]).max() > 0.1
    np.testing.assert_array_equal(expected["lp_carried"][0], expected["lp_reset"][0])


def test_greedy_continuation_matches_reference(loaded):
    model, _, expected = loaded
    prompt = expected["prompt"].tolist()
    n = len(expected["greedy"])
    assert list(generate(model, prompt, n, temperature=0)) == expected["greedy"].tolist()
    zeros = generate(model, prompt, n, temperature=0, mems=model.zero_mems(1))
    assert list(zeros) == expected["greedy_zeros"].tolist()  # transformers' own generate()


@pytest.mark.parametrize("carry", [True, False])
def test_segment_losses_match_reference(loaded, carry):
    model, _, expected = loaded
    ids, seg_len = torch.from_numpy(expected["ids"]), int(expected["segment_len"])
    lp = torch.from_numpy(np.concatenate(expected["lp_carried" if carry else "lp_reset"], axis=1))
    want = -lp.gather(2, ids[:, 1:, None]).squeeze(2)
    nll = segment_losses(model, ids, seg_len, carry_memory=carry)
    assert nll.shape == want.shape == (2, ids.shape[1] - 1)
    assert float((nll - want).abs().max()) <= TOL
    one_row = segment_losses(model, ids[0].tolist(), seg_len, carry_memory=carry)
    assert one_row.shape == (ids.shape[1] - 1,)
    assert torch.allclose(one_row, nll[0], atol=TOL)


def test_sampling_is_repeatable_and_top_k_1_is_greedy(loaded):
    model, vocab, expected = loaded
    prompt = expected["prompt"].tolist()

    def sample(seed: int, **kw) -> list[int]:
        g = torch.Generator().manual_seed(seed)
        return list(generate(model, prompt, 8, temperature=1.0, generator=g, **kw))

    a, b = sample(0, top_k=5), sample(0, top_k=5)
    assert a == b and len(a) == 8 and all(0 <= t < len(vocab) for t in a)
    assert sample(1, top_k=1) == expected["greedy"][:8].tolist()
    assert list(generate(model, prompt, 0)) == []
    with pytest.raises(ValueError, match="prompt"):
        next(generate(model, [], 3))


# safe loading


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_vocab_pickle_is_refused_and_not_run(model_copy, tmp_path):
    marker = tmp_path / "pwned"
    payload = {"sym2idx": OrderedDict(a=0, b=1), "x": _Evil(marker)}
    (model_copy / "vocab.pkl").write_bytes(pickle.dumps(payload))
    with pytest.raises(UnsafePickleError, match=r"(posix|os)\.system"):
        load_transformer_xl(model_copy)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_builtins_eval_in_vocab_pickle_is_refused(tmp_path, protocol):
    class Eval:
        def __reduce__(self):
            return (eval, ("__import__('os').getcwd()",))

    path = tmp_path / "vocab.pkl"
    path.write_bytes(pickle.dumps([Eval()], protocol=protocol))
    with pytest.raises(UnsafePickleError, match=r"(__builtin__|builtins)\.eval"):
        read_vocab_pickle(path)


def test_reference_vocab_pickle_loads_with_helpers_inert():
    """The fixture's vocab.pkl was pickled by the reference tokenizer itself: it names re,
    sacremoses and transformers globals next to the word lists."""
    raw = (tiny_transformer_xl_dir() / "vocab.pkl").read_bytes()
    assert b"sacremoses" in raw and b"transformers" in raw
    d = read_vocab_pickle(tiny_transformer_xl_dir() / "vocab.pkl")
    assert isinstance(d["sym2idx"], OrderedDict) and d["idx2sym"][:2] == ["<eos>", "<unk>"]
    assert type(d["moses_tokenizer"]).__name__.startswith("Inert[sacremoses")


@pytest.mark.parametrize("zipped", [True, False])
def test_vocab_saved_by_torch_save_is_read(tmp_path, zipped):
    """Older hub vocabularies were written with torch.save (zip, or the pre-1.6 pickle stream)."""
    words = ["<eos>", "<unk>", "the"]
    path = tmp_path / "vocab.pkl"
    torch.save(
        {"sym2idx": OrderedDict((w, i) for i, w in enumerate(words)), "idx2sym": words},
        path,
        _use_new_zipfile_serialization=zipped,
    )
    assert Vocab.from_pickle_dict(read_vocab_pickle(path)).idx2sym == words


def test_vocab_txt_is_preferred(model_copy):
    words = Vocab.from_dir(model_copy).idx2sym
    (model_copy / "vocab.pkl").unlink()
    (model_copy / "vocab.txt").write_text("\n".join(words) + "\n")
    assert Vocab.from_dir(model_copy).idx2sym == words


def test_corrupt_vocab_pickle_is_a_clear_error(tmp_path):
    path = tmp_path / "vocab.pkl"
    path.write_bytes(pickle.dumps({"sym2idx": OrderedDict(a=0)})[:-5])
    with pytest.raises(VocabError, match="not a readable"):
        read_vocab_pickle(path)
    path.write_bytes(pickle.dumps(["<unk>", "the"]))
    with pytest.raises(VocabError, match="expected a dict"):
        read_vocab_pickle(path)


def test_vocab_without_unk_is_rejected():
    with pytest.raises(VocabError, match="<unk>"):
        Vocab(["<eos>", "the"])


@pytest.mark.parametrize("missing", ["config.json", "pytorch_model.bin", "vocab.pkl"])
def test_missing_file_is_named(model_copy, missing):
    (model_copy / missing).unlink()
    with pytest.raises(FileNotFoundError, match=missing.split(".")[0]):
        load_transformer_xl(model_copy)


def test_missing_dir_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_transformer_xl(tmp_path / "nowhere")


def _edit_weights(model_dir: Path, edit) -> None:
    path = model_dir / "pytorch_model.bin"
    sd = torch.load(path, weights_only=True)
    edit(sd)
    torch.save(sd, path)


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda sd: sd.pop("transformer.layers.1.dec_attn.r_net.weight"), "layers.1.dec_attn"),
        (lambda sd: sd.update({"crit.cluster_bias": torch.zeros(5)}), "crit.cluster_bias"),
        (lambda sd: sd.update({"transformer.extra": torch.zeros(1)}), "transformer.extra"),
        (  # a tied copy we do not use is still shape-checked
            lambda sd: sd.update({"crit.out_layers.2.weight": torch.zeros(3, 3)}),
            "crit.out_layers.2.weight",
        ),
    ],
    ids=["missing", "wrong-shape", "unexpected", "tied-copy-shape"],
)
def test_state_dict_mismatch_names_the_key(model_copy, edit, named):
    _edit_weights(model_copy, edit)
    with pytest.raises(TransformerXLWeightsError, match=named.replace(".", r"\.")):
        load_transformer_xl(model_copy)


def test_config_mismatch_is_clear(model_copy):
    cfg = json.loads((model_copy / "config.json").read_text())
    (model_copy / "config.json").write_text(json.dumps({**cfg, "vocab_size": 99}))
    with pytest.raises(TransformerXLWeightsError, match="vocabulary has 84 words"):
        load_transformer_xl(model_copy)
    (model_copy / "config.json").write_text(json.dumps({**cfg, "d_inner": 64}))
    with pytest.raises(TransformerXLWeightsError, match=r"CoreNet\.0\.weight"):
        load_transformer_xl(model_copy)
    (model_copy / "config.json").write_text(json.dumps({**cfg, "attn_type": 1}))
    with pytest.raises(TransformerXLWeightsError, match="attn_type"):
        load_transformer_xl(model_copy)


@pytest.mark.parametrize("fmt", ["legacy-torch", "safetensors"])
def test_other_weight_formats_load(model_copy, fmt):
    """The hub's pytorch_model.bin predates torch's zip format; newer revisions add safetensors."""
    from safetensors.torch import save_file

    ref, _ = load_transformer_xl(model_copy)
    sd = torch.load(model_copy / "pytorch_model.bin", weights_only=True)
    if fmt == "legacy-torch":
        torch.save(sd, model_copy / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    else:  # safetensors stores each tied tensor once: drop the output copies
        keep = {k: v.clone() for k, v in sd.items() if not k.startswith("crit.out_layers.1.w")}
        save_file(keep, model_copy / "model.safetensors")
        (model_copy / "pytorch_model.bin").unlink()
    model, _ = load_transformer_xl(model_copy)
    ids = torch.tensor([[3, 60, 7, 64, 8, 3]])
    assert torch.equal(model(ids)[0], ref(ids)[0])


# tokenisation


def _reference_tokenisation() -> list[dict]:
    return json.loads((tiny_transformer_xl_dir() / "tokenisation.json").read_text())


@pytest.mark.parametrize("use_moses", [True, False], ids=["sacremoses", "fallback"])
def test_tokens_match_reference_tokenizer(use_moses):
    if use_moses:
        pytest.importorskip("sacremoses")
    vocab = Vocab.from_dir(tiny_transformer_xl_dir(), use_moses=use_moses)
    for case in _reference_tokenisation():
        assert vocab.tokenize(case["text"]) == case["tokens"], case["text"]
        assert vocab.encode(case["text"]) == case["ids"], case["text"]


@pytest.mark.parametrize("use_moses", [True, False], ids=["sacremoses", "fallback"])
def test_round_trip_numbers_and_hyphens(use_moses):
    if use_moses:
        pytest.importorskip("sacremoses")
    vocab = Vocab.from_dir(tiny_transformer_xl_dir(), use_moses=use_moses)
    text = "The well-known bridge cost 1,000.5 dollars."
    tokens = vocab.tokenize(text)
    assert tokens[1:4] == ["well", "@-@", "known"]
    assert tokens[6:11] == ["1", "@,@", "000", "@.@", "5"]
    assert detokenize(tokens) == text
    assert vocab.decode(vocab.encode(text)) == text  # every word is in the tiny vocabulary
    for case in _reference_tokenisation():
        assert detokenize(case["tokens"]) == case["text"]


def test_line_ends_become_eos_and_unknown_words_unk():
    vocab = Vocab.from_dir(tiny_transformer_xl_dir())
    tokens = vocab.tokenize("the river\nthe zyzzyva", add_eos=True)
    assert tokens == ["the", "river", "<eos>", "the", "zyzzyva", "<eos>"]
    ids = vocab.convert_tokens_to_ids(tokens)
    assert ids[2] == ids[5] == vocab.eos_id == 0 and ids[4] == vocab.unk_id
    assert vocab.decode(ids) == "the river\nthe <unk>\n"
