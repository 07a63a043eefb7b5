"""Run `python app.py` in its own process, as a user would, for tests that need a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(env: dict[str, str], log: Path, *args: str) -> Iterator[Server]:
    """Start app.py with `env` added to ours; yield once `/` answers; stop it afterwards."""
    port = free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **env}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port), *args],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"app.py did not start:\n{log.read_text()[-3000:]}") from exc
                time.sleep(0.5)
        yield Server(url=url, log=log, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def tiny_server_env(
    tiny_checkpoints: dict[str, Path], tiny_extra_env: dict[str, Path], hf_home: Path
) -> dict[str, str]:
    """Every demo on its tiny model, an empty hub cache, CPU."""
    env = {"HF_HOME": str(hf_home), "GALLERY_DEVICE": "cpu"}
    env.update({f"GALLERY_{k.upper()}_MODEL": str(p) for k, p in tiny_checkpoints.items()})
    env.update({name: str(path) for name, path in tiny_extra_env.items()})
    return env
