"""The GPT-4 tab's local backend: small open chat models standing in when there is no API key.

Text turns go to Qwen2.5-0.5B-Instruct (Qwen Team 2024, "Qwen2.5 Technical Report",
arXiv:2412.15115; Apache-2.0); a conversation with an image goes to SmolVLM-256M-Instruct
(Marafioti et al. 2025, "SmolVLM: Redefining small and efficient multimodal models",
arXiv:2504.05299; Apache-2.0), an Idefics3 model. `GALLERY_GPT_MODEL` and
`GALLERY_GPT_VISION_MODEL` point either at another checkpoint or a local folder.

Answers stream through `Pipeline.stream`: `generate` runs in a worker thread that holds the
model's lock for the whole generation and feeds a `TextIteratorStreamer`; `forward_steps` reads
text from it, one piece per step. When the reader goes away (the user stopped the answer), a
stopping criterion ends the generation early; an error in the worker reaches the reader.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import torch

from demos.core import registry, runtime
from demos.core.errors import BadInput
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint, DemoSpec
from demos.language.gpt.chat import Chat

SPEC = registry.get("gpt")
STREAM_TIMEOUT_S = 600.0  # the reader gives up if the worker thread sends nothing for this long


class _ImageModelSpec(DemoSpec):
    """The tab's image model: the same demo (cache, download) with its own variable."""

    @property
    def env_var(self) -> str:
        return "GALLERY_GPT_VISION_MODEL"


VISION_SPEC = _ImageModelSpec(
    key=SPEC.key,
    title=f"{SPEC.title} (local image model)",
    family=SPEC.family,
    module=SPEC.module,
    card=SPEC.card,
    default=Checkpoint(
        id="HuggingFaceTB/SmolVLM-256M-Instruct",
        label="local stand-in: SmolVLM 256M Instruct · 256M",
        revision="7e3e67edbbed1bf9888184d9df282b700a323964",
    ),
    choices=(
        Checkpoint(
            id="HuggingFaceTB/SmolVLM-500M-Instruct",
            label="local stand-in: SmolVLM 500M Instruct · 507M",
        ),
        Checkpoint(
            id="HuggingFaceTB/SmolVLM-Instruct", label="local stand-in: SmolVLM Instruct · 2.2B"
        ),
    ),
    half_precision=SPEC.half_precision,
)


# helpers


