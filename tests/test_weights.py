"""The one way weights that are not on the hub are fetched (`demos.core.weights`): cached,
checked, resumed after an interruption, refused offline. A loopback server stands in for GitHub."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from demos.core import weights

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB that a truncation or a shift would change


class RangeServer(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at any path, honouring `Range: bytes=N-`; can hang up half way once."""

    requests: ClassVar[list[str]] = []
    cut_after: ClassVar[int | None] = None  # send this many bytes, then drop the connection (once)

    def do_GET(self) -> None:
        sent_range = self.headers.get("Range")
        type(self).requests.append(sent_range or "")
        start = int(sent_range.removeprefix("bytes=").rstrip("-")) if sent_range else 0
        body = PAYLOAD[start:]
        self.send_response(206 if sent_range else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if type(self).cut_after is not None:
            body, type(self).cut_after = body[: type(self).cut_after], None
            self.wfile.write(body)
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path / "home"))
    RangeServer.requests, RangeServer.cut_after = [], None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_a_download_is_checked_cached_and_not_fetched_twice(server):
    dest = weights.cache_dir("demo") / "model.bin"
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert weights.fetch(f"{server}/model.bin", dest, sha256_hex=digest) == dest
    assert dest.read_bytes() == PAYLOAD
    weights.fetch(f"{server}/model.bin", dest, sha256_hex=digest)
    assert RangeServer.requests == [""], "a cached file with the right sha256 is not fetched again"


def test_an_interrupted_download_resumes_where_it_stopped(server):
    dest = weights.cache_dir("demo") / "model.bin"
    RangeServer.cut_after = 300_000
    with pytest.raises(Exception):  # noqa: B017 - whatever the HTTP stack calls a cut connection
        weights.fetch(f"{server}/model.bin", dest)
    assert not dest.exists(), "a partial download never takes the file's name"
    part = dest.with_name(dest.name + weights.PART_SUFFIX)
    have = part.stat().st_size
    assert 0 < have <= 300_000, "what arrived before the cut is kept"
    weights.fetch(f"{server}/model.bin", dest)
    assert RangeServer.requests == ["", f"bytes={have}-"], "only the rest is asked for"
    assert dest.read_bytes() == PAYLOAD and not part.exists()


def test_a_wrong_file_is_refused_and_nothing_is_left(server):
    dest = weights.cache_dir("demo") / "model.bin"
    with pytest.raises(OSError, match="did not give the expected file"):
        weights.fetch(f"{server}/model.bin", dest, sha256_hex="0" * 64)
    assert list(dest.parent.iterdir()) == []
    with pytest.raises(OSError, match=f"{len(PAYLOAD):,} bytes instead of 5"):
        weights.fetch(f"{server}/model.bin", dest, size=5)


def test_without_a_published_sha256_the_first_download_is_recorded_and_checked(server):
    dest = weights.cache_dir("demo") / "model.bin"
    weights.fetch(f"{server}/model.bin", dest)
    recorded = Path(f"{dest}{weights.HASH_SUFFIX}").read_text().strip()
    assert recorded == hashlib.sha256(PAYLOAD).hexdigest()
    assert weights.problem(dest) is None
    dest.write_bytes(PAYLOAD[:-1] + b"\1")  # changed on disk afterwards
    assert "recorded when it was downloaded" in weights.problem(dest)


def test_offline_means_no_download(server, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE=1"):
        weights.fetch(f"{server}/model.bin", weights.cache_dir("demo") / "model.bin")
    assert RangeServer.requests == []
