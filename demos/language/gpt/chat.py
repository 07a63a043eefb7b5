"""The conversation both GPT-4 tab backends read: turns, settings, and the Chatbot's history.

The OpenAI backend (`demos.language.gpt.api`) and the local stand-in (`demos.language.gpt.local`)
take the same `Chat`: a system prompt, the sampling settings and the turns so far, images as RGB
`PIL.Image`s (already normalised by `demos.media.images.to_rgb`). Checking the input here, once,
means both backends refuse the same things with the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

from demos.core.errors import BadInput
from demos.media import images

DEFAULT_SYSTEM = "You are a helpful assistant. Answer clearly and concisely."
DEFAULT_TEMPERATURE = 0.7  # OpenAI's playground default: varied but on topic
MAX_TEMPERATURE = 2.0  # the Chat Completions API accepts 0-2
DEFAULT_MAX_NEW_TOKENS = 512  # a few paragraphs; about 20 s for the 0.5B stand-in on a laptop CPU
MAX_NEW_TOKENS = 4096  # the slider's top; the local models are also capped by their context
MAX_CHARS = 32_000  # per message (about 8k tokens); longer text is refused before tokenising
MAX_IMAGES = 5  # per conversation: each costs up to ~1,100 tokens locally, more upload via API

Role = Literal["user", "assistant"]


# classes


@dataclass(frozen=True)
class Turn:
    """One message: who said it, the text, and (user turns) the images attached to it."""

    role: Role
    text: str
    images: tuple[Image.Image, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Chat:
    """What a backend answers: the system prompt, sampling settings and the turns so far."""

    turns: tuple[Turn, ...]
    system: str = DEFAULT_SYSTEM
    temperature: float = DEFAULT_TEMPERATURE  # 0 picks the likeliest token every time
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS

    @property
    def images(self) -> list[Image.Image]:
        """Every image in the conversation, oldest first."""
        return [img for turn in self.turns for img in turn.images]

    def without_oldest(self, n: int) -> Chat:
        """The same chat less its `n` oldest turns (to fit a model's context)."""
        kept = self.turns[n:]
        while kept and kept[0].role != "user":  # a chat must open with a user turn
            kept = kept[1:]
        return Chat(
            turns=kept,
            system=self.system,
            temperature=self.temperature,
            max_new_tokens=self.max_new_tokens,
        )


# helpers


def merge(turns: Iterable[Turn]) -> list[Turn]:
    """Join consecutive turns of one role (a question left unanswered after an error)."""
    out: list[Turn] = []
    for turn in turns:
        if out and out[-1].role == turn.role:
            last = out[-1]
            text = "\n\n".join(t for t in (last.text, turn.text) if t)
            out[-1] = Turn(last.role, text, last.images + turn.images)
        else:
            out.append(turn)
    return out


def make_chat(
    turns: Sequence[Turn],
    *,
    system: str | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
) -> Chat:
    """Check a conversation that ends with the user's new message; BadInput says what is wrong."""
    turns = merge(t for t in turns if t.text.strip() or t.images)
    if not turns or turns[-1].role != "user":
        raise BadInput("Type a message (or attach an image) to ask something.")
    for turn in turns:
        if len(turn.text) > MAX_CHARS:
            raise BadInput(
                f"A message is {len(turn.text):,} characters long; keep each under {MAX_CHARS:,}."
            )
    n_images = sum(len(t.images) for t in turns)
    if n_images > MAX_IMAGES:
        raise BadInput(
            f"This conversation has {n_images} images; at most {MAX_IMAGES} fit. "
            f"Clear the chat to start a new one."
        )
    if not 0.0 <= float(temperature) <= MAX_TEMPERATURE:
        raise BadInput(f"Temperature must be between 0 and {MAX_TEMPERATURE:g}.")
    if not 1 <= int(max_new_tokens) <= MAX_NEW_TOKENS:
        raise BadInput(f"Maximum length must be between 1 and {MAX_NEW_TOKENS} tokens.")
    if system is not None and len(system) > MAX_CHARS:
        raise BadInput(f"The system prompt is too long; keep it under {MAX_CHARS:,} characters.")
    return Chat(
        turns=tuple(turns),
        system=DEFAULT_SYSTEM if system is None else system.strip(),
        temperature=float(temperature),
        max_new_tokens=int(max_new_tokens),
    )


def _file_path(part: dict[str, Any]) -> str | None:
    file = part.get("file", part)
    return file.get("path") if isinstance(file, dict) else None


def turns_from_history(history: Sequence[dict[str, Any]] | None) -> list[Turn]:
    """`gr.Chatbot` messages (text parts and image files) as turns, images read as RGB."""
    turns: list[Turn] = []
    for message in history or []:
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue  # Chatbot "system" notes are shown to the user, not sent to the model
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        texts: list[str] = []
        pictures: list[Image.Image] = []
        for part in parts:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text" and "text" in part:
                texts.append(str(part["text"]))
            elif role == "user" and isinstance(part, dict) and (path := _file_path(part)):
                pictures.append(images.to_rgb(path))
        turns.append(Turn(role, "\n".join(texts).strip(), tuple(pictures)))
    return turns
