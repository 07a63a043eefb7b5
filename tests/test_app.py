"""The gallery as a user meets it: `python app.py`, a browser's HTTP, and gradio_client calls.

The server runs in its own process with every GALLERY_<KEY>_MODEL pointing at a tiny model and
the hub offline with an empty cache, so "missing weights" is real, not simulated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.conftest import ROOT
from tests.serve import app_server, tiny_server_env

ENDPOINTS = ["/bert", "/roberta", "/mobilenet_v2", "/vit"]


@pytest.fixture(scope="module")
def server(tiny_checkpoints, tiny_extra_env, tmp_path_factory):
    env = tiny_server_env(tiny_checkpoints, tiny_extra_env, tmp_path_factory.mktemp("hf-home"))
    log = tmp_path_factory.mktemp("server") / "server.log"
    with app_server(env, log) as running:
        yield running.url, log


@pytest.fixture(scope="module")
def client(server):
    return Client(server[0], verbose=False)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("img") / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return str(path)


def _check_top_k(label: dict, k: int) -> list[str]:
    confidences = label["confidences"]
    scores = [c["confidence"] for c in confidences]
    assert len(confidences) == k
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert label["label"] == confidences[0]["label"]
    return [c["label"] for c in confidences]


def test_home_page_and_api_listing_without_loading_weights(server):
    url, log = server
    with urllib.request.urlopen(url) as page:
        assert page.status == 200
    with urllib.request.urlopen(url + "gradio_api/info") as info:
        listed = info.read().decode()
    from demos.core import registry

    compares = [
        "compare_language",
        "compare_word_vectors",
        "compare_continuation",
        "compare_vision",
        "compare_speech",
    ]
    for key in [*registry.REGISTRY, *compares]:
        assert f'"/{key}"' in listed, key
    assert '"/lambda' not in listed  # page-load plumbing is not an endpoint
    assert "Loading weights" not in log.read_text()


def test_fill_mask_endpoints(client, tiny_checkpoints):
    from transformers import AutoTokenizer

    for endpoint, text in [
        ("/bert", "The capital of France is [MASK]."),
        ("/roberta", "the capital of france is <mask>."),
    ]:
        tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoints[endpoint[1:]])
        vocabulary = {
            tokenizer.decode([i]).strip()
            for i in range(len(tokenizer))
            if i not in tokenizer.all_special_ids
        }
        label, info, *_ = client.predict(text, 5, "", api_name=endpoint)
        assert set(_check_top_k(label, 5)) <= vocabulary
        assert info["device"] == "cpu" and info["speed_ms"]["inference"] > 0
        assert info["checkpoint"] == str(tiny_checkpoints[endpoint[1:]])


def test_image_endpoints(client, photo):
    label, info, *_ = client.predict(handle_file(photo), 3, "", api_name="/mobilenet_v2")
    assert set(_check_top_k(label, 3)) <= {
        "background",
        "tabby cat",
        "golden retriever",
        "school bus",
        "banana",
        "volcano",
    }
    label, heat, info, *_ = client.predict(handle_file(photo), 4, "", api_name="/vit")
    _check_top_k(label, 4)
    assert Image.open(heat).size == (64, 48)
    assert info["load_ms"] >= 0 and "loaded_now" in info


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_weights_give_a_readable_error_and_the_server_keeps_serving(
    client, endpoint, photo
):
    key = endpoint[1:]
    first = "The capital of France is [MASK]." if key in ("bert", "roberta") else handle_file(photo)
    from demos.core import registry

    spec = registry.get(key)
    for checkpoint in (spec.default.id, "/no/such/folder"):
        with pytest.raises(Exception) as err:
            client.predict(first, 3, checkpoint, api_name=endpoint)
        message = str(err.value)
        assert checkpoint in message
        assert f"python -m demos.core.download {key}" in message
        assert spec.env_var in message
        assert "Traceback" not in message
    result = client.predict(first, 3, "", api_name=endpoint)  # the tiny model still answers
    assert result[0]["confidences"]


def test_bad_input_is_a_message_not_a_traceback(client, tmp_path):
    with pytest.raises(Exception, match="no mask"):
        client.predict("No mask here.", 5, "", api_name="/bert")
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(Exception, match=r"(?i)image"):
        client.predict(handle_file(str(corrupt)), 3, "", api_name="/vit")


def test_importing_the_app_touches_no_network_and_loads_nothing():
    probe = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network touched at import')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "import app\n"
        "from demos.core.runtime import CACHE\n"
        "assert CACHE.loaded_keys() == [], CACHE.loaded_keys()\n"
        "print('ok', len(app.demo.fns))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "0"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok")


def test_expected_errors_leave_no_traceback_in_the_server_log(client, server):
    _url, log = server
    with pytest.raises(Exception, match="no mask"):
        client.predict("No mask here.", 5, "", api_name="/bert")
    with pytest.raises(Exception, match="could not load"):
        client.predict("the [MASK].", 5, "/no/such/folder", api_name="/bert")
    assert "Traceback" not in log.read_text()
