"""Real trained weights through the vision tabs' own `predict`: right answers, not just plumbing.

Weights come from ../shared/realweights (fetch.py, run once per session by the `realweight`
fixture, which skips with the reason when they cannot be made): MobileNetV2 (Google's
quantisation-aware-trained weights, dequantised into a Hugging Face folder, and the uint8 TFLite
file they came from, run by LiteRT as the tab's second engine) and Ultralytics' YOLOv8n, YOLO11n
and YOLO26n int8 TFLite exports, run by LiteRT through the same `YOLO(path, task=...)` call as a
`.pt`; the YOLO26n export is also rebuilt as a `.pt` checkpoint (`tests.yolo_tiny.from_tflite`),
so that the tab's two engines, PyTorch and ONNX Runtime, run trained weights. Each tab reads its
checkpoint from GALLERY_<KEY>_MODEL (the MobileNetV2 TFLite file from
GALLERY_MOBILENET_V2_TFLITE).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from gradio_client import handle_file
from PIL import Image

from demos.core import registry
from demos.core.errors import GalleryError, ModelUnavailable
from demos.media import images
from demos.vision import mobilenet_v2, tflite_classifier
from demos.vision.yolo import draw as yolo_draw
from demos.vision.yolo import pipeline as yolo_model
from demos.vision.yolo import tab as yolo

YOLO_SPEC = registry.get("yolo")
YOLO_TFLITE = ["yolov8n-tflite", "yolo11n-tflite", "yolo26n-tflite"]
LETTERBOX_GREY = 114 / 255  # what ultralytics pads the letterboxed input with


# fixtures


@pytest.fixture(scope="module", autouse=True)
def gallery_home(tmp_path_factory):
    """The gallery's own folder (ultralytics' settings), empty and private to these tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALLERY_HOME", str(tmp_path_factory.mktemp("gallery-home")))
        yield


@pytest.fixture
def mobilenet_both(realweight, monkeypatch) -> Path:
    """The MobileNetV2 tab on the real float checkpoint and the real int8 TFLite file."""
    monkeypatch.setenv(mobilenet_v2.SPEC.env_var, str(realweight("mobilenet-v2")))
    tflite = realweight("mobilenet-v2-tflite")
    monkeypatch.setenv(tflite_classifier.ENV_VAR, str(tflite))
    return tflite


@pytest.fixture(params=YOLO_TFLITE)
def tflite(request, realweight, monkeypatch) -> Path:
    """The YOLO tab pointed at one of the real TFLite exports."""
    path = realweight(request.param)
    monkeypatch.setenv(YOLO_SPEC.env_var, str(path))
    return path


@pytest.fixture(scope="module")
def yolo26n_checkpoint(realweight, tmp_path_factory) -> Path:
    """The trained YOLO26n as a PyTorch `.pt`, rebuilt from its TFLite export (about 10 s)."""
    from tests import yolo_tiny

    folder = tmp_path_factory.mktemp("yolo26n")
    return yolo_tiny.from_tflite(realweight("yolo26n-tflite"), folder / "yolo26n.pt")


@pytest.fixture
def yolo26n_pt(yolo26n_checkpoint, monkeypatch) -> Path:
    """The YOLO tab pointed at that checkpoint."""
    monkeypatch.setenv(YOLO_SPEC.env_var, str(yolo26n_checkpoint))
    return yolo26n_checkpoint


# helpers


def _drawn_regions(shape: tuple[int, ...], detections: list[dict]) -> np.ndarray:
    """Where boxes and their tags may have been drawn: each box with a margin for its outline,
    and a generous band above it for the "label score" tag (whose text may be wider)."""
    height, width = shape[:2]
    side = (width + height) / 2
    margin = 4 + round(side * 0.01)  # px: the outline is about 0.3 % of the side
    tag_h = 12 + round(side * 0.06)  # px: the tag's font is 2.5 % of the side, plus padding
    mask = np.zeros((height, width), bool)
    for d in detections:
        x1, y1, x2, y2 = d["box"]
        text_w = len(f"{d['label']} {d['score']:.2f}") * side * 0.025  # font size per character
        left, right = int(x1) - margin, int(max(x2, x1 + text_w)) + margin
        top, bottom = int(y1) - tag_h - margin, int(y2) + margin
        mask[max(top, 0) : max(bottom, 0), max(left, 0) : max(right, 0)] = True
    return mask


