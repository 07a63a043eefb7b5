"""Whisper's pipeline: log-mel features in, `generate` with OpenAI's guards, text and times out.

Model: Whisper (`openai/whisper-*`), Radford et al. 2022, "Robust Speech Recognition via
Large-Scale Weak Supervision" (arXiv:2212.04356); the tab (`demos.speech.whisper.tab`) says more.

- Language: detected from the first 30 s (one decoder step over the language tokens) unless the
  user picks one; "translate" turns any language into English text.
- Every clip, short or long, is decoded as OpenAI's `transcribe()` decodes each 30 s window:
  greedy first, then sampling at rising temperatures while the window's text compresses too well
  (a repetition loop) or its mean log-prob is below -1 (transformers 5.24 applies this fallback
  to short-form input too, when given the thresholds). At most 224 new tokens per window
  (OpenAI's `sample_len`, half the decoder's context), so one looping attempt stays bounded.
  Without the guard, whisper-base heard espeak-ng's German example as Yiddish and wrote one
  word 90 times; with it the text is bounded, and the tab's examples name that clip's language.
- Segment timestamps are Whisper's own timestamp tokens (20 ms steps); word timestamps, on
  request, come from dynamic time warping over the cross-attention of the checkpoint's
  `alignment_heads` (the method of OpenAI's `word_timestamps=True`).
- Audio over 30 s: the full log-mel features go to `generate` untruncated, which runs Whisper's
  sequential long-form algorithm (paper §3.8): decode a 30 s window, move to the last predicted
  timestamp, repeat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from demos.core.errors import BadInput
from demos.core.pipeline import Pipeline, ui_only
from demos.core.registry import Checkpoint
from demos.media import audio
from demos.speech.transcript import Transcript
from demos.speech.whisper.languages import LANGUAGES, TO_LANGUAGE_CODE

WINDOW_S = 30.0  # Whisper reads 30 s windows: 3000 log-mel frames of 10 ms
WINDOW_FRAMES = 3000  # log-mel frames in one window
TASKS = ("transcribe", "translate")
# OpenAI's transcribe() on every window: fall back to sampling at rising temperatures when a
# window's text compresses too well (a repetition loop) or its mean log-prob is below -1; in
# long-form, skip a window whose no-speech probability is over 0.6 while its log-prob is low. A
# checkpoint's own generation_config.json wins for any of these it sets.
DECODING: dict[str, Any] = {
    "condition_on_prev_tokens": False,  # conditioning spreads one window's hallucination onward
    "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    # transformers compresses the token ids, OpenAI the text: on Whisper's vocabulary, 1.7 on
    # tokens agrees best with OpenAI's 2.4 on characters (95% of 400 texts; the 1.35 that
    # transformers suggests is nearer 1.9 and re-decodes plain repeated phrases). Loops: 5-16.
    "compression_ratio_threshold": 1.7,
    "logprob_threshold": -1.0,
    "no_speech_threshold": 0.6,
}
NO_SPACE_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue"}  # words are tokens, not spaced runs
TOP_LANGUAGES = 5  # languages (with probabilities) kept from detection


# helpers


def language_code(language: str | None) -> str | None:
    """'English', 'english', 'en' → 'en'; empty or 'auto' → None (detect)."""
    wanted = (language or "").strip().lower()
    if wanted in ("", "auto", "auto-detect", "detect"):
        return None
    if wanted in LANGUAGES:
        return wanted
    if wanted in TO_LANGUAGE_CODE:
        return TO_LANGUAGE_CODE[wanted]
    raise BadInput(f"Whisper does not know the language {language!r}; pick one from the list.")


def top_languages(probs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """[(code, probability), ...] best first → the result's `languages` (the first five)."""
    return [
        {"language": code, "name": LANGUAGES.get(code, code).title(), "probability": round(p, 4)}
        for code, p in probs[:TOP_LANGUAGES]
    ]


def language_choices() -> list[tuple[str, str]]:
    named = sorted((name.title(), code) for code, name in LANGUAGES.items())
    return [("auto-detect", ""), *named]


# classes


@dataclasses.dataclass(kw_only=True)
class WhisperResult(Transcript):
    """Whisper's answer: the text, the language it heard (or was told) and the timings."""

    language: str  # ISO 639-1 code, "en"
    language_name: str  # "English"
    language_detected: bool  # False when the user chose the language
    task: str  # "transcribe" or "translate"
    segments: list[dict[str, Any]]  # {"start", "end", "text"}, s
    words: list[dict[str, Any]]  # {"word", "start", "end"}, s; empty unless asked for
    # The likeliest languages when detected, best first: {"language", "name", "probability"};
    # empty when the user chose the language or the checkpoint is English-only.
    languages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # The background noise mixed into the clip before the model heard it, dB SNR (None: none),
    # and the 16 kHz samples it then heard (for the tab to play back; not in the JSON answer).
    noise_snr_db: float | None = None
    heard: np.ndarray | None = ui_only()

    def info_dict(self) -> dict[str, Any]:
        """The speech tabs' run info, plus the noise mixed in (`noise_snr_db`, None: none)."""
        return {**super().info_dict(), "noise_snr_db": self.noise_snr_db}

    run_info = info_dict  # the speech tabs' name for it


