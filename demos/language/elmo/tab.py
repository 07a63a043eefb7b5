"""ELMo tab: one word in several sentences, and how alike its vectors are in each layer.

Model: ELMo, the original biLM `elmo_2x4096_512_2048cnn_2xhighway` (93.6M parameters), from the
hub mirror `lysandre/elmo-2x4096_512_2048cnn_2xhighway` at a pinned commit; the small
`2x1024_128_2048cnn_1xhighway` (13.6M) from AllenNLP's URL. Peters et al. 2018, "Deep
contextualized word representations" (arXiv:1802.05365), AI2 and the University of Washington.
Weights: Apache-2.0 (AllenNLP). The network is the gallery's own PyTorch biLM,
`demos.language.elmo.bilm`, run by `demos.language.elmo.pipeline`; the files are found or
fetched by `demos.language.elmo.weights`.

The seed's point: layer 0 (the character CNN) sees only a word's spelling, so every occurrence of
a word gets the same vector; the two biLSTM layers read the whole sentence both ways, so the same
word gets a different vector in each context. The tab shows the cosine similarities between the
occurrences, per layer, and each occurrence's nearest other occurrence. Every request starts the
LSTMs from zero state, and all sentences run in one padded batch on the gallery's device.
"""

from __future__ import annotations

import math
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from demos.core import registry, runtime, ui
from demos.language.elmo import weights as elmo_weights
from demos.language.elmo.pipeline import ElmoContexts, ElmoResult, in_context, parse

SPEC = registry.get("elmo")
download = elmo_weights.download  # `python -m demos.core.download elmo` fetches through this
CONTEXT_WORDS = 3  # words shown either side of an occurrence in the table

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


# the tab's outputs


def heatmap(result: ElmoResult) -> np.ndarray:
    """One cosine-similarity heat map per layer, side by side, on one colour scale (RGB array)."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # at draw time: no matplotlib at start-up
    )
    from matplotlib.figure import Figure  # at draw time: no matplotlib at start-up

    sims = [np.asarray(layer["similarity"]) for layer in result.layers]
    n = sims[0].shape[0]
    low = min(0.9, math.floor(min(s.min() for s in sims) * 10) / 10)  # 1.0 alone has no scale
    fig = Figure(figsize=(3.6 * len(sims) + 0.8, 3.9), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(sims))
    labels = [f"#{o['occurrence']}" for o in result.occurrences]
    image = None
    for ax, layer, sim in zip(axes, result.layers, sims, strict=True):
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
    fig.suptitle(f"“{result.word}”: how alike its {n} occurrences are, per layer")
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def nearest_table(result: ElmoResult) -> pd.DataFrame:
    """A row per occurrence: its sentence, then its nearest other occurrence in each layer."""
    occurrences = result.occurrences
    rows = []
    for i, occ in enumerate(occurrences):
        row = [f"#{occ['occurrence']}", occ["text"]]
        for layer in result.layers:
            near = layer["nearest"][i]
            cosine, tied = f"{near['cosine']:.3f}", near["nearest"]
            if len(tied) == len(occurrences) - 1 > 1:
                row.append(f"all equal · {cosine}")
            elif len(tied) > 1:
                row.append(f"tie {', '.join(f'#{j}' for j in tied)} · {cosine}")
            else:
                other = occurrences[tied[0] - 1]
                tokens = result.sentences[other["sentence"] - 1]
                context = in_context(tokens, other["position"] - 1, CONTEXT_WORDS)
                row.append(f"#{tied[0]} · {cosine} · {context}")
        rows.append(row)
    headers = ["#", "sentence", *(f"nearest in {layer['name']}" for layer in result.layers)]
    return pd.DataFrame(rows, columns=headers)


def run_details(result: ElmoResult) -> dict[str, Any]:
    """The run info the endpoint returns, with the exact numbers behind the heat map."""
    return {
        **result.info.as_dict(),
        "sentences": len(result.sentences),
        "occurrences": len(result.occurrences),
        "cosine_by_layer": {
            layer["name"]: [[round(c, 6) for c in row] for row in layer["similarity"]]
            for layer in result.layers
        },
    }


# the tab


def predict(
    sentences: str,
    word: str,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> ElmoResult:
    """Compare `word`'s occurrences in `sentences` (one per line), layer by layer."""
    query = parse(sentences, word)  # before loading: a typo should not wait for 374 MB
    pipe, info = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), ElmoContexts.load, progress)
    answer, info.speed_ms = pipe(query)
    return ElmoResult(**answer, info=info)


@ui.guarded(SPEC)
def compare_occurrences(
    text: str,
    word: str,
    checkpoint: str,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
):
    """The /elmo endpoint: (heat maps, nearest-occurrence table, run info)."""
    result = predict(text, word, checkpoint, ui.reporter(progress))
    with runtime.timed(result.info.speed_ms, "render"):
        image, rows = heatmap(result), nearest_table(result)
    return image, rows, run_details(result)


def build_tab() -> gr.Image:
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

    inputs, outputs = [text, word, checkpoint], [heat, table, info]
    button.click(compare_occurrences, inputs, outputs, api_name=SPEC.key)
    word.submit(compare_occurrences, inputs, outputs, api_visibility="private")
    return heat
