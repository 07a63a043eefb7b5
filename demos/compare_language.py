"""Compare language: one masked sentence through BERT and RoBERTa, top-k side by side.

One mask syntax for the user (`[MASK]`; `<mask>` works too): each model receives its own mask
token. Endpoint `/compare_language`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from demos import compare, ui
from demos.compare import Outcome

FILL_MASK = ["bert", "roberta"]
TOP_K = 5
EXAMPLES = [
    "The capital of France is [MASK].",
    "She put the milk back in the [MASK].",
    "The [MASK] barked at the mailman.",
]


def compare_fill_mask(text: str, top_k: int = TOP_K) -> Any:
    """Yield the outcomes (one per fill-mask model) after each model finishes."""
    yield from compare.run_each(
        compare.present(FILL_MASK), lambda spec: compare.module(spec).predict(text, top_k)
    )


def build_tab() -> None:
    specs = compare.present(FILL_MASK)
    gr.Markdown(
        "### One masked sentence, every fill-mask model\nWrite `[MASK]` once; each model gets "
        "its own mask token. Columns fill in as each model finishes."
    )
    with gr.Row():
        text = gr.Textbox(label="Sentence with one [MASK]", value=EXAMPLES[0], scale=3)
        top_k = gr.Slider(1, 20, value=TOP_K, step=1, label="Top k", scale=1)
        button = gr.Button("Compare", variant="primary", scale=1)
    columns = []
    with gr.Row():
        for spec in specs:
            with gr.Column():
                gr.Markdown(f"#### {spec.title}")
                columns.append((gr.Label(num_top_classes=20, label="Top words"), gr.Markdown()))
    details = gr.JSON(label="All results (as returned by the API)")
    gr.Examples([[e] for e in EXAMPLES], inputs=[text])

    def render(outcomes: list[Outcome]) -> list[Any]:
        values: list[Any] = []
        for outcome in outcomes:
            values += [ui.to_label(outcome.result) if outcome.ok else None, compare.status(outcome)]
        return [*values, [o.as_dict() for o in outcomes]]

    @ui.guarded("Compare language")
    def handler(text: str, top_k: float):
        for outcomes in compare_fill_mask(text, int(top_k)):
            yield render(outcomes)

    outputs = [c for pair in columns for c in pair] + [details]
    button.click(handler, [text, top_k], outputs, api_name="compare_language")
    text.submit(handler, [text, top_k], outputs, api_visibility="private")
