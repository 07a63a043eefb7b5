"""Transformer-XL tab: continue a text, and see what the memory of earlier segments is worth.

Model: Transformer-XL trained on WikiText-103, `transfo-xl/transfo-xl-wt103` on the Hugging Face hub
at a pinned commit (285M parameters, 267,735 words). Dai, Yang, Yang, Carbonell, Le and
Salakhutdinov 2019, "Transformer-XL: Attentive Language Models Beyond a Fixed-Length Context"
(arXiv:1901.02860), CMU and Google Brain. Licence: none given on the hub card; the original code is
Apache-2.0 and WikiText-103 is CC BY-SA 3.0. The network is the gallery's own PyTorch
reimplementation (`demos.language.transformer_xl.model`), since transformers dropped the model;
weights load with `torch.load(weights_only=True)` and the vocabulary through an allow-list
unpickler. The pipelines are in `demos.language.transformer_xl.pipelines`, the plot in `plot`.

The seed's point is segment-level recurrence: text is read in segments and every layer attends to
its states of the previous segments too (the memory, 1,600 steps), so context reaches beyond one
segment. The tab (a) continues a prompt word by word, streaming; (b) reads a long passage segment
by segment twice, memory carried and memory reset at every segment, and plots the loss per token.
Every request starts from an empty memory: nothing is shared between requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from demos.core import registry, runtime, ui
from demos.core.registry import Checkpoint
from demos.language.transformer_xl.pipelines import (
    MAX_NEW_TOKENS,
    MAX_PASSAGE_TOKENS,
    MAX_TEMPERATURE,
    SEGMENT_LENS,
    ContinuationResult,
    MemoryResult,
    TransformerXL,
    check_text,
    in_range,
    resolve,
)
from demos.language.transformer_xl.plot import loss_figure, summary
from demos.media import assets

SPEC = registry.get("transformer_xl")
DEFAULT_NEW_TOKENS = 60
DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_K = 40  # as in the paper's samples
DEFAULT_SEGMENT = 64  # tokens: the example passage spans about 20 segments
EXAMPLES = [
    "= Forth Bridge =\nThe Forth Bridge is a railway bridge",
    "The history of the city begins in the 12th century, when",
    "In 1905 the team moved to a new stadium, and in its first season there",
    "The album was recorded in London in 1971. The band",
]
PASSAGES = ["forth-bridge.txt"]  # in assets/; sources and licences in assets/README.md


def download(checkpoint: Checkpoint) -> str:
    """`python -m demos.core.download transformer_xl`: config.json, pytorch_model.bin, vocab.pkl."""
    return str(resolve(checkpoint))


# plain calls (the compare tabs use these)


def _load(checkpoint: str | None, progress: runtime.Progress | None):
    return runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), TransformerXL.load, progress)


def _generation_params(max_new_tokens, temperature, top_k, seed) -> dict[str, Any]:
    return {
        "max_new_tokens": int(in_range(max_new_tokens, "Max new tokens", 1, MAX_NEW_TOKENS)),
        "temperature": float(in_range(temperature, "Temperature", 0, MAX_TEMPERATURE)),
        "top_k": int(in_range(top_k, "Top-k", 0, 1_000_000)),
        "seed": int(in_range(seed, "Seed", 0, 2**63 - 1)),
    }


def _check_prompt(prompt: str | None) -> str:
    return check_text(prompt, "prompt", "Type the beginning of a text for the model to continue.")


def predict(
    prompt: str,
    max_new_tokens: int = DEFAULT_NEW_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    top_k: int = DEFAULT_TOP_K,
    seed: int = 0,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> ContinuationResult:
    """Continue `prompt` in one call. Temperature 0 is greedy; top_k 0 is off."""
    prompt = _check_prompt(prompt)
    params = _generation_params(max_new_tokens, temperature, top_k, seed)
    loaded, info = _load(checkpoint, progress)
    answer, info.speed_ms = loaded.continuation(prompt, **params)
    return ContinuationResult(**answer, info=info)


def stream(
    prompt: str,
    max_new_tokens: int = DEFAULT_NEW_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    top_k: int = DEFAULT_TOP_K,
    seed: int = 0,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> Iterator[ContinuationResult]:
    """Like `predict`, but a result after every new token; the run info fills as it goes."""
    prompt = _check_prompt(prompt)
    params = _generation_params(max_new_tokens, temperature, top_k, seed)
    loaded, info = _load(checkpoint, progress)
    for answer in loaded.continuation.stream(prompt, info.speed_ms, **params):
        yield ContinuationResult(**answer, info=info)


def predict_memory(
    passage: str,
    segment_len: int = DEFAULT_SEGMENT,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> MemoryResult:
    """Read `passage` in segments with the memory carried and reset; losses in nats."""
    passage = check_text(passage, "passage", "Paste a long text, a few paragraphs or more.")
    seg = int(in_range(segment_len, "Segment length", *SEGMENT_LENS))
    loaded, info = _load(checkpoint, progress)
    if progress:
        progress(0.5, "Reading the passage twice: memory carried, then memory reset…")
    answer, info.speed_ms = loaded.memory(passage, segment_len=seg)
    return MemoryResult(**answer, info=info)


# the tab

INTRO = (
    "Transformer-XL reads text in **segments**. Each layer keeps its states of the previous "
    "segments as a **memory** (1,600 steps for this model) and attends to it, with relative "
    "positions so that the remembered states still fit. Its vocabulary is WikiText-103's: "
    "whole words from Wikipedia articles, case-sensitive; a line break ends a paragraph. Every "
    "request starts with an empty memory."
)
MEMORY_HELP = (
    "The same passage is read segment by segment twice: once carrying the memory from segment to "
    "segment (Transformer-XL), once resetting it at every segment (a fixed-context model). The "
    "first segment is read the same way both times; after it, the reset model starts every "
    "segment blind, and its loss jumps at the segment boundaries (dotted lines). Lower loss "
    "means the model found the next word less surprising; perplexity is e^(mean loss)."
)


def _passages() -> list[str]:
    """The example passages' text, read when the tab is built (not at import)."""
    paths = [assets.ASSETS / name for name in PASSAGES]
    return [p.read_text(encoding="utf-8").strip() for p in paths if p.is_file()]


