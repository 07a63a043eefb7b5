"""Whisper tab: transcribe or translate speech, with the language it heard and timestamps.

Model: Whisper base (`openai/whisper-base`, 74M), Radford et al. 2022, "Robust Speech Recognition
via Large-Scale Weak Supervision" (arXiv:2212.04356). Weights: Apache-2.0 on the Hugging Face
Hub; OpenAI's code: MIT. Trained on 680,000 hours of web audio in 99 languages.

- Language: detected from the first 30 s (one decoder step over the language tokens) unless the
  user picks one; "translate" turns any language into English text.
- Segment timestamps are Whisper's own timestamp tokens (20 ms steps); word timestamps, on
  request, come from dynamic time warping over the cross-attention of the checkpoint's
  `alignment_heads` (the method of OpenAI's `word_timestamps=True`).
- Audio over 30 s: the full log-mel features go to `generate` untruncated, which runs Whisper's
  sequential long-form algorithm (paper §3.8): decode a 30 s window, move to the last predicted
  timestamp, repeat, re-decoding a window at higher temperature when it looks like a loop.
- Live microphone: chunks accumulate in an `AudioStream`; the growing buffer is re-transcribed
  about once a second (less often when the machine is slower than real time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import torch
from transformers.models.whisper.tokenization_whisper import LANGUAGES, TO_LANGUAGE_CODE

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput
from demos.core.pipeline import Pipeline
from demos.core.registry import Checkpoint
from demos.media import assets, audio

SPEC = registry.get("whisper")
WINDOW_S = 30.0  # Whisper reads 30 s windows: 3000 log-mel frames of 10 ms
TASKS = ("transcribe", "translate")
# Long-form decoding as OpenAI's transcribe(): fall back to sampling at rising temperatures when
# a window's text compresses too well (a repetition loop) or its mean log-prob is below -1.
# A checkpoint's own generation_config.json wins for any of these it sets.
LONG_FORM = {
    "condition_on_prev_tokens": False,  # conditioning spreads one window's hallucination onward
    "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "compression_ratio_threshold": 1.35,  # zlib ratio of the tokens (≈ 2.4 on text characters)
    "logprob_threshold": -1.0,
    "no_speech_threshold": 0.6,
}
NO_SPACE_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue"}  # words are tokens, not spaced runs
LIVE_EVERY_S = 1.0  # re-transcribe the live buffer after at least this much new audio
LIVE_DETECT_S = 3.0  # the language is re-detected until this much audio, then kept
LIVE_WINDOW_S = 25.0  # then start a new window: the text so far is kept, the audio dropped


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


def language_choices() -> list[tuple[str, str]]:
    named = sorted((name.title(), code) for code, name in LANGUAGES.items())
    return [("auto-detect", ""), *named]


# classes


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
        self.long_form = {k: v for k, v in LONG_FORM.items() if k not in own}
        if own.get("logprob_threshold", -1.0) is None:
            # The no-speech check reads the log-prob: without one, transformers 5.24 crashes.
            self.long_form["no_speech_threshold"] = None

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
        task = params.get("task") or "transcribe"
        if task not in TASKS:
            raise BadInput(f"The task must be one of {', '.join(TASKS)}, not {task!r}.")
        language = language_code(params.get("language"))
        if not self.multilingual and (task == "translate" or language not in (None, "en")):
            raise BadInput(
                "This checkpoint is English-only: it transcribes English. Pick a multilingual "
                "size to translate or to hear other languages."
            )
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
        }

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        inputs = self.to_device(
            {"input_features": batch["input_features"], "attention_mask": batch["attention_mask"]}
        )
        language, detected = batch["language"], False
        kwargs: dict[str, Any] = {}
        if self.multilingual:
            if language is None:  # one decoder step over the language tokens, first 30 s only
                lang_id = int(self.model.detect_language(inputs["input_features"])[0])
                language, detected = self.id_to_language.get(lang_id, "en"), True
            kwargs = {"task": batch["task"], "language": language}
        if batch["words"]:
            if not getattr(self.model.generation_config, "alignment_heads", None):
                raise BadInput(
                    "This checkpoint names no alignment heads, so it cannot time single words; "
                    "segment timestamps still work."
                )
            kwargs["return_token_timestamps"] = True
        if batch["long_form"]:
            kwargs.update(self.long_form)
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
            "duration_s": batch["duration_s"],
            "task": batch["task"],
        }

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
        code = outputs["language"]
        return {
            "text": " ".join(s["text"] for s in segments if s["text"]),
            "language": code,
            "language_name": LANGUAGES.get(code, code).title(),
            "language_detected": outputs["detected"],
            "task": outputs["task"],
            "duration_s": round(end_s, 3),
            "segments": segments,
            "words": words,
        }


@dataclass
class LiveState:
    """What the live tab remembers between microphone chunks."""

    stream: audio.AudioStream = field(default_factory=audio.AudioStream)
    committed: str = ""  # text of earlier windows
    current: str = ""  # text of the window being recorded
    transcribed_s: float = 0.0  # buffer length at the last transcription
    wait_s: float = LIVE_EVERY_S  # new audio needed before the next transcription
    language: str | None = None  # detected once, then kept (saves a pass per update)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(t for t in (self.committed, self.current) if t)


# the tab


def predict(
    clip: Any,
    task: str = "transcribe",
    language: str | None = None,
    word_timestamps: bool = False,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
) -> tuple[dict[str, Any], runtime.RunInfo]:
    """Transcribe (or translate) `clip`: (text, language, segments, words..., run info)."""
    pipe, info = runtime.load_model(SPEC, SPEC.checkpoint(checkpoint), WhisperASR.load, progress)
    result, info.speed_ms = pipe(
        clip, task=task, language=language, word_timestamps=word_timestamps
    )
    return result, info


def live_step(
    state: LiveState | None,
    chunk: Any,
    task: str = "transcribe",
    language: str | None = None,
    checkpoint: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> LiveState:
    """Append one microphone chunk; re-transcribe the buffer when enough new audio arrived."""
    state = state or LiveState()
    state.stream.append(chunk)
    if state.stream.duration_s - state.transcribed_s < state.wait_s:
        return state
    clip = state.stream.audio()
    if clip.duration_s < audio.MIN_SECONDS or abs(clip.samples).max() < audio.SILENCE_PEAK:
        if state.stream.duration_s >= LIVE_WINDOW_S:  # a long silence: drop it
            state.stream, state.transcribed_s = audio.AudioStream(), 0.0
        return state  # nothing said yet
    started = clock()
    result, run = predict(clip, task, language or state.language, False, checkpoint)
    if not language and state.language is None and clip.duration_s >= LIVE_DETECT_S:
        state.language = result["language"]  # then kept: one pass less per update
    state.current = result["text"]
    state.transcribed_s = state.stream.duration_s
    # When the machine is slower than real time, wait for as much audio as a pass takes.
    state.wait_s = max(LIVE_EVERY_S, clock() - started)
    state.info = audio.run_info(run, clip.duration_s)
    if state.stream.duration_s >= LIVE_WINDOW_S:  # a new window keeps each pass short
        state.committed, state.current = state.text, ""
        state.stream, state.transcribed_s = audio.AudioStream(), 0.0
    return state


def _table(rows: list[dict[str, Any]], key: str) -> list[list[Any]]:
    return [[r["start"], r["end"], r[key]] for r in rows]


def build_tab() -> None:
    examples = assets.audio()
    ui.model_card(SPEC)
    with gr.Row():
        with gr.Column():
            clip = ui.audio_input("Speech")
            with gr.Row():
                task = gr.Radio(
                    list(TASKS),
                    value="transcribe",
                    label="Task",
                    info="translate: speech in any language → English text",
                )
                language = gr.Dropdown(
                    language_choices(), value="", label="Spoken language", info="or auto-detect"
                )
            words = gr.Checkbox(label="Word timestamps", value=False)
            checkpoint = ui.checkpoint_picker(SPEC)
            button = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Text", lines=5)
            heard = gr.Textbox(label="Language")
            segments = gr.Dataframe(
                headers=["start (s)", "end (s)", "text"], label="Segments", wrap=True
            )
            word_table = gr.Dataframe(
                headers=["start (s)", "end (s)", "word"], label="Words (when asked for)"
            )
            info = ui.run_info()
    if examples:
        gr.Examples([[e] for e in examples], inputs=[clip])
    with gr.Accordion("Live: transcribe while you speak", open=False):
        gr.Markdown(
            "Press record and talk: the text is redone about once a second from everything "
            f"said so far (a new window starts every {LIVE_WINDOW_S:.0f} s). Uses the task, "
            "language and checkpoint above."
        )
        mic = gr.Audio(sources=["microphone"], streaming=True, type="filepath", label="Microphone")
        live_text = gr.Textbox(label="Live text", lines=4)
        live_info = ui.run_info()
        live = gr.State(None)

    @ui.guarded(SPEC)
    def handler(
        clip: str | None,
        task: str,
        language: str,
        words: bool,
        checkpoint: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        result, run = predict(clip, task, language, words, checkpoint, ui.reporter(progress))
        how = "detected" if result["language_detected"] else "as chosen"
        return (
            result["text"],
            f"{result['language_name']} ({result['language']}, {how})",
            _table(result["segments"], "text"),
            _table(result["words"], "word"),
            audio.run_info(run, result["duration_s"]),
        )

    @ui.guarded(SPEC)
    def live_handler(chunk: Any, state: LiveState | None, task: str, language: str, ckpt: str):
        state = live_step(state, chunk, task, language, ckpt)
        return state.text, state.info or None, state

    button.click(
        handler,
        [clip, task, language, words, checkpoint],
        [text, heard, segments, word_table, info],
        api_name=SPEC.key,
    )
    mic.start_recording(
        lambda: (None, "", None), None, [live, live_text, live_info], api_visibility="private"
    )
    mic.stream(
        live_handler,
        [mic, live, task, language, checkpoint],
        [live_text, live_info, live],
        stream_every=1.0,
        time_limit=int(audio.max_seconds()),
        api_visibility="private",
    )
