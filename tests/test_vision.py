"""MobileNetV2 and ViT classification, ViT's patches and attention rollout, what the models weigh
(tiny models: plumbing; real weights in test_vision_realweights.py)."""

from __future__ import annotations

import importlib
import itertools
import json

import numpy as np
import pytest
import torch
from PIL import Image

from demos.core import registry, runtime
from demos.core.errors import GalleryError, ModelUnavailable
from demos.vision import compare as compare_vision
from demos.vision import footprint, mobilenet_v2, tflite_classifier, views, vit
from demos.vision.classify import Classification, ImageClassifier


def _photo(seed: int = 0, size=(64, 48)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _labels(checkpoint) -> dict[int, str]:
    config = json.loads((checkpoint / "config.json").read_text())
    return {int(k): v for k, v in config["id2label"].items()}


@pytest.mark.parametrize("key", ["mobilenet_v2", "vit"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "I;16"])
def test_top_k_labels_come_from_the_checkpoints_label_map(key, mode, tiny_env):
    module = importlib.import_module(registry.get(key).module)
    result = module.predict(_photo().convert(mode), top_k=5)
    predictions, info = result.predictions, result.info
    assert isinstance(result, Classification)
    labels = _labels(tiny_env[key])
    scores = [p["score"] for p in predictions]
    assert len(predictions) == 5
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert all(labels[p["class_id"]] == p["label"] for p in predictions)
    assert info.checkpoint == str(tiny_env[key]) and info.speed_ms["inference"] > 0


def test_mobilenet_background_class_keeps_its_index(tiny_env):
    """Index 0 is "background" in Google's 1001-class checkpoint: no off-by-one in labels."""
    predictions = mobilenet_v2.predict(_photo(1), top_k=6).predictions
    assert {p["class_id"]: p["label"] for p in predictions}[0] == "background"
    assert sum(p["score"] for p in predictions) == pytest.approx(1.0, abs=1e-5)


def test_rollout_of_uniform_attention_is_uniform_and_of_a_spike_is_that_patch():
    n = 1 + 16  # class token + a 4x4 grid of patches
    uniform = [torch.full((1, 2, n, n), 1.0 / n) for _ in range(3)]
    flat = vit.attention_rollout(uniform)
    assert flat.shape == (16,)
    assert torch.allclose(flat, flat[0].expand(16))
    spike = torch.zeros(1, 2, n, n)
    spike[..., :, 0] = 0.5
    spike[..., 0, 6] = 0.5  # the class token looks at patch 5; every other token at itself
    spike[..., torch.arange(1, n), torch.arange(1, n)] = 0.5
    rolled = vit.attention_rollout([spike])
    assert int(rolled.argmax()) == 5 and rolled.max() == 1.0


def test_vit_overlay_has_the_images_size(tiny_env):
    result = vit.predict(_photo(size=(90, 30)), top_k=3)
    heat = result.overlay
    assert heat.shape == (30, 90, 3) and heat.dtype == np.uint8
    assert len(result.predictions) == 3
    config = json.loads((tiny_env["vit"] / "config.json").read_text())
    assert len(result.rollout) == (config["image_size"] // config["patch_size"]) ** 2
    assert set(result.answer()) == {
        "predictions",
        "rollout",
        "layer_rollouts",
        "image_size",
        "patch_size",
        "layer",
        "file_bytes",
    }, "the overlay and the patch picture stay in the UI"


def test_the_vit_overlay_is_drawn_after_postprocess_from_the_rollout(tiny_env):
    """The pipeline returns plain weights; the heat map is the rollout laid over the image."""
    photo = _photo(3, size=(64, 64))
    result = vit.predict(photo, top_k=2)
    assert np.array_equal(result.overlay, vit.overlay(photo, result.rollout))
    assert max(result.rollout) == pytest.approx(1.0)


# helpers


def _cells(picture: np.ndarray) -> tuple[int, int]:
    """(rows, columns) of cells in a patch picture: runs of pixels between all-white lines."""

    def runs(line_is_gap: np.ndarray) -> int:
        cells = ~line_is_gap
        return int(cells[0]) + int(np.count_nonzero(cells[1:] & ~cells[:-1]))

    white = (picture == 255).all(-1)
    return runs(white.all(1)), runs(white.all(0))


def _tiny_vit(out, *, image_size: int, patch_size: int, layers: int = 2):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels = ["tabby cat", "golden retriever", "school bus"]
    config = ViTConfig(
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=37,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    ViTForImageClassification(config).save_pretrained(out)
    ViTImageProcessor(size={"height": image_size, "width": image_size}).save_pretrained(out)
    return out


# ViT: the image as a sentence of patches


def test_the_patch_grid_follows_the_models_config(tiny_env):
    """The tiny model: 32 px in 8 px patches, a 4 x 4 grid; the picture has those 16 cells."""
    config = json.loads((tiny_env["vit"] / "config.json").read_text())
    side = config["image_size"] // config["patch_size"]
    result = vit.predict(_photo(4, size=(50, 70)), top_k=2)
    assert (result.image_size, result.patch_size) == (config["image_size"], config["patch_size"])
    assert result.grid == side and len(result.rollout) == side**2
    assert _cells(result.patches) == (side, side)


def test_the_base_configs_sentence_has_196_patches(tmp_path, monkeypatch):
    """ViT-B/16's numbers (224 px, 16 px patches, from transformers' ViTConfig defaults, which
    are the base model's) in a narrow model: (224 / 16)² = 196 words."""
    from transformers import ViTConfig

    base = ViTConfig()
    assert (base.image_size, base.patch_size) == (224, 16)
    checkpoint = _tiny_vit(
        tmp_path / "vit-b16-shape", image_size=base.image_size, patch_size=base.patch_size
    )
    monkeypatch.setenv(vit.SPEC.env_var, str(checkpoint))
    result = vit.predict(_photo(5, size=(300, 200)), top_k=1)
    assert result.grid == 14 and len(result.rollout) == 196 == (224 // 16) ** 2
    assert _cells(result.patches) == (14, 14)
    assert "14 × 14 = 196" in vit.patches_caption(result)


def test_the_layer_slider_changes_the_rollout(tiny_env):
    photo = _photo(6, size=(64, 64))
    last = vit.predict(photo, top_k=1)  # layer 0: the last
    n = len(last.layer_rollouts)
    assert n == 2 and last.layer == n and last.rollout == last.layer_rollouts[-1]
    first = vit.predict(photo, top_k=1, layer=1)
    assert first.layer == 1
    assert not np.allclose(first.layer_rollouts[0], first.layer_rollouts[-1])
    assert not np.array_equal(first.patches, last.patches), "layer 1 is not the last layer"
    assert np.array_equal(vit.predict(photo, top_k=1, layer=99).patches, last.patches)

    # The slider redraws from the kept rollouts, without running the model again.
    outputs = vit.on_image(photo, 1, "", 1)
    kept = outputs[-1]
    picture, caption = vit.on_layer(1, kept)
    assert np.array_equal(picture, first.patches) and "layer 1 of 2" in caption
    picture, caption = vit.on_layer(2, kept)
    assert np.array_equal(picture, last.patches) and "layer 2 of 2" in caption


# what the models weigh


@pytest.mark.parametrize("key", ["mobilenet_v2", "vit"])
def test_parameters_and_file_size_are_the_loaded_models(key, tiny_env):
    module = importlib.import_module(registry.get(key).module)
    result = module.predict(_photo(7), top_k=2)
    spec = registry.get(key)
    loader = vit.ViTClassifier.load if key == "vit" else ImageClassifier.load
    pipe, _ = runtime.load_model(spec, spec.checkpoint(), loader)
    assert result.info.params == sum(p.numel() for p in pipe.model.parameters())
    weights = tiny_env[key] / "model.safetensors"
    assert result.file_bytes == weights.stat().st_size
    assert result.info_dict()["file_bytes"] == weights.stat().st_size


def test_weight_files_of_a_sharded_checkpoint(tmp_path):
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(b"x" * 10)
    (tmp_path / "model-00002-of-00002.safetensors").write_bytes(b"y" * 5)
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors"}}
    index["weight_map"]["b"] = "model-00002-of-00002.safetensors"
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    files = footprint.weight_files(str(tmp_path))
    assert len(files) == 2 and footprint.size_on_disk(files) == 15
    assert footprint.weight_files(str(tmp_path / "nothing")) == []


def _separable_recount(model: torch.nn.Module) -> tuple[int, int]:
    """Independently of the modules: from the state dict's convolution weights, in order. A
    depthwise weight is (c, 1, k, k); the 1x1 weight after it is (c_out, c, 1, 1)."""
    shapes = [
        tuple(w.shape)
        for name, w in model.state_dict().items()
        if name.endswith("weight") and w.dim() == 4
    ]
    separable = full = 0
    for here, after in itertools.pairwise(shapes):
        c, one, k, _ = here
        if one == 1 and c > 1 and k > 1:
            c_out = after[0]
            assert after[1:] == (c, 1, 1)
            separable += k * k * c + c * c_out
            full += k * k * c * c_out
    return separable, full


def test_depthwise_against_ordinary_convolutions_matches_a_recount(tiny_env):
    result = mobilenet_v2.predict(_photo(8), top_k=1)
    pipe, _ = runtime.load_model(
        mobilenet_v2.SPEC, mobilenet_v2.SPEC.checkpoint(), ImageClassifier.load
    )
    totals = footprint.separable_totals(result.separable)
    assert len(result.separable) == 17  # the stem's and 16 inverted residual blocks
    assert (totals["separable"], totals["full"]) == _separable_recount(pipe.model)
    assert totals["ratio"] > 5, "3x3 depthwise + 1x1 pointwise: several times fewer weights"


def test_the_full_size_mobilenet_saves_eight_times_the_weights():
    """MobileNetV2 1.0 (random weights, the real shapes): 1.03M against 8.67M."""
    from transformers import MobileNetV2Config, MobileNetV2ForImageClassification

    model = MobileNetV2ForImageClassification(MobileNetV2Config(num_labels=1001))
    totals = footprint.separable_totals(footprint.separable_blocks(model))
    assert (totals["separable"], totals["full"]) == _separable_recount(model)
    assert (totals["separable"], totals["full"]) == (1_027_424, 8_668_800)


def test_the_mobilenet_tab_shows_the_table_and_the_chart(tiny_env):
    label, info, table, chart, measured = mobilenet_v2.on_image(_photo(9), 3, "")
    assert len(label) == 3 and info["engine"] == "pytorch" and info["file_bytes"] > 0
    assert list(table.columns) == mobilenet_v2.TABLE_HEADERS and len(table) == 1
    row = table.iloc[0]
    assert row["Engine"] == "PyTorch" and row["Precision"] == "float32"
    assert row["Parameters"] == views.human(info["params"])
    assert chart.ndim == 3 and chart.shape[2] == 3 and chart.dtype == np.uint8
    assert set(measured) == {"PyTorch"}, "the session keeps one row per engine"


def test_the_pytorch_engine_by_name_and_an_unknown_one(tiny_env):
    assert mobilenet_v2.predict(_photo(), top_k=1, engine="pytorch").info.engine == "pytorch"
    with pytest.raises(GalleryError, match="no engine 'onnx'"):
        mobilenet_v2.predict(_photo(), top_k=1, engine="onnx")


def test_the_litert_engine_offline_says_where_the_file_comes_from(tiny_env, tmp_path, monkeypatch):
    monkeypatch.delenv(tflite_classifier.ENV_VAR, raising=False)
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as err:
        mobilenet_v2.predict(_photo(), top_k=1, engine="litert")
    message = str(err.value)
    assert tflite_classifier.ENV_VAR in message and "python -m demos.core.download" in message
    assert tflite_classifier.RELEASE_URL in message
    monkeypatch.setenv(tflite_classifier.ENV_VAR, str(tmp_path / "missing.tflite"))
    with pytest.raises(ModelUnavailable, match="is not a file"):
        mobilenet_v2.predict(_photo(), top_k=1, engine="litert")


def test_the_tflite_file_is_unpacked_from_googles_archive_once(tmp_path, monkeypatch):
    """The archive is fetched (checked against its sha256 by `weights.fetch`), only the .tflite
    member is written, and later calls read the cached file without fetching again."""
    import io
    import tarfile

    archive = tmp_path / "release.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in ((tflite_classifier.FILE_NAME, b"tflite!"), ("notes.txt", b"x")):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    fetched = []

    def fake_fetch(url, dest, *, sha256_hex=None, size=None):
        fetched.append((url, sha256_hex))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(archive.read_bytes())
        return dest

    monkeypatch.delenv(tflite_classifier.ENV_VAR, raising=False)
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tflite_classifier.weights, "fetch", fake_fetch)
    path = tflite_classifier.tflite_path()
    assert path.read_bytes() == b"tflite!" and path.parent.name == "mobilenet_v2"
    assert fetched == [(tflite_classifier.RELEASE_URL, tflite_classifier.RELEASE_SHA256)]
    assert not (path.parent / "notes.txt").exists()
    assert tflite_classifier.tflite_path() == path and len(fetched) == 1


# compare: size and speed of the models that just ran


def test_compare_charts_the_models_that_just_ran(tiny_env):
    *_, outcomes = compare_vision.compare_image(_photo(10))
    rows = {r["model"]: r for r in compare_vision.footprints(outcomes)}
    for outcome in outcomes:
        assert outcome.ok, outcome.error
        row = rows[outcome.title]
        assert row["params"] == outcome.result.info.params
        assert row["inference_ms"] == outcome.result.info.speed_ms["inference"]
    for key in compare_vision.CLASSIFIERS:
        spec = registry.get(key)
        loader = vit.ViTClassifier.load if key == "vit" else ImageClassifier.load
        pipe, _ = runtime.load_model(spec, spec.checkpoint(), loader)
        row = rows[spec.title]
        assert row["params"] == sum(p.numel() for p in pipe.model.parameters())
        assert row["file_bytes"] == (tiny_env[key] / "model.safetensors").stat().st_size
    chart = compare_vision.footprint_chart(outcomes)
    assert chart.ndim == 3 and chart.dtype == np.uint8
    entries = compare_vision.api(outcomes)
    assert all(e["info"]["file_bytes"] == rows[e["title"]]["file_bytes"] for e in entries)


# drawing budgets
