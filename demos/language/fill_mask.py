"""Fill-mask, the task BERT and RoBERTa were pre-trained on: guess the hidden word.

Shared by the BERT and RoBERTa tabs (each module holds its own record and examples). Users may
type `[MASK]` or `<mask>` in either tab; each model receives its own mask token. Predictions are
the model's softmax over its whole vocabulary at the masked position, with special tokens
(`[CLS]`, `<s>`, the mask itself...) left out of the ranking.
"""

from __future__ import annotations

import re
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
    """The words that fit the mask, best first."""

    predictions: list[dict[str, Any]]  # [{label, score, token_id, sequence}]


class FillMask(Pipeline[str, list[dict[str, Any]]]):
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
        model = AutoModelForMaskedLM.from_pretrained(checkpoint.id, dtype=dtype, **kwargs)
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

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ids = batch["input_ids"]
        position = int((ids[0] == self.tokenizer.mask_token_id).nonzero()[0, 0])
        logits = self.model(**self.to_device(batch)).logits[0, position]
        return {"logits": logits.float().cpu(), "input_ids": ids[0], "position": position}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
        top_k = int(params.get("top_k", DEFAULT_TOP_K))
        probs = outputs["logits"].softmax(-1)  # over the whole vocabulary: true probabilities
        ranked = probs.clone()
        ranked[self.special_ids[self.special_ids < ranked.numel()]] = -1.0  # never predicted
        scores, token_ids = ranked.topk(min(top_k, int((ranked >= 0).sum())))
        ids = outputs["input_ids"].clone()
        results = []
        for score, token_id in zip(scores.tolist(), token_ids.tolist(), strict=True):
            ids[outputs["position"]] = token_id
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
    """Fill the mask in `text` with `spec`'s model: the top-k words, best first."""
    pipe, info = runtime.load_model(spec, spec.checkpoint(checkpoint), FillMask.load, progress)
    predictions, info.speed_ms = pipe(text, top_k=top_k)
    return FillMaskResult(predictions=predictions, info=info)


def build_tab(spec: DemoSpec, examples: list[str]) -> None:
    """The fill-mask tab for `spec`, with endpoint `/<key>`."""
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
        with gr.Column():
            label = gr.Label(num_top_classes=20, label="Most likely words")
            info = ui.run_info()
    gr.Examples([[e] for e in examples], inputs=[text])

    @ui.guarded(spec)
    def handler(
        text: str,
        top_k: float,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        result = predict(spec, text, int(top_k), checkpoint, ui.reporter(progress))
        return ui.to_label(result.predictions), result.info.as_dict()

    button.click(handler, [text, top_k, checkpoint], [label, info], api_name=spec.key)
    text.submit(handler, [text, top_k, checkpoint], [label, info], api_visibility="private")
