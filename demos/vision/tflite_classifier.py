"""MobileNetV2's mobile form: Google's uint8-quantised TFLite model, run by LiteRT.

Model: `mobilenet_v2_1.0_224_quant.tflite` from Google's TensorFlow Lite hosted models
(`tflite_11_05_08/mobilenet_v2_1.0_224_quant.tgz`, Apache-2.0): MobileNetV2 1.0/224 trained with
quantisation in the loop (Jacob et al. 2018, "Quantization and Training of Neural Networks for
Efficient Integer-Arithmetic-Only Inference", arXiv:1712.05877), every weight and activation
uint8. Runtime: LiteRT (`ai_edge_litert`, Google's successor to TensorFlow Lite), imported only
when this engine loads.

Where the file comes from: `GALLERY_MOBILENET_V2_TFLITE` (a path), else the gallery's cache
(`$GALLERY_HOME/mobilenet_v2/`), else the official archive, downloaded once and checked against
its sha256. Labels are the 1001-class map of the tab's checkpoint (`config.id2label`, index 0
"background"), so both engines answer in the same words.
"""

from __future__ import annotations

import logging
import os
import tarfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from demos.core import weights
from demos.core.errors import ModelUnavailable
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.media import images
from demos.vision.footprint import size_on_disk

log = logging.getLogger(__name__)

ENV_VAR = "GALLERY_MOBILENET_V2_TFLITE"
FILE_NAME = "mobilenet_v2_1.0_224_quant.tflite"
RELEASE_URL = (
    "https://storage.googleapis.com/download.tensorflow.org/models/tflite_11_05_08/"
    "mobilenet_v2_1.0_224_quant.tgz"
)
# The archive's sha256, as pinned by Yocto's TensorFlow Lite benchmark recipes.
RELEASE_SHA256 = "d6a04d780f76f656c902413be432eb349ec4a458240e3739119eb44977f77a79"
CROP_FRACTION = 0.875  # 224 of 256 px: the central crop of Google's MobileNet evaluation
SOFTMAX = 25  # BuiltinOperator.SOFTMAX: the graph already ends in probabilities


# where the file comes from


def _extract(archive: Path, dest: Path) -> Path:
    """The .tflite member of Google's archive, written to `dest` (nothing else is unpacked)."""
    with tarfile.open(archive) as tar:
        member = next((m for m in tar.getmembers() if m.name.endswith(FILE_NAME)), None)
        if member is None or not member.isfile():
            raise ModelUnavailable(f"{archive.name} has no {FILE_NAME}; delete it and retry.")
        source = tar.extractfile(member)
        assert source is not None  # a regular file, checked above
        part = dest.with_name(dest.name + ".part")
        with source, part.open("wb") as out:
            out.write(source.read())
    part.replace(dest)
    return dest


def tflite_source() -> str:
    """Where the file is read from, without reading it: the variable's path, else the URL."""
    return os.environ.get(ENV_VAR, "").strip() or RELEASE_URL


def tflite_path() -> Path:
    """The TFLite file to run: `GALLERY_MOBILENET_V2_TFLITE`, the cache, or a download."""
    given = os.environ.get(ENV_VAR, "").strip()
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"{ENV_VAR}={given} is not a file (a .tflite model).")
        return path
    folder = weights.cache_dir("mobilenet_v2")
    cached = folder / FILE_NAME
    if cached.is_file():
        return cached
    archive = folder / RELEASE_URL.rsplit("/", 1)[-1]
    try:
        weights.fetch(RELEASE_URL, archive, sha256_hex=RELEASE_SHA256)
    except Exception as exc:
        raise ModelUnavailable(
            f"MobileNetV2's int8 TFLite model is not on this machine and could not be downloaded "
            f"({type(exc).__name__}: {str(exc)[:200]}). Run `python -m demos.core.download "
            f"mobilenet_v2` once online, or set {ENV_VAR} to a copy of {FILE_NAME} (from "
            f"{RELEASE_URL}). The PyTorch engine is not affected."
        ) from exc
    return _extract(archive, cached)


def download(checkpoint: Checkpoint | None = None) -> str:
    """Fetch the TFLite file into the gallery's cache (for `python -m demos.core.download`)."""
    return str(tflite_path())


# what the file holds


