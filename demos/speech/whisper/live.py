"""Whisper's live panel: the microphone's chunks accumulate, and the growing buffer is
re-transcribed through the pipeline's stream (its lock and timing) every half second, less
often when the machine is slower than real time, and once more when the recording stops, so the
last words are heard too.

A pass while the speaker talks is a draft: one greedy attempt, without OpenAI's fallback to
sampling at rising temperatures (a buffer cut mid-word often fails its log-prob check, and the
five sampled candidates per temperature then cost seconds; the next pass redoes the text
anyway). The pass that ends a window and the one after the stop decode in full, so the text
that stays is the file transcript's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from demos.core import registry, ui
from demos.media import audio
from demos.speech.whisper import engines
from demos.speech.whisper.pipeline import WhisperResult

LIVE_EVERY_S = 0.5  # re-transcribe after this much new audio (one chunk): the text keeps up
LIVE_DETECT_S = 3.0  # the language is re-detected until this much audio, then kept
LIVE_WINDOW_S = 25.0  # then start a new window: the text so far is kept, the audio dropped
SPEC = registry.get("whisper")
STAGES = ("preprocess", "inference", "postprocess")  # what a pass costs, from the pipeline


@dataclass
class LiveState:
    """What the live tab remembers between microphone chunks."""

    stream: audio.AudioStream = field(default_factory=audio.AudioStream)
    committed: str = ""  # text of earlier windows
    current: str = ""  # text of the window being recorded
    transcribed_s: float = 0.0  # buffer length at the last transcription
    wait_s: float = LIVE_EVERY_S  # new audio needed before the next transcription
    language: str | None = None  # detected once, then kept (saves a pass per update)
    draft: bool = False  # the current text came from a draft pass (redone at the stop)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(t for t in (self.committed, self.current) if t)


def live_step(
    state: LiveState | None,
    chunk: Any,
    task: str = "transcribe",
    language: str | None = None,
    checkpoint: str | None = None,
    engine: str | None = None,
    final: bool = False,
) -> LiveState:
    """Append one microphone chunk; re-transcribe the buffer when enough new audio arrived (a
    draft, unless `final` or the window is full: then the text is kept as it is)."""
    state = state or LiveState()
    state.stream.append(chunk)
    if state.stream.duration_s - state.transcribed_s < state.wait_s:
        return state
    clip = state.stream.audio()
    if clip.duration_s < audio.MIN_SECONDS or abs(clip.samples).max() < audio.SILENCE_PEAK:
        if state.stream.duration_s >= LIVE_WINDOW_S:  # a long silence: drop it
            state.stream, state.transcribed_s = audio.AudioStream(), 0.0
        return state  # nothing said yet
    pipe, run = engines.load(checkpoint, engine=engine)
    final = final or state.stream.duration_s >= LIVE_WINDOW_S
    params = {"task": task, "language": language or state.language, "draft": not final}
    for fields in pipe.stream(clip, run.speed_ms, **params):
        result = WhisperResult(info=run, **fields)
    if not language and state.language is None and clip.duration_s >= LIVE_DETECT_S:
        state.language = result.language  # then kept: one pass less per update
    state.current, state.draft = result.text, not final
    state.transcribed_s = state.stream.duration_s
    # When the machine is slower than real time, wait for as much audio as a pass takes.
    state.wait_s = max(LIVE_EVERY_S, sum(run.speed_ms.get(s, 0.0) for s in STAGES) / 1000)
    state.info = result.run_info()
    if state.stream.duration_s >= LIVE_WINDOW_S:  # a new window keeps each pass short
        state.committed, state.current = state.text, ""
        state.stream, state.transcribed_s = audio.AudioStream(), 0.0
    return state


def live_finish(
    state: LiveState | None,
    task: str = "transcribe",
    language: str | None = None,
    checkpoint: str | None = None,
    engine: str | None = None,
) -> LiveState | None:
    """When the recording stops: transcribe the buffer once more, in full, when audio arrived
    since the last pass or that pass was a draft."""
    if state is None or (state.stream.duration_s <= state.transcribed_s and not state.draft):
        return state
    state.wait_s = 0.0  # whatever is left, however little
    return live_step(state, None, task, language, checkpoint, engine, final=True)


# the handlers


def live(
    chunk: Any, state: LiveState | None, task: str, language: str, checkpoint: str, engine: str = ""
):
    state = live_step(state, chunk, task, language, checkpoint, engine)
    return state.text, state.info or None, state


def live_stop(state: LiveState | None, task: str, language: str, checkpoint: str, engine: str = ""):
    state = live_finish(state, task, language, checkpoint, engine)
    return (state.text, state.info or None, state) if state else ("", None, None)


# the panel


def build_panel(task: Any, language: Any, checkpoint: Any, engine: Any) -> None:
    """The live panel under the Whisper tab, using the tab's task, language, checkpoint and
    engine components."""
    with gr.Accordion("Live: transcribe while you speak", open=False):
        gr.Markdown(
            "Press record and talk: the text is redone from everything said so far as often "
            f"as this machine keeps up, every {LIVE_EVERY_S:g} s at most (a new window starts "
            f"every {LIVE_WINDOW_S:.0f} s). Uses the task, language, checkpoint and engine above."
        )
        mic = ui.AudioInput(
            sources=["microphone"], streaming=True, type="filepath", label="Microphone"
        )
        live_text = gr.Textbox(label="Live text", lines=4)
        live_info = ui.run_info()
        state = ui.session_state(None)

    mic.start_recording(
        lambda: (None, "", None), None, [state, live_text, live_info], api_visibility="private"
    )
    mic.stream(
        ui.guarded(SPEC)(live),
        [mic, state, task, language, checkpoint, engine],
        [live_text, live_info, state],
        stream_every=LIVE_EVERY_S,  # the browser sends a chunk this often
        time_limit=int(audio.max_seconds()),
        api_visibility="private",
    )
    mic.stop_recording(
        ui.guarded(SPEC)(live_stop),
        [state, task, language, checkpoint, engine],
        [live_text, live_info, state],
        api_visibility="private",
    )