def result_fields(
    outputs: dict[str, Any], segments: list[dict[str, Any]], words: list[dict[str, Any]]
) -> dict[str, Any]:
    """The fields of a `WhisperResult`, the same from both engines: `outputs` holds the pass's
    language, whether it was detected, the detection's probabilities, task and duration."""
    code = outputs["language"]
    detected = outputs["detected"]
    return {
        "text": " ".join(s["text"] for s in segments if s["text"]),
        "language": code,
        "language_name": LANGUAGES.get(code, code).title(),
        "language_detected": detected,
        "languages": top_languages(outputs["languages"] or []) if detected else [],
        "task": outputs["task"],
        "duration_s": round(outputs["duration_s"], 3),
        "segments": segments,
        "words": words,
    }


def task_and_language(params: dict[str, Any], multilingual: bool) -> tuple[str, str | None]:
    """The request's task and language code, checked the same way for both engines."""
    task = params.get("task") or "transcribe"
    if task not in TASKS:
        raise BadInput(f"The task must be one of {', '.join(TASKS)}, not {task!r}.")
    language = language_code(params.get("language"))
    if not multilingual and (task == "translate" or language not in (None, "en")):
        raise BadInput(
            "This checkpoint is English-only: it transcribes English. Pick a multilingual "
            "size to translate or to hear other languages."
        )
    return task, language


