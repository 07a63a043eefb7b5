"""Fill-mask, the task BERT and RoBERTa were pre-trained on: guess the hidden word.

Shared by the BERT and RoBERTa tabs (each module holds its own record and examples). Users may
type `[MASK]` or `<mask>` in either tab; each model receives its own mask token. Predictions are
the model's softmax over its whole vocabulary at the masked position, with special tokens
(`[CLS]`, `<s>`, the mask itself...) left out of the ranking.

"Bidirectional" shown, not told: every run also predicts the mask from its left context alone
(the sentence cut off after the mask) and keeps the attention row of the mask position in every
layer and head (as in Clark et al. 2019, "What Does BERT Look At?", arXiv:1906.04341). The
figures are drawn in `fill_mask_views`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr
import torch

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

from demos.core import runtime, ui
from demos.core.errors import BadInput
from demos.core.pipeline import Pipeline, Result
from demos.core.registry import Checkpoint, DemoSpec
from demos.language import fill_mask_views as views

MASK_PATTERN = re.compile(r"\[mask\]|<mask>", re.IGNORECASE)  # either model's spelling
MAX_CHARS = 10_000  # longer text cannot fit 512 tokens anyway; refuse before tokenising
DEFAULT_TOP_K = 5


# helpers


def use_model_mask(text: str, mask_token: str) -> str:
    """Replace `[MASK]`/`<mask>` (any case) with the model's own mask token; exactly one allowed."""
    text = (text or "").strip()
    if not text:
        raise BadInput("Type a sentence with one [MASK] where the missing word goes.")
    if len(text) > MAX_CHARS:
        raise BadInput(f"The text is {len(text):,} characters long; keep it under {MAX_CHARS:,}.")
    found = len(MASK_PATTERN.findall(text))
    if found == 0:
        raise BadInput(
            "There is no mask in the text. Put [MASK] (or <mask>) where the missing word goes, "
            "e.g. “The capital of France is [MASK].”"
        )
    if found > 1:
        raise BadInput(
            f"The text has {found} masks; this demo fills one at a time. Keep a single [MASK]."
        )
    return MASK_PATTERN.sub(mask_token, text)


def max_tokens(tokenizer: PreTrainedTokenizerBase, config: Any) -> int:
    """How many tokens the model reads: its position table, less RoBERTa's padding offset."""
    positions = int(config.max_position_embeddings)
    if config.model_type in ("roberta", "xlm-roberta", "camembert"):
        positions -= int(config.pad_token_id) + 1  # RoBERTa's positions start after padding_idx
    return min(positions, int(tokenizer.model_max_length))


# classes


@dataclass(kw_only=True)
class FillMaskResult(Result):
    """The words that fit the mask, best first, read with both sides and with the left side only,
    and where the mask position looked."""

    predictions: list[dict[str, Any]]  # [{label, score, token_id, sequence}], whole sentence
    left_only: list[dict[str, Any]]  # the same, the sentence cut off right after the mask
    attention: dict[str, Any]  # {tokens, mask_index, weights: [layer][head][token]}


