"""Security: file routes serve nothing outside the app's own files; uploads are capped;
no calls home; no network at start."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import ROOT

SECRET_FILE = "/etc/passwd"


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize(
    "path",
    [
        SECRET_FILE,
        "../../../../../../etc/passwd",
        "/work/main/../../etc/passwd",
        str(ROOT / "app.py"),  # our own source is not a served file either
        str(ROOT / "requirements.txt"),
    ],
)
def test_file_routes_refuse_paths_outside_the_app(gallery_client, path):
    base = gallery_client.src.rstrip("/")
    for route in ("/gradio_api/file=", "/file="):
        status, body = _get(base + route + urllib.parse.quote(path))
        assert status in (403, 404, 400), (route, path, status)
        assert b"root:" not in body


def test_a_symlink_to_a_secret_is_not_served(gallery_client, tmp_path):
    link = tmp_path / "innocent.png"
    link.symlink_to(SECRET_FILE)
    status, body = _get(gallery_client.src.rstrip("/") + "/gradio_api/file=" + str(link))
    assert status in (403, 404, 400) and b"root:" not in body


def test_uploads_are_capped(monkeypatch):
    import app

    assert app.launch_options("127.0.0.1", 7860)["max_file_size"] == "200mb"
    monkeypatch.setenv("GALLERY_MAX_FILE_SIZE", "5mb")
    assert app.launch_options("127.0.0.1", 7860)["max_file_size"] == "5mb"


def test_an_oversized_upload_is_refused_by_a_running_server(tmp_path):
    """A real server started with a 1 KB cap refuses a 20 KB upload before any handler runs."""
    probe = (
        "import os, app\n"
        "opts = app.launch_options('127.0.0.1', 0)\n"
        "opts.pop('server_port')\n"
        "app.demo.queue().launch(prevent_thread_lock=True, quiet=True, **opts)\n"
        "import urllib.request\n"
        "boundary = 'x' * 16\n"
        'body = (f\'--{boundary}\\r\\nContent-Disposition: form-data; name="files"; '
        "filename=\"big.png\"\\r\\nContent-Type: image/png\\r\\n\\r\\n').encode() + b'0' * 20000 "
        "+ f'\\r\\n--{boundary}--\\r\\n'.encode()\n"
        "req = urllib.request.Request(app.demo.local_url + 'gradio_api/upload', data=body, "
        "headers={'Content-Type': f'multipart/form-data; boundary={boundary}'})\n"
        "try:\n"
        "    urllib.request.urlopen(req); print('ACCEPTED')\n"
        "except urllib.error.HTTPError as e:\n"
        "    print('REFUSED', e.code)\n"
        "app.demo.close()\n"
    )
    env = {**os.environ, "GALLERY_MAX_FILE_SIZE": "1kb"}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "REFUSED 413" in out.stdout, out.stdout + out.stderr[-2000:]


def test_no_outbound_connection_at_start_with_the_network_blocked(tmp_path):
    """Start the server with every non-loopback connection refused and recorded."""
    probe = (
        "import socket\n"
        "attempts = []\n"
        "real_connect = socket.socket.connect\n"
        "def guarded(self, address):\n"
        "    host = address[0] if isinstance(address, tuple) else str(address)\n"
        "    if host not in ('127.0.0.1', '::1', 'localhost'):\n"
        "        attempts.append(host); raise OSError('network blocked by the test')\n"
        "    return real_connect(self, address)\n"
        "socket.socket.connect = guarded\n"
        "import app, urllib.request\n"
        "app.demo.queue().launch(prevent_thread_lock=True, quiet=True)\n"
        "urllib.request.urlopen(app.demo.local_url).read()\n"
        "app.demo.close()\n"
        "print('attempts', attempts)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "attempts []" in out.stdout, out.stdout + out.stderr[-2000:]


def test_analytics_are_off_by_default():
    probe = "import os, app; print(os.environ['GRADIO_ANALYTICS_ENABLED'])"
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip().endswith("False")


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl program")
def test_https_for_a_classroom_lan(tmp_path):
    """`--ssl-certfile/--ssl-keyfile` serve HTTPS (browsers need it for microphone and webcam)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "app.py",
            "--port",
            str(port),
            "--ssl-certfile",
            str(cert),
            "--ssl-keyfile",
            str(key),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed, as in the README's recipe
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{port}/", context=context, timeout=5
                ) as page:
                    assert page.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, "no HTTPS answer"
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
