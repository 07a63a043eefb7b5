"""Faults: damaged weights, a missing file, running out of memory mid-inference. Each gives a
clear message in its own tab, the other tabs keep working, and the tab recovers once the cause is
fixed, without a restart."""

from __future__ import annotations

import shutil

import pytest
import torch
from gradio_client import handle_file
from PIL import Image

from demos.language.fill_mask import FillMask

SENTENCE = "the capital of france is [MASK]."


@pytest.fixture
def bert_copy(tiny_checkpoints, tiny_env, tmp_path, monkeypatch):
    """A private copy of the tiny BERT that the test may damage, served as GALLERY_BERT_MODEL."""
    copy = tmp_path / "bert"
    shutil.copytree(tiny_checkpoints["bert"], copy)
    monkeypatch.setenv("GALLERY_BERT_MODEL", str(copy))
    return copy


def _bert(client):
    return client.predict(SENTENCE, 3, "", api_name="/bert")


def _others_still_work(client):
    label, info, *_ = client.predict("the capital of france is <mask>.", 3, "", api_name="/roberta")
    assert len(label["confidences"]) == 3 and info["demo"] == "roberta"


def test_damaged_weights(gallery_client, bert_copy):
    weights = bert_copy / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])  # an interrupted download
    with pytest.raises(Exception, match="damaged or incomplete") as err:
        _bert(gallery_client)
    assert str(bert_copy) in str(err.value) and "GALLERY_BERT_MODEL" in str(err.value)
    _others_still_work(gallery_client)
    weights.write_bytes(good)  # the user downloads it again
    label, info, *_ = _bert(gallery_client)
    assert len(label["confidences"]) == 3 and info["loaded_now"]


def test_missing_file(gallery_client, bert_copy):
    config = bert_copy / "config.json"
    saved = config.read_bytes()
    config.unlink()
    with pytest.raises(Exception, match="could not load") as err:
        _bert(gallery_client)
    assert str(bert_copy) in str(err.value)
    _others_still_work(gallery_client)
    config.write_bytes(saved)
    label, *_ = _bert(gallery_client)
    assert len(label["confidences"]) == 3


def test_out_of_memory_during_inference(gallery_client, bert_copy, monkeypatch, tmp_path):
    real_forward = FillMask.forward

    def exhausted(self, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(FillMask, "forward", exhausted)  # the fault: memory runs out mid-call
    with pytest.raises(Exception, match="ran out of memory") as err:
        _bert(gallery_client)
    assert "smaller" in str(err.value) and "Traceback" not in str(err.value)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), (20, 120, 200)).save(photo)
    label, *_ = gallery_client.predict(handle_file(str(photo)), 3, "", api_name="/mobilenet_v2")
    assert len(label["confidences"]) == 3  # a tab of another model is unaffected meanwhile
    monkeypatch.setattr(FillMask, "forward", real_forward)  # memory is free again
    label, *_ = _bert(gallery_client)
    assert len(label["confidences"]) == 3
