"""Wav2Vec 2.0 tab: a CTC transcript with word timestamps, and how frames become letters.

Model: Wav2Vec 2.0 base fine-tuned on 960 h of LibriSpeech (`facebook/wav2vec2-base-960h`, 95M),
Baevski, Zhou, Mohamed, Auli 2020, "wav2vec 2.0: A Framework for Self-Supervised Learning of
Speech Representations" (arXiv:2006.11477). Weights: Apache-2.0, Facebook AI.

The model emits one distribution over characters (plus the CTC blank, `<pad>`) per frame; a frame
is the product of the feature encoder's conv strides in samples (5·2·2·2·2·2·2 = 320 samples =
20 ms at 16 kHz), read from the checkpoint's config. Greedy CTC decoding takes the best symbol per
frame, merges repeats and drops blanks; "|" is the space between words. Word timestamps are the
frames of a word's first and last letters. Long audio is read in 30 s windows with 5 s of context
on each side, whose middle frames are stitched together (as transformers' ASR pipeline does), so
attention never spans more than 40 s. The emissions plot is drawn by the tab from the typed
result (`Wav2Vec2Result.emissions`), after postprocess.
"""

from __future__ import annotations

import dataclasses
import math
from functools import reduce
from typing import Any

import gradio as gr
import numpy as np
import torch

from demos.core import registry, runtime, ui
from demos.core.pipeline import Pipeline, ui_only
from demos.core.registry import Checkpoint
from demos.media import assets, audio
from demos.speech.transcript import Transcript, word_rows

SPEC = registry.get("wav2vec2")
CHUNK_S = 30.0  # seconds of audio whose frames each window contributes
CONTEXT_S = 5.0  # seconds read on either side of a chunk, then dropped: words at a cut still fit
PLOT_S = 10.0  # seconds shown in the emissions plot: 500 frames still read one by one
PLOT_MIN_PROB = 0.02  # symbols never this likely in the plotted span get no row


# helpers


def frame_seconds(config: Any, sample_rate: int = audio.SAMPLE_RATE) -> float:
    """Seconds per output frame: the product of the feature encoder's conv strides."""
    stride = reduce(lambda a, b: a * b, config.conv_stride, 1)
    if getattr(config, "add_adapter", False):  # an adapter downsamples once more per layer
        stride *= config.adapter_stride**config.num_adapter_layers
    return stride / sample_rate


def windows(n_samples: int, rate: int) -> list[tuple[int, int, int, int]]:
    """(read_start, read_end, keep_start, keep_end) sample ranges covering the clip once."""
    chunk, context = int(CHUNK_S * rate), int(CONTEXT_S * rate)
    if n_samples <= chunk + 2 * context:
        return [(0, n_samples, 0, n_samples)]
    out = []
    for keep_start in range(0, n_samples, chunk):
        keep_end = min(keep_start + chunk, n_samples)
        out.append(
            (max(0, keep_start - context), min(n_samples, keep_end + context), keep_start, keep_end)
        )
    return out


