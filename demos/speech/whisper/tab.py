"""Whisper tab: transcribe or translate speech, with the language it heard and timestamps.

Model: Whisper base (`openai/whisper-base`, 74M), Radford et al. 2022, "Robust Speech Recognition
via Large-Scale Weak Supervision" (arXiv:2212.04356). Weights: Apache-2.0 on the Hugging Face
Hub; OpenAI's code: MIT. Trained on 680,000 hours of web audio in 99 languages. How a clip is
decoded (language detection, the guard against loops, timestamps, long-form): the pipeline,
`demos.speech.whisper.pipeline`.

Engines (the registry's record, fastest first): CTranslate2 through faster-whisper (int8 on CPU,
float16 on CUDA; `demos.speech.whisper.ct2`, which converts a checkpoint once), then transformers
(PyTorch). A checkpoint CTranslate2 cannot run (not Whisper's vocabulary, a cache that cannot be
written) runs on transformers instead, and the run info's `fallback` says why.

Background noise (issue #17, "robust to background noise"): the tab can mix white noise into the
clip at 20, 10, 5 or 0 dB SNR (`demos.media.noise`) before either engine hears it, and plays back
what the model heard.

Live microphone: chunks accumulate in an `AudioStream`; the growing buffer is re-transcribed
through the pipeline's stream (its lock and timing) about once a second, less often when the
machine is slower than real time, and once more when the recording stops, so the last words
are heard too.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from demos.core import registry, runtime, ui
from demos.core.errors import BadInput
from demos.media import assets, audio, noise
from demos.speech.transcript import word_rows
from demos.speech.whisper import engines, live
from demos.speech.whisper.pipeline import (
    TASKS,
    WINDOW_S,
    WhisperResult,
    language_choices,
    language_code,
)

__all__ = ["SPEC", "WINDOW_S", "build_tab", "language_code", "predict"]

log = logging.getLogger(__name__)

SPEC = registry.get("whisper")
NO_NOISE = "none"  # the noise control's default: the clip as recorded
# The noise control: (shown, value), value in dB SNR as the API takes it ("20").
NOISE_CHOICES = [(NO_NOISE, NO_NOISE), *((f"{db:g} dB", f"{db:g}") for db in noise.LEVELS_DB)]
LANGUAGES_CAPTION = (
    "**What Whisper thinks it heard, before it writes a word:** one decoder step over its "
    "language tokens, on the first 30 s, gives a probability for each language; the top five. "
    "Empty when you pick the language."
)


# the model, for the tab and the compare tab


def with_noise(clip: Any, snr_db: float | None) -> audio.Audio | None:
    """`clip` as 16 kHz mono with white noise at `snr_db` (None: no noise, and None back)."""
    if snr_db is None:
        return None
    if not math.isfinite(snr_db):
        raise BadInput(f"The background noise must be a number of dB SNR, not {snr_db!r}.")
    return audio.Audio(noise.mix(audio.load_audio(clip).samples, snr_db))


def predict(
    clip: Any,
    task: str = "transcribe",
    language: str | None = None,
    word_timestamps: bool = False,
    checkpoint: str | None = None,
    progress: runtime.Progress | None = None,
    engine: str | None = None,
    noise_snr_db: float | None = None,
) -> WhisperResult:
    """Transcribe (or translate) `clip`: text, language, segments, words and run info.

    `engine` is a key of the record's engines ("ctranslate2", "pytorch"); by default the
    fastest that runs here. `noise_snr_db`: white noise mixed into the clip at this SNR (dB)
    before the model hears it, on either engine; the result's `heard` holds what it heard."""
    pipe, info = engines.load(checkpoint, progress, engine)
    speed: dict[str, float] = {}
    with runtime.timed(speed, "preprocess"):  # the mixing is preprocessing, counted as such
        heard = with_noise(clip, noise_snr_db)
    fields, info.speed_ms = pipe(
        clip if heard is None else heard,
        task=task,
        language=language,
        word_timestamps=word_timestamps,
    )
    info.speed_ms["preprocess"] = info.speed_ms.get("preprocess", 0.0) + speed["preprocess"]
    heard_samples = None if heard is None else heard.samples
    return WhisperResult(info=info, noise_snr_db=noise_snr_db, heard=heard_samples, **fields)