def _fed_pixels(detector: yolo_model.Detector, photo: Path) -> tuple[float, float]:
    """Mean |difference| between what the detector's runtime was given and the photo, with the
    photo's channels as they are (RGB) and swapped (BGR). ultralytics turns the BGR array it is
    handed into an RGB tensor; a missing or doubled swap would feed the network BGR."""
    fed: list[torch.Tensor] = []
    hook = detector.model.register_forward_pre_hook(lambda _m, args: fed.append(args[0]))
    try:
        yolo.predict(Image.open(photo))
    finally:
        hook.remove()
    im = fed[-1][0].float().cpu()  # 3 x H x W in [0, 1], letterboxed
    content = ((im - LETTERBOX_GREY).abs() > 1e-3).any(0)  # False on the grey border
    rows, cols = content.any(1), content.any(0)
    crop = im[:, rows][:, :, cols].permute(1, 2, 0).numpy()
    h, w = crop.shape[:2]
    rgb = np.asarray(images.to_rgb(photo))
    ref = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR) / 255.0  # as the letterbox
    return float(np.abs(crop - ref).mean()), float(np.abs(crop - ref[..., ::-1]).mean())


# MobileNetV2


def test_mobilenet_v2_calls_the_cat_an_egyptian_cat(realweight, media, monkeypatch):
    monkeypatch.setenv(mobilenet_v2.SPEC.env_var, str(realweight("mobilenet-v2")))
    result = mobilenet_v2.predict(Image.open(media("cat.bmp")), top_k=5)
    top = result.predictions[0]
    assert top["label"] == "Egyptian cat", result.predictions
    assert top["score"] > 0.8 and top["class_id"] == 286  # 1001 classes: 0 is background
    assert result.info.checkpoint == str(realweight("mobilenet-v2"))


def test_litert_int8_also_calls_the_cat_an_egyptian_cat(mobilenet_both, media):
    photo = Image.open(media("cat.bmp"))
    floating = mobilenet_v2.predict(photo, top_k=5, engine="pytorch")
    int8 = mobilenet_v2.predict(photo, top_k=5, engine="litert")
    top = int8.predictions[0]
    assert top["label"] == "Egyptian cat" and top["class_id"] == 286, int8.predictions
    assert top["score"] > 0.8
    assert floating.predictions[0]["label"] == top["label"], "the two engines agree"
    info = int8.info_dict()
    assert (info["engine"], info["dtype"], info["device"]) == ("litert", "uint8", "cpu")
    assert info["checkpoint"] == str(mobilenet_both)
    assert info["file_bytes"] == mobilenet_both.stat().st_size
    assert int8.file_bytes < floating.file_bytes / 3, "uint8 weights: about a quarter the bytes"
    # The same network: the int8 file stores batch norm folded into the convolutions.
    assert abs(int8.info.params - floating.info.params) < 0.01 * floating.info.params
    assert int8.separable == [] and len(floating.separable) == 17


def test_the_default_engine_is_the_float_model(mobilenet_both, media):
    result = mobilenet_v2.predict(Image.open(media("cat.bmp")), top_k=1)
    assert (result.info.engine, result.info.dtype) == ("pytorch", "float32")


def test_the_int8_input_is_quantised_as_the_file_says(mobilenet_both):
    """Pixels scaled to [-1, 1], then q = x / scale + zero point with the input tensor's own
    numbers (1/128 and 128 in Google's file): black 0, mid-grey 128, white 255 (clipped)."""
    classifier = tflite_classifier.TFLiteClassifier.load(
        mobilenet_v2.SPEC.checkpoint(), mobilenet_both, threads=1
    )
    assert (classifier.height, classifier.width) == (224, 224)
    assert (classifier.in_scale, classifier.in_zero) == (1 / 128, 128)
    for grey, expected in ((0, 0), (127.5, 128), (255, 255)):
        batch = classifier.preprocess(Image.new("RGB", (300, 200), (round(grey),) * 3))
        assert batch.shape == (1, 224, 224, 3) and batch.dtype == np.uint8
        assert abs(int(batch.mean().round()) - expected) <= 1, (grey, batch.mean())


def test_both_engines_fill_the_table(mobilenet_both, media):
    photo = Image.open(media("cat.bmp"))
    label, info, table, chart, measured = mobilenet_v2.on_image(photo, 3, "", "litert", True)
    assert next(iter(label)) == "Egyptian cat" and info["engine"] == "litert"
    assert list(table["Engine"]) == [e.label for e in reversed(mobilenet_v2.SPEC.engines)]
    assert all(top.startswith("Egyptian cat") for top in table["Top-1"])
    sizes = dict(zip(table["Precision"], table["File (MB)"], strict=True))
    assert sizes["uint8"] == round(mobilenet_both.stat().st_size / 1e6, 2)
    assert sizes["uint8"] < sizes["float32"] / 3
    assert chart is not None, "the PyTorch model ran: its depthwise blocks are drawn"
    # A later single-engine run keeps the other engine's row (the session's table).
    _, _, table, _, _ = mobilenet_v2.on_image(photo, 3, "", "pytorch", False, measured)
    assert len(table) == 2


