"""A real HTTP server on localhost that speaks OpenAI's Chat Completions protocol, for the tests.

It records each request (path, headers, JSON body) and answers as the test scripted it: a stream
of server-sent events (`data: {chunk}` lines, then `data: [DONE]`), an error status with an
OpenAI-style JSON body, or silence for longer than the client waits. Error bodies echo the bearer
token back, as careless servers do, so the tests can check the gallery never passes it on.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
}


@dataclass
class Script:
    """What the server does with the next requests."""

    pieces: list[str] = field(default_factory=lambda: ["Hel", "lo", " from", " the", " API."])
    status: int = 200
    delay_s: float = 0.0  # before the response headers (a server that is thinking, or hung)
    piece_delay_s: float = 0.0  # between streamed pieces


@dataclass
class Seen:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]


class FakeOpenAI:
    """`with FakeOpenAI() as server:` → `server.url` is an OpenAI-compatible base URL."""

    def __init__(self) -> None:
        self.script = Script()
        self.requests: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append(Seen(self.path, headers, body))
                script = fake.script
                time.sleep(script.delay_s)
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                if script.status != 200:
                    return self._error(script.status, body.get("model"), token)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i, piece in enumerate(script.pieces):
                    delta = {"content": piece} | ({"role": "assistant"} if i == 0 else {})
                    self._event(body, delta, None)
                    time.sleep(script.piece_delay_s)
                self._event(body, {}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, body: dict, delta: dict, finish: str | None) -> None:
                chunk = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": body.get("model", "?"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def _error(self, status: int, model: str | None, token: str) -> None:
                messages = {
                    401: f"Incorrect API key provided: {token}.",
                    404: f"The model `{model}` does not exist (key {token}).",
                    429: f"Rate limit reached for {model} (key {token}). Try again in 20s.",
                }
                message = messages.get(status, f"The server had an error (key {token}).")
                error = {"message": message, "type": ERROR_TYPES.get(status, "server_error")}
                self._json(status, {"error": error}, retry_after_ms="1")

            def _json(self, status: int, payload: dict, retry_after_ms: str = "") -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if retry_after_ms:  # the client retries 429 and 5xx once: at once, not in 0.5 s
                    self.send_header("retry-after-ms", retry_after_ms)
                self.end_headers()
                self.wfile.write(data)

        return Handler
