"""ELMo's pipeline: read sentences that share a word, and compare that word's vectors per layer.

Used by the ELMo tab (`demos.language.elmo.tab`) and the language compare tab. Sentences are
tokenised the 1B Word Benchmark way (the text ELMo was trained on), all of them run in one padded
batch through the biLM (`demos.language.elmo.bilm`) from zero LSTM state, and `postprocess` turns
the cosine similarities between the word's occurrences into plain Python, layer by layer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from demos.core.errors import BadInput
from demos.core.pipeline import Pipeline, Result
from demos.core.registry import Checkpoint
from demos.language.elmo import weights as elmo_weights
from demos.language.elmo.bilm import ElmoBiLM, load_elmo
from demos.language.elmo.chars import batch_to_char_ids

MAX_CHARS = 20_000  # refuse before tokenising: 32 sentences of 100 tokens fit well within
MAX_SENTENCES = 32  # one batch; the heat map stays readable
MAX_TOKENS = 100  # per sentence: the LSTMs step token by token, so time grows with length
MAX_OCCURRENCES = 32  # rows and columns of the heat map
TIE = 1e-5  # cosines this close count as equal (layer 0 gives 1.0 up to float rounding)

# 1B Word Benchmark style, the text ELMo was trained on: words (hyphens kept inside), then each
# other non-space character alone; clitics are split off below ("bank's" → "bank 's").
TOKEN = re.compile(r"\w+(?:['-]\w+)*|[^\w\s]")
CLITICS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m")


# helpers


def tokenize(line: str) -> list[str]:
    """Split a sentence into words and punctuation marks, clitics apart ("do n't", "bank 's")."""
    tokens: list[str] = []
    for token in TOKEN.findall(line.replace("\u2019", "'")):  # curly apostrophe → straight
        low = token.lower()
        clitic = next((c for c in CLITICS if low.endswith(c) and len(low) > len(c)), None)
        tokens.extend([token[: -len(clitic)], token[-len(clitic) :]] if clitic else [token])
    return tokens


@dataclass(frozen=True)
class Query:
    """Tokenised sentences and where the word occurs in them."""

    word: str
    sentences: list[list[str]]
    occurrences: list[tuple[int, int]]  # (sentence index, token index), reading order


def parse(text: str, word: str) -> Query:
    """Check and tokenise the user's input; every problem becomes a `BadInput` message."""
    text, word = (text or "").strip(), (word or "").strip()
    if not text:
        raise BadInput(
            "Type some sentences, one per line, that use the same word in different senses "
            "(e.g. “bank” of a river and of money)."
        )
    if len(text) > MAX_CHARS:
        raise BadInput(f"The text is {len(text):,} characters long; keep it under {MAX_CHARS:,}.")
    if not word:
        raise BadInput("Type the word to compare (e.g. bank).")
    target = tokenize(word)
    if len(target) != 1:
        raise BadInput(f"Type a single word to compare; “{word}” splits into {len(target)} tokens.")
    sentences = [tokens for line in text.splitlines() if (tokens := tokenize(line))]
    if len(sentences) > MAX_SENTENCES:
        raise BadInput(
            f"There are {len(sentences)} sentences; this demo compares at most {MAX_SENTENCES} "
            f"at a time."
        )
    for i, tokens in enumerate(sentences, 1):
        if len(tokens) > MAX_TOKENS:
            raise BadInput(
                f"Sentence {i} is {len(tokens)} tokens long; keep each sentence to "
                f"{MAX_TOKENS} tokens or fewer."
            )
    wanted = target[0].casefold()
    occurrences = [
        (s, t)
        for s, tokens in enumerate(sentences)
        for t, token in enumerate(tokens)
        if token.casefold() == wanted
    ]
    if len(occurrences) < 2:
        raise BadInput(
            f"“{target[0]}” occurs {len(occurrences)} time(s) in the sentences; it must occur at "
            f"least twice (in two sentences, or twice in one) to compare its vectors."
        )
    if len(occurrences) > MAX_OCCURRENCES:
        raise BadInput(
            f"“{target[0]}” occurs {len(occurrences)} times; the heat map compares at most "
            f"{MAX_OCCURRENCES}. Use fewer sentences or a rarer word."
        )
    return Query(word=target[0], sentences=sentences, occurrences=occurrences)


