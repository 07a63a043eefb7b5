"""YOLO: image, webcam-frame and video endpoints on a random YOLO26n, with the network blocked.

Every test here runs with outgoing connections and DNS refused (loopback stays open for
gradio_client); the module fails if anything tried to reach the network. The random model finds
boxes only at very low confidence (see tests/yolo_tiny.py), so tests that need boxes pass 0.001.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shutil
import socket
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput, ModelUnavailable
from demos.core.registry import Checkpoint
from demos.media import assets
from demos.vision.yolo import draw as yolo_draw
from demos.vision.yolo import engines as yolo_engines
from demos.vision.yolo import pipeline as yolo_model
from demos.vision.yolo import tab as yolo
from demos.vision.yolo import weights as yolo_weights
from tests import yolo_tiny

SPEC = registry.get("yolo")
ULTRALYTICS_ASSETS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
LOW = 0.001  # confidence threshold at which the random model reports boxes
LOOPBACK = ("127.0.0.1", "::1", "localhost", None)
RED = (255, 0, 0)


# fixtures


@pytest.fixture(scope="module", autouse=True)
def no_network(tmp_path_factory):
    """Refuse every non-loopback connection and DNS lookup; fail the module if one was tried."""
    tried: list[object] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock, address, *args):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            tried.append(address)
            raise OSError(f"network blocked in tests: {address}")
        return connect(sock, address, *args)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK:
            tried.append(host)
            raise socket.gaierror(f"DNS blocked in tests: {host}")
        return getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", guarded_connect)
        mp.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
        # The gallery's own folder (weights, ultralytics settings), empty: nothing is cached.
        mp.setenv("GALLERY_HOME", str(tmp_path_factory.mktemp("gallery-home")))
        yield tried
    assert tried == [], f"the YOLO demo tried to reach the network: {tried}"


@pytest.fixture(scope="module")
def tiny_yolo(tmp_path_factory) -> Path:
    return yolo_tiny.build(tmp_path_factory.mktemp("yolo") / "tiny-yolo26n.pt")


@pytest.fixture
def tiny_env(tiny_yolo, monkeypatch) -> Path:
    monkeypatch.setenv(SPEC.env_var, str(tiny_yolo))
    return tiny_yolo


@pytest.fixture
def client(gallery_client, tiny_env):
    return gallery_client


def _save(tmp_path: Path, array: np.ndarray, name: str = "image.png") -> str:
    path = tmp_path / name
    Image.fromarray(array).save(path)
    return str(path)


def _check_table(table: dict, size: tuple[int, int]) -> list[list]:
    """Rows of a returned detections table: known classes, sorted scores, boxes in the image."""
    assert table["headers"] == yolo.COLUMNS
    rows = table["data"]
    width, height = size
    for label, score, x1, y1, x2, y2 in rows:
        assert label in yolo_model.COCO_NAMES
        assert 0.0 <= score <= 1.0
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
    scores = [row[1] for row in rows]
    assert scores == sorted(scores, reverse=True)
    return rows


# the image endpoint


def test_image_endpoint_returns_boxes_table_counts_and_timings(client, tiny_env):
    cat = assets.images()[0]
    annotated, table, counts, info, key = client.predict(
        handle_file(cat), LOW, 0.7, [], "", api_name="/yolo"
    )
    size = Image.open(cat).size
    rows = _check_table(table, size)
    assert rows, "at confidence 0.001 the random model reports boxes"
    assert all(row[1] >= LOW for row in rows)
    assert sum(counts.values()) == len(rows) == info["objects"]
    assert counts == {label: [r[0] for r in rows].count(label) for label in counts}
    out = np.asarray(Image.open(annotated).convert("RGB"))
    assert out.shape[:2] == (size[1], size[0])
    assert (out != np.asarray(Image.open(cat).convert("RGB"))).any(), "boxes were drawn"
    assert info["checkpoint"] == str(tiny_env) and info["device"] == "cpu"
    assert info["speed_ms"]["inference"] > 0 and "inference" in info["ultralytics_ms"]
    assert info["engine"] == "onnxruntime" and info["dtype"] == "float32", "fastest on a CPU"
    assert f"· {len(rows)} boxes" in key and "1 forward pass" in key

    _, table, counts, info, _ = client.predict(handle_file(cat), 0.9, 0.7, [], "", api_name="/yolo")
    assert all(row[1] >= 0.9 for row in table["data"]) and len(table["data"]) <= len(rows)


def test_class_filter_keeps_only_the_chosen_classes(client):
    cat = handle_file(assets.images()[0])
    _, table, _, _, _ = client.predict(cat, LOW, 0.7, [], "", api_name="/yolo")
    first = table["data"][0][0]
    _, kept, counts, _, _ = client.predict(cat, LOW, 0.7, [first.upper()], "", api_name="/yolo")
    assert set(counts) == {first}
    # The filter applies before the 300 best boxes are picked: those boxes stay, more may come.
    before = {tuple(row) for row in table["data"] if row[0] == first}
    assert before <= {tuple(row) for row in kept["data"]}
    with pytest.raises(Exception, match="no class 'unicorn'"):
        client.predict(cat, LOW, 0.7, ["unicorn"], "", api_name="/yolo")


def test_a_red_image_comes_back_red(client, tmp_path):
    """Gradio gives RGB, ultralytics reads BGR: a swap would turn red into blue."""
    red = np.zeros((150, 200, 3), np.uint8)
    red[:] = RED
    annotated, table, counts, _, key = client.predict(
        handle_file(_save(tmp_path, red)), 0.99, 0.7, [], "", api_name="/yolo"
    )
    assert "· 0 boxes" in key and "No object" in key
    assert table["data"] == [] and counts == {}
    assert (np.asarray(Image.open(annotated).convert("RGB")) == RED).all()


def test_the_detector_is_given_bgr_and_boxes_leave_other_pixels_alone(tiny_env):
    red = np.zeros((120, 160, 3), np.uint8)
    red[:] = RED
    drawn = yolo_draw.draw_detections(
        red, [{"label": "猫 café", "score": 0.5, "class_id": 3, "box": [60.0, 60.0, 100.0, 100.0]}]
    )
    assert drawn.shape == red.shape and (red == RED).all(), "drawn on a copy"
    assert (drawn[:, :50] == RED).all() and (drawn[105:] == RED).all()
    assert (drawn[60:101, 60] != RED).any(), "the box's edge"
    detector, _ = yolo.load_detector(None)
    batch = detector.preprocess(Image.fromarray(red))
    assert (batch["bgr"][..., 2] == 255).all() and (batch["bgr"][..., 0] == 0).all()
    result = yolo.predict(Image.fromarray(red), conf=0.99)
    assert result.detections == [] and (result.annotated == RED).all()


@pytest.mark.parametrize("name", yolo.ULTRALYTICS_EXAMPLES)
def test_real_photos_run_through_the_endpoint(client, name):
    photo = ULTRALYTICS_ASSETS / name  # shipped inside ultralytics' package, read from there
    annotated, table, counts, info, _ = client.predict(
        handle_file(str(photo)), LOW, 0.7, [], "", api_name="/yolo"
    )
    size = Image.open(photo).size
    assert Image.open(annotated).size == size
    assert len(_check_table(table, size)) == sum(counts.values()) == info["objects"]


# streaming and video


def test_webcam_frames_are_annotated_and_frames_per_second_reported(client, tmp_path):
    frame = handle_file(_save(tmp_path, np.full((120, 160, 3), 90, np.uint8)))
    stats = []
    for _ in range(3):
        annotated, text = client.predict(frame, LOW, 0.7, [], "", api_name="/yolo_stream")
        assert Image.open(annotated).size == (160, 120)
        stats.append(text)
    assert "objects" in stats[0] and "frames per second" not in stats[0]
    assert "frames per second" in stats[-1]
    fps = float(stats[-1].split(" frames per second")[0])
    assert fps > 0
    # the engine that ran, and how many frames per second it alone could detect and draw
    assert all("on cpu, ONNX Runtime" in text and "per second)" in text for text in stats)
    _, text = client.predict(frame, LOW, 0.7, [], "", "pytorch", api_name="/yolo_stream")
    assert "on cpu, PyTorch" in text


def _video(path: Path, frames: int, size=(160, 120)) -> str:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    for i in range(frames):
        bgr = np.zeros((size[1], size[0], 3), np.uint8)
        bgr[:] = RED[::-1]
        bgr[10:40, 10 + 10 * i : 40 + 10 * i] = 255  # a white square that moves
        writer.write(bgr)
    writer.release()
    return str(path)


def _read(path: str) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(path), []
    while True:
        ok, bgr = capture.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


# Without an H.264 encoder in OpenCV, mp4v is written and Gradio re-encodes it (and says so).
CONVERTED = pytest.mark.filterwarnings("ignore:Video does not have browser-compatible")


@CONVERTED
def test_a_video_is_annotated_frame_by_frame(client, tmp_path):
    source = _video(tmp_path / "clip.mp4", 6)
    video, summary, info = client.predict(
        handle_file(source), 0.99, 0.7, [], "", api_name="/yolo_video"
    )
    frames = _read(video)
    assert len(frames) == 6 == info["frames"] and frames[0].shape == (120, 160, 3)
    corner = frames[-1][80:, 100:].reshape(-1, 3).mean(0)  # red, not blue, after the codec
    assert corner[0] > 200 and corner[2] < 60, corner
    assert "Annotated 6 frames" in summary and "only the first" not in summary
    assert "frames per second on cpu, ONNX Runtime" in summary and info["engine"] == "onnxruntime"
    fourcc = int(cv2.VideoCapture(video).get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little")
    assert fourcc.lower() in {b"h264", b"avc1", b"vp80", b"vp90"}, f"browsers cannot play {fourcc}"

    _, summary, info = client.predict(handle_file(source), LOW, 0.7, [], "", api_name="/yolo_video")
    assert info["most_in_one_frame"] and info["frames_per_second"] > 0


@CONVERTED
def test_long_videos_are_cut_with_a_message(client, tmp_path, monkeypatch):
    monkeypatch.setattr(yolo, "MAX_VIDEO_FRAMES", 3)
    source = _video(tmp_path / "long.mp4", 8)
    video, summary, info = client.predict(
        handle_file(source), 0.5, 0.7, [], "", api_name="/yolo_video"
    )
    assert len(_read(video)) == 3 == info["frames"]
    assert "8 frames" in summary and "only the first 3" in summary


# engines: ONNX Runtime on a CPU (the .pt's cached ONNX export), PyTorch on request


@pytest.fixture
def fresh_cache():
    """No detector loaded before the test, none left behind by it (a fallback, a patched export)."""
    runtime.CACHE.clear()
    yield
    runtime.CACHE.clear()


def test_the_default_engine_on_a_cpu_is_onnx_runtime_on_an_export_made_once(
    tiny_env, fresh_cache, monkeypatch, tmp_path
):
    exported = yolo_engines.onnx_path(tiny_env)
    shutil.rmtree(exported.parent, ignore_errors=True)  # exported by an earlier test: start over
    photo = Image.open(ULTRALYTICS_ASSETS / "bus.jpg")
    said: list[str] = []
    first = yolo.predict(photo, conf=LOW, progress=lambda _, message: said.append(message))
    info = first.info
    assert (info.engine, info.dtype, info.device) == ("onnxruntime", "float32", "cpu")
    assert first.detections and not first.note
    assert exported.is_file() and exported.parent.parent == yolo_weights.weights_dir() / "onnx"
    assert any(m.startswith("Exporting tiny-yolo26n.pt to ONNX") for m in said), said
    assert "cpu · onnxruntime float32 ·" in ui.summary_line(yolo._details(first))
    on_pytorch = yolo.predict(photo, conf=LOW, engine="pytorch")
    assert first.info.params == on_pytorch.info.params > 2_000_000, "the checkpoint's own count"

    # A second load (a restarted server) runs the cached export: ultralytics exports nothing.
    runtime.CACHE.clear()
    stamp = exported.stat().st_mtime_ns
    from ultralytics.engine.model import Model

    monkeypatch.setattr(Model, "export", lambda *a, **k: pytest.fail("exported a second time"))
    again = yolo.predict(photo, conf=LOW)
    assert again.info.engine == "onnxruntime" and exported.stat().st_mtime_ns == stamp
    assert again.detections == first.detections

    # A changed checkpoint (other bytes, same name) has an export of its own.
    changed = yolo_engines.onnx_path(yolo_tiny.build(tmp_path / "tiny-yolo26n.pt", seed=1))
    assert changed != exported and changed.name == exported.name


def test_switching_engines_through_the_endpoint(client, fresh_cache):
    cat = handle_file(assets.images()[0])
    answers = {}
    for engine in ("pytorch", "onnxruntime", "PyTorch", ""):
        _, table, _, info, _ = client.predict(cat, LOW, 0.7, [], "", engine, api_name="/yolo")
        expected = "onnxruntime" if engine in ("onnxruntime", "") else "pytorch"
        assert info["engine"] == expected and info["dtype"] == "float32", engine
        assert "engine_note" not in info
        answers[engine] = table["data"]
    # The random model scores nearly every box alike (about 0.02), so which of them survive is
    # a coin toss between engines; the real weights' test compares boxes one by one.
    assert answers["pytorch"] and answers["onnxruntime"]
    assert abs(answers["pytorch"][0][1] - answers["onnxruntime"][0][1]) < 0.01
    assert answers["PyTorch"] == answers["pytorch"] and answers[""] == answers["onnxruntime"]
    # A caller that predates the engine input still gets the fastest engine.
    *_, info, _ = client.predict(cat, LOW, 0.7, [], "", api_name="/yolo")
    assert info["engine"] == "onnxruntime"
    with pytest.raises(Exception, match="has no engine 'tensorrt'"):
        client.predict(cat, LOW, 0.7, [], "", "tensorrt", api_name="/yolo")


def test_a_failing_export_falls_back_to_pytorch_and_says_why(client, fresh_cache, monkeypatch):
    monkeypatch.setitem(yolo_engines.EXPORT, "opset", 5)  # ultralytics refuses an opset this old
    cat = handle_file(assets.images()[0])
    _, table, _, info, _ = client.predict(cat, LOW, 0.7, [], "", api_name="/yolo")
    assert info["engine"] == "pytorch" and table["data"], "the checkpoint still ran"
    note = info["engine_note"]
    assert "exporting it to ONNX failed" in note and "opset" in note and "ran on PyTorch" in note
    assert "Traceback" not in note
    folder = yolo_engines.onnx_path(Path(info["checkpoint"])).parent
    assert not folder.exists() or not any(folder.iterdir()), "nothing half-made left behind"


def test_detecting_leaves_the_process_thread_count_alone_on_every_engine(tiny_env):
    """ultralytics sets torch's thread count process-wide; the other tabs must keep theirs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(before + 3)
    try:
        for engine in ("pytorch", "onnxruntime"):
            yolo.predict(Image.new("RGB", (64, 48)), conf=LOW, engine=engine)
            assert torch.get_num_threads() == before + 3, engine
    finally:
        torch.set_num_threads(before)