def run_details(result: ContinuationResult) -> dict[str, Any]:
    """The run info the endpoint returns with the last piece: token counts and speed."""
    details = {**result.info.as_dict(), "new_tokens": len(result.tokens)}
    details |= {"prompt_tokens": result.prompt_tokens, "unknown_words": result.unknown_words}
    seconds = result.info.speed_ms.get("inference", 0.0) / 1000.0  # the prompt's step included
    if seconds > 0:
        details["tokens_per_s"] = round(len(result.tokens) / seconds, 1)
    return details


@ui.guarded(SPEC)
def continue_text(
    prompt: str,
    max_new_tokens: float,
    temperature: float,
    top_k: float,
    seed: float,
    checkpoint: str,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
):
    """The /transformer_xl endpoint: streams (continuation so far, reading note, run info)."""
    settings = (max_new_tokens, temperature, top_k, seed, checkpoint, ui.reporter(progress))
    result = None
    for result in stream(prompt, *settings):
        yield result.text, result.note, gr.skip()
    if result is not None:
        yield result.text, result.note, run_details(result)


@ui.guarded(SPEC)
def compare_memory(
    passage: str,
    segment_len: float,
    checkpoint: str,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
):
    """The /transformer_xl_memory endpoint: (summary, plot, losses as JSON, run info)."""
    result = predict_memory(passage, int(segment_len), checkpoint, ui.reporter(progress))
    with runtime.timed(result.info.speed_ms, "render"):
        figure = loss_figure(result)
    return summary(result), figure, result.answer(), result.info.as_dict()


def _continuation_panel(checkpoint: gr.Dropdown) -> gr.Textbox:
    """Prompt and settings on the left, the streamed continuation (returned) on the right."""
    with gr.Row():
        with gr.Column():
            prompt = gr.Textbox(label="Beginning of a text", value=EXAMPLES[0], lines=4)
            with gr.Row():
                new_tokens = gr.Slider(
                    1, MAX_NEW_TOKENS, value=DEFAULT_NEW_TOKENS, step=1, label="Max new tokens"
                )
                temperature = gr.Slider(
                    0,
                    MAX_TEMPERATURE,
                    value=DEFAULT_TEMPERATURE,
                    step=0.05,
                    label="Temperature",
                    info="0: always the likeliest word (greedy)",
                )
            with gr.Row():
                top_k = gr.Slider(
                    0, 200, value=DEFAULT_TOP_K, step=1, label="Top-k", info="0: no limit"
                )
                seed = gr.Number(
                    value=0, precision=0, minimum=0, label="Seed", info="same seed, same sample"
                )
            with gr.Row():
                go = gr.Button("Continue", variant="primary")
                stop = gr.Button("Stop")
        with gr.Column():
            continuation = gr.Textbox(label="Continuation", lines=10)
            reading = gr.Markdown()
            info = ui.run_info()
    gr.Examples([[e] for e in EXAMPLES], inputs=[prompt], label="Prompts")

    inputs = [prompt, new_tokens, temperature, top_k, seed, checkpoint]
    # No submit on Enter: a line break in the prompt is meaningful (the end of a paragraph).
    running = go.click(continue_text, inputs, [continuation, reading, info], api_name=SPEC.key)
    stop.click(None, None, None, cancels=[running], api_visibility="private")
    return continuation


def _memory_panel(checkpoint: gr.Dropdown) -> gr.Plot:
    """A passage read both ways: the verdict, the plot (returned), the losses as JSON."""
    passages = _passages()
    with gr.Row():
        with gr.Column(scale=2):
            passage = gr.Textbox(
                label=f"A long passage (one paragraph per line; up to {MAX_PASSAGE_TOKENS:,} "
                "tokens)",
                value=passages[0] if passages else "",
                lines=10,
                max_lines=20,
            )
            segment_len = gr.Slider(
                *SEGMENT_LENS, value=DEFAULT_SEGMENT, step=16, label="Segment length (tokens)"
            )
            read_button = gr.Button("Read the passage both ways", variant="primary")
        with gr.Column(scale=3):
            verdict = gr.Markdown()
            plot = gr.Plot(label="Loss per token", format="png")
    if passages:
        gr.Examples([[p] for p in passages], inputs=[passage], label="Passages")
    with gr.Accordion("Perplexities and per-token losses (nats), as in the API", open=False):
        losses = gr.JSON(show_label=False, max_height=400)
    info = ui.run_info()

    read_button.click(
        compare_memory,
        [passage, segment_len, checkpoint],
        [verdict, plot, losses, info],
        api_name=f"{SPEC.key}_memory",
    )
    return plot


def build_tab() -> list[gr.Component]:
    ui.model_card(SPEC)
    gr.Markdown(INTRO)
    checkpoint = ui.checkpoint_picker(SPEC)
    gr.Markdown("### Continue a text")
    continuation = _continuation_panel(checkpoint)
    gr.Markdown("### Memory carried or reset: loss per token, segment by segment")
    gr.Markdown(MEMORY_HELP)
    return [continuation, _memory_panel(checkpoint)]
