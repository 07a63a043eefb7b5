"""Transformer-XL's two tasks as pipelines: continue a prompt; score a passage segment by segment.

Shared by the Transformer-XL tab (`demos.language.transformer_xl.tab`). One loaded model
(`TransformerXL`) serves both pipelines under one lock. The user's text is tokenised the
WikiText-103 way by the checkpoint's own vocabulary (`demos.language.transformer_xl.vocab`): Moses
tokens, `@-@ @,@ @.@` number and hyphen splits, `<eos>` at each line break, `<unk>` for words
outside the 267,735-word vocabulary (counted and shown). Weights come from the hub (exactly
config.json, pytorch_model.bin, vocab.pkl, at the registry's pinned revision) or from a local
folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from demos.core import registry
from demos.core.errors import BadInput, ModelUnavailable
from demos.core.pipeline import Pipeline, Result
from demos.core.registry import Checkpoint
from demos.language.transformer_xl.inference import generate, segment_losses
from demos.language.transformer_xl.model import TransformerXLWeightsError, load_transformer_xl
from demos.language.transformer_xl.vocab import UNK, UnsafePickleError, Vocab, detokenize

SPEC = registry.get("transformer_xl")
# The hub repo also holds tf_model.h5 and corpus.bin (the tokenised corpus): never fetched.
FILES = ("config.json", "pytorch_model.bin", "vocab.pkl")

MAX_CHARS = 50_000  # refused before tokenising: 4,000 tokens of prose are about 20,000 characters
MAX_PROMPT_TOKENS = 1_000  # the prompt is read as one segment; its attention grows with its square
MAX_NEW_TOKENS = 512  # one forward step (all 285M weights read once) per new token
MAX_PASSAGE_TOKENS = 4_000  # read twice at ~0.65 GFLOP per token: about 5 TFLOP in all
SEGMENT_LENS = (32, 256)  # short: a passage spans many segments; long: a segment holds sentences
MAX_TEMPERATURE = 2.0
SHOWN_UNKNOWN = 12  # unknown words listed by name; the rest are only counted


# reading the user's text


@dataclass(frozen=True)
class Reading:
    """A text as the model reads it: WikiText-103 tokens and their ids."""

    tokens: list[str]
    ids: list[int]
    unknown: list[str]  # the words (in order, with repeats) that became <unk>
    vocab_size: int

    def note(self, what: str) -> str:
        """One sentence (Markdown): how many tokens, and which words the vocabulary lacks."""
        line = f"The model read the {what} as {len(self.ids):,} WikiText-103 tokens"
        if not self.unknown:
            return f"{line}; every word is in its vocabulary."
        names = [f"`{w.replace('`', '')}`" for w in dict.fromkeys(self.unknown)]
        more = len(names) - SHOWN_UNKNOWN
        listed = ", ".join(names[:SHOWN_UNKNOWN]) + (f" and {more:,} more" if more > 0 else "")
        return (
            f"{line}; {len(self.unknown):,} word(s) are not in its {self.vocab_size:,}-word "
            f"vocabulary and became `{UNK}`: {listed}."
        )


def check_text(text: str | None, what: str, hint: str) -> str:
    """Refuse empty or oversized text before the model loads (a typo should not wait for 1 GB)."""
    text = (text or "").strip()
    if not text:
        raise BadInput(f"The {what} is empty. {hint}")
    if len(text) > MAX_CHARS:
        raise BadInput(f"The {what} is {len(text):,} characters long; keep it under {MAX_CHARS:,}.")
    return text


def read(vocab: Vocab, text: str, what: str, limit: int) -> Reading:
    """Tokenise like WikiText-103 (each line break is a paragraph end, `<eos>`); cap the length."""
    tokens = vocab.tokenize(text)
    if len(tokens) > limit:
        raise BadInput(
            f"The {what} is {len(tokens):,} tokens long; this demo reads at most {limit:,}. "
            f"Shorten it."
        )
    ids = vocab.convert_tokens_to_ids(tokens)
    unknown = [t for t, i in zip(tokens, ids, strict=True) if i == vocab.unk_id]
    return Reading(tokens=tokens, ids=ids, unknown=unknown, vocab_size=len(vocab))


def in_range(value: float | None, name: str, low: float, high: float) -> float:
    """`value` if low <= value <= high, else a BadInput naming the setting (API callers)."""
    if value is None:
        raise BadInput(f"{name} is missing; give a number between {low:g} and {high:g}.")
    if not (low <= value <= high):  # also refuses NaN
        raise BadInput(f"{name} must be between {low:g} and {high:g}; got {value:g}.")
    return value


# loading


def _is_path(name: str) -> bool:
    """A local folder rather than a hub id ("owner/name")."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def resolve(checkpoint: Checkpoint) -> Path:
    """The model folder: a local path as given, else exactly FILES fetched into the hub cache."""
    local = Path(checkpoint.id).expanduser()
    if local.exists() or _is_path(checkpoint.id):
        return local
    from huggingface_hub import hf_hub_download  # tqdm bars: gr.Progress(track_tqdm=True) shows

    def fetch(name: str) -> Path:
        return Path(hf_hub_download(checkpoint.id, name, revision=checkpoint.revision))

    config = fetch(FILES[0])
    model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    if model_type != "transfo-xl":  # say so before fetching a gigabyte of the wrong weights
        raise TransformerXLWeightsError(
            f"{checkpoint.id} holds a {model_type!r} model, not Transformer-XL ('transfo-xl')"
        )
    for name in FILES[1:]:
        fetch(name)
    return config.parent