def in_context(tokens: list[str], t: int, width: int | None = None) -> str:
    """The sentence (or `width` words either side) with the occurrence in [brackets]."""
    lo, hi = (0, len(tokens)) if width is None else (max(0, t - width), t + width + 1)
    words = [f"[{w}]" if i == t else w for i, w in enumerate(tokens) if lo <= i < hi]
    return ("… " if lo > 0 else "") + " ".join(words) + (" …" if hi < len(tokens) else "")


def layer_name(k: int) -> str:
    return "layer 0 · characters" if k == 0 else f"layer {k} · biLSTM"


# classes


@dataclass(kw_only=True)
class ElmoResult(Result):
    """One word's occurrences and how alike their vectors are in each layer (numbers from 1)."""

    word: str
    sentences: list[list[str]]  # tokenised, one list per line of the input
    occurrences: list[dict[str, Any]]  # [{occurrence, sentence, position, token, text}]
    # [{layer, name, similarity: N x N cosines as lists, nearest: per occurrence
    #   {nearest: [numbers of the closest others], cosine}}]
    layers: list[dict[str, Any]]


class ElmoContexts(Pipeline[Query, dict[str, Any]]):
    """The biLM, and the cosine similarities between one word's occurrences in every layer."""

    model: ElmoBiLM

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> ElmoContexts:
        options, weights = elmo_weights.resolve(checkpoint)
        # float32 always (the registry sets half_precision=False): the clipped LSTMs were trained
        # in float32 and step 100 times through the same cell.
        return cls(model=load_elmo(options, weights, device), device=device, dtype=torch.float32)

    def preprocess(self, inputs: Query, **params: Any) -> dict[str, Any]:
        char_ids, _ = batch_to_char_ids(inputs.sentences, max_chars=self.model.opts.max_chars)
        s, t = zip(*inputs.occurrences, strict=True)
        return {"char_ids": char_ids, "at": (torch.tensor(s), torch.tensor(t)), "query": inputs}

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = self.model(batch["char_ids"].to(self.device))  # state=None: zero LSTM state
        s, t = (i.to(self.device) for i in batch["at"])
        vectors = F.normalize(out.layers[:, s, t].float(), dim=-1)  # [layers, N, 2P], unit length
        return {"cosines": (vectors @ vectors.transpose(1, 2)).cpu(), "query": batch["query"]}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        """ElmoResult's fields as plain Python."""
        query: Query = outputs["query"]
        cosines: torch.Tensor = outputs["cosines"].clamp(-1.0, 1.0)  # [layers, N, N]
        occurrences = [
            {
                "occurrence": i + 1,
                "sentence": s + 1,
                "position": t + 1,
                "token": query.sentences[s][t],
                "text": in_context(query.sentences[s], t),
            }
            for i, (s, t) in enumerate(query.occurrences)
        ]
        layers = []
        for k, sims in enumerate(cosines):
            others = sims.clone().fill_diagonal_(-math.inf)
            best = others.max(dim=1).values
            nearest = [
                {
                    "nearest": [j + 1 for j in (row >= b - TIE).nonzero()[:, 0].tolist()],
                    "cosine": float(b),
                }
                for row, b in zip(others, best, strict=True)
            ]
            layers.append(
                {"layer": k, "name": layer_name(k), "similarity": sims.tolist(), "nearest": nearest}
            )
        return {
            "word": query.word,
            "sentences": query.sentences,
            "occurrences": occurrences,
            "layers": layers,
        }
