"""The vision family's records for the registry (`demos.core.registry`), in tab order.

A record is data: where the weights live, how the model may run, where it came from. Adding a
model to this family means one record here and one module or package beside this file.
"""

from __future__ import annotations

from demos.core.spec import PYTORCH, Checkpoint, DemoSpec, Engine, ModelCard

RECORDS: tuple[DemoSpec, ...] = (
    DemoSpec(
        key="mobilenet_v2",
        title="MobileNetV2",
        family="vision",
        module="demos.vision.mobilenet_v2",
        card=ModelCard(
            authors="Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, "
            "Liang-Chieh Chen (Google)",
            year=2018,
            paper="MobileNetV2: Inverted Residuals and Linear Bottlenecks",
            paper_url="https://arxiv.org/abs/1801.04381",
            params="3.5M",
            licence="Apache-2.0 (TensorFlow models release)",
            known_for="ImageNet classification small and fast enough for a phone: inverted "
            "residual blocks of depthwise convolutions.",
        ),
        default=Checkpoint(id="google/mobilenet_v2_1.0_224", label="1.0 · 224 px · 3.5M"),
        choices=(
            Checkpoint(id="google/mobilenet_v2_0.35_96", label="0.35 · 96 px · 1.7M"),
            Checkpoint(id="google/mobilenet_v2_0.75_160", label="0.75 · 160 px · 2.6M"),
            Checkpoint(id="google/mobilenet_v2_1.4_224", label="1.4 · 224 px · 6.1M"),
        ),
        # The float model answers by default; Google's uint8 TFLite release (LiteRT, always on
        # the CPU) is the phone's form of the same network, there to be compared.
        engines=(
            PYTORCH,
            Engine(
                key="litert",
                label="LiteRT int8 (TFLite)",
                precision=(("cuda", "uint8"), ("mps", "uint8"), ("cpu", "uint8")),
                package="ai_edge_litert",
            ),
        ),
    ),
    DemoSpec(
        key="vit",
        title="Vision Transformer",
        family="vision",
        module="demos.vision.vit",
        card=ModelCard(
            authors="Alexey Dosovitskiy, Lucas Beyer, Alexander Kolesnikov et al. "
            "(Google Research)",
            year=2020,
            paper="An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
            paper_url="https://arxiv.org/abs/2010.11929",
            params="86M",
            licence="Apache-2.0",
            known_for="A plain Transformer reading an image as a sentence of 16x16 patches; the "
            "attention map shows which patches the class token looked at.",
        ),
        default=Checkpoint(
            id="google/vit-base-patch16-224",
            label="base · 16 px patches · 86M",
            revision="3f49326eb077187dfe1c2a2bb15fbd74e6ab91e3",
        ),
        choices=(
            Checkpoint(id="google/vit-base-patch32-384", label="base · 32 px patches · 88M"),
            Checkpoint(id="google/vit-large-patch16-224", label="large · 16 px patches · 304M"),
        ),
    ),
    DemoSpec(
        key="yolo",
        title="YOLO",
        family="vision",
        module="demos.vision.yolo.tab",
        card=ModelCard(
            authors="Glenn Jocher, Jing Qiu (Ultralytics)",
            year=2026,
            paper="You Only Look Once: Unified, Real-Time Object Detection (Redmon et al., 2015)",
            paper_url="https://arxiv.org/abs/1506.02640",
            params="2.4M",
            licence="AGPL-3.0",
            known_for="Object detection in one pass of one network, fast enough for a webcam: "
            "boxes, classes and confidences for COCO's 80 classes. YOLO26 (January 2026) has no "
            "paper; the link is the 2015 YOLO paper by Joseph Redmon et al. that began the line.",
        ),
        default=Checkpoint(id="yolo26n.pt", label="YOLO26 nano · 2.4M"),
        choices=(
            Checkpoint(id="yolo11n.pt", label="YOLO11 nano · 2.6M"),
            Checkpoint(id="yolo26s.pt", label="YOLO26 small · 9.5M"),
            Checkpoint(id="yolo26m.pt", label="YOLO26 medium · 20.4M"),
        ),
        # ONNX Runtime on the CPU (its export of the checkpoint, made once): 33-34 ms against
        # PyTorch's 51-61 ms for YOLO26n here; PyTorch (float16) on a GPU.
        engines=(
            Engine(
                key="onnxruntime", label="ONNX Runtime", devices=("cpu",), package="onnxruntime"
            ),
            PYTORCH,
        ),
    ),
)
