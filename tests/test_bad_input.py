"""Bad input, through the endpoints, on tiny models: a sensible result or a clear message.

Never a traceback, never Gradio's "upstream app raised an exception", never our own "unexpected"
line; and after each case the server answers a normal request. `python -m tests.test_bad_input`
prints what every case returned (the table in the closing note comes from it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file
from PIL import Image

UNHELPFUL = ("upstream Gradio app", "Traceback", "unexpected", 'File "')
Case = tuple[str, str, Callable[[Path], tuple]]  # (name, endpoint, args from a temp dir)


# helpers: files


def _image(tmp: Path, name: str, image: Image.Image, **save: Any) -> str:
    path = tmp / name
    image.save(path, **save)
    return handle_file(str(path))


def _bytes(tmp: Path, name: str, data: bytes) -> str:
    path = tmp / name
    path.write_bytes(data)
    return handle_file(str(path))


def _wav(tmp: Path, name: str, samples: np.ndarray, rate: int, subtype: str | None = None):
    path = tmp / name
    sf.write(path, samples, rate, subtype=subtype)
    return handle_file(str(path))


def _tone(rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


def _gif(tmp: Path) -> str:
    frames = [Image.new("P", (32, 32), i * 40) for i in range(4)]
    path = tmp / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return handle_file(str(path))


def _png16(tmp: Path) -> str:
    ramp = np.linspace(0, 65535, 48 * 64, dtype=np.uint16).reshape(48, 64)
    return _image(tmp, "sixteen.png", Image.fromarray(ramp))


PNG_HEADER = b"\x89PNG\r\n\x1a\n"
RGB = Image.new("RGB", (40, 30), (200, 40, 40))


# the cases: (name, endpoint, inputs)


def _text_cases() -> list[Case]:
    long = "word " * 20_000 + "[MASK]"  # 100,006 characters
    cases: list[Case] = []
    for ep in ("/bert", "/roberta"):
        cases += [
            (f"{ep} empty text", ep, lambda t: ("", 5, "")),
            (f"{ep} 100,000 characters", ep, lambda t, s=long: (s, 5, "")),
            (f"{ep} no mask", ep, lambda t: ("A sentence without a mask.", 5, "")),
            (f"{ep} many masks", ep, lambda t: ("[MASK] [MASK] <mask> [MASK]", 5, "")),
            (f"{ep} emoji", ep, lambda t: ("I love 🍕 and [MASK] 🎉", 5, "")),
            (f"{ep} right-to-left", ep, lambda t: ("مرحبا بالعالم [MASK] שלום", 5, "")),
        ]
    cases += [
        ("/elmo empty", "/elmo", lambda t: ("", "bank", "")),
        (
            "/elmo emoji and RTL",
            "/elmo",
            lambda t: ("the 🏦 bank opened .\nשלום bank מים", "bank", ""),
        ),
        ("/elmo 100,000 characters", "/elmo", lambda t: ("bank " * 20_000, "bank", "")),
        ("/transformer_xl empty prompt", "/transformer_xl", lambda t: ("", 5, 0.0, 0, 0, "")),
        (
            "/transformer_xl emoji and RTL",
            "/transformer_xl",
            lambda t: ("the 🌉 bridge מעל the river", 5, 0.0, 0, 0, ""),
        ),
        (
            "/transformer_xl 100,000 characters",
            "/transformer_xl",
            lambda t: ("the city " * 12_500, 5, 0.0, 0, 0, ""),
        ),
    ]
    return cases


def _image_cases() -> list[Case]:
    cases: list[Case] = []
    for ep in ("/mobilenet_v2", "/vit"):
        cases += [
            (f"{ep} no image", ep, lambda t: (None, 3, "")),
            (
                f"{ep} corrupt .png",
                ep,
                lambda t: (_bytes(t, "c.png", PNG_HEADER + b"\0" * 64), 3, ""),
            ),
            (
                f"{ep} text renamed .png",
                ep,
                lambda t: (_bytes(t, "notes.png", b"hello " * 99), 3, ""),
            ),
            (
                f"{ep} 8000x8000",
                ep,
                lambda t: (
                    _image(t, "huge.png", Image.new("RGB", (8000, 8000), (9, 99, 199))),
                    3,
                    "",
                ),
            ),
            (f"{ep} greyscale", ep, lambda t: (_image(t, "g.png", RGB.convert("L")), 3, "")),
            (f"{ep} RGBA", ep, lambda t: (_image(t, "a.png", RGB.convert("RGBA")), 3, "")),
            (f"{ep} CMYK", ep, lambda t: (_image(t, "c.jpg", RGB.convert("CMYK")), 3, "")),
            (f"{ep} 16-bit", ep, lambda t: (_png16(t), 3, "")),
            (f"{ep} palette", ep, lambda t: (_image(t, "p.png", RGB.convert("P")), 3, "")),
            (f"{ep} animated GIF", ep, lambda t: (_gif(t), 3, "")),
        ]
    cases += [
        (
            "/yolo corrupt .jpg",
            "/yolo",
            lambda t: (_bytes(t, "c.jpg", b"\xff\xd8\xff" + b"\0" * 64), 0.25, 0.7, [], ""),
        ),
        ("/yolo 16-bit", "/yolo", lambda t: (_png16(t), 0.25, 0.7, [], "")),
    ]
    return cases


def _audio_cases() -> list[Case]:
    cases: list[Case] = []
    for ep in ("/wav2vec2", "/whisper"):
        # The tabs' other inputs: wav2vec2 (checkpoint); whisper (task, language, words, ckpt).
        extra = ("",) if ep == "/wav2vec2" else ("transcribe", "", False, "")
        cases += [
            (f"{ep} no audio", ep, lambda t, e=extra: (None, *e)),
            (
                f"{ep} corrupt .wav",
                ep,
                lambda t, e=extra: (_bytes(t, "c.wav", b"RIFF\x00\x00\x00\x00WAVEjunk"), *e),
            ),
            (
                f"{ep} text renamed .mp3",
                ep,
                lambda t, e=extra: (_bytes(t, "n.mp3", b"not audio " * 50), *e),
            ),
            (f"{ep} 8 kHz", ep, lambda t, e=extra: (_wav(t, "8k.wav", _tone(8000, 1.0), 8000), *e)),
            (
                f"{ep} 48 kHz stereo",
                ep,
                lambda t, e=extra: (_wav(t, "48k.wav", _tone(48000, 1.0, 2), 48000), *e),
            ),
            (
                f"{ep} int16",
                ep,
                lambda t, e=extra: (_wav(t, "i16.wav", _tone(16000, 1.0), 16000, "PCM_16"), *e),
            ),
            (
                f"{ep} float64",
                ep,
                lambda t, e=extra: (_wav(t, "f64.wav", _tone(16000, 1.0), 16000, "DOUBLE"), *e),
            ),
            (
                f"{ep} NaN-filled",
                ep,
                lambda t, e=extra: (_wav(t, "nan.wav", np.full(16000, np.nan), 16000, "FLOAT"), *e),
            ),
            (f"{ep} silent", ep, lambda t, e=extra: (_wav(t, "s.wav", np.zeros(16000), 16000), *e)),
            (
                f"{ep} one sample",
                ep,
                lambda t, e=extra: (_wav(t, "one.wav", np.array([0.2]), 16000), *e),
            ),
            (
                f"{ep} over-long (11 min)",
                ep,
                lambda t, e=extra: (
                    _wav(t, "long.wav", np.zeros(16000 * 660, np.int16) + 300, 16000, "PCM_16"),
                    *e,
                ),
            ),
        ]
    return cases


CASES: list[Case] = _text_cases() + _image_cases() + _audio_cases()
NORMAL = ("/bert", ("the capital of france is [MASK].", 3, ""))


def outcome(client, endpoint: str, args: tuple) -> tuple[bool, str]:
    """(answered, what came back): a result's first part, or the error's message."""
    try:
        result = client.predict(*args, api_name=endpoint)
    except Exception as exc:
        return False, str(exc)
    first = result[0] if isinstance(result, (list, tuple)) else result
    return True, str(first)[:160]


@pytest.mark.parametrize(("name", "endpoint", "make"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_result_or_a_clear_message(
    gallery_client, tiny_env, tmp_path, name, endpoint, make
):
    answered, text = outcome(gallery_client, endpoint, make(tmp_path))
    if not answered:
        assert text.strip(), "an empty error message"
        assert not any(marker in text for marker in UNHELPFUL), text
    label, *_ = gallery_client.predict(*NORMAL[1], api_name=NORMAL[0])
    assert len(label["confidences"]) == 3  # the server still serves


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


if __name__ == "__main__":  # print the table of what each case returned
    import os
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gradio_client import Client

    import app
    from demos.core import registry
    from tests.tiny import BUILDERS, EXTRA_ENV

    tmp = Path(tempfile.mkdtemp())
    for key in registry.REGISTRY:
        os.environ[f"GALLERY_{key.upper()}_MODEL"] = str(BUILDERS[key](tmp))
        if key in EXTRA_ENV:
            name, path = EXTRA_ENV[key](tmp)
            os.environ[name] = str(path)
    app.demo.queue().launch(prevent_thread_lock=True, quiet=True)
    client = Client(app.demo.local_url, verbose=False)
    for name, endpoint, make in CASES:
        answered, text = outcome(client, endpoint, make(tmp))
        print(
            f"| {name} | {'result' if answered else 'message'} | {text[:150]} |".replace("\n", " ")
        )
    app.demo.close()