def test_switching_engine_through_the_api(gallery_client, mobilenet_both, media):
    cat = handle_file(str(media("cat.bmp")))
    label, info, table, _chart = gallery_client.predict(
        cat, 3, "", "litert", api_name="/mobilenet_v2"
    )
    assert label["label"] == "Egyptian cat" and info["engine"] == "litert"
    assert info["file_bytes"] == mobilenet_both.stat().st_size
    # the table keeps this session's earlier measurements too; this run's row is there
    assert "LiteRT int8 (TFLite)" in [row[0] for row in table["data"]]
    label, info, table, chart = gallery_client.predict(cat, 3, "", api_name="/mobilenet_v2")
    assert label["label"] == "Egyptian cat" and info["engine"] == "pytorch" and chart
    label, info, table, _chart = gallery_client.predict(
        cat, 3, "", "", True, api_name="/mobilenet_v2"
    )
    assert info["engine"] == "pytorch" and len(table["data"]) == 2


def test_the_litert_engine_refuses_a_label_map_that_does_not_fit(tiny_env, realweight, monkeypatch):
    """The tiny checkpoint has 6 labels; Google's int8 file has 1001 classes: a message."""
    monkeypatch.setenv(tflite_classifier.ENV_VAR, str(realweight("mobilenet-v2-tflite")))
    with pytest.raises(ModelUnavailable, match="1001 classes but the checkpoint's label map has 6"):
        mobilenet_v2.predict(Image.new("RGB", (40, 30)), top_k=1, engine="litert")
    with pytest.raises(GalleryError, match=r"1\.0 · 224 px only"):
        mobilenet_v2.predict(
            Image.new("RGB", (40, 30)), 1, "google/mobilenet_v2_0.35_96", engine="litert"
        )


# YOLO on Ultralytics' TFLite exports


def test_yolo_finds_the_people_and_the_bus(tflite, media):
    photo = media("bus.jpg")
    result = yolo.predict(Image.open(photo))
    assert result.counts.get("person", 0) >= 3 and result.counts.get("bus", 0) >= 1, result.counts
    assert result.info.checkpoint == str(tflite) and result.info.params is None
    width, height = Image.open(photo).size
    for d in result.detections:
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, d
    bus = max((d for d in result.detections if d["label"] == "bus"), key=lambda d: d["score"])
    assert (bus["box"][2] - bus["box"][0]) > width / 2, "the bus fills most of the photo's width"


def _inside(inner: list[float], outer: list[float]) -> float:
    """The share of `inner`'s area that lies inside `outer` (boxes as x1, y1, x2, y2)."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    return max(w, 0) * max(h, 0) / ((inner[2] - inner[0]) * (inner[3] - inner[1]))


def test_yolo_finds_the_two_men(tflite, media):
    """Two people. At the default IoU threshold (0.7) the int8 YOLO11n also keeps a second,
    weaker box (0.37) nested in Zidane's, as bare ultralytics does; at 0.5 it is merged away."""
    photo = Image.open(media("zidane.jpg"))
    result = yolo.predict(photo)
    people = [d["box"] for d in result.detections if d["label"] == "person"]
    distinct = [b for i, b in enumerate(people) if all(_inside(b, a) < 0.9 for a in people[:i])]
    assert len(distinct) == 2, result.detections
    width, height = photo.size
    for d in result.detections:
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, d
    assert yolo.predict(photo, iou=0.5).counts.get("person") == 2


@pytest.mark.parametrize("name", ["bus.jpg", "zidane.jpg"])
def test_yolo_colours_stay_rgb_in_and_out(tflite, media, name):
    """The detector is fed the photo's own colours, and the annotated image is the photo
    (same pixels, not channel-swapped) everywhere but where boxes and tags are drawn."""
    photo = media(name)
    rgb = np.asarray(images.to_rgb(photo))
    result = yolo.predict(Image.open(photo))
    assert result.detections
    drawn = _drawn_regions(rgb.shape, result.detections)
    assert (~drawn).mean() > 0.1, "enough of the photo is left to compare"
    assert np.array_equal(result.annotated[~drawn], rgb[~drawn])
    assert not np.array_equal(result.annotated[drawn], rgb[drawn]), "boxes were drawn"

    detector, _ = yolo.load_detector(None)
    as_is, swapped = _fed_pixels(detector, photo)
    assert as_is < 0.01 and swapped > 5 * as_is, (as_is, swapped)


