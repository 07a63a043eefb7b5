"""Start-up: `python app.py` until its first HTTP 200, against the bare imports it needs.

The two are timed alternately in the same run (median of `runs` each), so a busy machine slows
both: the ratio is what a user feels as the gallery's own cost on top of its libraries.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

BARE_IMPORTS = "import gradio, torch, transformers, ultralytics"
POLL_S = 0.05  # between HTTP probes while the app starts
TIMEOUT_S = 300.0  # a start-up that takes this long is reported as failed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_start_s(python: str, root: Path, env: dict[str, str]) -> float:
    """Seconds from launching `python app.py` to the first 200 on its front page."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [python, "app.py", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while time.perf_counter() - start < TIMEOUT_S:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
                raise RuntimeError(f"app.py exited with {proc.returncode} before serving: {err}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(POLL_S)
        raise RuntimeError(f"app.py did not answer on {url} within {TIMEOUT_S:.0f} s")
    finally:
        proc.terminate()  # the app we started, by its own handle
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def imports_s(python: str, root: Path, env: dict[str, str]) -> float:
    """Seconds for a fresh interpreter to import the libraries the app is built on."""
    start = time.perf_counter()
    subprocess.run([python, "-c", BARE_IMPORTS], cwd=root, env=env, check=True)
    return time.perf_counter() - start


def measure(python: str, root: Path, env: dict[str, str], runs: int = 3) -> dict[str, object]:
    app, bare = [], []
    for _ in range(runs):
        bare.append(imports_s(python, root, env))
        app.append(app_start_s(python, root, env))
    app_median, bare_median = statistics.median(app), statistics.median(bare)
    return {
        "runs": runs,
        "app_s": [round(x, 2) for x in app],
        "imports_s": [round(x, 2) for x in bare],
        "app_median_s": round(app_median, 2),
        "imports_median_s": round(bare_median, 2),
        "ratio": round(app_median / bare_median, 3),
        "bare_imports": BARE_IMPORTS,
    }