# one pass, many boxes: the legend


LEGEND_ITEM = re.compile(r'data-label="([^"]*)" data-count="(\d+)" data-colour="(#[0-9a-f]{6})"')


def test_the_legend_counts_the_boxes_in_their_colours(client, tiny_env):
    bus = ULTRALYTICS_ASSETS / "bus.jpg"
    _, table, counts, info, key = client.predict(
        handle_file(str(bus)), LOW, 0.7, [], "", api_name="/yolo"
    )
    items = LEGEND_ITEM.findall(key)
    assert {label: int(n) for label, n, _ in items} == counts, "one entry per class, its count"
    assert [label for label, _, _ in items] == list(counts), "most first, as the counts"
    forward = info["ultralytics_ms"]["inference"]  # rounded to 0.1 ms in the JSON
    shown = re.search(r"1 forward pass · (\d+) ms · (\d+) boxes", key)
    assert shown and abs(int(shown[1]) - forward) <= 1 and int(shown[2]) == len(table["data"])
    assert yolo_draw.LEGEND_CAPTION in key

    result = yolo.predict(Image.open(bus), conf=LOW)  # the same answer, with class ids and pixels
    assert LEGEND_ITEM.findall(result.legend) == items
    colours = {d["label"]: yolo_draw.hex_colour(d["class_id"]) for d in result.detections}
    assert {label: colour for label, _, colour in items} == colours, "the boxes' colours"
    drawn = {tuple(p) for p in result.annotated.reshape(-1, 3)}  # (the real weights' test
    assert {yolo_draw.colour(d["class_id"]) for d in result.detections} <= drawn  # finds each box)


