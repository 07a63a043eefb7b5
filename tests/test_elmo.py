"""The ELMo tab end to end: a tiny random biLM in the released file layout, through `/elmo`."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import h5py
import pytest
from PIL import Image

from demos.core import download as download_cli
from demos.core import registry
from demos.core.errors import BadInput
from demos.language.elmo import pipeline as elmo_pipeline
from demos.language.elmo import tab as elmo
from tests.elmo_tiny import write_tiny_elmo

SPEC = registry.get("elmo")
RIVER = "We sat on the bank of the river and watched the boats."
MONEY = "She paid the cheque in at the bank before noon."
# Sentences 1 and 3 are the same, so occurrence #3 is #1's nearest in every LSTM layer whatever
# the random weights; #2 stands in another context.
SENTENCES = f"{RIVER}\n{MONEY}\n{RIVER}"


# helpers


@pytest.fixture(autouse=True)
def empty_gallery_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The gallery's URL-download cache, empty for each test."""
    home = tmp_path / "gallery-home"
    monkeypatch.setenv("GALLERY_HOME", str(home))
    return home


@pytest.fixture
def tiny_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tiny-elmo"
    write_tiny_elmo(folder)
    monkeypatch.setenv(SPEC.env_var, str(folder))
    return folder


def cosines(info: dict, layer: int) -> list[list[float]]:
    return next(v for k, v in info["cosine_by_layer"].items() if k.startswith(f"layer {layer} "))


def call(client, text: str, word: str = "bank", checkpoint: str = ""):
    return client.predict(text, word, checkpoint, api_name="/elmo")


# tokenising and checking the input


def test_tokenize_splits_punctuation_and_clitics():
    assert elmo_pipeline.tokenize("The bank’s rates weren't low; river-side (really).") == [
        *("The", "bank", "'s", "rates", "were", "n't", "low", ";", "river-side"),
        *("(", "really", ")", "."),
    ]


@pytest.mark.parametrize(
    ("text", "word", "message"),
    [
        ("", "bank", "Type some sentences"),
        ("\n  \n", "bank", "Type some sentences"),
        (RIVER, "", "Type the word"),
        (RIVER, "river bank", "single word"),
        (RIVER, "bank", "occurs 1 time"),
        (RIVER, "money", "occurs 0 time"),
        ("bank\n" * 33, "bank", "at most 32"),
        ("the bank " * 60, "bank", "Sentence 1 is 120 tokens long"),
        ("bank " * 40, "bank", "occurs 40 times"),
        ("x" * 30_000, "bank", "characters long"),
    ],
)
def test_bad_input_is_refused_with_a_reason(text, word, message):
    with pytest.raises(BadInput, match=message):
        elmo_pipeline.parse(text, word)


def test_occurrences_match_ignoring_case():
    query = elmo_pipeline.parse("The Bank of England.\n\nA river bank, a bank's loan.", "BANK")
    assert query.sentences[1] == ["A", "river", "bank", ",", "a", "bank", "'s", "loan", "."]
    assert query.occurrences == [(0, 1), (1, 2), (1, 5)]


# the endpoint on a tiny model


def test_endpoint_layer_zero_is_context_free_and_lstm_layers_are_not(gallery_client, tiny_folder):
    heat, table, info = call(gallery_client, SENTENCES)
    assert info["checkpoint"] == str(tiny_folder) and info["occurrences"] == 3
    assert info["dtype"] == "float32" and info["speed_ms"]["inference"] > 0
    chars, lstm = cosines(info, 0), [cosines(info, k) for k in (1, 2)]
    for i in range(3):
        for j in range(3):
            assert chars[i][j] == pytest.approx(1.0, abs=1e-5)  # same spelling, same vector
    for sims in lstm:
        assert sims[0][2] == pytest.approx(1.0, abs=1e-5)  # same sentence, same context
        assert sims[0][1] < 1 - 1e-3 and sims[2][1] < 1 - 1e-3  # river vs money
        assert sims == [list(row) for row in zip(*sims, strict=True)]  # symmetric
    # The table: a row per occurrence, its sentence, and its nearest other occurrence per layer.
    assert table["headers"][:2] == ["#", "sentence"] and len(table["headers"]) == 5
    rows = {row[0]: row for row in table["data"]}
    assert rows["#2"][1] == "She paid the cheque in at the [bank] before noon ."
    assert rows["#1"][2].startswith("all equal · 1.000")
    for cell in rows["#1"][3:]:
        assert cell.startswith("#3 · 1.000 · ") and "[bank] of the river" in cell
    picture = Image.open(heat)
    assert picture.width > 2 * picture.height  # three heat maps side by side


