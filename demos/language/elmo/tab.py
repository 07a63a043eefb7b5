"""ELMo tab: one word in several sentences, and how alike its vectors are in each layer.

Model: ELMo, the original biLM `elmo_2x4096_512_2048cnn_2xhighway` (93.6M parameters), from the
hub mirror `lysandre/elmo-2x4096_512_2048cnn_2xhighway` at a pinned commit; the small
`2x1024_128_2048cnn_1xhighway` (13.6M) from AllenNLP's URL. Peters et al. 2018, "Deep
contextualized word representations" (arXiv:1802.05365), AI2 and the University of Washington.
Weights: Apache-2.0 (AllenNLP). The network is the gallery's own PyTorch biLM,
`demos.language.elmo.bilm`; the files are found or fetched by `demos.language.elmo.weights`.

The seed's point: layer 0 (the character CNN) sees only a word's spelling, so every occurrence of
a word gets the same vector; the two biLSTM layers read the whole sentence both ways, so the same
word gets a different vector in each context. The tab shows the cosine similarities between the
occurrences, per layer, and each occurrence's nearest other occurrence. Every request starts the
LSTMs from zero state, and all sentences run in one padded batch on the gallery's device.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.language.elmo import weights as elmo_weights
from demos.language.elmo.bilm import ElmoBiLM, load_elmo
from demos.language.elmo.chars import batch_to_char_ids

SPEC = registry.get("elmo")
download = elmo_weights.download  # `python -m demos.core.download elmo` fetches through this

MAX_CHARS = 20_000  # refuse before tokenising: 32 sentences of 100 tokens fit well within
MAX_SENTENCES = 32  # one batch; the heat map stays readable
MAX_TOKENS = 100  # per sentence: the LSTMs step token by token, so time grows with length
MAX_OCCURRENCES = 32  # rows and columns of the heat map
TIE = 1e-5  # cosines this close count as equal (layer 0 gives 1.0 up to float rounding)
CONTEXT_WORDS = 3  # words shown either side of an occurrence in the table

# 1B Word Benchmark style, the text ELMo was trained on: words (hyphens kept inside), then each
# other non-space character alone; clitics are split off below ("bank's" → "bank 's").
TOKEN = re.compile(r"\w+(?:['-]\w+)*|[^\w\s]")
CLITICS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m")

EXAMPLES = [
    [
        "We sat on the bank of the river and watched the boats.\n"
        "She paid the cheque in at the bank before noon.\n"
        "The bank raised its interest rates again.\n"
        "Ducks nested on the muddy bank of the stream.",
        "bank",
    ],
    [
        "The children play in the park after school.\n"
        "We saw a play at the theatre last night.\n"
        "She will play the piano at the concert.\n"
        "The play lasted three hours.",
        "play",
    ],
    [
        "He left the room without a word.\nTurn left at the station.\nThere is no milk left.",
        "left",
    ],
]
EXPLANATION = (
    "**Reading the heat map.** Layer 0 is the character CNN: it sees only the spelling, so every "
    "occurrence of the word gets the same vector (similarity 1.000; a capitalised *Bank* is "
    "spelled differently and differs even there). Layers 1 and 2 are the biLSTMs: they read the "
    "whole sentence in both directions, so each occurrence's vector depends on its context. The "
    "paper found the top layer best at telling word senses apart and the first at syntax."
)


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


# the tab's outputs


def heatmap(result: dict[str, Any]) -> np.ndarray:
    """One cosine-similarity heat map per layer, side by side, on one colour scale (RGB array)."""
    sims = [np.asarray(layer["similarity"]) for layer in result["layers"]]
    n = sims[0].shape[0]
    low = min(0.9, math.floor(min(s.min() for s in sims) * 10) / 10)  # 1.0 alone has no scale
    fig = Figure(figsize=(3.6 * len(sims) + 0.8, 3.9), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(sims))
    labels = [f"#{o['occurrence']}" for o in result["occurrences"]]
    image = None
    for ax, layer, sim in zip(axes, result["layers"], sims, strict=True):
        image = ax.imshow(sim, vmin=low, vmax=1.0, cmap="viridis")
        ax.set_title(layer["name"] + (" (context-free)" if layer["layer"] == 0 else ""))
        ticks = range(n) if n <= 16 else range(0, n, math.ceil(n / 16))
        ax.set_xticks(list(ticks), [labels[i] for i in ticks], fontsize=8)
        ax.set_yticks(list(ticks), [labels[i] for i in ticks], fontsize=8)
        if n <= 8:  # numbers fit in the cells
            for i in range(n):
                for j in range(n):
                    dark = sim[i, j] < low + 0.6 * (1.0 - low)
                    colour = "white" if dark else "black"
                    ax.text(j, i, f"{sim[i, j]:.2f}", ha="center", va="center", color=colour)
    fig.colorbar(image, ax=axes, shrink=0.8, label="cosine similarity")
    fig.suptitle(f"“{result['word']}”: how alike its {n} occurrences are, per layer")
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def nearest_table(result: dict[str, Any]) -> pd.DataFrame:
    """A row per occurrence: its sentence, then its nearest other occurrence in each layer."""
    occurrences = result["occurrences"]
    rows = []
    for i, occ in enumerate(occurrences):
        row = [f"#{occ['occurrence']}", occ["text"]]
        for layer in result["layers"]:
            near = layer["nearest"][i]
            cosine, tied = f"{near['cosine']:.3f}", near["nearest"]
            if len(tied) == len(occurrences) - 1 > 1:
                row.append(f"all equal · {cosine}")
            elif len(tied) > 1:
                row.append(f"tie {', '.join(f'#{j}' for j in tied)} · {cosine}")
            else:
                other = occurrences[tied[0] - 1]
                tokens = result["sentences"][other["sentence"] - 1]
                context = in_context(tokens, other["position"] - 1, CONTEXT_WORDS)
                row.append(f"#{tied[0]} · {cosine} · {context}")
        rows.append(row)
    headers = ["#", "sentence", *(f"nearest in {layer['name']}" for layer in result["layers"])]
    return pd.DataFrame(rows, columns=headers)


# the tab


def predict(
    sentences: str,
    word: str,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> tuple[dict[str, Any], runtime.RunInfo]:
    """Compare `word`'s occurrences in `sentences` (one per line): (result, run info).

    result: {"word", "sentences": tokenised, "occurrences": [{occurrence, sentence, position,
    token, text}], "layers": [{layer, name, similarity: N x N cosines as lists, nearest: per
    occurrence {nearest: [numbers of the closest others], cosine}}]}; numbers count from 1.
    """
    query = parse(sentences, word)  # before loading: a typo should not wait for 374 MB
    pipe, info = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), ElmoContexts.load, progress)
    result, info.speed_ms = pipe(query)
    return result, info


def build_tab() -> None:
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column(scale=2):
            text = gr.Textbox(
                label="Sentences, one per line, that share a word", value=EXAMPLES[0][0], lines=6
            )
            with gr.Row():
                word = gr.Textbox(label="Word to compare", value=EXAMPLES[0][1])
                checkpoint = ui.checkpoint_picker(SPEC)
            button = gr.Button("Compare the occurrences", variant="primary")
        with gr.Column(scale=3):
            # The figure carries its own title; a label box would cover the first plot's.
            heat = gr.Image(
                label="Cosine similarity per layer", show_label=False, type="numpy", format="png"
            )
    table = gr.Dataframe(
        label="Nearest other occurrence, per layer",
        interactive=False,
        wrap=True,
        column_widths=["5%", "31%", "14%", "25%", "25%"],  # the released biLMs have 2 layers
    )
    gr.Markdown(EXPLANATION)
    info = ui.run_info()
    gr.Examples(EXAMPLES, inputs=[text, word])

    @ui.guarded(SPEC)
    def handler(
        text: str,
        word: str,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        result, run = predict(text, word, checkpoint, ui.reporter(progress))
        with runtime.timed(run.speed_ms, "render"):
            image, rows = heatmap(result), nearest_table(result)
        extra = {
            "sentences": len(result["sentences"]),
            "occurrences": len(result["occurrences"]),
            # the exact numbers behind the heat map, for API callers
            "cosine_by_layer": {
                layer["name"]: [[round(c, 6) for c in row] for row in layer["similarity"]]
                for layer in result["layers"]
            },
        }
        return image, rows, {**run.as_dict(), **extra}

    inputs, outputs = [text, word, checkpoint], [heat, table, info]
    button.click(handler, inputs, outputs, api_name=SPEC.key)
    word.submit(handler, inputs, outputs, api_visibility="private")
