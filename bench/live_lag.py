"""How far Whisper's live panel falls behind the speaker (issue #16): jfk.wav fed in real time,
in 0.5 s chunks, through the panel's own code (`demos.speech.whisper.live`), on real whisper-base.

    python -m bench.live_lag WHISPER_DIR [--threads 2]     # prints the figures as JSON

Chunk k is handed over when k x 0.5 s of wall time have passed since the start (as a browser
sends them); the panel transcribes when it decides to (about once a second, less often when a
pass takes longer). The lag at a moment is how much of the audio spoken so far the text on
screen does not cover yet: elapsed time minus the audio length of the last transcription, taken
just before each new text lands (its worst moment). The clip is shorter than the panel's 25 s
window. The worst lag over the clip, and after the stop the final text against the whole-file
transcript.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

CHUNK_S = 0.5  # what a browser's MediaRecorder hands over, about
TARGET_LAG_S = 2.0
JFK = Path(__file__).resolve().parents[2] / "shared" / "media" / "jfk.wav"


def measure(whisper_dir: Path, threads: int = 2, clip: Path = JFK) -> dict[str, Any]:
    import soundfile as sf
    import torch

    from demos.core import runtime
    from demos.speech.whisper import live, tab

    os.environ["GALLERY_WHISPER_MODEL"] = str(whisper_dir)
    torch.set_num_threads(threads)
    samples, rate = sf.read(str(clip), dtype="int16")
    step = int(rate * CHUNK_S)
    whole = tab.predict(str(clip)).text  # also loads (and converts) the model before timing
    state, worst, passes = None, 0.0, 0
    start = time.perf_counter()
    for k, first in enumerate(range(0, len(samples), step)):
        arrival = start + k * CHUNK_S  # when the browser would hand this chunk over
        if (wait := arrival - time.perf_counter()) > 0:
            time.sleep(wait)
        covered = state.transcribed_s if state else 0.0  # audio the text on screen covers
        state = live.live_step(state, (rate, samples[first : first + step]))
        passes += state.transcribed_s != covered
        # Just before the new text lands, the screen still shows the old one: the speaker has
        # said everything up to now (within the clip), the text covers `covered`.
        spoken = min(time.perf_counter() - start, len(samples) / rate)
        worst = max(worst, spoken - covered)
    state = live.live_finish(state)
    runtime.CACHE.clear()
    return {
        "clip": f"{clip.name} ({len(samples) / rate:.1f} s), {CHUNK_S} s chunks in real time",
        "weights": str(whisper_dir),
        "threads": threads,
        "passes": passes,
        "worst_lag_s": round(worst, 2),
        "target_lag_s": TARGET_LAG_S,
        "within_target": worst <= TARGET_LAG_S,
        "final_text": state.text,
        "file_text": whole,
        "same_text": " ".join(state.text.split()) == " ".join(whole.split()),
        "engine": state.info.get("engine"),
        "took_s": round(time.perf_counter() - start, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("whisper_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(measure(args.whisper_dir, args.threads), indent=2))