def test_the_photos_ultralytics_ships_are_examples_read_from_its_package(client):
    import app

    shown = yolo.examples()
    assert shown[:2] == [str(ULTRALYTICS_ASSETS / n) for n in ("bus.jpg", "zidane.jpg")]
    assert not list(assets.ASSETS.glob("bus*")), "read from ultralytics, not copied"
    samples = [
        str(c.get("props", {}).get("samples"))
        for c in app.demo.config["components"]
        if c.get("type") == "dataset"
    ]
    assert any("bus.jpg" in s and "zidane.jpg" in s for s in samples), "the YOLO tab's examples"


# weights: missing, unsafe, downloaded


def test_missing_weights_name_the_checkpoint_and_the_server_keeps_serving(
    client, tiny_env, monkeypatch
):
    cat = handle_file(assets.images()[0])
    monkeypatch.delenv(SPEC.env_var)
    for checkpoint in ("", "/no/such/model.pt"):
        with pytest.raises(Exception) as err:
            client.predict(cat, 0.25, 0.7, [], checkpoint, api_name="/yolo")
        message = str(err.value)
        assert (checkpoint or SPEC.default.id) in message
        assert "python -m demos.core.download yolo" in message and SPEC.env_var in message
        assert "ConnectionError" not in message and "Traceback" not in message
    monkeypatch.setenv(SPEC.env_var, str(tiny_env))
    _, table, _, _, _ = client.predict(cat, LOW, 0.7, [], "", api_name="/yolo")
    assert table["data"]