class TransformerXL:
    """The loaded model shared by the tab's two pipelines (one lock: one forward at a time)."""

    def __init__(self, model: torch.nn.Module, vocab: Vocab, device: torch.device) -> None:
        kwargs = dict(model=model, vocab=vocab, device=device, dtype=torch.float32)
        self.continuation = Continuation(**kwargs)
        self.memory = MemoryComparison(**kwargs)
        self.memory._lock = self.continuation._lock  # the same model: never two forwards at once
        self.n_params = self.continuation.n_params

    @classmethod
    def load(
        cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype
    ) -> TransformerXL:
        # float32 whatever `dtype` says: the registry sets half_precision=False for this model.
        model_dir = resolve(checkpoint)
        try:
            model, vocab = load_transformer_xl(model_dir, device)
        except UnsafePickleError as exc:
            raise ModelUnavailable(
                f"{SPEC.title} refused to load `{checkpoint.id}`: its vocab.pkl asks to run code "
                f"that a vocabulary never needs ({exc}). Nothing in the file was run. Replace it "
                f"with a trusted copy (`python -m demos.core.download {SPEC.key}` fetches the "
                f"original) or point {SPEC.env_var} at another folder."
            ) from None
        return cls(model, vocab, device)


# classes


@dataclass(kw_only=True)
class ContinuationResult(Result):
    """The prompt's continuation (so far, while it streams) and how the prompt was read."""

    text: str  # detokenised: "@-@" joins and spaces before punctuation undone
    tokens: list[str]  # the new WikiText-103 tokens
    prompt_tokens: int
    unknown_words: int  # prompt words outside the vocabulary, read as <unk>
    note: str  # one Markdown sentence saying so


@dataclass(kw_only=True)
class MemoryResult(Result):
    """A passage's per-token loss (nats), read with the memory carried and reset.

    Each dict is keyed "memory_carried" and "memory_reset". `loss_nats[k][t]` scores
    `tokens[t + 1]`; `mean_loss_by_position[k][i]` averages position i of every segment after the
    first (None past a short last segment).
    """

    perplexity: dict[str, float]
    perplexity_after_first_segment: dict[str, float]
    segment_len: int
    segments: int
    memory_len: int  # steps of memory the model keeps
    unknown_words: int
    note: str
    tokens: list[str]
    loss_nats: dict[str, list[float]]
    mean_loss_by_position: dict[str, list[float | None]]


