"""GPT-4 tab: a chat that also reads images, through OpenAI's API or an open stand-in.

Model: GPT-4 (OpenAI 2023, "GPT-4 Technical Report", arXiv:2303.08774); its weights are not
published, so it runs only behind OpenAI's API (proprietary terms of use). With OPENAI_API_KEY set
the tab streams Chat Completions from `OPENAI_MODEL` (default gpt-4.1-mini;
`demos.language.gpt.api`). Without a key, open models answer on this machine
(`demos.language.gpt.local`): the registry's default checkpoint `Qwen/Qwen2.5-0.5B-Instruct`
(Apache-2.0) for text, `HuggingFaceTB/SmolVLM-256M-Instruct` (Apache-2.0) once the chat holds an
image. A banner always says which backend is answering.

The chat streams; `/gpt` answers one question (text, optional image) with no history.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput
from demos.core.pipeline import Result, ui_only
from demos.core.registry import Checkpoint
from demos.language.gpt import api as gpt_api
from demos.language.gpt import chat as gpt_chat
from demos.language.gpt import local as gpt_local
from demos.language.gpt.chat import Chat, Turn
from demos.media import assets, images

SPEC = registry.get("gpt")
VISION_SPEC = gpt_local.VISION_SPEC
EXAMPLES = [
    "Explain in three sentences why the sky is blue.",
    "Write a haiku about a cup of coffee.",
    "What is the difference between a list and a tuple in Python?",
]
IMAGE_PROMPT = "What is in this picture? Describe it in two sentences."


# classes


@dataclasses.dataclass(kw_only=True)
class ChatResult(Result):
    """The answer (so far, while it streams) and which backend gave it."""

    text: str
    backend: str  # e.g. "OpenAI API: gpt-4.1-mini", or the local stand-in that answered
    final: bool = ui_only(True)  # False while the answer streams: the run info is still filling
    counts: dict[str, int] = dataclasses.field(
        default_factory=dict, metadata={"api": False}
    )  # prompt and answer tokens (local), once the answer is complete

    def details(self) -> dict[str, Any]:
        """Run info as shown and returned by the API, with the backend that answered."""
        out: dict[str, Any] = {"backend": self.backend, **self.info.as_dict()}
        seconds = self.info.speed_ms.get("inference", 0.0) / 1000.0
        if self.counts.get("new_tokens") and seconds > 0:
            out["tokens_per_s"] = round(self.counts["new_tokens"] / seconds, 1)
        return out | self.counts


# helpers


def banner(checkpoint: str | None = None, vision_checkpoint: str | None = None) -> str:
    """Which backend and model answer (read from the environment each time)."""
    cfg = gpt_api.config()
    if cfg is not None:
        return (
            f"**Answering: {cfg.describe()}** (from OPENAI_API_KEY; the checkpoint menus apply "
            f"only to the local stand-ins)."
        )
    text = gpt_local.describe(SPEC.checkpoint(checkpoint).id)
    vision = gpt_local.short_name(VISION_SPEC.checkpoint(vision_checkpoint).id)
    note = ""
    if os.environ.get("OPENAI_BASE_URL", "").strip():
        note = (
            " OPENAI_BASE_URL is set but is not used without OPENAI_API_KEY; servers that need "
            "no key accept any value (e.g. OPENAI_API_KEY=ollama)."
        )
    return (
        f"**Answering: {text}; images go to {vision}.** Set OPENAI_API_KEY to ask GPT-4 itself."
        f"{note}"
    )


def stream_reply(
    chat: Chat,
    checkpoint: str | None = None,
    vision_checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> Iterator[ChatResult]:
    """The answer as it grows; the last one is `final`, its run info and counts complete."""
    cfg = gpt_api.config()
    counts: dict[str, int] = {}
    if cfg is not None:
        info = gpt_api.run_info(cfg)
        pieces = gpt_api.stream(chat, cfg, info.speed_ms)
        backend, secret = cfg.describe(), cfg.key
    else:
        pieces, info = gpt_local.stream(chat, checkpoint, vision_checkpoint, progress, counts)
        backend, secret = gpt_local.describe(info.checkpoint), ""
    text = ""
    for piece in pieces:
        text += piece
        # A server that echoed the key would show it to everyone in the room: blank it out.
        yield ChatResult(text=gpt_api.shown(text, secret), backend=backend, final=False, info=info)
    with runtime.timed(info.speed_ms, "postprocess"):
        answer = gpt_api.scrub(text, secret, key_shaped=False).strip()
    yield ChatResult(text=answer, backend=backend, counts=counts, info=info)


def ask_chat(
    message: str,
    image: Any,
    system: str | None,
    temperature: float,
    max_new_tokens: int,
    history: Sequence[Turn] = (),
) -> Chat:
    """A checked chat whose last turn is `message` with `image` (any mode) attached."""
    attached = (images.to_rgb(image),) if image is not None else ()
    return gpt_chat.make_chat(
        [*history, Turn("user", message or "", attached)],
        system=system,
        temperature=temperature,
        max_new_tokens=int(max_new_tokens),
    )


def predict(
    message: str,
    image: Any = None,
    system: str | None = None,
    temperature: float = gpt_chat.DEFAULT_TEMPERATURE,
    max_new_tokens: int = gpt_chat.DEFAULT_MAX_NEW_TOKENS,
    checkpoint: str | None = None,
    vision_checkpoint: str | None = None,
    history: Sequence[Turn] = (),
    progress: runtime.Progress | None = None,
) -> ChatResult:
    """Answer `message` (with an optional image) after `history`, in one call."""
    chat = ask_chat(message, image, system, temperature, max_new_tokens, history)
    return collections.deque(stream_reply(chat, checkpoint, vision_checkpoint, progress), 1)[0]


def download(checkpoint: Checkpoint) -> str:
    """`python -m demos.core.download gpt`: this text model and the image model, from the hub."""
    from demos.core.download import hub_download

    fetched = []
    for ckpt in (checkpoint, VISION_SPEC.checkpoint()):
        local = Path(ckpt.id).expanduser().exists()
        fetched.append(f"{ckpt.id} (local)" if local else hub_download(ckpt))
    return " + ".join(fetched)


# the tab


def add_message(message: dict[str, Any] | None, history: list[dict[str, Any]]):
    """Put the user's message (text, images) into the chat and lock the box while it answers."""
    message = message or {}
    text = str(message.get("text") or "").strip()
    files = [str(f) for f in message.get("files") or []]
    try:
        if not text and not files:
            raise BadInput("Type a message (or attach an image) to ask something.")
        for path in files:
            images.to_rgb(path)  # refuse a file that is not a readable image before it is shown
    except BadInput as exc:
        raise gr.Error(str(exc), title=SPEC.title, print_exception=False) from None
    content: list[Any] = [{"path": path} for path in files] + ([text] if text else [])
    locked = gr.MultimodalTextbox(value=None, interactive=False)
    return [*history, {"role": "user", "content": content}], locked