def plot_emissions(
    log_probs: np.ndarray, labels: list[str], chars: list[dict[str, Any]], frame_s: float
) -> np.ndarray:
    """The per-frame probabilities of each symbol over the first PLOT_S seconds, as RGB pixels."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # at draw time: no matplotlib at start-up
    )
    from matplotlib.figure import Figure  # at draw time: no matplotlib at start-up

    frames = min(log_probs.shape[0], max(1, math.ceil(PLOT_S / frame_s)))
    probs = np.exp(log_probs[:frames]).T  # symbols x frames
    rows = [i for i in range(len(labels)) if probs[i].max() >= PLOT_MIN_PROB] or [0]
    best = probs.argmax(0)
    height = 1.6 + 0.22 * len(rows)  # inches
    # Fixed margins, not a constrained layout: the layout solver alone took ~100 ms a plot.
    fig = Figure(figsize=(12, height), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.9 / height, top=1 - 0.75 / height)
    ax = fig.add_subplot()
    extent = (0, frames * frame_s, len(rows) - 0.5, -0.5)
    ax.imshow(probs[rows], aspect="auto", cmap="magma", vmin=0, vmax=1, extent=extent)
    ax.set_yticks(range(len(rows)), [labels[i] for i in rows], fontsize=8)
    row_of = {sym: r for r, sym in enumerate(rows)}
    t = (np.arange(frames) + 0.5) * frame_s
    on_path = [k for k in range(frames) if best[k] in row_of]
    ax.scatter(t[on_path], [row_of[best[k]] for k in on_path], s=4, c="cyan", label="best symbol")
    total = log_probs.shape[0] * frame_s
    shown_s = (
        f" · first {frames * frame_s:.0f} s of {total:.1f} s" if frames < log_probs.shape[0] else ""
    )
    ax.set_xlabel(f"time (s) · one frame = {frame_s * 1000:.0f} ms · brighter = likelier{shown_s}")
    ax.set_ylabel("symbol")
    top = ax.secondary_xaxis("top")  # the letters greedy decoding emits, where it emits them
    shown = [c for c in chars if c["start"] < frames * frame_s]
    top.set_xticks([c["start"] + frame_s / 2 for c in shown], [c["char"] for c in shown])
    top.tick_params(labelsize=9, length=0)
    # Right-aligned: the page lays the image's label over the top-left corner.
    ax.set_title("↓ letters where greedy CTC decoding emits them", loc="right", fontsize=9, pad=22)
    ax.legend(loc="lower right", fontsize=8, markerscale=3)
    canvas = FigureCanvasAgg(fig)  # no pyplot: no global state shared between requests
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


# classes


@dataclasses.dataclass(kw_only=True)
class Wav2Vec2Result(Transcript):
    """Greedy CTC's answer: the text, when each word and letter was emitted, and the frames."""

    words: list[dict[str, Any]]  # {"word", "start", "end"}, s
    chars: list[dict[str, Any]]  # {"char", "start", "end"}, s
    frame_ms: float  # one output frame, ms (20 for the base models)
    frames: int  # output frames in the clip
    log_probs: np.ndarray | None = ui_only()  # [frames, symbols], for the emissions plot
    labels: tuple[str, ...] = ui_only(default=())  # the symbols' names, in class order

    def emissions(self) -> np.ndarray:
        """The emissions plot (RGB pixels), drawn from this result."""
        return plot_emissions(self.log_probs, list(self.labels), self.chars, self.frame_ms / 1000)