class FillMask(Pipeline[str, dict[str, Any]]):
    """A masked language model and its tokenizer."""

    def __init__(self, *, tokenizer: PreTrainedTokenizerBase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens(tokenizer, self.model.config)
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> FillMask:
        kwargs = {"revision": checkpoint.revision} if checkpoint.revision else {}
        from transformers import AutoModelForMaskedLM, AutoTokenizer  # at load: a slow import

        tokenizer = AutoTokenizer.from_pretrained(checkpoint.id, **kwargs)
        # Eager attention: SDPA computes the same thing but cannot return the weights. Measured
        # on BERT-base, 1 CPU thread: no difference at 16 and 64 tokens; at 256, 7% slower (11%
        # with the weights returned).
        model = AutoModelForMaskedLM.from_pretrained(
            checkpoint.id, dtype=dtype, attn_implementation="eager", **kwargs
        )
        return cls(model=model.to(device), tokenizer=tokenizer, device=device, dtype=dtype)

    def preprocess(self, inputs: str, **params: Any) -> dict[str, torch.Tensor]:
        text = use_model_mask(inputs, self.tokenizer.mask_token)
        batch = self.tokenizer(text, return_tensors="pt")
        n = batch["input_ids"].shape[1]
        if n > self.max_tokens:
            raise BadInput(
                f"The text is {n} tokens long; this model reads at most "
                f"{self.max_tokens}. Shorten it."
            )
        return dict(batch)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        ids = batch["input_ids"]
        position = int((ids[0] == self.tokenizer.mask_token_id).nonzero()[0, 0])
        both = self.model(**self.to_device(batch), output_attentions=True)
        # Left context only: the same tokens cut right after the mask and closed by the
        # sentence's own last token ([SEP] / </s>), as every input the model was trained on is.
        # Cut, not masked or padded: a token that is not in the input cannot be attended to by
        # any layer, so nothing of the right-hand words can leak in, and the left part keeps its
        # positions (0..mask), so the missing words are the only difference. A second forward
        # rather than a padded batch of 2: on a CPU it costs the short input, not twice the long.
        left = {k: torch.cat([v[:, : position + 1], v[:, -1:]], dim=1) for k, v in batch.items()}
        if left["input_ids"].shape[1] == ids.shape[1]:  # nothing followed the mask: same input
            left_logits = both.logits[0, position]
        else:
            left_logits = self.model(**self.to_device(left)).logits[0, position]
        # The mask position's row of every attention map: [layers, heads, tokens], each row a
        # softmax over the tokens. Only this row is kept; the full maps are dropped here.
        rows = torch.stack([layer[0, :, position, :] for layer in both.attentions])
        return {
            "logits": both.logits[0, position].float().cpu(),
            "left_logits": left_logits.float().cpu(),
            "attention": rows.float().cpu(),
            "input_ids": ids[0],
            "left_ids": left["input_ids"][0],
            "position": position,
        }

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        top_k = int(params.get("top_k", DEFAULT_TOP_K))
        position, ids = outputs["position"], outputs["input_ids"]
        tokens = self.tokenizer.convert_ids_to_tokens(ids.tolist())
        return {
            "predictions": self._top_k(outputs["logits"], ids, position, top_k),
            "left_only": self._top_k(outputs["left_logits"], outputs["left_ids"], position, top_k),
            "attention": {
                # readable tokens: RoBERTa's "Ġcity" becomes "city"; BERT's "##s" stays "##s"
                "tokens": [
                    self.tokenizer.convert_tokens_to_string([t]).strip() or t for t in tokens
                ],
                "mask_index": position,
                # 6 decimals (in float64, so the JSON holds "0.083333", not float32's digits)
                "weights": outputs["attention"].double().round(decimals=6).tolist(),
            },
        }

    def _top_k(
        self, logits: torch.Tensor, input_ids: torch.Tensor, position: int, top_k: int
    ) -> list[dict[str, Any]]:
        """[{label, score, token_id, sequence}] for the k likeliest words at `position`."""
        probs = logits.softmax(-1)  # over the whole vocabulary: true probabilities
        ranked = probs.clone()
        ranked[self.special_ids[self.special_ids < ranked.numel()]] = -1.0  # never predicted
        scores, token_ids = ranked.topk(min(top_k, int((ranked >= 0).sum())))
        ids = input_ids.clone()
        results = []
        for score, token_id in zip(scores.tolist(), token_ids.tolist(), strict=True):
            ids[position] = token_id
            results.append(
                {
                    "label": self.tokenizer.decode([token_id]).strip(),
                    "score": score,
                    "token_id": token_id,
                    "sequence": self.tokenizer.decode(ids, skip_special_tokens=True),
                }
            )
        return results

    def word_vectors(self, sentences: list[list[str]], occurrences: list[tuple[int, int]]):
        """The last layer's vector for each (sentence, word) occurrence: its sub-tokens averaged.

        Sentences are given as words (joined with spaces); character offsets map each word to
        the sub-word tokens the model reads. Returns a float32 tensor [occurrences, hidden].
        """
        vectors = []
        with self._lock, torch.inference_mode():
            for s, t in occurrences:
                words = sentences[s]
                start = sum(len(w) + 1 for w in words[:t])
                span = (start, start + len(words[t]))
                batch = self.tokenizer(
                    " ".join(words),
                    return_tensors="pt",
                    return_offsets_mapping=True,
                    truncation=True,
                    max_length=self.max_tokens,
                )
                offsets = batch.pop("offset_mapping")[0]
                inside = (offsets[:, 0] < span[1]) & (offsets[:, 1] > span[0])
                hidden = self.model(**self.to_device(dict(batch)), output_hidden_states=True)
                last = hidden.hidden_states[-1][0].float().cpu()
                if not bool(inside.any()):
                    raise BadInput(f"“{words[t]}” was cut off: sentence {s + 1} is too long.")
                vectors.append(last[inside].mean(0))
        return torch.stack(vectors)


# the tab


def predict(
    spec: DemoSpec,
    text: str,
    top_k: int = DEFAULT_TOP_K,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> FillMaskResult:
    """Fill the mask in `text` with `spec`'s model: the top-k words, best first, from both sides
    and from the left side only, and the mask position's attention in every layer and head."""
    pipe, info = runtime.load_model(spec, spec.checkpoint(checkpoint), FillMask.load, progress)
    answer, info.speed_ms = pipe(text, top_k=top_k)
    return FillMaskResult(**answer, info=info)


def build_tab(spec: DemoSpec, examples: list[str]) -> gr.Image:
    """The fill-mask tab for `spec`, with endpoint `/<key>`; returns the attention figure."""
    ui.model_card(spec)
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(
                label="Sentence with one [MASK] (or <mask>)", value=examples[0], lines=2
            )
            with gr.Row():
                top_k = gr.Slider(1, 20, value=DEFAULT_TOP_K, step=1, label="Top k")
                checkpoint = ui.checkpoint_picker(spec)
            button = gr.Button("Fill the mask", variant="primary")
        with gr.Column(scale=2):
            with gr.Row():
                label = gr.Label(num_top_classes=20, label="Both sides: the whole sentence")
                left_label = gr.Label(
                    num_top_classes=20, label="Left context only: the words after the mask hidden"
                )
            gr.Markdown(views.LISTS_CAPTION)
            note = gr.Markdown()
    with gr.Row():
        with gr.Column(scale=1, min_width=180):
            # BERT-base's 12 layers and 12 heads until a run fits the menus to the model
            layer = gr.Dropdown(views.choices(12, "layers"), value=views.AVERAGE, label="Layer")
            head = gr.Dropdown(views.choices(12, "heads"), value=views.AVERAGE, label="Head")
        with gr.Column(scale=4):
            figure = gr.Image(label="Attention of the mask position", type="numpy", format="png")
            gr.Markdown(views.ATTENTION_CAPTION)
    info = ui.run_info()
    with gr.Accordion("Attention numbers (as the API returns them)", open=False):
        numbers = gr.JSON(label="Tokens, mask index, weights[layer][head][token]")
    # the last result, so that a new layer or head redraws without a run
    answer = ui.session_state()
    gr.Examples([[e] for e in examples], inputs=[text])

    @ui.guarded(spec)
    def handler(
        text: str,
        top_k: float,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        result = predict(spec, text, int(top_k), checkpoint, ui.reporter(progress))
        return (
            ui.to_label(result.predictions),
            result.info.as_dict(),
            ui.to_label(result.left_only),
            result.attention,
            result.answer(),
        )

    def show(answer: dict[str, Any] | None, layer: str, head: str):
        """After a run: the layer and head menus fitted to the model, the figure, the note."""
        if not answer:
            return gr.update(), gr.update(), None, ""
        weights = answer["attention"]["weights"]
        layer, head = views.valid(layer, len(weights)), views.valid(head, len(weights[0]))
        return (
            gr.update(choices=views.choices(len(weights), "layers"), value=layer),
            gr.update(choices=views.choices(len(weights[0]), "heads"), value=head),
            views.attention_figure(answer["attention"], layer, head),
            views.lists_note(answer),
        )

    def redraw(answer: dict[str, Any] | None, layer: str, head: str):
        if not answer:
            return None
        return views.attention_figure(answer["attention"], layer, head)

    inputs = [text, top_k, checkpoint]
    outputs = [label, info, left_label, numbers, answer]  # new outputs after the first two
    for event in (
        button.click(handler, inputs, outputs, api_name=spec.key),
        text.submit(handler, inputs, outputs, api_visibility="private"),
    ):
        event.success(
            show, [answer, layer, head], [layer, head, figure, note], api_visibility="private"
        )
    for menu in (layer, head):
        menu.input(redraw, [answer, layer, head], figure, api_visibility="private")
    return figure


def demo(spec: DemoSpec, examples: list[str]) -> tuple[Callable[[], gr.Image], Callable[..., Any]]:
    """The demo contract's `build_tab` and `predict` for one fill-mask model (BERT, RoBERTa):
    each model's module is its record and its examples, and nothing else."""

    def build_tab() -> gr.Image:
        return globals()["build_tab"](spec, examples)

    def predict(
        text: str,
        top_k: int = DEFAULT_TOP_K,
        checkpoint: str | None = None,
        progress: runtime.Progress | None = None,
    ) -> FillMaskResult:
        """The top-k words, best first, for the one [MASK] in `text`."""
        return globals()["predict"](spec, text, top_k, checkpoint, progress)

    return build_tab, predict