class _WithVocab(Pipeline[str, dict[str, Any]]):
    def __init__(self, *, vocab: Vocab, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab = vocab


class Continuation(_WithVocab):
    """Continue a prompt: greedy (temperature 0) or sampled with temperature and top-k.

    Streams through `Pipeline.stream`: each forward step is one new token.
    """

    first_step = "first_token"

    def preprocess(self, inputs: str, **params: Any) -> dict[str, Any]:
        reading = read(self.vocab, inputs, "prompt", MAX_PROMPT_TOKENS)
        return {"reading": reading, **params}

    def _tokens(self, batch: dict[str, Any]) -> Iterator[int]:
        temperature, top_k = float(batch["temperature"]), int(batch["top_k"])
        generator = None
        if temperature > 0:  # the seed makes a sample repeatable
            generator = torch.Generator(device=self.device).manual_seed(int(batch["seed"]))
        return generate(
            self.model,
            batch["reading"].ids,
            int(batch["max_new_tokens"]),
            temperature=temperature,
            top_k=top_k or None,
            generator=generator,
        )  # mems=None: every request starts from an empty memory

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {"new_ids": list(self._tokens(batch)), "reading": batch["reading"]}

    def forward_steps(self, batch: dict[str, Any]) -> Iterator[dict[str, Any]]:
        new_ids: list[int] = []
        for token in self._tokens(batch):
            new_ids.append(token)
            yield {"new_ids": new_ids, "reading": batch["reading"]}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        """ContinuationResult's fields as plain Python."""
        tokens = self.vocab.convert_ids_to_tokens(outputs["new_ids"])
        reading: Reading = outputs["reading"]
        return {
            "text": detokenize(tokens),
            "tokens": tokens,
            "prompt_tokens": len(reading.ids),
            "unknown_words": len(reading.unknown),
            "note": reading.note("prompt"),
        }


class MemoryComparison(_WithVocab):
    """Per-token loss of a passage read in segments, with the memory carried and reset."""

    def preprocess(self, inputs: str, **params: Any) -> dict[str, Any]:
        reading = read(self.vocab, inputs, "passage", MAX_PASSAGE_TOKENS)
        segment_len = int(params["segment_len"])
        if len(reading.ids) - 1 <= segment_len:
            raise BadInput(
                f"The passage is {len(reading.ids):,} tokens long, which fits in one segment of "
                f"{segment_len}: the memory only matters from the second segment on. Paste a "
                f"longer passage or choose shorter segments."
            )
        return {"reading": reading, "segment_len": segment_len}

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        ids, seg = batch["reading"].ids, batch["segment_len"]
        carried = segment_losses(self.model, ids, seg, carry_memory=True)
        reset = segment_losses(self.model, ids, seg, carry_memory=False)
        return {"carried": carried.float().cpu(), "reset": reset.float().cpu(), **batch}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        """MemoryResult's fields as plain Python."""
        reading: Reading = outputs["reading"]
        seg = outputs["segment_len"]
        losses = {"memory_carried": outputs["carried"], "memory_reset": outputs["reset"]}
        n = len(reading.ids) - 1  # predicted tokens: loss[t] scores tokens[t + 1]
        segments = math.ceil(n / seg)
        after_first = slice(seg, None)  # the first segment is read identically both ways
        by_position = {}  # mean loss at each position of the segments after the first
        for name, nll in losses.items():
            padded = np.zeros(segments * seg)
            padded[:n] = nll.numpy()
            counts = np.zeros(segments * seg)
            counts[:n] = 1
            sums = padded.reshape(segments, seg)[1:].sum(0)
            seen = counts.reshape(segments, seg)[1:].sum(0)  # 0 past a short last segment
            means = zip(sums.tolist(), seen.tolist(), strict=True)
            by_position[name] = [round(x / c, 4) if c else None for x, c in means]
        return {
            "perplexity": {k: math.exp(float(v.mean())) for k, v in losses.items()},
            "perplexity_after_first_segment": {
                k: math.exp(float(v[after_first].mean())) for k, v in losses.items()
            },
            "segment_len": seg,
            "segments": segments,
            "memory_len": int(self.model.cfg.mem_len),
            "unknown_words": len(reading.unknown),
            "note": reading.note("passage"),
            "tokens": reading.tokens,
            "loss_nats": {k: [round(x, 4) for x in v.tolist()] for k, v in losses.items()},
            "mean_loss_by_position": by_position,
        }