class Wav2Vec2CTC(Pipeline[Any, dict[str, Any]]):
    """A CTC speech model with its feature extractor and character tokenizer."""

    def __init__(self, *, feature_extractor: Any, tokenizer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.frame_s = frame_seconds(self.model.config, feature_extractor.sampling_rate)
        self.blank = int(tokenizer.pad_token_id)  # CTC's blank is the pad token
        delimiter = tokenizer.convert_tokens_to_ids(tokenizer.word_delimiter_token)
        self.non_letters = set(tokenizer.all_special_ids) - {self.blank, delimiter}
        self.labels = [
            "blank" if i == tokenizer.pad_token_id else tok.replace("|", "| (space)")
            for i, tok in enumerate(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))))
        ]

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> Wav2Vec2CTC:
        kwargs = {"revision": checkpoint.revision} if checkpoint.revision else {}
        from transformers import AutoFeatureExtractor, AutoModelForCTC, AutoTokenizer  # slow

        extractor = AutoFeatureExtractor.from_pretrained(checkpoint.id, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(checkpoint.id, **kwargs)
        model = AutoModelForCTC.from_pretrained(checkpoint.id, dtype=dtype, **kwargs)
        return cls(
            model=model.to(device),
            feature_extractor=extractor,
            tokenizer=tokenizer,
            device=device,
            dtype=dtype,
        )

    def preprocess(self, inputs: Any, **params: Any) -> dict[str, Any]:
        clip = audio.load_audio(inputs)
        pieces = []
        for read_start, read_end, keep_start, keep_end in windows(
            len(clip.samples), clip.sample_rate
        ):
            # Normalised per window (zero mean, unit variance), as the model saw in training.
            values = self.feature_extractor(
                clip.samples[read_start:read_end],
                sampling_rate=clip.sample_rate,
                return_tensors="pt",
            )["input_values"]
            pieces.append(
                {
                    "input_values": values,
                    # frames to drop at each end: the context read only to give the edges ears
                    "skip": round((keep_start - read_start) / clip.sample_rate / self.frame_s),
                    "keep": round((keep_end - keep_start) / clip.sample_rate / self.frame_s),
                }
            )
        return {"windows": pieces, "duration_s": clip.duration_s}

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        kept = []
        for piece in batch["windows"]:
            logits = self.model(**self.to_device({"input_values": piece["input_values"]})).logits
            kept.append(logits[0, piece["skip"] : piece["skip"] + piece["keep"]].float().cpu())
        return {"logits": torch.cat(kept), "duration_s": batch["duration_s"]}

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        log_probs = outputs["logits"].log_softmax(-1)
        # <s>, </s> and <unk> are no letters (a trained model never picks them): read as blank.
        ids = [
            i if i not in self.non_letters else self.blank for i in log_probs.argmax(-1).tolist()
        ]
        decoded = self.tokenizer.decode(ids, output_char_offsets=True, output_word_offsets=True)
        frame_s = self.frame_s

        def seconds(frame: int) -> float:
            return round(min(float(frame) * frame_s, outputs["duration_s"]), 3)

        chars = [
            {
                "char": c["char"],
                "start": seconds(c["start_offset"]),
                "end": seconds(c["end_offset"]),
            }
            for c in decoded.char_offsets
        ]
        words = [
            {
                "word": w["word"],
                "start": seconds(w["start_offset"]),
                "end": seconds(w["end_offset"]),
            }
            for w in decoded.word_offsets
        ]
        return {
            "text": decoded.text,
            "words": words,
            "chars": chars,
            "frame_ms": round(frame_s * 1000, 3),
            "frames": int(log_probs.shape[0]),
            "duration_s": round(outputs["duration_s"], 3),
            "log_probs": log_probs.numpy(),
            "labels": tuple(self.labels),
        }


# the tab


def predict(
    clip: Any, checkpoint: str | None = None, progress: runtime.Progress | None = None
) -> Wav2Vec2Result:
    """Transcribe `clip`: text, word and letter times, the frames' log-probabilities, run info."""
    pipe, info = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), Wav2Vec2CTC.load, progress)
    fields, info.speed_ms = pipe(clip)
    return Wav2Vec2Result(info=info, **fields)


def transcribe(
    clip: str | None, checkpoint: str, progress: gr.Progress = gr.Progress(track_tqdm=True)
) -> tuple[str, list[list[Any]], np.ndarray, dict[str, Any]]:
    """The tab's handler: the plot is drawn here, from the typed result, after postprocess."""
    result = predict(clip, checkpoint, ui.reporter(progress))
    info = {**result.run_info(), "frame_ms": result.frame_ms}
    return result.text, word_rows(result.words), result.emissions(), info


def build_tab() -> gr.Image:
    examples = assets.audio("en")  # the checkpoints are English-only
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column():
            clip = ui.audio_input("English speech")
            checkpoint = ui.checkpoint_picker(SPEC)
            button = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Text (greedy CTC)", lines=4)
            words = gr.Dataframe(headers=["start (s)", "end (s)", "word"], label="Words")
            info = ui.run_info()
    emissions = gr.Image(
        label="CTC emissions: each column is one frame; the letters are where the decoder "
        "emits them",
        type="numpy",
        format="png",
    )
    if examples:
        gr.Examples([[e] for e in examples], inputs=[clip])
    button.click(
        ui.guarded(SPEC)(transcribe),
        [clip, checkpoint],
        [text, words, emissions, info],
        api_name=SPEC.key,
    )
    return emissions