def _unlock() -> gr.MultimodalTextbox:
    return gr.MultimodalTextbox(interactive=True)


@ui.guarded(SPEC)
def respond(
    history: list[dict[str, Any]],
    system: str,
    temperature: float,
    max_tokens: float,
    checkpoint: str,
    vision_checkpoint: str,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
):
    """The chat's handler: answer the last user message, streaming (chat, run info)."""
    chat = gpt_chat.make_chat(
        gpt_chat.turns_from_history(history),
        system=system,
        temperature=temperature,
        max_new_tokens=int(max_tokens),
    )
    for reply in stream_reply(chat, checkpoint, vision_checkpoint, ui.reporter(progress)):
        shown = [*history, {"role": "assistant", "content": reply.text}]
        yield shown, (reply.details() if reply.final else gr.skip())


@ui.guarded(SPEC)
def ask(
    message: str,
    image: Image.Image | None,
    system: str,
    temperature: float,
    max_tokens: float,
    checkpoint: str,
    vision_checkpoint: str,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
):
    """The /gpt endpoint: one question, an optional image, no history; streams (answer, info)."""
    chat = ask_chat(message, image, system, temperature, int(max_tokens))
    for reply in stream_reply(chat, checkpoint, vision_checkpoint, ui.reporter(progress)):
        yield reply.text, (reply.details() if reply.final else gr.skip())


