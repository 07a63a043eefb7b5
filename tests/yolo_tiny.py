"""YOLO26n checkpoints for the tests, built offline: a random-weight one (the real architecture,
from ultralytics' yolo26n.yaml) and a trained one rebuilt from Ultralytics' TFLite export."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch

CLASS_PRIOR = 0.02  # the class scores' starting point; see `build`
MATCH_TOLERANCE = 0.25  # mean |difference| / mean |input| allowed between matched convolutions


def build(path: Path, seed: int = 0) -> Path:
    """Save a random YOLO26n with COCO's class names as `path` (a .pt file, about 5 MB).

    Ultralytics starts the class logits of a new head near -10 (a score of about 1e-4), so a
    random model finds nothing even at a confidence threshold of 0.001. The class biases are
    lifted to `CLASS_PRIOR` instead: boxes then appear at low thresholds (tests pass 0.001) and
    none at the default 0.25. Which boxes, and where, is left to the random weights.
    """
    from demos.vision.yolo import pipeline as yolo_model
    from demos.vision.yolo import weights as yolo_weights

    yolo_weights.configure_ultralytics()  # before ultralytics is imported: offline, safe load
    from ultralytics import YOLO

    torch.manual_seed(seed)
    model = YOLO("yolo26n.yaml")
    model.model.names = dict(enumerate(yolo_model.COCO_NAMES))
    head = model.model.model[-1]
    logit = math.log(CLASS_PRIOR / (1 - CLASS_PRIOR))
    with torch.no_grad():
        for module in head.modules():
            is_class_logit = isinstance(module, torch.nn.Conv2d) and module.bias is not None
            if is_class_logit and module.out_channels == head.nc:
                module.bias.fill_(logit)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def export(pt: Path, fmt: str, imgsz: int = 320) -> Path:
    """Ultralytics' own export of the model at `pt` ("onnx", "torchscript"), offline.

    320 px keeps the export small and quick; ultralytics then predicts at the export's size.
    Not simplified, so the ONNX export needs the `onnx` package only (not onnxslim).
    """
    from demos.vision.yolo import weights as yolo_weights

    yolo_weights.configure_ultralytics()
    from ultralytics import YOLO

    options = {"simplify": False} if fmt == "onnx" else {}
    return Path(YOLO(str(pt)).export(format=fmt, imgsz=imgsz, verbose=False, **options))


# a real YOLO26n as a PyTorch checkpoint, rebuilt from Ultralytics' TFLite export


def from_tflite(tflite: Path, path: Path, yaml: str = "yolo26n.yaml") -> Path:
    """Save the trained network inside an Ultralytics TFLite export as a `.pt` checkpoint.

    The real weights reachable here (../shared/realweights) are int8 TFLite exports; a `.pt` is
    what the PyTorch and ONNX Runtime engines start from. The export holds each convolution with
    its batch norm folded in (int8 weights with per-channel scales, float biases) and runs float
    activations, so every convolution can be matched to the architecture's own: both graphs run
    on the same photo, and each PyTorch convolution, in execution order, takes the unused TFLite
    convolution of its shape whose input is nearest to its own (the TFLite graph orders its
    branches differently). The dequantised weights go into the convolution, the bias into an
    identity batch norm, so the file is an ordinary unfused checkpoint like yolo26n.pt. YOLO26
    has two heads of the same shape: the one-to-one head the export carries (no NMS needed) and
    a one-to-many head, which ultralytics 8.4.190's `predict` runs by default (then NMS, as
    `nms=None` asks); the export's head is copied into both. The match
    is checked as it goes: a convolution whose input is more than `MATCH_TOLERANCE` away from its
    TFLite counterpart's (int8 activations explain about 0.1) stops the conversion.
    """
    import cv2
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from demos.vision.yolo import pipeline as yolo_model
    from demos.vision.yolo import weights as yolo_weights

    yolo_weights.configure_ultralytics()
    from ultralytics import YOLO
    from ultralytics.nn.modules import Conv

    # the TFLite graph, run once on a photo (without XNNPACK, which hides ops in delegates)
    graph = Interpreter(
        model_path=str(tflite),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    graph.allocate_tensors()
    source = graph.get_input_details()[0]
    size = int(source["shape"][1])  # NHWC, square
    photo = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets" / "bus.jpg"
    rgb = cv2.resize(cv2.imread(str(photo)), (size, size))[:, :, ::-1].astype(np.float32) / 255
    graph.set_tensor(source["index"], rgb[None])
    graph.invoke()
    tensors = {int(t["index"]): t for t in graph.get_tensor_details()}
    ops = graph._get_ops_details()
    made_by = {int(o["outputs"][0]): o for o in ops}

    def constant(index: int) -> np.ndarray:
        value = graph.get_tensor(index).astype(np.float32)
        q = tensors[index]["quantization_parameters"]
        if tensors[index]["dtype"] == np.int8:  # per-channel int8 weights: dequantise
            shape = [1] * value.ndim
            shape[q["quantized_dimension"]] = -1
            value = (value - q["zero_points"].reshape(shape)) * q["scales"].reshape(shape)
        return value

    convs = []
    for op in ops:
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        fed = int(op["inputs"][0])
        if fed in made_by and made_by[fed]["op_name"] == "PAD":  # PyTorch pads inside the conv
            fed = int(made_by[fed]["inputs"][0])
        w = constant(int(op["inputs"][1]))  # out, kh, kw, in (depthwise: 1, kh, kw, channels)
        w = (
            w.transpose(3, 0, 1, 2)
            if op["op_name"] == "DEPTHWISE_CONV_2D"
            else w.transpose(0, 3, 1, 2)
        )
        convs.append(
            {
                "weight": torch.from_numpy(np.ascontiguousarray(w)),
                "bias": torch.from_numpy(constant(int(op["inputs"][2]))),
                "input": torch.from_numpy(
                    np.ascontiguousarray(graph.get_tensor(fed).transpose(0, 3, 1, 2))
                ),
            }
        )

    # the architecture, filled convolution by convolution as it runs on the same photo
    model = YOLO(yaml)
    net = model.model
    net.names = dict(enumerate(yolo_model.COCO_NAMES))
    net.model[-1].end2end = True  # YOLO26 predicts without NMS, from its one-to-one head
    net.eval()
    norms = {m.conv: m.bn for m in net.modules() if isinstance(m, Conv)}
    used: set[int] = set()

    def fill(conv: torch.nn.Conv2d, args: tuple[torch.Tensor, ...]) -> None:
        seen = args[0]
        fits = [
            (float((seen - c["input"]).abs().mean() / c["input"].abs().mean()), i)
            for i, c in enumerate(convs)
            if i not in used
            and c["weight"].shape == conv.weight.shape
            and c["input"].shape == seen.shape
        ]
        if not fits:
            raise ValueError(
                f"{tflite.name} has no convolution left for {tuple(conv.weight.shape)}"
            )
        distance, i = min(fits)
        if distance > MATCH_TOLERANCE:
            raise ValueError(f"{tflite.name}: no convolution matches {tuple(conv.weight.shape)}")
        used.add(i)
        conv.weight.copy_(convs[i]["weight"])
        if conv in norms:  # identity batch norm carrying the folded bias
            bn = norms[conv]
            bn.weight.fill_(1.0)
            bn.bias.copy_(convs[i]["bias"])
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        else:
            conv.bias.copy_(convs[i]["bias"])

    head = net.model[-1]
    training_only = {id(m) for branch in (head.cv2, head.cv3) for m in branch.modules()}
    convolutions = [
        m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and id(m) not in training_only
    ]
    hooks = [m.register_forward_pre_hook(fill) for m in convolutions]
    try:
        with torch.no_grad():
            net(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None])
    finally:
        for hook in hooks:
            hook.remove()
    if len(used) != len(convs):
        raise ValueError(f"{tflite.name}: {len(convs) - len(used)} convolutions were not used")
    head.cv2.load_state_dict(head.one2one_cv2.state_dict())  # the one trained head, twice
    head.cv3.load_state_dict(head.one2one_cv3.state_dict())
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path