def test_weights_are_loaded_without_running_pickled_code(tmp_path):
    marker = tmp_path / "pickle-ran"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    import torch

    evil = tmp_path / "evil.pt"
    torch.save({"model": Payload()}, evil)
    with pytest.raises(ModelUnavailable, match=r"evil\.pt"):
        yolo.predict(Image.new("RGB", (32, 32)), checkpoint=str(evil))
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("model.onnx", "not an Ultralytics YOLO export"),
        ("model.tflite", "not an Ultralytics YOLO export"),
        ("model.torchscript", "not an Ultralytics YOLO export"),
        ("model.safetensors", "not a format the tab reads"),
        ("weights/", "a folder that is not an OpenVINO export"),
    ],
)
def test_foreign_and_corrupt_files_get_a_message_naming_the_formats(tiny_env, tmp_path, name, why):
    path = tmp_path / name.rstrip("/")
    if name.endswith("/"):
        path.mkdir()
    else:
        path.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable) as err:
        yolo.predict(Image.new("RGB", (32, 32)), checkpoint=str(path))
    message = str(err.value)
    assert why in message and f"`{path}`" in message
    for fmt in ("`.pt`", "`.onnx`", "`.tflite`", "`.torchscript`", "`*_openvino_model/`"):
        assert fmt in message
    assert "Traceback" not in message and SPEC.env_var in message


