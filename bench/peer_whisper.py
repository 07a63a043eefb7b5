"""Whisper against its peer (issue #16): the gallery's CTranslate2 engine through `predict`, the
bare faster-whisper call it wraps, and the gallery's transformers engine, on one clip, on the CPU.

    python -m bench.peer_whisper HF_DIR [CLIP] [--runs 3] [--threads 2]   # prints JSON

`HF_DIR` is a Hugging Face Whisper folder (`../shared/realweights`' `whisper-base`); without
`CLIP`, a 152 s clip is made from ../shared/media by `long_clip` (jfk.wav,
new-home-in-the-stars-16k.wav and LDC93S1.wav, each followed by 0.5 s of silence, eight times
over), whose reference transcript gives each side's word error rate. Sides:

- **gallery**: `demos.speech.whisper.tab.predict(clip, checkpoint=HF_DIR, engine="ctranslate2")`:
  the whole call (audio decoded and checked, the model's lock, faster-whisper, the typed result),
  on the gallery's own conversion of `HF_DIR` (made once, before anything is timed).
- **faster_whisper**: `WhisperModel(<that conversion>, device="cpu", compute_type="int8",
  cpu_threads=threads).transcribe(clip_path, **ct2.DECODING)` with its segments consumed: the same
  weights, precision, beam and options, as a user of faster-whisper would call it (the file
  decoded by faster-whisper's PyAV reader, about 0.1 s on jfk.wav, where the gallery's reader
  takes a few ms).
- **transformers**: the same `predict` with `engine="pytorch"` (transformers' model, float32).

Each side is called once untimed (the load), then `runs` times, the sides in one order, then in
reverse, so a machine that gets busier slows every side alike; the figure is each side's median
wall time (s). Every thread count is `threads`: CTranslate2's `cpu_threads` (the gallery reads
OMP_NUM_THREADS) and torch's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.measure import environment

TARGET_RATIO = 1.10  # the gallery may take at most 10 % longer than the bare faster-whisper call
SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
# (file, what is said): real recordings with known transcripts (../shared/media/README.md)
PIECES = (
    (
        "jfk.wav",
        "And so my fellow Americans, ask not what your country can do for you, ask what you can "
        "do for your country.",
    ),
    ("new-home-in-the-stars-16k.wav", "We must find a new home in the stars."),
    ("LDC93S1.wav", "She had your dark suit in greasy wash water all year."),
)
GAP_S = 0.5  # silence after each piece
REPEATS = 8  # 8 x 19.0 s = 152 s: a clip of about 2.5 minutes, five 30 s windows


# helpers


def long_clip(out: Path, media_dir: Path = SHARED_MEDIA) -> tuple[Path, str]:
    """Write the long clip (16 kHz mono PCM16) to `out`; returns it and its reference text."""
    import numpy as np
    import soundfile as sf

    rate = 16_000
    parts, words = [], []
    for _ in range(REPEATS):
        for name, text in PIECES:
            data, sr = sf.read(media_dir / name, dtype="float32")
            assert sr == rate and data.ndim == 1, f"{name}: {sr} Hz, {data.ndim} channels"
            parts += [data, np.zeros(int(GAP_S * rate), dtype=np.float32)]
            words.append(text)
    sf.write(out, np.concatenate(parts), rate, subtype="PCM_16")
    return out, " ".join(words)


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return round(jiwer.wer(_normalised(reference), _normalised(hypothesis) or "-"), 4)


@contextlib.contextmanager
def _environment(threads: int, **values: str) -> Iterator[None]:
    """Environment variables and torch's thread count for the block, put back after."""
    import torch

    torch_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with environment(OMP_NUM_THREADS=str(threads), **values):
            yield
    finally:
        torch.set_num_threads(torch_threads)


def _time(sides: dict[str, Callable[[], str]], runs: int) -> dict[str, dict[str, Any]]:
    """Each side once untimed, then `runs` rounds, alternating the order: medians (s)."""
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    texts = {name: call() for name, call in sides.items()}  # loads, converts, warms
    names = list(sides)
    for i in range(runs):
        for name in names if i % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            texts[name] = sides[name]()
            seconds[name].append(time.perf_counter() - start)
    return {
        name: {
            "median_s": round(statistics.median(seconds[name]), 3),
            "min_s": round(min(seconds[name]), 3),
            "text": texts[name],
        }
        for name in sides
    }


# the measurement


def measure(
    clip_path: Path,
    hf_dir: Path,
    runs: int = 3,
    *,
    threads: int = 2,
    reference: str | None = None,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    """Time the three sides on `clip_path` with `hf_dir`'s weights; medians, ratio, transcripts.

    The gallery's conversion lands in `work_dir` (a temporary folder when None), as its
    `GALLERY_HOME`; `reference`, when given, adds each side's word error rate.
    """
    from faster_whisper import WhisperModel

    from demos.core import runtime
    from demos.core.registry import Checkpoint
    from demos.media import audio
    from demos.speech.whisper import convert, ct2, tab

    with contextlib.ExitStack() as stack:
        home = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        stack.enter_context(_environment(threads, GALLERY_HOME=str(home), GALLERY_DEVICE="cpu"))
        runtime.CACHE.clear()  # loads under these settings, not earlier ones
        folder = convert.converted(Checkpoint(id=str(hf_dir), label=Path(hf_dir).name))
        bare = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads)
        seen: dict[str, Any] = {}

        def gallery(engine: str) -> Callable[[], str]:
            def call() -> str:
                result = tab.predict(str(clip_path), checkpoint=str(hf_dir), engine=engine)
                seen[engine] = result.info
                return result.text

            return call

        def faster_whisper() -> str:
            segments, _ = bare.transcribe(str(clip_path), **ct2.DECODING)
            return " ".join(s.text.strip() for s in segments if s.text.strip())

        figures = _time(
            {
                "gallery": gallery(ct2.ENGINE),
                "faster_whisper": faster_whisper,
                "transformers": gallery("pytorch"),
            },
            runs,
        )
        runtime.CACHE.clear()

    ratio = figures["gallery"]["median_s"] / figures["faster_whisper"]["median_s"]
    if reference:
        for side in figures.values():
            side["wer"] = wer(reference, side["text"])
    info = seen[ct2.ENGINE]
    return {
        "checkpoint": str(hf_dir),
        "clip": f"{Path(clip_path).name} ({audio.load_audio(str(clip_path)).duration_s:.1f} s)",
        "runs": runs,
        "threads": threads,
        "gallery_engine": f"{info.engine} {info.dtype}",
        "transformers_engine": f"{seen['pytorch'].engine} {seen['pytorch'].dtype}",
        "decoding": {k: v for k, v in ct2.DECODING.items() if k != "temperature"},
        **figures,
        "ratio_gallery_to_faster_whisper": round(ratio, 3),
        "ratio_transformers_to_faster_whisper": round(
            figures["transformers"]["median_s"] / figures["faster_whisper"]["median_s"], 3
        ),
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "same_text_gallery_and_faster_whisper": figures["gallery"]["text"]
        == figures["faster_whisper"]["text"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hf_dir", type=Path)
    parser.add_argument("clip", type=Path, nargs="?")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        reference = None
        clip = args.clip
        if clip is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            clip, reference = long_clip(folder / "whisper-long-clip.wav")
        figures = measure(
            clip,
            args.hf_dir,
            args.runs,
            threads=args.threads,
            reference=reference,
            work_dir=args.work_dir,
        )
        print(json.dumps(figures, indent=2))