def examples() -> list[list[Any]]:
    """[clip, task, language] rows. English is left to detection; other languages are named,
    since whisper-base hears espeak-ng's German as Yiddish (see assets/README.md)."""
    rows = []
    for path in assets.audio():
        code = Path(path).name.split("-")[1]  # speech-<language>-<what>.wav
        rows.append([path, "transcribe", "" if code == "en" else language_code(code) or ""])
    return rows


# the handlers behind the tab


def noise_level(choice: str | float | None) -> float | None:
    """The noise control's value ("none", "10", "10 dB", 10) → dB SNR, or None for none."""
    text = str(choice if choice is not None else "").strip().lower()
    if text in ("", NO_NOISE):
        return None
    try:
        return float(text.removesuffix("db").strip())
    except ValueError:
        levels = ", ".join(value for _, value in NOISE_CHOICES)
        raise BadInput(
            f"Background noise must be one of {levels} (dB SNR), not {choice!r}."
        ) from None


def noise_caption(snr_db: float | None) -> str:
    """What the noisy clip is and what to listen for in it."""
    if snr_db is None:
        return (
            "**No background noise:** Whisper heard your clip as recorded. Pick a level to hear "
            "it through noise, then compare the text."
        )
    ratio = 10 ** (snr_db / 10)  # speech power / noise power
    loudness = "as loud as the noise" if ratio < 1.5 else f"{ratio:.3g}× the noise's power"
    return (
        f"**What Whisper heard: your clip with white noise at {snr_db:g} dB SNR** (the speech "
        f"{loudness}). Listen for the words the hiss covers (quiet consonants such as s, f and "
        "th go first), then check whether the text above kept them."
    )


def _playable(samples: np.ndarray | None) -> tuple[int, np.ndarray] | None:
    """16-bit PCM for the audio player (the mixture is within [-1, 1])."""
    if samples is None:
        return None
    return audio.SAMPLE_RATE, np.round(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)


def transcribe(
    clip: str | None,
    task: str,
    language: str,
    words: bool,
    checkpoint: str,
    engine: str = "",
    background_noise: str = NO_NOISE,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[Any, ...]:
    """The endpoint: text, language, segments, words, run info, top languages, then the audio
    the model heard (None without noise) and its caption."""
    snr = noise_level(background_noise)
    reporter = ui.reporter(progress)
    result = predict(clip, task, language, words, checkpoint, reporter, engine, snr)
    how = "detected" if result.language_detected else "as chosen"
    top = {f"{t['name']} ({t['language']})": t["probability"] for t in result.languages}
    return (
        result.text,
        f"{result.language_name} ({result.language}, {how})",
        word_rows(result.segments, "text"),
        word_rows(result.words),
        result.run_info(),
        top or None,
        _playable(result.heard),
        noise_caption(result.noise_snr_db),
    )


# the tab


def build_tab() -> list[gr.Component]:
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
            background_noise = gr.Radio(
                NOISE_CHOICES,
                value=NO_NOISE,
                label="Background noise",
                info="white noise mixed in before Whisper hears the clip, at this SNR",
            )
            checkpoint = ui.checkpoint_picker(SPEC)
            engine = ui.engine_picker(
                SPEC, "CTranslate2 converts the checkpoint once (int8 on CPU, float16 on CUDA)"
            )
            button = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Text", lines=5)
            heard = gr.Textbox(label="Language")
            top_languages = gr.Label(
                label="Languages heard (top 5, when detected)",
                num_top_classes=5,
                show_heading=False,  # the bars alone: a bar chart of the five probabilities
            )
            gr.Markdown(LANGUAGES_CAPTION, elem_classes="caption")
            segments = gr.Dataframe(
                headers=["start (s)", "end (s)", "text"], label="Segments", wrap=True
            )
            word_table = gr.Dataframe(
                headers=["start (s)", "end (s)", "word"], label="Words (when asked for)"
            )
            noisy = gr.Audio(
                label="What Whisper heard (with the background noise)",
                type="numpy",
                interactive=False,
                format="wav",
            )
            noisy_caption = gr.Markdown(noise_caption(None), elem_classes="caption")
            info = ui.run_info()
    if rows := examples():
        gr.Examples(rows, inputs=[clip, task, language])
    live.build_panel(task, language, checkpoint, engine)

    button.click(
        ui.guarded(SPEC)(transcribe),
        [clip, task, language, words, checkpoint, engine, background_noise],
        [text, heard, segments, word_table, info, top_languages, noisy, noisy_caption],
        api_name=SPEC.key,
    )
    return [text, top_languages]
