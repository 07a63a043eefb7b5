"""Every endpoint that takes a file, live streams included, answers an unreadable upload with a
readable message, before or inside the handler: never Gradio's "upstream app raised an exception".

The endpoints are read from the running app's API description, so a new one is covered the moment
it exists. Gradio decodes some uploads before the handler runs (images, streamed audio chunks,
videos); `demos.core.ui`'s input components turn those failures into messages too.
"""

from __future__ import annotations

import numpy as np
import soundfile as sf
from gradio_client import handle_file

UNHELPFUL = ("upstream Gradio app", "Traceback", "unexpected", 'File "')
FILE_COMPONENTS = {"Audio", "Audioinput", "Image", "Imageinput", "Video", "Videoinput"}


def _file_endpoints(client) -> list[tuple[str, str, str]]:
    """(endpoint, file parameter, component) for every endpoint that takes a file."""
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    return [
        (name, p["parameter_name"], p["component"])
        for name, endpoint in api.items()
        for p in endpoint["parameters"]
        if p["component"] in FILE_COMPONENTS
    ]


def _bad_files(tmp_path) -> dict[str, str]:
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)))
    (tmp_path / "notes.mp3").write_text("a text file renamed .mp3")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "notes.mp4").write_text("a text file renamed .mp4")
    return {name: str(tmp_path / name) for name in ("corrupt.wav", "notes.mp3")} | {
        "broken.png": str(tmp_path / "broken.png"),
        "notes.mp4": str(tmp_path / "notes.mp4"),
    }


def _ask(client, endpoint: str, parameter: str, value) -> str:
    """The endpoint's answer to `value` as text: its message if it refused, else 'result'."""
    try:
        client.predict(api_name=endpoint, **{parameter: value})
    except Exception as exc:  # gradio_client raises AppError carrying the gr.Error's message
        return str(exc)
    return "result"


def test_unreadable_uploads_get_a_message_on_every_file_endpoint(
    gallery_client, tiny_env, tmp_path
):
    endpoints = _file_endpoints(gallery_client)
    assert {"/deepspeech_stream", "/yolo_video", "/yolo_stream", "/whisper"} <= {
        e for e, _, _ in endpoints
    }
    files = _bad_files(tmp_path)
    seen: list[tuple[str, str, str]] = []  # (endpoint, file, answer), read when debugging
    for endpoint, parameter, component in endpoints:
        kind = component.removesuffix("input").lower()
        names = {"audio": ["corrupt.wav", "notes.mp3"], "image": ["broken.png"]}.get(
            kind, ["notes.mp4", "corrupt.wav"]
        )
        for name in names:
            answer = _ask(gallery_client, endpoint, parameter, handle_file(files[name]))
            seen.append((endpoint, name, answer))
            assert answer != "result", f"{endpoint} took {name} as if it were fine"
            assert not any(u in answer for u in UNHELPFUL), f"{endpoint} / {name}: {answer}"
            assert str(tmp_path) not in answer, "no server paths in messages"


def test_a_flac_chunk_streams_without_ffmpeg(gallery_client, tiny_env, tmp_path, monkeypatch):
    """Gradio decodes streamed chunks with ffmpeg; without it, soundfile reads FLAC instead."""
    import pydub

    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg, no ffprobe
    monkeypatch.setattr(pydub.AudioSegment, "converter", str(tmp_path / "ffmpeg"))
    t = np.arange(16_000) / 16_000
    sf.write(tmp_path / "tone.flac", 0.3 * np.sin(2 * np.pi * 440 * t), 16_000)
    answer = _ask(
        gallery_client, "/deepspeech_stream", "chunk", handle_file(str(tmp_path / "tone.flac"))
    )
    assert answer == "result", answer
