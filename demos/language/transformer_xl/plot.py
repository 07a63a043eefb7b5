"""The Transformer-XL tab's memory plot and verdict, drawn from `predict_memory`'s result.

Two panels: the loss along the passage (a trailing mean, so single words do not hide the trend) with
the segment boundaries marked, and the mean loss at each position within a segment, over the
segments after the first. The second is the paper's point in one picture: with the memory reset,
a segment's first words are guessed almost blind; with the memory carried they are not.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from demos.language.transformer_xl.pipelines import MemoryResult

CARRIED, RESET = "#1f77b4", "#d62728"  # blue: Transformer-XL; red: a fixed-context reader
LABELS = {"memory_carried": "memory carried", "memory_reset": "memory reset every segment"}
COLOURS = {"memory_carried": CARRIED, "memory_reset": RESET}
MAX_BOUNDARY_LINES = 150  # beyond this the dotted lines would paint the panel grey


# helpers


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the up to `window - 1` before it."""
    sums = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _as_array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


# the figure and the verdict


def loss_figure(result: MemoryResult) -> Figure:
    """Loss along the passage and by position within a segment, both readings on each panel."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # at draw time: no matplotlib at start-up
    )
    from matplotlib.figure import Figure  # at draw time: no matplotlib at start-up

    seg, segments = result.segment_len, result.segments
    window = max(2, seg // 4)  # tokens; short enough to show the jump after each boundary
    fig = Figure(figsize=(9.5, 7.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # a canvas of its own: no pyplot state shared between requests
    along, by_position = fig.subplots(2, 1)
    for name in ("memory_reset", "memory_carried"):
        losses = np.asarray(result.loss_nats[name], dtype=float)
        ppl = result.perplexity[name]
        along.plot(
            trailing_mean(losses, window),
            color=COLOURS[name],
            lw=1.2,
            label=f"{LABELS[name]} (perplexity {ppl:,.1f})",
        )
        by_position.plot(
            np.arange(1, seg + 1),
            _as_array(result.mean_loss_by_position[name]),
            color=COLOURS[name],
            lw=1.6,
            marker="o" if seg <= 64 else None,
            ms=3,
            label=LABELS[name],
        )
    if segments - 1 <= MAX_BOUNDARY_LINES:
        for s in range(1, segments):
            along.axvline(s * seg - 0.5, color="grey", lw=0.6, ls=":", zorder=0)
    along.set_title(
        f"Loss along the passage ({segments} segments of {seg} tokens; dotted: boundaries)"
    )
    along.set_xlabel("token read (its next word is the one scored)")
    along.set_ylabel(f"loss (nats), mean of {window} tokens")
    along.set_xlim(0, len(result.loss_nats["memory_carried"]))
    along.legend(loc="upper right", fontsize=9)
    by_position.set_title(f"Mean loss by position within a segment (segments 2 to {segments})")
    by_position.set_xlabel("position in the segment (1: the first token read after a boundary)")
    by_position.set_ylabel("mean loss (nats)")
    by_position.set_xlim(0.5, seg + 0.5)
    by_position.legend(loc="upper right", fontsize=9)
    for ax in (along, by_position):
        ax.grid(alpha=0.3)
    return fig


def summary(result: MemoryResult) -> str:
    """The verdict in words: both perplexities, and what the memory is worth at a boundary."""
    ppl, later = result.perplexity, result.perplexity_after_first_segment
    first = {k: v[0] for k, v in result.mean_loss_by_position.items()}
    gain = 1 - later["memory_carried"] / later["memory_reset"]
    lines = [
        f"**Perplexity with the memory carried: {ppl['memory_carried']:,.1f} · reset at every "
        f"segment: {ppl['memory_reset']:,.1f}** (over {len(result.tokens) - 1:,} predicted "
        f"tokens, {result.segments} segments of {result.segment_len}; the memory holds "
        f"{result.memory_len:,} steps).",
        f"After the first segment (read the same way both times): {later['memory_carried']:,.1f} "
        f"carried vs {later['memory_reset']:,.1f} reset, "
        + (f"{gain:.0%} lower with the memory." if gain >= 0 else f"{-gain:.0%} higher with it."),
    ]
    if first["memory_carried"] is not None and first["memory_reset"] is not None:
        lines.append(
            f"At the first token of a segment the reset model has nothing before it: its loss "
            f"there averages {first['memory_reset']:.2f} nats (perplexity "
            f"{math.exp(first['memory_reset']):,.0f}) against {first['memory_carried']:.2f} with "
            f"the memory."
        )
    lines.append(result.note)
    return "\n\n".join(lines)
