"""What the fill-mask tab draws from a `FillMaskResult`: the mask position's attention as a bar
chart over the tokens, and a line comparing the both-sides and left-only guesses.

Drawn in the tab after postprocess, from the numbers the API returns; nothing here runs a model.
Reading attention as "where the model looks" follows Clark et al. 2019, "What Does BERT Look At?
An Analysis of BERT's Attention" (arXiv:1906.04341), which also found many heads resting on
[CLS], [SEP] and punctuation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

AVERAGE = "average"  # the layer or head choice that means "the mean over all of them"
MAX_LABELS = 48  # more token names than this overlap on the axis; then every k-th is named
TOP_NAMED = 3  # on long inputs, the tokens with the largest weights are named above their bars

ATTENTION_CAPTION = (
    "Each bar: how much the mask position attends to that token, in the layer and head chosen "
    "(the bars add up to 1; orange is the mask itself). Try single heads: some follow grammar (a "
    "noun's determiner, a verb's object), while many park their attention on [CLS], [SEP] or the "
    "full stop when they have nothing to look for, so the average is mostly those."
)
LISTS_CAPTION = (
    "**Both sides**: the model reads the whole sentence. **Left context only**: the same model "
    "reads the sentence cut off right after the mask, so the words to its right do not exist for "
    "it. Where the two lists differ, the words after the mask changed the guess."
)


# helpers


def choices(count: int, what: str) -> list[tuple[str, str]]:
    """Dropdown entries: the average first, then 1..count (values are strings)."""
    return [(f"average of all {what}", AVERAGE), *((str(i), str(i)) for i in range(1, count + 1))]


def attention_row(attention: dict[str, Any], layer: str | int, head: str | int) -> np.ndarray:
    """The mask position's weights over the tokens for one layer and head (1-based), or the
    mean over layers and/or heads (`AVERAGE`). A mean of rows that sum to 1 still sums to 1."""
    weights = np.asarray(attention["weights"], dtype=np.float64)  # [layers, heads, tokens]
    for choice, count, what in (
        (layer, weights.shape[0], "layers"),
        (head, weights.shape[1], "heads"),
    ):
        if str(choice) != AVERAGE and not 1 <= int(choice) <= count:
            raise ValueError(f"{what} run from 1 to {count}, not {choice}")
    if str(layer) != AVERAGE:
        weights = weights[int(layer) - 1 : int(layer)]
    if str(head) != AVERAGE:
        weights = weights[:, int(head) - 1 : int(head)]
    return weights.mean(axis=(0, 1))


def valid(choice: str | None, count: int) -> str:
    """`choice` if the model has that layer or head, else the average."""
    return choice if choice and (choice == AVERAGE or 1 <= int(choice) <= count) else AVERAGE


def _which(choice: str, what: str, count: int) -> str:
    return f"average of {count} {what}s" if choice == AVERAGE else f"{what} {choice}"


# figures


def attention_figure(attention: dict[str, Any], layer: str, head: str) -> np.ndarray:
    """A bar per token: the mask position's attention in `layer`/`head` (RGB array).

    Drawn for speed (under about 100 ms for 512 tokens): the bars are one collection rather than
    a patch each, and the margins are fixed rather than computed by a layout engine.
    """
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # at draw time: no matplotlib at start-up
    )
    from matplotlib.collections import PolyCollection  # at draw time: no matplotlib at start-up
    from matplotlib.figure import Figure  # at draw time: no matplotlib at start-up

    tokens, mask = attention["tokens"], int(attention["mask_index"])
    layers, heads = len(attention["weights"]), len(attention["weights"][0])
    row = attention_row(attention, layer, head)
    n = len(tokens)
    width = min(12.0, max(6.0, 0.25 * n + 1.5))  # inches: about 25 px a token, up to 1200 px
    fig = Figure(figsize=(width, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.8 / width, right=1 - 0.2 / width, top=0.88, bottom=0.3)
    ax = fig.add_subplot()
    left, right = np.arange(n) - 0.4, np.arange(n) + 0.4
    bars = np.stack([left, left, right, right], 1), np.stack([0 * row, row, row, 0 * row], 1)
    colours = np.full(n, "#1f77b4", dtype=object)
    colours[mask] = "#ff7f0e"  # the mask itself
    ax.add_collection(PolyCollection(np.stack(bars, -1), facecolors=list(colours)))
    step = math.ceil(n / MAX_LABELS)
    ticks = sorted({i for i in range(0, n, step) if abs(i - mask) >= step} | {mask})
    ax.set_xticks(ticks, [tokens[i][:12] for i in ticks], rotation=90, fontsize=8)
    ax.get_xticklabels()[ticks.index(mask)].set_color("#ff7f0e")
    if step > 1:  # the heaviest tokens may have lost their tick labels: name them on the bars
        for i in np.argsort(row)[::-1][:TOP_NAMED]:
            ax.annotate(tokens[i][:12], (i, row[i]), ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, max(0.05, float(row.max()) * 1.15))
    ax.set_ylabel("attention weight")
    ax.set_title(
        f"Where {tokens[mask]} looks: {_which(layer, 'layer', layers)}, "
        f"{_which(head, 'head', heads)}",
        fontsize=10,
    )
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def lists_note(answer: dict[str, Any]) -> str:
    """What the left-only run read, and the top word each way (Markdown)."""
    attention = answer["attention"]
    tokens, mask = attention["tokens"], int(attention["mask_index"])
    cut = len(tokens) - mask - 2  # tokens between the mask and the closing special token
    seen = tokens[: mask + 1]
    if len(seen) > 25:  # a long text: its start and the words just before the mask
        seen = [seen[0], "…", *seen[-20:]]
    read = " ".join([*seen, tokens[-1]]).replace("`", "'")
    if cut == 0:
        return f"Nothing follows the mask, so both runs read the same input: `{read}`."
    both, left = answer["predictions"], answer["left_only"]
    if not both or not left:
        return f"The left-only run read `{read}`."
    hidden = f"{cut} tokens after the mask were" if cut != 1 else "the token after the mask was"
    return (
        f"The left-only run read `{read}`: {hidden} cut off. Top word with both sides: "
        f"**{both[0]['label']}** ({both[0]['score']:.1%}); with the left side only: "
        f"**{left[0]['label']}** ({left[0]['score']:.1%})."
    )