class _StopWhenSet:
    """A stopping criterion that ends generation once `event` is set (the reader left)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


def _hub_kwargs(checkpoint: Checkpoint) -> dict[str, Any]:
    return {"revision": checkpoint.revision} if checkpoint.revision else {}


def short_name(model_id: str) -> str:
    """`Qwen/Qwen2.5-0.5B-Instruct` → `Qwen2.5-0.5B-Instruct` (a local path → its folder)."""
    return model_id.rstrip("/").split("/")[-1]


def describe(model_id: str) -> str:
    """Which model answers, for the banner and the run info."""
    return f"Local open model {short_name(model_id)} standing in for GPT-4 (no OPENAI_API_KEY set)"


# classes


class LocalChat(Pipeline[Chat, str]):
    """A chat model and the tokenizer (or processor) that builds its prompts."""

    lock_each_step = False  # the generation thread holds the lock from first token to last
    first_step = "first_token"

    def __init__(self, *, tokenizer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokenizer = tokenizer  # decodes the answer
        config = getattr(self.model.config, "text_config", self.model.config)
        self.context = min(
            int(getattr(config, "max_position_embeddings", 2048) or 2048),
            int(getattr(tokenizer, "model_max_length", 1 << 30) or 1 << 30),
        )

    @property
    def name(self) -> str:
        return short_name(str(self.model.config.name_or_path))

    def encode(self, chat: Chat) -> dict[str, torch.Tensor]:
        """The prompt of `chat`, ending with the assistant's cue, as model inputs."""
        raise NotImplementedError

    def preprocess(self, inputs: Chat, **params: Any) -> dict[str, Any]:
        """Encode the chat, dropping its oldest turns until prompt plus answer fit the context.

        `counts` (a dict, optional) receives the prompt's and, once generated, the answer's
        token counts.
        """
        chat = inputs
        budget = self.context - min(chat.max_new_tokens, self.context // 2)
        while True:
            encoded = self.encode(chat)
            n = int(encoded["input_ids"].shape[1])
            if n <= budget:
                break
            if len(chat.turns) <= 1:
                raise BadInput(
                    f"The message is {n:,} tokens long with its images; {self.name} reads at "
                    f"most {budget:,} before its answer. Shorten it or lower the maximum length."
                )
            chat = chat.without_oldest(2)  # one question and its answer
        sampling: dict[str, Any] = {"do_sample": chat.temperature > 0}
        if chat.temperature > 0:
            sampling["temperature"] = chat.temperature
        new_tokens = min(chat.max_new_tokens, self.context - n)
        counts = params.get("counts")
        counts = {} if counts is None else counts
        counts["prompt_tokens"] = n
        return {
            "inputs": encoded,
            "generate": {"max_new_tokens": new_tokens, **sampling},
            "prompt_tokens": n,
            "counts": counts,
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        inputs = self.to_device(batch["inputs"])
        pad = self.tokenizer.pad_token_id
        pad = self.tokenizer.eos_token_id if pad is None else pad
        ids = self.model.generate(**inputs, **batch["generate"], pad_token_id=pad)
        return {"ids": ids[0, batch["prompt_tokens"] :].cpu()}

    def forward_steps(self, batch: dict[str, Any]) -> Iterator[str]:
        """The answer's text, piece by piece, from `forward` running in a worker thread."""
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=STREAM_TIMEOUT_S
        )
        stop = threading.Event()
        batch["generate"] |= {
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_StopWhenSet(stop)]),
        }
        done: dict[str, Any] = {}

        def work() -> None:
            try:
                with self._lock, torch.inference_mode():
                    done["outputs"] = self.forward(batch)
            except BaseException as exc:  # handed to the reader, which raises it
                done["error"] = exc
                streamer.end()

        worker = threading.Thread(target=work, name="gpt-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            stop.set()  # a no-op when generation is done; ends it early when the reader left
        worker.join()
        if "error" in done:
            raise done["error"]
        batch["counts"]["new_tokens"] = int(done["outputs"]["ids"].numel())

    def postprocess(self, outputs: dict[str, Any] | str, **params: Any) -> str:
        if isinstance(outputs, str):  # a piece of a stream: text already
            return outputs
        return self.tokenizer.decode(outputs["ids"], skip_special_tokens=True).strip()


class TextChat(LocalChat):
    """A causal LM with a chat template (Qwen2.5 Instruct)."""

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> TextChat:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs = _hub_kwargs(checkpoint)
        tokenizer = AutoTokenizer.from_pretrained(checkpoint.id, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(checkpoint.id, dtype=dtype, **kwargs)
        return cls(model=model.to(device), tokenizer=tokenizer, device=device, dtype=dtype)

    def encode(self, chat: Chat) -> dict[str, torch.Tensor]:
        messages = [{"role": "system", "content": chat.system}] if chat.system else []
        messages += [{"role": t.role, "content": t.text} for t in chat.turns]
        encoded = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        return dict(encoded)


class VisionChat(LocalChat):
    """An image-text-to-text model with its processor (SmolVLM, i.e. Idefics3)."""

    def __init__(self, *, processor: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer=processor.tokenizer, **kwargs)
        self.processor = processor

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> VisionChat:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        kwargs = _hub_kwargs(checkpoint)
        processor = AutoProcessor.from_pretrained(checkpoint.id, **kwargs)
        model = AutoModelForImageTextToText.from_pretrained(checkpoint.id, dtype=dtype, **kwargs)
        return cls(model=model.to(device), processor=processor, device=device, dtype=dtype)

    def encode(self, chat: Chat) -> dict[str, torch.Tensor]:
        # SmolVLM's template wants every message as a list of parts; each image part becomes
        # the processor's run of <image> tokens, filled by the vision encoder's features.
        messages: list[dict[str, Any]] = []
        if chat.system:
            messages.append({"role": "system", "content": [{"type": "text", "text": chat.system}]})
        for turn in chat.turns:
            parts: list[dict[str, Any]] = [{"type": "image"} for _ in turn.images]
            if turn.text or not parts:
                parts.append({"type": "text", "text": turn.text})
            messages.append({"role": turn.role, "content": parts})
        prompt = self.processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        pictures = chat.images
        encoded = self.processor(
            text=prompt, images=[pictures] if pictures else None, return_tensors="pt"
        )
        return dict(encoded)


# the backend


def stream(
    chat: Chat,
    checkpoint: str | None = None,
    vision_checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
    counts: dict[str, int] | None = None,
) -> tuple[Iterator[str], runtime.RunInfo]:
    """(the answer's pieces, run info): the image model when the chat has an image.

    Times (ms) fill `info.speed_ms` and token counts fill `counts` as the pieces are read.
    """
    if chat.images:
        spec, loader = VISION_SPEC, VisionChat.load
        wanted = VISION_SPEC.checkpoint(vision_checkpoint)
    else:
        spec, loader = SPEC, TextChat.load
        wanted = SPEC.checkpoint(checkpoint)
    pipe, info = runtime.load_model(spec, wanted, loader, progress)
    return pipe.stream(chat, info.speed_ms, counts=counts), info
