"""The GPT-4 tab's OpenAI backend: Chat Completions, streamed, used when OPENAI_API_KEY is set.

Settings come from the environment at request time: `OPENAI_API_KEY`, `OPENAI_MODEL` (default
gpt-4.1-mini) and `OPENAI_BASE_URL` for any OpenAI-compatible server (Ollama, vLLM, LM Studio).
Images travel inside the request as PNG data URLs. Every failure becomes `ApiError` with a message
that says what to do; the key is never logged, shown or returned: it is scrubbed from any server
text passed on, and exceptions are not chained (their tracebacks could carry it).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from demos.core.errors import GalleryError
from demos.core.runtime import RunInfo, timed
from demos.language.gpt.chat import Chat

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4.1-mini"
OFFICIAL_HOST = "api.openai.com"
DEFAULT_TIMEOUT_S = 60.0  # between bytes of the answer; GALLERY_GPT_TIMEOUT overrides
MAX_RETRIES = 1  # one retry of 429/5xx/connection errors (the client backs off); then say why
API_MAX_SIDE = 2048  # px; OpenAI fits "high detail" images into 2048x2048, more is wasted upload
SERVER_TEXT_CHARS = 300  # how much of a server's error message is passed on
_KEY_LIKE = re.compile(r"(sk-[A-Za-z0-9_\-*.]{4,}|Bearer\s+\S+)")  # anything shaped like a key


class ApiError(GalleryError):
    """The OpenAI-compatible server refused or failed the request; the message says why."""


# settings


@dataclass(frozen=True)
class ApiConfig:
    """Where requests go. The key never appears in repr(), logs or messages."""

    key: str = field(repr=False)
    model: str
    base_url: str | None  # None: OpenAI's own endpoint
    timeout_s: float

    @property
    def official(self) -> bool:
        return self.base_url is None or urlsplit(self.base_url).hostname == OFFICIAL_HOST

    @property
    def where(self) -> str:
        """The server, without any user:password part or query a URL might carry."""
        if self.base_url is None:
            return f"https://{OFFICIAL_HOST}/v1"
        url = urlsplit(self.base_url)
        host = url.hostname or "?"
        return f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}{url.path}".rstrip("/")

    def describe(self) -> str:
        """Which backend answers, for the banner and the run info."""
        if self.official:
            return f"OpenAI API: {self.model}"
        return f"OpenAI-compatible server {self.where}: {self.model}"


def config() -> ApiConfig | None:
    """The API settings from the environment, or None when OPENAI_API_KEY is not set."""
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    if not key:
        return None
    try:
        timeout = float(os.environ.get("GALLERY_GPT_TIMEOUT", "") or DEFAULT_TIMEOUT_S)
    except ValueError:
        timeout = DEFAULT_TIMEOUT_S
    return ApiConfig(
        key=key,
        model=os.environ.get("OPENAI_MODEL", "").strip() or DEFAULT_MODEL,
        base_url=os.environ.get("OPENAI_BASE_URL", "").strip() or None,
        timeout_s=timeout if timeout > 0 else DEFAULT_TIMEOUT_S,
    )


# helpers


def scrub(text: str, secret: str, *, key_shaped: bool = True) -> str:
    """`text` with the key blanked out, and (unless told not to) anything shaped like a key."""
    if secret:
        text = text.replace(secret, "[OPENAI_API_KEY]")
    return _KEY_LIKE.sub("[redacted]", text) if key_shaped else text


def shown(text: str, secret: str) -> str:
    """What of a growing answer may be shown: the key blanked out, and a tail that could be the
    start of the key held back until the next piece settles it."""
    if not secret:
        return text
    text = text.replace(secret, "[OPENAI_API_KEY]")
    for n in range(min(len(secret) - 1, len(text)), 0, -1):
        if text.endswith(secret[:n]):
            return text[:-n]
    return text


def image_data_url(image: Image.Image) -> str:
    """An RGB image as a PNG data URL, shrunk to API_MAX_SIDE px on its longest side."""
    if max(image.size) > API_MAX_SIDE:
        image = image.copy()
        image.thumbnail((API_MAX_SIDE, API_MAX_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # lossless: text in screenshots stays readable
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def messages(chat: Chat) -> list[dict[str, Any]]:
    """The Chat Completions `messages`: system prompt, history, then the new question."""
    out: list[dict[str, Any]] = []
    if chat.system:
        out.append({"role": "system", "content": chat.system})
    for turn in chat.turns:
        if not turn.images:
            out.append({"role": turn.role, "content": turn.text})
            continue
        parts: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
        parts += [
            {"type": "image_url", "image_url": {"url": image_data_url(img)}} for img in turn.images
        ]
        out.append({"role": turn.role, "content": parts})
    return out


def request(chat: Chat, cfg: ApiConfig) -> dict[str, Any]:
    """The keyword arguments of `chat.completions.create`."""
    # OpenAI's own models take `max_completion_tokens` (its reasoning models refuse `max_tokens`);
    # compatible servers (Ollama, LM Studio, older vLLM) only know `max_tokens`.
    limit = "max_completion_tokens" if cfg.official else "max_tokens"
    return {
        "model": cfg.model,
        "messages": messages(chat),
        "temperature": chat.temperature,
        limit: chat.max_new_tokens,
        "stream": True,
    }


def _server_text(exc: Exception, secret: str) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            text = str(inner["message"])
        elif isinstance(inner, str):
            text = inner
    text = scrub(" ".join(text.split()), secret)
    return text[:SERVER_TEXT_CHARS] + ("…" if len(text) > SERVER_TEXT_CHARS else "")


def explain(exc: Exception, cfg: ApiConfig) -> ApiError:
    """An error the user can act on; server text is passed on only with the key scrubbed."""
    import openai

    where, model = cfg.where, cfg.model
    fallback = "or unset OPENAI_API_KEY to use the local open model"
    if isinstance(exc, openai.AuthenticationError):
        # Nothing from the server here: some echo the rejected key back.
        return ApiError(
            f"{where} rejected the key in OPENAI_API_KEY (401 Unauthorized). Check the key "
            f"(it is never shown here), {fallback}."
        )
    status = getattr(exc, "status_code", None)
    said = _server_text(exc, cfg.key)
    if isinstance(exc, openai.PermissionDeniedError):
        return ApiError(f"The key may not use `{model}` at {where} (403 Forbidden): {said}")
    if isinstance(exc, openai.NotFoundError):
        return ApiError(
            f"Model `{model}` was not found at {where} (404 Not Found): {said}. Set OPENAI_MODEL "
            f"to a model this server offers, and check that OPENAI_BASE_URL ends in /v1."
        )
    if isinstance(exc, openai.RateLimitError):
        return ApiError(
            f"Rate limit or quota exceeded at {where} (429 Too Many Requests): {said}. Wait a "
            f"minute and try again, or check the account's usage limits."
        )
    if isinstance(exc, openai.APITimeoutError):
        return ApiError(
            f"No answer from {where} within {cfg.timeout_s:g} s (timeout). Try again, or allow "
            f"longer with GALLERY_GPT_TIMEOUT (seconds); {fallback}."
        )
    if isinstance(exc, openai.APIConnectionError):
        return ApiError(
            f"Cannot reach {where} (connection error). Check the network, OPENAI_BASE_URL and "
            f"that the server is running; {fallback}."
        )
    if isinstance(exc, openai.InternalServerError) or (status or 0) >= 500:
        return ApiError(
            f"{where} failed with a server error ({status or 'no status'}): {said}. This is on "
            f"the server's side; try again in a moment."
        )
    if status:
        return ApiError(f"{where} refused the request for `{model}` ({status}): {said}")
    return ApiError(f"The request to {where} failed ({type(exc).__name__}): {said}")


# the backend


def run_info(cfg: ApiConfig) -> RunInfo:
    return RunInfo(
        demo="gpt",
        checkpoint=cfg.model,
        device=cfg.where,
        dtype="n/a (remote)",
        load_ms=0.0,
        loaded_now=False,
    )


def stream(chat: Chat, cfg: ApiConfig, speed: dict[str, float]) -> Iterator[str]:
    """The answer's text as it arrives, piece by piece; times (ms) go into `speed`."""
    import openai

    with timed(speed, "preprocess"):
        kwargs = request(chat, cfg)
    log.info("gpt: asking %s for %s (%d messages)", cfg.where, cfg.model, len(kwargs["messages"]))
    start = time.perf_counter()
    try:
        with (
            timed(speed, "inference"),
            openai.OpenAI(
                api_key=cfg.key,
                base_url=cfg.base_url,
                timeout=cfg.timeout_s,
                max_retries=MAX_RETRIES,
            ) as client,
        ):
            for chunk in client.chat.completions.create(**kwargs):
                for choice in chunk.choices or []:
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        speed.setdefault("first_token", (time.perf_counter() - start) * 1000.0)
                        yield piece
    except Exception as exc:  # every failure, including ones raised inside the HTTP stack
        error = explain(exc, cfg)
        log.warning("gpt: request to %s failed: %s", cfg.where, error)
        raise error from None  # not chained: a traceback could carry the key
