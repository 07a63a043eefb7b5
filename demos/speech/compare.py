"""Compare speech: one clip through Whisper, Wav2Vec 2.0 and DeepSpeech, side by side.

Transcripts with latency and real-time factor, and, given a reference transcript, word and
character error rates computed by jiwer (after lower-casing and removing punctuation, since the
models differ in both: Whisper writes "Hello, world.", Wav2Vec 2.0 "HELLO WORLD", DeepSpeech
"hello world"). Each model's `predict` returns a `Transcript` (`demos.speech.transcript`), so
every column is read the same way. Endpoint `/compare_speech`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import jiwer

from demos.core import compare, ui
from demos.core.compare import Outcome
from demos.core.registry import DemoSpec
from demos.media import assets, audio
from demos.speech.transcript import Transcript

RECOGNISERS = ["whisper", "wav2vec2", "deepspeech"]
_CLEAN = [
    jiwer.ToLowerCase(),
    jiwer.RemovePunctuation(),
    jiwer.RemoveMultipleSpaces(),
    jiwer.Strip(),
]
WORDS = jiwer.Compose([*_CLEAN, jiwer.ReduceToListOfListOfWords()])
CHARS = jiwer.Compose([*_CLEAN, jiwer.ReduceToListOfListOfChars()])


# helpers


def error_rates(reference: str, hypothesis: str) -> dict[str, float] | None:
    """{"wer", "cer"} of `hypothesis` against `reference` (normalised); None without a reference."""
    if not WORDS(reference or "")[0]:
        return None
    return {
        "wer": jiwer.wer(
            reference, hypothesis or "", reference_transform=WORDS, hypothesis_transform=WORDS
        ),
        "cer": jiwer.cer(
            reference, hypothesis or "", reference_transform=CHARS, hypothesis_transform=CHARS
        ),
    }


def transcribe(spec: DemoSpec, clip: audio.Audio) -> Transcript:
    """One recogniser's transcript of the clip (run info with the real-time factor)."""
    return compare.module(spec).predict(clip)


def compare_clip(clip: Any, reference: str = "") -> Any:
    """Yield the outcomes (one per recogniser) after each finishes; the API shows each one's
    text and, given a reference, its error rates."""
    checked = audio.load_audio(clip)  # once, so a bad file is one clear message

    def answer(result: Transcript) -> dict[str, Any]:
        text = result.text.strip()
        return {"text": text, "errors": error_rates(reference, text)}

    yield from compare.run_each(
        compare.present(RECOGNISERS), lambda spec: transcribe(spec, checked), answer=answer
    )


def _errors_line(outcome: Outcome) -> str:
    errors = outcome.as_dict()["result"]["errors"]
    if not errors:
        return ""
    return f"WER {errors['wer']:.1%} · CER {errors['cer']:.1%}"


# the tab


def build_tab() -> None:
    specs = compare.present(RECOGNISERS)
    gr.Markdown(
        "### One clip, every speech model\nTranscripts side by side with their speed. Give the "
        "true transcript to score each model: word and character error rates, ignoring case "
        "and punctuation."
    )
    with gr.Row():
        clip = ui.audio_input()
        with gr.Column():
            reference = gr.Textbox(label="Reference transcript (optional)", lines=2)
            button = gr.Button("Compare", variant="primary")
    columns = []
    with gr.Row(equal_height=False):
        for spec in specs:
            with gr.Column():
                gr.Markdown(f"#### {spec.title}")
                columns.append(
                    (gr.Textbox(label="Transcript", lines=4), gr.Markdown(), gr.Markdown())
                )
    details = gr.JSON(label="All results (as returned by the API)")
    if assets.audio():
        gr.Examples([[path, ""] for path in assets.audio()], inputs=[clip, reference])

    def render(outcomes: list[Outcome]) -> list[Any]:
        values: list[Any] = []
        for outcome in outcomes:
            values += [
                outcome.result.text.strip() if outcome.ok else None,
                _errors_line(outcome) if outcome.ok else "",
                compare.status(outcome),
            ]
        return [*values, [o.as_dict() for o in outcomes]]

    @ui.guarded("Compare speech")
    def handler(clip: Any, reference: str):
        for outcomes in compare_clip(clip, reference):
            yield render(outcomes)

    outputs = [c for column in columns for c in column] + [details]
    button.click(handler, [clip, reference], outputs, api_name="compare_speech")
