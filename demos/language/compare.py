"""Compare language: one input through every language model that can take it, side by side.

(a) One masked sentence through BERT and RoBERTa, top-k side by side (`/compare_language`); one
    mask syntax for the user, each model gets its own mask token.
(b) One word in several sentences: cosine similarity between its occurrences under ELMo (top
    biLSTM layer), BERT and RoBERTa (last layer, sub-words averaged), as heat maps side by side
    (`/compare_word_vectors`).
(c) One prompt continued by Transformer-XL and the GPT tab's backend (`/compare_continuation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import torch.nn.functional as F

from demos.core import compare, runtime, ui
from demos.core.compare import Outcome
from demos.core.pipeline import Result
from demos.core.registry import DemoSpec

FILL_MASK = ["bert", "roberta"]
WORD_VECTORS = ["elmo", "bert", "roberta"]
CONTINUATION = ["transformer_xl", "gpt"]
TOP_K = 5
NEW_TOKENS = 30  # enough to see where each model takes the text, quick on a CPU
CONTINUE_SYSTEM = (
    "Continue the user's text with the next sentence or two. Reply with the continuation only."
)
EXAMPLES = [
    "The capital of France is [MASK].",
    "She put the milk back in the [MASK].",
    "The [MASK] barked at the mailman.",
]
WORD_EXAMPLE = (
    "We sat on the bank of the river.\nShe paid the cheque in at the bank.\n"
    "The bank raised its interest rates.\nDucks nested on the muddy bank.",
    "bank",
)
PROMPT_EXAMPLE = "The Forth Bridge, which carries the railway across the Firth of Forth,"


# classes


@dataclass(kw_only=True)
class WordSimilarity(Result):
    """One model's cosine similarities between a word's occurrences."""

    occurrences: list[str]  # "#1 … the [bank] of …", in reading order
    similarity: list[list[float]]  # N x N


# (a) fill-mask


def compare_fill_mask(text: str, top_k: int = TOP_K) -> Any:
    """Yield the outcomes (one per fill-mask model) after each model finishes; the API shows
    each model's top-k words as its own tab's endpoint gives them."""
    yield from compare.run_each(
        compare.present(FILL_MASK),
        lambda spec: compare.module(spec).predict(text, top_k),
        answer=lambda result: result.predictions,
    )


# (b) word vectors


def word_similarity(spec: DemoSpec, text: str, word: str) -> WordSimilarity:
    """One model's vectors of `word`: ELMo's top biLSTM layer, or a fill-mask model's last."""
    from demos.language.elmo import pipeline as elmo  # its parser sets the limits for all three

    query = elmo.parse(text, word)
    labels = [
        f"#{i + 1} {elmo.in_context(query.sentences[s], t, 2)}"
        for i, (s, t) in enumerate(query.occurrences)
    ]
    if spec.key == "elmo":
        result = compare.module(spec).predict(text, word)
        top = result.layers[-1]  # the top biLSTM layer
        return WordSimilarity(occurrences=labels, similarity=top["similarity"], info=result.info)
    from demos.language.fill_mask import FillMask

    pipe, info = runtime.load_model(spec, spec.checkpoint(), FillMask.load)
    with runtime.timed(info.speed_ms, "inference"):
        vectors = F.normalize(pipe.word_vectors(query.sentences, query.occurrences), dim=-1)
    similarity = (vectors @ vectors.T).clamp(-1.0, 1.0).tolist()
    return WordSimilarity(occurrences=labels, similarity=similarity, info=info)


def heatmap(similarity: list[list[float]], title: str) -> np.ndarray:
    """A cosine-similarity heat map of the occurrences (RGB array)."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # at draw time: no matplotlib at start-up
    )
    from matplotlib.figure import Figure  # at draw time: no matplotlib at start-up

    sims = np.asarray(similarity)
    n = len(sims)
    fig = Figure(figsize=(4.2, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(sims, vmin=min(0.0, float(sims.min())), vmax=1.0, cmap="viridis")
    ax.set_xticks(range(n), [f"#{i + 1}" for i in range(n)])
    ax.set_yticks(range(n), [f"#{i + 1}" for i in range(n)])
    if n <= 8:  # numbers in the cells while they stay readable
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{sims[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def compare_word_vectors(text: str, word: str) -> Any:
    """The API shows each model's {occurrences, similarity}."""
    yield from compare.run_each(
        compare.present(WORD_VECTORS), lambda spec: word_similarity(spec, text, word)
    )


# (c) continuation


