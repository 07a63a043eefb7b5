"""One tiny model per registry key: the map every cross-demo test (app, compare, browser) uses.

A demo is tested across the gallery the moment it is registered: `test_every_demo_has_a_tiny_model`
fails until its builder is added here. Each builder writes (or returns) what GALLERY_<KEY>_MODEL
should point at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests import tiny_models


def _elmo(root: Path) -> Path:
    from tests.elmo_tiny import write_tiny_elmo

    options, _weights = write_tiny_elmo(root / "elmo")
    return options.parent


def _transformer_xl(root: Path) -> Path:
    from tests.transformer_xl_tiny import tiny_transformer_xl_dir

    return tiny_transformer_xl_dir()  # a committed fixture: read-only, never written to


def _gpt(root: Path) -> Path:
    from tests import gpt_tiny

    return gpt_tiny.text_model(root / "gpt")


def _yolo(root: Path) -> Path:
    from tests import yolo_tiny

    return yolo_tiny.build(root / "yolo" / "tiny-yolo26n.pt")


def _whisper(root: Path) -> Path:
    from tests import whisper_tiny

    return whisper_tiny.build(root / "whisper")


def _wav2vec2(root: Path) -> Path:
    from tests import wav2vec2_tiny

    return wav2vec2_tiny.build(root / "wav2vec2")


def _deepspeech(root: Path) -> Path:
    from tests.deepspeech_tiny import tiny_model_path

    return tiny_model_path()  # a committed fixture


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "bert": lambda root: tiny_models.bert(root / "bert"),
    "roberta": lambda root: tiny_models.roberta(root / "roberta"),
    "elmo": _elmo,
    "transformer_xl": _transformer_xl,
    "gpt": _gpt,
    "mobilenet_v2": lambda root: tiny_models.mobilenet_v2(root / "mobilenet_v2"),
    "vit": lambda root: tiny_models.vit(root / "vit"),
    "yolo": _yolo,
    "whisper": _whisper,
    "wav2vec2": _wav2vec2,
    "deepspeech": _deepspeech,
}

# Variables besides GALLERY_<KEY>_MODEL that a demo reads (the GPT tab's image model).
EXTRA_ENV: dict[str, Callable[[Path], tuple[str, Path]]] = {
    "gpt": lambda root: (
        "GALLERY_GPT_VISION_MODEL",
        __import__("tests.gpt_tiny", fromlist=["vision_model"]).vision_model(root / "gpt-vision"),
    ),
}