def test_an_openvino_export_without_openvino_says_what_to_install(tiny_env, tmp_path):
    import importlib.util

    if importlib.util.find_spec("openvino") is not None:
        pytest.skip("openvino is installed: an OpenVINO export would load")
    folder = tmp_path / "tiny_openvino_model"
    folder.mkdir()
    (folder / "metadata.yaml").write_text("task: detect\nnames: {0: person}\n")
    (folder / "tiny.xml").write_text("<net/>")
    with pytest.raises(ModelUnavailable, match=r"`pip install openvino`") as err:
        yolo.predict(Image.new("RGB", (32, 32)), checkpoint=str(folder))
    assert "OpenVINO" in str(err.value)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # ultralytics' own export
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_exports_detect_like_the_checkpoint_with_the_exports_class_names(
    tiny_yolo, monkeypatch, tmp_path, fmt
):
    """Ultralytics' own ONNX and TorchScript exports of the tiny model, through the tab's predict:
    the same call as the .pt, class names from the export's metadata, boxes in the image."""
    if fmt == "onnx":
        pytest.importorskip("onnx", reason="ultralytics' ONNX export needs onnx (requirements-dev)")
    pt = tmp_path / "tiny.pt"
    pt.write_bytes(tiny_yolo.read_bytes())
    exported = yolo_tiny.export(pt, fmt)
    assert exported.suffix == f".{fmt}"
    monkeypatch.setenv(SPEC.env_var, str(exported))
    photo = Image.open(assets.images()[0])
    result = yolo.predict(photo, conf=LOW)
    assert isinstance(result, yolo.Detections) and result.info.checkpoint == str(exported)
    assert result.detections, "at confidence 0.001 the random model reports boxes"
    assert {d["label"] for d in result.detections} <= set(yolo_model.COCO_NAMES)
    width, height = photo.size
    for d in result.detections:
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
    assert result.annotated.shape == (height, width, 3)
    assert sum(result.counts.values()) == len(result.detections)
    assert result.info.params is None and result.info.speed_ms["inference"] > 0
    detector, _ = yolo.load_detector(None)
    assert detector.format == fmt and detector.class_names == list(yolo_model.COCO_NAMES)
    assert yolo.predict(photo, conf=0.99).detections == [], "thresholds apply to exports too"
    # An export runs on its own runtime, whatever engine is asked for, and says so.
    runs_on = {"onnx": "onnxruntime", "torchscript": "torchscript"}[fmt]
    assert result.info.engine == runs_on and result.info.dtype == "float32" and not result.note
    asked = "pytorch" if fmt == "onnx" else "onnxruntime"
    other = yolo.predict(photo, conf=LOW, engine=asked)
    assert other.info.engine == runs_on and "export: it runs on" in other.note
    assert [d["box"] for d in other.detections] == [d["box"] for d in result.detections]


