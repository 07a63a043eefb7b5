"""Example media shipped in `assets/` (sources and licences in assets/README.md)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")


def _files(suffixes: tuple[str, ...]) -> list[str]:
    if not ASSETS.is_dir():
        return []
    return sorted(str(p) for p in ASSETS.iterdir() if p.suffix.lower() in suffixes)


def images() -> list[str]:
    return _files(IMAGE_SUFFIXES)


def audio(language: str | None = None) -> list[str]:
    """Speech clips; with `language` ("en"), only those named speech-<language>-*."""
    files = _files(AUDIO_SUFFIXES)
    if language:
        files = [f for f in files if Path(f).name.startswith(f"speech-{language}-")]
    return files
