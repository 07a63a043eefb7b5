"""Shared test fixtures: paths, offline settings, tiny models built on the fly."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Tests never reach the network: weights come from tiny models built in temp dirs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# An empty hub cache of our own: no test can pass because real weights happen to be cached.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="gallery-hf-home-")
os.environ.pop("HF_HUB_CACHE", None)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` beside the project (real media, reference fixtures); skip when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (real media and reference fixtures live there)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random-weight checkpoints of the real architectures, one per registered demo."""
    from demos.core import registry
    from tests.tiny import BUILDERS

    root = tmp_path_factory.mktemp("tiny")
    return {key: BUILDERS[key](root) for key in registry.REGISTRY if key in BUILDERS}


@pytest.fixture(scope="session")
def tiny_extra_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Other variables the demos read, pointing at tiny models (the GPT tab's image model)."""
    from demos.core import registry
    from tests.tiny import EXTRA_ENV

    root = tmp_path_factory.mktemp("tiny-extra")
    return dict(EXTRA_ENV[key](root) for key in registry.REGISTRY if key in EXTRA_ENV)


@pytest.fixture
def tiny_env(
    tiny_checkpoints: dict[str, Path],
    tiny_extra_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Path]:
    """Point every demo's GALLERY_<KEY>_MODEL (and the like) at its tiny model."""
    for key, path in tiny_checkpoints.items():
        monkeypatch.setenv(f"GALLERY_{key.upper()}_MODEL", str(path))
    for name, path in tiny_extra_env.items():
        monkeypatch.setenv(name, str(path))
    return tiny_checkpoints


@pytest.fixture(scope="session")
def gallery_client():
    """A `gradio_client.Client` for the whole gallery, served in this process.

    Checkpoints are read from GALLERY_<KEY>_MODEL at request time, so a test points a demo at its
    tiny model with `monkeypatch.setenv` before calling the endpoint.
    """
    from gradio_client import Client

    import app
    from demos.core import display

    # The page's CSS (projector mode, run lines) is a launch setting in Gradio 6, as in app.py.
    app.demo.queue().launch(prevent_thread_lock=True, server_port=None, quiet=True, css=display.CSS)
    try:
        yield Client(app.demo.local_url, verbose=False)
    finally:
        app.demo.close()


@pytest.fixture(scope="session")
def realweights(shared_dir: Path) -> dict[str, Path]:
    """Real trained weights from `../shared/realweights/fetch.py`, made once per test session.

    Skips (with the reason) when `../shared` or the fetcher is unavailable, or made nothing.
    A name the fetcher could not make is missing from the dict: use `realweight(name)`.
    """
    import json
    import subprocess
    import sys

    fetch = shared_dir / "realweights" / "fetch.py"
    if not fetch.is_file():
        pytest.skip("../shared/realweights/fetch.py is absent")
    run = subprocess.run(
        [sys.executable, str(fetch)], capture_output=True, text=True, timeout=900, check=False
    )
    try:
        made = {name: Path(path) for name, path in json.loads(run.stdout or "{}").items()}
    except json.JSONDecodeError:
        made = {}
    if not made:
        pytest.skip(f"realweights/fetch.py made nothing: {run.stderr.strip()[-500:]}")
    made["__stderr__"] = run.stderr  # type: ignore[assignment]  # why a name is missing
    return made


@pytest.fixture(scope="session")
def realweight(realweights: dict[str, Path]):
    """`realweight("whisper-base")`: the path of one real checkpoint, or a skip saying why not."""

    def get(name: str) -> Path:
        if name not in realweights:
            pytest.skip(f"realweights could not make {name}: {realweights['__stderr__'][-300:]}")
        return realweights[name]

    return get


@pytest.fixture(scope="session")
def media(shared_dir: Path):
    """`media("jfk.wav")`: a file of ../shared/media (or realweights/files), skipping if absent."""

    def get(name: str) -> Path:
        for folder in (shared_dir / "media", shared_dir / "realweights" / "files"):
            if (folder / name).is_file():
                return folder / name
        pytest.skip(f"../shared has no {name}")

    return get