def test_bad_thresholds_and_no_image_get_a_message(tiny_env):
    with pytest.raises(BadInput, match="confidence"):
        yolo.predict(Image.new("RGB", (32, 32)), conf=1.5)
    with pytest.raises(BadInput, match="No image"):
        yolo.predict(None)


@pytest.fixture
def asset_server(tmp_path, monkeypatch):
    """A loopback HTTP server standing in for the GitHub release; serves `tmp_path/served`."""
    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # this test is about downloading
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(yolo_weights, "ASSETS_URL", f"http://127.0.0.1:{server.server_port}")
    yield served
    server.shutdown()


def test_download_checks_the_file_and_the_loader_finds_it(asset_server, tiny_yolo):
    from demos.core import download

    (asset_server / "yolo26n.pt").write_bytes(tiny_yolo.read_bytes())  # not the official file
    with pytest.raises(OSError, match="expected file"):
        yolo_weights.download(SPEC.default)
    assert not list(yolo_weights.weights_dir().glob("yolo26n.pt*")), "nothing half-written left"

    (asset_server / "yolo11n.pt").write_bytes(tiny_yolo.read_bytes())  # no recorded hash
    small = Checkpoint(id="yolo11n.pt", label="")
    saved = download.download(SPEC, small)
    assert Path(saved) == yolo_weights.weights_dir() / "yolo11n.pt"
    assert Path(saved).read_bytes() == tiny_yolo.read_bytes()
    result = yolo.predict(Image.new("RGB", (64, 48)), conf=LOW, checkpoint="yolo11n.pt")
    assert result.info.checkpoint == "yolo11n.pt" and result.annotated.shape == (48, 64, 3)


def test_ultralytics_runs_offline_with_settings_of_our_own():
    from ultralytics.utils import ONLINE, SETTINGS, SETTINGS_FILE

    assert os.environ["YOLO_OFFLINE"] == "1" and not ONLINE
    assert SETTINGS["sync"] is False
    # ultralytics fixes its settings folder when first imported in this process (perhaps by an
    # earlier test, with another GALLERY_HOME): a folder of the gallery's, not ~/.config.
    settings = Path(SETTINGS_FILE)
    assert settings.parent.parent.name == "ultralytics" and ".config" not in settings.parts
    assert os.environ["YOLO_CONFIG_DIR"] == str(settings.parent.parent)


def test_a_corrupt_image_stays_a_clear_message_in_every_tab(client):
    """ultralytics replaces PIL.Image.open process-wide with one that pip-installs a plugin."""
    from demos.core.errors import BadInput
    from demos.media import images

    yolo_weights.configure_ultralytics()
    with pytest.raises(BadInput, match="not an image"):
        images.to_rgb(b"definitely not an image")