def test_yolo_reads_the_exports_own_class_names(tflite):
    detector, info = yolo.load_detector(None, "pytorch")  # an export runs on its own runtime
    assert detector.format == "tflite"
    assert detector.class_names == list(yolo_model.COCO_NAMES)
    assert (info.engine, info.dtype) == ("litert", "int8"), "what runs it, as its metadata says"


# YOLO26n as a PyTorch checkpoint: both engines on trained weights


@pytest.mark.parametrize(
    ("name", "expected"),
    [("bus.jpg", {"person": 4, "bus": 1}), ("zidane.jpg", {"person": 2, "tie": 1})],
)
def test_both_engines_find_the_same_boxes(yolo26n_pt, name, expected):
    """PyTorch and ONNX Runtime (the checkpoint's cached export) on ultralytics' own photos:
    what the official YOLO26n finds, the same classes, boxes within a pixel."""
    photo = Image.open(yolo.examples()[yolo.ULTRALYTICS_EXAMPLES.index(name)])
    torch_run = yolo.predict(photo, engine="pytorch")
    onnx_run = yolo.predict(photo)  # the fastest here: ONNX Runtime
    assert (torch_run.info.engine, onnx_run.info.engine) == ("pytorch", "onnxruntime")
    assert torch_run.counts == onnx_run.counts == expected, (torch_run.counts, onnx_run.counts)
    for a, b in zip(torch_run.detections, onnx_run.detections, strict=True):
        assert a["label"] == b["label"] and abs(a["score"] - b["score"]) < 0.01, (a, b)
        assert max(abs(u - v) for u, v in zip(a["box"], b["box"], strict=True)) < 1.0, (a, b)
    assert min(d["score"] for d in onnx_run.detections) > 0.25


def test_the_legend_names_the_boxes_in_their_colours(yolo26n_pt):
    """One pass, many boxes: the legend's classes and counts are the detections', each in the
    colour its boxes are drawn in, under the forward pass's time and box count."""
    photo = Image.open(yolo.examples()[0])  # bus.jpg: four people and a bus
    result = yolo.predict(photo)
    assert "· 5 boxes" in result.legend and "1 forward pass" in result.legend
    for label, n in result.counts.items():
        ids = {d["class_id"] for d in result.detections if d["label"] == label}
        (class_id,) = ids
        colour = yolo_draw.hex_colour(class_id)
        assert f'data-label="{label}" data-count="{n}" data-colour="{colour}"' in result.legend
        for d in result.detections:
            if d["label"] == label:  # its outline, half way along a side, is in that colour
                x1, y1, x2, y2 = (round(v) for v in d["box"])
                ym, xm = (y1 + y2) // 2, (x1 + x2) // 2
                sides = [
                    result.annotated[ym, max(x1 - 1, 0) : x1 + 5],  # left
                    result.annotated[ym, max(x2 - 5, 0) : x2 + 1],  # right
                    result.annotated[max(y2 - 5, 0) : y2 + 1, xm],  # bottom
                ]
                assert any((s == yolo_draw.colour(class_id)).all(-1).any() for s in sides), d


# files the YOLO tab cannot use


def test_a_tflite_that_is_not_yolo_gets_a_message(realweight):
    """Google's MobileNet .tflite carries no Ultralytics metadata: refused before LiteRT runs."""
    foreign = realweight("mobilenet-v2-tflite")
    with pytest.raises(ModelUnavailable) as err:
        yolo.predict(Image.new("RGB", (32, 32)), checkpoint=str(foreign))
    message = str(err.value)
    assert "not an Ultralytics YOLO export" in message and foreign.name in message
    assert "`.onnx`, `.tflite` and `.torchscript` files" in message and "Traceback" not in message


def test_a_truncated_yolo_tflite_gets_a_message(realweight, tmp_path):
    whole = realweight("yolov8n-tflite").read_bytes()
    cut = tmp_path / "yolov8n_int8.tflite"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelUnavailable, match="not an Ultralytics YOLO export") as err:
        yolo.predict(Image.new("RGB", (32, 32)), checkpoint=str(cut))
    assert "damaged" in str(err.value)
