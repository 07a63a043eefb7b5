"""The Transformer-XL tab end to end: the tiny wt103-shaped checkpoint through both endpoints.

The checkpoint (tests/transformer_xl_tiny.py: config.json, pytorch_model.bin, vocab.pkl in the hub's
layout, 84 words, memory of 8 steps) is loaded through GALLERY_TRANSFORMER_XL_MODEL, the path real
weights take. What the tab returns is compared with the bare model (`generate`, `segment_losses`)
loaded from the same folder.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import pickle
import shutil
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from demos.core import download as download_cli
from demos.core import registry
from demos.core.errors import BadInput
from demos.language.transformer_xl import tab as transformer_xl
from demos.language.transformer_xl.inference import generate, segment_losses
from demos.language.transformer_xl.model import load_transformer_xl
from demos.language.transformer_xl.pipelines import FILES
from demos.language.transformer_xl.vocab import detokenize
from tests.transformer_xl_tiny import tiny_transformer_xl_dir

SPEC = registry.get("transformer_xl")
PROMPT = "The city was built in the"
# Mostly words of the tiny vocabulary; 94 tokens: three segments of 32.
PASSAGE = "\n".join(
    [
        "The river was known as the city river , and the first bridge was built in 1,000 .",
        "It was one of the first , and it is known for its season of war .",
        "The song was built for the game , and the film was known as a war film .",
        "The school was built by the city in two years , and it has been known since .",
        "The river and the bridge were built during the war ; the city had been there .",
    ]
)


# helpers


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SPEC.env_var, str(tiny_transformer_xl_dir()))
    return tiny_transformer_xl_dir()


@pytest.fixture(scope="module")
def bare():
    """The same checkpoint loaded directly, outside the gallery."""
    return load_transformer_xl(tiny_transformer_xl_dir())


def continue_via(client, prompt=PROMPT, n=12, temperature=0.0, top_k=0, seed=0, checkpoint=""):
    args = (prompt, n, temperature, top_k, seed, checkpoint)
    return client.predict(*args, api_name="/transformer_xl")


def memory_via(client, passage=PASSAGE, segment_len=32, checkpoint=""):
    return client.predict(passage, segment_len, checkpoint, api_name="/transformer_xl_memory")


def bare_continuation(bare, prompt: str, n: int, **kw) -> str:
    model, vocab = bare
    new = list(generate(model, vocab.encode(prompt), n, **kw))
    return detokenize(vocab.convert_ids_to_tokens(new))


# continuation


def test_greedy_continuation_is_the_bare_models(gallery_client, tiny, bare):
    text, note, info = continue_via(gallery_client)
    assert text == bare_continuation(bare, PROMPT, 12, temperature=0)
    assert text.strip() and info["new_tokens"] == 12 and info["prompt_tokens"] == 6
    assert info["checkpoint"] == str(tiny) and info["dtype"] == "float32"
    assert info["speed_ms"]["inference"] > 0 and info["unknown_words"] == 0
    assert info["speed_ms"]["first_token"] > 0  # the stream timed its first step
    assert "6 WikiText-103 tokens" in note and "every word is in its vocabulary" in note
    again, _, _ = continue_via(gallery_client)  # no memory kept from the request before
    assert again == text
    assert transformer_xl.predict(PROMPT, 12, 0.0).text == text  # the plain call agrees


def test_sampling_with_a_seed_is_repeatable(gallery_client, tiny, bare):
    first = continue_via(gallery_client, n=16, temperature=1.0, top_k=20, seed=7)[0]
    second = continue_via(gallery_client, n=16, temperature=1.0, top_k=20, seed=7)[0]
    other = continue_via(gallery_client, n=16, temperature=1.0, top_k=20, seed=8)[0]
    assert first == second != other
    g = torch.Generator().manual_seed(7)
    assert first == bare_continuation(bare, PROMPT, 16, temperature=1.0, top_k=20, generator=g)


def test_the_stream_grows_token_by_token(gallery_client, tiny, bare):
    job = gallery_client.submit(PROMPT, 8, 0.0, 0, 0, "", api_name="/transformer_xl")
    final = job.result()
    texts = [out[0] for out in job.outputs()]
    assert len(set(texts)) >= 4  # not one final answer: pieces arrived as they were made
    for shorter, longer in itertools.pairwise(texts):
        assert longer.startswith(shorter)
    assert final[0] == texts[-1] == bare_continuation(bare, PROMPT, 8, temperature=0)
    assert final[2]["new_tokens"] == 8  # the run info comes with the last piece


def test_unknown_words_become_unk_and_are_counted(gallery_client, tiny):
    _, note, info = continue_via(gallery_client, "the zyzzyva and the quokka were", n=3)
    assert info["unknown_words"] == 2
    assert "2 word(s)" in note and "`zyzzyva`" in note and "`quokka`" in note


# memory carried versus reset


def test_memory_carried_and_reset_differ_and_match_the_bare_model(gallery_client, tiny, bare):
    verdict, plot, result, info = memory_via(gallery_client)
    model, vocab = bare
    ids = vocab.encode(PASSAGE)
    assert result["tokens"] == vocab.tokenize(PASSAGE) and len(ids) > 2 * 32 + 1
    carried, reset = result["loss_nats"]["memory_carried"], result["loss_nats"]["memory_reset"]
    for name, losses in result["loss_nats"].items():
        want = segment_losses(model, ids, 32, carry_memory=name == "memory_carried").tolist()
        assert losses == pytest.approx(want, abs=1e-3)
    assert carried[:32] == reset[:32]  # the first segment is read the same way both times
    assert carried[32:] != reset[32:]
    ppl = result["perplexity"]
    assert all(math.isfinite(p) and p > 1 for p in ppl.values())
    assert ppl["memory_carried"] != pytest.approx(ppl["memory_reset"], rel=1e-6)
    assert ppl["memory_carried"] == pytest.approx(math.exp(sum(carried) / len(carried)), 1e-4)
    assert result["segments"] == math.ceil((len(ids) - 1) / 32) and result["memory_len"] == 8
    assert [len(v) for v in result["mean_loss_by_position"].values()] == [32, 32]
    assert f"{ppl['memory_carried']:,.1f}" in verdict and f"{ppl['memory_reset']:,.1f}" in verdict
    assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/png;base64,")
    assert info["checkpoint"] == str(tiny) and info["speed_ms"]["render"] > 0


def test_the_example_passage_runs_through_the_tab(gallery_client, tiny):
    verdict, _, result, _ = memory_via(gallery_client, transformer_xl._passages()[0], 256)
    assert result["segments"] >= 4 and result["unknown_words"] > 0  # 84 words know little
    assert "`<unk>`" in verdict


# bad input


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("   ", "prompt is empty"),
        ("the " * 1_001, "1,001 tokens long; this demo reads at most 1,000"),
        ("x" * 60_000, "60,000 characters long"),
    ],
)
def test_bad_prompts_are_refused_with_a_reason(gallery_client, tiny, prompt, message):
    with pytest.raises(Exception, match=message):
        continue_via(gallery_client, prompt)


@pytest.mark.parametrize(
    ("n", "temperature", "seed", "message"),
    [
        (0, 0.0, 0, "Max new tokens must be between 1 and 512"),
        (5, -1.0, 0, "Temperature must be between 0 and 2"),
        (5, 1.0, None, "Seed is missing"),
    ],
)
def test_settings_out_of_range_are_refused(n, temperature, seed, message):
    # Through the endpoint Gradio's sliders refuse these first; the plain call checks them too.
    with pytest.raises(BadInput, match=message):
        transformer_xl.predict(PROMPT, n, temperature, seed=seed)


@pytest.mark.parametrize(
    ("passage", "segment_len", "message"),
    [
        ("", 32, "passage is empty"),
        ("the river . " * 1_400, 32, "4,200 tokens long; this demo reads at most 4,000"),
        ("the river was built .", 32, "fits in one segment of 32"),
        (PASSAGE, 8, "Segment length must be between 32 and 256"),
    ],
)
def test_bad_passages_are_refused_with_a_reason(passage, segment_len, message, tiny):
    with pytest.raises(BadInput, match=message):
        transformer_xl.predict_memory(passage, segment_len)


def test_bad_passage_through_the_endpoint_is_a_message(gallery_client, tiny):
    with pytest.raises(Exception, match="fits in one segment"):
        memory_via(gallery_client, "the river was built .", 64)


# safe loading and missing weights


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_vocab_pickle_that_imports_code_is_refused(gallery_client, tiny, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_transformer_xl_dir(), copy, ignore=shutil.ignore_patterns("untied"))
    marker = tmp_path / "pwned"
    words = OrderedDict((w, i) for i, w in enumerate(["<eos>", "<unk>", "the"]))
    (copy / "vocab.pkl").write_bytes(pickle.dumps({"sym2idx": words, "x": _Evil(marker)}))
    with pytest.raises(Exception) as err:
        continue_via(gallery_client, checkpoint=str(copy))
    message = str(err.value)
    assert "refused to load" in message and str(copy) in message
    assert "system" in message and "Nothing in the file was run" in message
    assert not marker.exists()
    assert continue_via(gallery_client)[0]  # the good tiny model still answers


def test_missing_weights_offline_name_the_checkpoint_and_the_fix(gallery_client, monkeypatch):
    monkeypatch.delenv(SPEC.env_var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for call in (continue_via, memory_via):
        with pytest.raises(Exception) as err:
            call(gallery_client)
        message = str(err.value)
        assert "transfo-xl/transfo-xl-wt103" in message
        assert "python -m demos.core.download transformer_xl" in message and SPEC.env_var in message
    with pytest.raises(Exception, match="/no/such/folder") as err:
        continue_via(gallery_client, checkpoint="/no/such/folder")
    assert "python -m demos.core.download transformer_xl" in str(err.value)


# downloading


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, str, str]]:
    """`hf_hub_download` serving the tiny checkpoint's files; records (repo, file, revision)."""
    import huggingface_hub

    calls: list[tuple[str, str, str]] = []
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()

    def fake(repo_id: str, filename: str, *, revision: str | None = None, **kw) -> str:
        calls.append((repo_id, filename, revision))
        shutil.copy(tiny_transformer_xl_dir() / filename, snapshot / filename)
        return str(snapshot / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    return calls


def test_download_fetches_exactly_three_files_at_the_pinned_revision(fake_hub):
    assert download_cli.main(["transformer_xl"]) == 0
    default = SPEC.default
    assert fake_hub == [(default.id, name, default.revision) for name in FILES]
    assert default.revision and len(default.revision) == 40
    # The hub path of the loader reads what was fetched.
    loaded = transformer_xl.TransformerXL.load(default, torch.device("cpu"), torch.float32)
    assert loaded.n_params > 0 and len(loaded.continuation.vocab) == 84


def test_a_hub_repo_of_another_model_stops_before_the_weights(fake_hub, tmp_path, monkeypatch):
    import huggingface_hub

    fetch = huggingface_hub.hf_hub_download

    def other_model(repo_id: str, filename: str, **kw) -> str:
        path = Path(fetch(repo_id, filename, **kw))
        path.write_text(json.dumps({"model_type": "gpt2"}))
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", other_model)
    with pytest.raises(ValueError, match="'gpt2' model, not Transformer-XL"):
        transformer_xl.download(registry.Checkpoint(id="openai/gpt2", label="gpt2"))
    assert [name for _, name, _ in fake_hub] == ["config.json"]