def continue_text(spec: DemoSpec, prompt: str) -> Result:
    """One column: the continuation, greedy where the model allows it (a result with `.text`)."""
    module = compare.module(spec)
    if spec.key == "transformer_xl":  # a language model: it continues the text itself
        result = module.predict(prompt, max_new_tokens=NEW_TOKENS, temperature=0.0)
    else:  # a chat model: asked to continue
        result = module.predict(
            prompt, system=CONTINUE_SYSTEM, temperature=0.0, max_new_tokens=NEW_TOKENS
        )
    return result


def compare_continuation(prompt: str) -> Any:
    """The API shows each model's continuation as text."""
    yield from compare.run_each(
        compare.present(CONTINUATION),
        lambda spec: continue_text(spec, prompt),
        answer=lambda result: result.text,
    )


# the tab


def _columns(specs: list[DemoSpec], make_view) -> list[tuple[Any, gr.Markdown]]:
    columns = []
    with gr.Row(equal_height=False):
        for spec in specs:
            with gr.Column():
                gr.Markdown(f"#### {spec.title}")
                columns.append((make_view(), gr.Markdown()))
    return columns


def _render(outcomes: list[Outcome], view) -> list[Any]:
    values: list[Any] = []
    for outcome in outcomes:
        values += [view(outcome) if outcome.ok else None, compare.status(outcome)]
    return [*values, [o.as_dict() for o in outcomes]]


def _outputs(columns, details) -> list[Any]:
    return [c for pair in columns for c in pair] + [details]


def _fill_mask_tab() -> None:
    gr.Markdown(
        "Write `[MASK]` once; each model gets its own mask token. Columns fill "
        "in as each model finishes."
    )
    with gr.Row():
        text = gr.Textbox(label="Sentence with one [MASK]", value=EXAMPLES[0], scale=3)
        top_k = gr.Slider(1, 20, value=TOP_K, step=1, label="Top k", scale=1)
        button = gr.Button("Compare", variant="primary", scale=1)
    columns = _columns(
        compare.present(FILL_MASK), lambda: gr.Label(num_top_classes=20, label="Top words")
    )
    details = gr.JSON(label="All results (as returned by the API)")
    gr.Examples([[e] for e in EXAMPLES], inputs=[text])

    @ui.guarded("Compare language")
    def fill(text: str, top_k: float):
        for outcomes in compare_fill_mask(text, int(top_k)):
            yield _render(outcomes, lambda o: ui.to_label(o.result.predictions))

    button.click(fill, [text, top_k], _outputs(columns, details), api_name="compare_language")


def _word_vectors_tab() -> None:
    gr.Markdown(
        "How alike are a word's vectors in different sentences? ELMo's top "
        "biLSTM layer, BERT's and RoBERTa's last layer; 1.00 means identical."
    )
    with gr.Row():
        sentences = gr.Textbox(
            label="Sentences, one per line", value=WORD_EXAMPLE[0], lines=4, scale=3
        )
        with gr.Column(scale=1):
            word = gr.Textbox(label="Word", value=WORD_EXAMPLE[1])
            button = gr.Button("Compare", variant="primary")
    columns = _columns(
        compare.present(WORD_VECTORS), lambda: gr.Image(label="Cosine similarity", type="numpy")
    )
    details = gr.JSON(label="All results (as returned by the API)")
    gr.Examples([list(WORD_EXAMPLE)], inputs=[sentences, word])

    @ui.guarded("Compare word vectors")
    def vectors(sentences: str, word: str):
        for outcomes in compare_word_vectors(sentences, word):
            yield _render(outcomes, lambda o: heatmap(o.result.similarity, o.title))

    button.click(
        vectors, [sentences, word], _outputs(columns, details), api_name="compare_word_vectors"
    )


def _continuation_tab() -> None:
    gr.Markdown(
        f"Greedy continuations, {NEW_TOKENS} new tokens each. Transformer-XL "
        "continues word by word; the GPT tab's backend is asked to continue."
    )
    with gr.Row():
        prompt = gr.Textbox(label="Beginning of a text", value=PROMPT_EXAMPLE, scale=3)
        button = gr.Button("Compare", variant="primary", scale=1)
    columns = _columns(
        compare.present(CONTINUATION), lambda: gr.Textbox(label="Continuation", lines=5)
    )
    details = gr.JSON(label="All results (as returned by the API)")
    gr.Examples([[PROMPT_EXAMPLE]], inputs=[prompt])

    @ui.guarded("Compare continuations")
    def continuation(prompt: str):
        for outcomes in compare_continuation(prompt):
            yield _render(outcomes, lambda o: o.result.text)

    button.click(
        continuation, [prompt], _outputs(columns, details), api_name="compare_continuation"
    )


def build_tab() -> None:
    with gr.Tabs():
        with gr.Tab("Fill the mask"):
            _fill_mask_tab()
        with gr.Tab("One word, many contexts"):
            _word_vectors_tab()
        with gr.Tab("Continue a text"):
            _continuation_tab()
