"""The README's promises: its API example runs as written, against the gallery on tiny models."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.serve import app_server, tiny_server_env

pytestmark = pytest.mark.slow


def _api_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_api_example_runs(tiny_checkpoints, tiny_extra_env, tmp_path):
    code = _api_example()
    assert 'Client("http://127.0.0.1:7860/")' in code
    env = tiny_server_env(tiny_checkpoints, tiny_extra_env, tmp_path / "hf-home")
    with app_server(env, tmp_path / "server.log") as server:
        script = code.replace("http://127.0.0.1:7860/", server.url) + "\nprint('EXAMPLE OK')\n"
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600
        )
    assert "EXAMPLE OK" in out.stdout, out.stderr[-3000:]