class WhisperASR(Pipeline[Any, dict[str, Any]]):
    """Whisper with its processor (log-mel features, byte-level BPE tokenizer)."""

    def __init__(self, *, processor: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processor = processor
        self.tokenizer = processor.tokenizer
        gen = self.model.generation_config
        self.multilingual = bool(getattr(gen, "is_multilingual", False))
        self.id_to_language = {v: k[2:-2] for k, v in getattr(gen, "lang_to_id", {}).items()}
        self.eot = self.tokenizer.convert_tokens_to_ids("<|endoftext|>")  # text ids are below it
        own = gen.to_diff_dict()  # what the checkpoint's generation_config.json sets
        self.decoding = {k: v for k, v in DECODING.items() if k not in own}
        # OpenAI's sample_len: at most half the decoder's context (224 of 448 tokens) per window,
        # as max_length (which Whisper's generate counts after the prompt), so a looping attempt
        # ends sooner; the checkpoint's own max_length still wins when it is shorter.
        sample_len = self.model.config.max_target_positions // 2
        self.decoding["max_length"] = min(gen.max_length or sample_len, sample_len)
        if own.get("logprob_threshold", -1.0) is None:
            # The no-speech check reads the log-prob: without one, transformers 5.24 crashes.
            self.decoding["no_speech_threshold"] = None

    @classmethod
    def load(cls, checkpoint: Checkpoint, device: torch.device, dtype: torch.dtype) -> WhisperASR:
        kwargs = {"revision": checkpoint.revision} if checkpoint.revision else {}
        from transformers import AutoProcessor, WhisperForConditionalGeneration  # slow import

        processor = AutoProcessor.from_pretrained(checkpoint.id, **kwargs)
        model = WhisperForConditionalGeneration.from_pretrained(
            checkpoint.id, dtype=dtype, **kwargs
        )
        return cls(model=model.to(device), processor=processor, device=device, dtype=dtype)

    def preprocess(self, inputs: Any, **params: Any) -> dict[str, Any]:
        task, language = task_and_language(params, self.multilingual)
        if language and self.multilingual and language not in self.id_to_language.values():
            raise BadInput(f"This checkpoint was not trained on {LANGUAGES[language].title()}.")
        clip = audio.load_audio(inputs)
        long_form = clip.duration_s > WINDOW_S
        # Long-form needs every frame (no 30 s truncation); short clips are padded to 30 s.
        shape = {"truncation": False, "padding": "longest"} if long_form else {}
        features = self.processor.feature_extractor(
            clip.samples,
            sampling_rate=audio.SAMPLE_RATE,
            return_tensors="pt",
            return_attention_mask=True,
            **shape,
        )
        return {
            "input_features": features["input_features"],
            "attention_mask": features["attention_mask"],
            "duration_s": clip.duration_s,
            "long_form": long_form,
            "task": task,
            "language": language,
            "words": bool(params.get("word_timestamps")),
            "draft": bool(params.get("draft")),
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        inputs = self.to_device(
            {"input_features": batch["input_features"], "attention_mask": batch["attention_mask"]}
        )
        language, detected, probs = batch["language"], False, []
        kwargs: dict[str, Any] = {}
        if self.multilingual:
            if language is None:
                probs = self._detect(inputs["input_features"])
                language, detected = probs[0][0], True
            kwargs = {"task": batch["task"], "language": language}
        if batch["words"]:
            if not getattr(self.model.generation_config, "alignment_heads", None):
                raise BadInput(
                    "This checkpoint names no alignment heads, so it cannot time single words; "
                    "segment timestamps still work."
                )
            kwargs["return_token_timestamps"] = True
        kwargs.update(self.decoding)  # the guard against loops, on every clip (see DECODING)
        if batch["draft"]:  # one greedy attempt, no fallback: the next pass redoes it anyway
            kwargs["temperature"] = 0.0
        if not batch["long_form"]:
            # transformers finds the no-speech probability by running the whole model once
            # more (a second encoder pass); a clip this short was already checked for silence.
            kwargs.pop("no_speech_threshold", None)
        out = self.model.generate(**inputs, return_timestamps=True, return_segments=True, **kwargs)
        segments = [
            {
                "start": float(s["start"]),
                "end": float(s["end"]),
                "tokens": s["tokens"].tolist(),
                "token_times": s["token_timestamps"].tolist() if "token_timestamps" in s else None,
            }
            for s in out["segments"][0]
        ]
        return {
            "segments": segments,
            "language": language or "en",
            "detected": detected,
            "languages": probs,
            "duration_s": batch["duration_s"],
            "task": batch["task"],
        }

    def _detect(self, features: torch.Tensor) -> list[tuple[str, float]]:
        """[(code, probability), ...] best first, from the first 30 s: transformers'
        `detect_language` (one decoder step from <|startoftranscript|>, only the language
        tokens allowed), with the softmax it leaves out, as OpenAI's `detect_language` returns."""
        sot = self.model.generation_config.decoder_start_token_id
        start = torch.full((features.shape[0], 1), sot, device=self.device)
        window = features[:, :, :WINDOW_FRAMES]
        out = self.model(input_features=window, decoder_input_ids=start, use_cache=False)
        logits = out.logits[0, -1].float()
        ids = list(self.id_to_language)
        probs = logits[ids].softmax(-1).tolist()
        return sorted(
            ((self.id_to_language[i], p) for i, p in zip(ids, probs, strict=True)),
            key=lambda pair: -pair[1],
        )

    def forward_steps(self, batch: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """One step: the whole pass (the live panel re-transcribes its buffer as one)."""
        yield self.forward(batch)

    def _words(self, segment: dict[str, Any], language: str, end_s: float) -> list[dict[str, Any]]:
        """Tokens grouped into words (a word starts at a token that starts with a space)."""
        times = segment["token_times"]
        words: list[dict[str, Any]] = []
        for i, token in enumerate(segment["tokens"]):
            if token >= self.eot:  # timestamps and special tokens are no words
                continue
            start = times[i - 1] if i > 0 else segment["start"]
            piece = self.tokenizer.convert_ids_to_tokens(token)
            new_word = not words or piece.startswith("Ġ") or language in NO_SPACE_LANGUAGES
            if new_word and words and "\ufffd" in self.tokenizer.decode(words[-1]["ids"]):
                new_word = False  # a character split over two byte tokens stays one word
            if new_word:
                words.append({"ids": [token], "start": start, "end": times[i]})
            else:
                words[-1]["ids"].append(token)
                words[-1]["end"] = times[i]
        return [
            {
                "word": self.tokenizer.decode(w["ids"]).strip(),
                "start": round(min(w["start"], end_s), 2),
                "end": round(min(max(w["end"], w["start"]), end_s), 2),
            }
            for w in words
            if self.tokenizer.decode(w["ids"]).strip()
        ]

    def postprocess(self, outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        end_s = outputs["duration_s"]
        segments, words = [], []
        for seg in outputs["segments"]:
            text_ids = [t for t in seg["tokens"] if t < self.eot]
            text = self.tokenizer.decode(text_ids, skip_special_tokens=True)
            # A random or confused model may stamp past the end of the audio; clamp to it.
            start = round(min(seg["start"], end_s), 2)
            segments.append(
                {"start": start, "end": round(min(max(seg["end"], start), end_s), 2), "text": text}
            )
            if seg["token_times"] is not None:
                words += self._words(seg, outputs["language"], end_s)
        for seg in segments:
            seg["text"] = seg["text"].strip()
        return result_fields(outputs, segments, words)