def test_plain_predict_returns_similarity_matrices_as_lists(tiny_folder):
    result = elmo.predict(f"{MONEY}\n{RIVER}", "bank")
    assert [layer["layer"] for layer in result.layers] == [0, 1, 2]
    for layer in result.layers:
        sims = layer["similarity"]
        assert isinstance(sims, list) and all(isinstance(row, list) for row in sims)
        assert [sims[0][0], sims[1][1]] == pytest.approx([1.0, 1.0], abs=1e-5)
        assert layer["nearest"][0]["nearest"] == [2]
    assert result.occurrences[1] == {
        "occurrence": 2,
        "sentence": 2,
        "position": 5,
        "token": "bank",
        "text": "We sat on the [bank] of the river and watched the boats .",
    }
    assert result.info.checkpoint == str(tiny_folder) and result.info.dtype == "float32"


def test_bad_input_through_the_endpoint_is_a_message(gallery_client, tiny_folder):
    with pytest.raises(Exception, match="Type some sentences"):
        call(gallery_client, "   ")
    with pytest.raises(Exception, match="occurs 1 time"):
        call(gallery_client, RIVER)


# broken or missing weights


def broken_by_missing_dataset(folder: Path) -> str:
    path = "RNN_0/RNN/MultiRNNCell/Cell1/LSTMCell/B"
    with h5py.File(folder / "tiny_weights.hdf5", "a") as fout:
        del fout[path]
    return path


def broken_by_options(folder: Path) -> str:
    options = folder / "tiny_options.json"
    data = json.loads(options.read_text(encoding="utf-8"))
    data["char_cnn"]["embedding"]["dim"] = 5  # the weights hold 4-d character vectors
    options.write_text(json.dumps(data), encoding="utf-8")
    return "char_embed"


@pytest.mark.parametrize("breaks", [broken_by_missing_dataset, broken_by_options])
def test_broken_weights_name_the_dataset_and_the_server_keeps_serving(
    gallery_client, tiny_folder, tmp_path, breaks
):
    broken = tmp_path / "broken"
    write_tiny_elmo(broken)
    dataset = breaks(broken)
    with pytest.raises(Exception) as err:
        call(gallery_client, SENTENCES, checkpoint=str(broken))
    message = str(err.value)
    assert dataset in message and str(broken) in message and "Traceback" not in message
    _, _, info = call(gallery_client, SENTENCES)  # the good tiny model still answers
    assert info["checkpoint"] == str(tiny_folder)


def test_a_folder_without_the_pair_says_what_it_needs(gallery_client, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match=r"exactly one \*options.json and one \*weights.hdf5"):
        call(gallery_client, SENTENCES, checkpoint=str(tmp_path / "empty"))


@pytest.mark.parametrize("checkpoint", [c.id for c in SPEC.checkpoints])
def test_missing_weights_offline_name_the_checkpoint_and_the_fix(
    gallery_client, monkeypatch, checkpoint
):
    monkeypatch.delenv(SPEC.env_var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    picked = "" if checkpoint == SPEC.default.id else checkpoint  # "" picks the default
    with pytest.raises(Exception) as err:
        call(gallery_client, SENTENCES, checkpoint=picked)
    message = str(err.value)
    assert checkpoint in message
    assert "python -m demos.core.download elmo" in message and SPEC.env_var in message


# downloading from a URL (a local HTTP server stands in for AllenNLP's)


@pytest.fixture
def served(tmp_path: Path):
    root = tmp_path / "www"
    write_tiny_elmo(root / "tiny")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no access log on the test's stderr
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tiny/tiny_options.json"
    server.shutdown()
    server.server_close()


def test_url_checkpoint_downloads_into_the_gallery_cache_then_runs_offline(
    gallery_client, served, monkeypatch, empty_gallery_home
):
    monkeypatch.setenv(SPEC.env_var, served)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert download_cli.main(["elmo"]) == 0  # `python -m demos.core.download elmo`
    cached = sorted(p.name for p in (empty_gallery_home / "elmo" / "tiny").iterdir())
    # the two files, each with the sha256 of its first download (AllenNLP published none)
    assert cached == sorted(
        f"tiny_{name}{suffix}"
        for name in ("options.json", "weights.hdf5")
        for suffix in ("", ".sha256")
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, _, info = call(gallery_client, SENTENCES)
    assert info["checkpoint"] == served and info["occurrences"] == 3