def _graph_facts(path: Path) -> tuple[int, bool]:
    """(weights stored in the file, counted element by element; whether the output is a
    softmax), read from the flatbuffer itself."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    graph = model.subgraphs[0]
    stored = sum(
        int(np.prod(t.shape))
        for t in graph.tensors
        if model.buffers[t.buffer].data is not None and len(model.buffers[t.buffer].data) > 0
    )
    producer = {out: op for op in graph.operators for out in op.outputs}
    last = producer.get(graph.outputs[0])
    softmax = last is not None and model.operatorCodes[last.opcodeIndex].builtinCode == SOFTMAX
    return stored, softmax


def _labels(checkpoint: Checkpoint) -> dict[int, str]:
    """The checkpoint's label map (its config.json only; no weights are read)."""
    from transformers import AutoConfig

    kwargs = {"revision": checkpoint.revision} if checkpoint.revision else {}
    config = AutoConfig.from_pretrained(checkpoint.id, **kwargs)
    return {int(k): v for k, v in config.id2label.items()}


# classes


class TFLiteClassifier(Pipeline[Image.Image, list[dict[str, Any]]]):
    """A quantised TFLite image classifier: uint8 in, uint8 probabilities out.

    No torch module: the interpreter holds the graph. The stages stay those of every pipeline,
    so the run info times them alike.
    """

    def __init__(self, *, interpreter: Any, path: Path, id2label: dict[int, str]) -> None:
        # Not Pipeline.__init__: it expects a torch module. The rest of the contract is the same.
        self.model = None
        self.device = torch.device("cpu")  # LiteRT runs on the CPU whatever the gallery's device
        self.dtype = torch.uint8
        self._lock = threading.Lock()
        self.interpreter = interpreter
        self.path = path
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        self.input_index, self.output_index = inp["index"], out["index"]
        _, self.height, self.width, _ = (int(n) for n in inp["shape"])  # NHWC
        self.input_dtype = inp["dtype"]
        self.in_scale, self.in_zero = inp["quantization"]
        self.out_scale, self.out_zero = out["quantization"]
        n_classes = int(out["shape"][-1])
        if len(id2label) != n_classes:
            raise ModelUnavailable(
                f"{path.name} has {n_classes} classes but the checkpoint's label map has "
                f"{len(id2label)}: the LiteRT engine needs MobileNetV2's 1001-class map "
                f"(google/mobilenet_v2_1.0_224)."
            )
        self.id2label = id2label
        self.n_params, self.softmax = _graph_facts(path)  # weights as stored in the file
        self.file_bytes = size_on_disk(path)

    @classmethod
    def load(cls, labels: Checkpoint, path: Path, threads: int) -> TFLiteClassifier:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
        return cls(interpreter=interpreter, path=path, id2label=_labels(labels))

    def preprocess(self, inputs: Any, **params: Any) -> np.ndarray:
        """Resize the short side to 256 px, crop the central 224 x 224 (as the PyTorch engine's
        processor does), scale to [-1, 1] (MobileNet's training range) and quantise with the
        input tensor's own scale and zero point."""
        image = images.to_rgb(inputs)
        short = round(min(self.height, self.width) / CROP_FRACTION)
        scale = short / min(image.size)
        resized = image.resize(
            (
                max(self.width, round(image.width * scale)),
                max(self.height, round(image.height * scale)),
            ),
            Image.Resampling.BILINEAR,
        )
        left, top = (resized.width - self.width) // 2, (resized.height - self.height) // 2
        crop = resized.crop((left, top, left + self.width, top + self.height))
        real = np.asarray(crop, np.float32) / 127.5 - 1.0
        if not self.in_scale:  # a float model: no quantisation
            return real[None].astype(self.input_dtype)
        info = np.iinfo(self.input_dtype)
        quantised = np.round(real / self.in_scale + self.in_zero).clip(info.min, info.max)
        return quantised[None].astype(self.input_dtype)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input_index, batch)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)[0].copy()

    def postprocess(self, outputs: np.ndarray, **params: Any) -> list[dict[str, Any]]:
        real = (outputs.astype(np.float32) - self.out_zero) * (self.out_scale or 1.0)
        probs = torch.from_numpy(real)
        if not self.softmax:
            probs = probs.softmax(-1)
        top_k = min(int(params.get("top_k", 5)), probs.numel())
        scores, ids = probs.topk(top_k)
        return [
            {"label": self.id2label.get(i, str(i)), "score": s, "class_id": i}
            for s, i in zip(scores.tolist(), ids.tolist(), strict=True)
        ]