def _settings() -> list[Any]:
    """The answer's settings and the local models: [system, temperature, max tokens, models]."""
    system = gr.Textbox(label="System prompt", value=gpt_chat.DEFAULT_SYSTEM, lines=3)
    temperature = gr.Slider(
        0,
        gpt_chat.MAX_TEMPERATURE,
        value=gpt_chat.DEFAULT_TEMPERATURE,
        step=0.05,
        label="Temperature",
        info="0: always the likeliest next word; higher: more varied",
    )
    max_tokens = gr.Slider(
        1,
        gpt_chat.MAX_NEW_TOKENS,
        value=gpt_chat.DEFAULT_MAX_NEW_TOKENS,
        step=1,
        label="Maximum length (new tokens)",
    )
    checkpoint = ui.checkpoint_picker(SPEC)
    checkpoint.label = "Local text model (without OPENAI_API_KEY)"
    vision_checkpoint = ui.checkpoint_picker(VISION_SPEC)
    vision_checkpoint.label = "Local image model (without OPENAI_API_KEY)"
    return [system, temperature, max_tokens, checkpoint, vision_checkpoint]


def _ask_panel(settings: list[Any], info: gr.JSON, pictures: list[str]) -> None:
    """One question with an optional image and no history: the /gpt endpoint."""
    with gr.Accordion("One question, no history (what the /gpt endpoint does)", open=False):
        with gr.Row():
            question = gr.Textbox(label="Question", value=IMAGE_PROMPT, lines=2, scale=3)
            image = ui.ImageInput(
                type="pil", image_mode=None, label="Image (optional)", height=200, scale=2
            )
        button = gr.Button("Ask", variant="primary")
        answer = gr.Textbox(label="Answer", lines=6)
        if pictures:
            gr.Examples([[IMAGE_PROMPT, p] for p in pictures], inputs=[question, image])
    button.click(ask, [question, image, *settings], [answer, info], api_name=SPEC.key)


def build_tab() -> gr.Chatbot:
    pictures = assets.images()
    ui.model_card(SPEC)
    shown = gr.Markdown(banner())
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Chat",
                height=460,
                placeholder="Ask anything, or attach an image: a photo, a chart, a screenshot.",
            )
            box = gr.MultimodalTextbox(
                file_types=["image"],
                file_count="multiple",
                sources=["upload"],
                placeholder="Message (attach images with the clip)…",
                show_label=False,
            )
            with gr.Row():
                stop = gr.Button("Stop", variant="secondary")
                gr.ClearButton([box, chatbot], value="New chat")
            chat_examples = [{"text": e, "files": []} for e in EXAMPLES]
            chat_examples += [{"text": IMAGE_PROMPT, "files": [p]} for p in pictures[:2]]
            gr.Examples([[e] for e in chat_examples], inputs=[box], label="Try")
        with gr.Column(scale=2):
            settings = _settings()
            info = ui.run_info()

    added = box.submit(
        add_message, [box, chatbot], [chatbot, box], queue=False, api_visibility="private"
    )
    answering = added.success(
        respond, [chatbot, *settings], [chatbot, info], api_visibility="private"
    )
    answering.then(_unlock, None, box, api_visibility="private")
    stop.click(_unlock, None, box, cancels=[answering], api_visibility="private")
    _ask_panel(settings, info, pictures)  # below the chat; its event registered after the chat's
    models = settings[-2:]  # the local text and image checkpoints
    # No triggers: on every page load (the environment may have changed) and on each pick.
    gr.on(None, banner, models, shown, api_visibility="private")
    return chatbot
