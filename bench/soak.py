"""`python -m bench --soak`: a classroom day, compressed, against a real `python app.py`.

    python -m bench --soak                              # 30 students for 10 minutes
    python -m bench --soak --minutes 1 --students 6     # about what tests/test_soak.py runs

Each simulated student is one `gradio_client.Client` (one browser page) that clicks through every
tab: sentences, photos from thumbnail to phone size, speech clips at 8, 16, 44.1 and 48 kHz, two
short videos, and the live tabs (webcam frames to /yolo_stream, microphone chunks to
/deepspeech_stream), thinking a few seconds between clicks and reloading the page now and then.
The server runs every demo on its tiny random model (`tests/tiny.py`, built into a temporary
folder) with `GALLERY_MAX_LOADED=2`, so models are evicted and reloaded all the time, its own
`GRADIO_TEMP_DIR` and `TMPDIR`, and `GALLERY_KEEP_FILES_MINUTES=2`, so the retention sweeps
(`demos.core.retention`, every 30 s) delete files all through a 10-minute run.

Every request is first made alone (the reference pass, which also warms the server up). In the
run, each answer must equal its reference in its deterministic parts (labels, scores,
transcripts, tables, image sizes and colours; not timings), as in tests/test_load.py, so an answer
that went to the wrong student would show. Bounds (`broken()`; the exit status is 1 if one
breaks): no errors (a compare tab's model failing counts), no mismatches, server RSS at the end
within 10% of its RSS after warm-up (both under load), open descriptors once the class has left
within `FD_SLACK` of the start (matplotlib's per-thread font cache counted apart, `FONT_FDS`), and
no upload or output older than the retention window plus one sweep and `AGE_SLACK_S`.
Results: bench/results/soak.md and soak.json, and the table on stdout.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import logging
import math
import os
import random
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

RSS_GROWTH = 1.10  # RSS at the end / after warm-up
FD_SLACK = 10  # open descriptors at the end may exceed the start by this many (sockets closing)
# matplotlib keeps a font per thread that drew a plot (`font_manager._get_font`, lru_cache(64)
# keyed by thread id), each with two files open (the font and its LastResort fallback): a bounded
# cache that grows with Gradio's worker threads, counted apart from the descriptors above.
FONT_FDS = 2 * 64
FONT_FILES = "/matplotlib/mpl-data/fonts/"
AGE_SLACK_S = 20.0  # beyond window + one sweep: a sweep that takes a while on a busy machine
SAMPLE_EVERY_S = 5.0  # RSS, descriptors and temp folders are sampled this often

log = logging.getLogger("bench.soak")


@dataclass(frozen=True)
class SoakConfig:
    minutes: float = 10.0
    students: int = 30
    keep_minutes: float = 2.0  # GALLERY_KEEP_FILES_MINUTES: 5 windows in a 10-minute run
    max_loaded: int = 2  # GALLERY_MAX_LOADED: 11 models, 2 in memory, so evictions all the time
    think_s: tuple[float, float] = (2.0, 8.0)  # between clicks: reading the answer
    reload_every: int = 15  # clicks, on average, before a student reloads the page
    request_timeout_s: float = 300.0  # one call; longer counts as an error
    seed: int = 0

    @property
    def warmup_s(self) -> float:
        """Load before the 'after warm-up' figures: a fifth of the run, at most a minute."""
        return min(60.0, 12.0 * self.minutes)


@dataclass(frozen=True)
class Case:
    """One click: a call, or a live session's calls in order. Path arguments are uploaded."""

    endpoint: str
    steps: tuple[tuple[Any, ...], ...]
    name: str


# helpers: the inputs a class brings


def _photo(path: Path, size: tuple[int, int], rng: np.random.Generator) -> Path:
    """A gradient with a few coloured blocks (compresses like a photo, unlike noise)."""
    from PIL import Image, ImageDraw

    w, h = size
    base = np.stack(np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h)), -1)
    pixels = (255 * np.concatenate([base, base[..., :1] * base[..., 1:]], -1)).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle([x, y, x + w // 4, y + h // 4], fill=colour)
    image.save(path, **({"quality": 90} if path.suffix == ".jpg" else {}))
    return path


def _sound(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A gliding tone with syllable-like bursts and a little noise, peak about 0.5."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = rng.uniform(120, 220)
    tone = np.sin(2 * np.pi * (f0 * t + 40 * t**2)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (0.4 * tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _clip(path: Path, seconds: float, rate: int, rng, channels: int = 1) -> Path:
    import soundfile as sf

    mono = _sound(seconds, rate, rng)
    sf.write(path, np.stack([mono] * channels, -1) if channels > 1 else mono, rate)
    return path


def _video(path: Path, frames: int, size: tuple[int, int]) -> Path:
    """A white square crossing a red background (mp4v: Gradio re-encodes it for browsers)."""
    import cv2

    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    for i in range(frames):
        bgr = np.zeros((h, w, 3), np.uint8)
        bgr[:] = (40, 40, 200)
        x = 5 + i * (w - h // 3) // frames
        bgr[h // 3 : 2 * h // 3, x : x + h // 3] = 255
        writer.write(bgr)
    writer.release()
    return path


def _chunks(folder: Path, name: str, clip: np.ndarray, rate: int, cuts: list[int]) -> list[Path]:
    """A recording cut at `cuts` (samples), one WAV per chunk, as a microphone would send it."""
    import soundfile as sf

    out = []
    for i, (start, stop) in enumerate(itertools.pairwise(cuts)):
        out.append(folder / f"{name}-{i}.wav")
        sf.write(out[-1], clip[start:stop], rate, subtype="PCM_16")
    return out


@dataclass(frozen=True)
class Media:
    photos: list[Path]  # thumbnail to phone photo, png/jpg/webp, then the gallery's examples
    frames: list[Path]  # webcam frames, two sessions of three
    speech: list[Path]  # the gallery's example recordings (16 kHz)
    clips: list[Path]  # speech, then tones at 16 kHz, 44.1 kHz stereo, 8 kHz FLAC
    videos: list[Path]
    mic: list[list[Path]]  # two recordings cut into microphone chunks (48 kHz, 16 kHz)
    passage: str


def classroom_media(folder: Path) -> Media:
    """Write the class's inputs under `folder` (seeded: the same bytes on every run)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    assets = ROOT / "assets"
    sizes = [(48, 32), (160, 120), (320, 240), (640, 480), (1024, 768), (1600, 1200)]
    kinds = ["png", "jpg", "webp", "jpg", "png", "jpg"]
    photos = [
        _photo(folder / f"photo{w}x{h}.{kind}", (w, h), rng)
        for (w, h), kind in zip(sizes, kinds, strict=True)
    ]
    speech = sorted(assets.glob("speech-*.wav"))
    words, rate = sf.read(speech[0], dtype="float32")
    return Media(
        photos=photos + sorted(assets.glob("*.jpg")),
        frames=[
            _photo(folder / f"frame{i}.jpg", (160, 120) if i < 3 else (320, 240), rng)
            for i in range(6)
        ],
        speech=speech,
        clips=[
            *speech,
            _clip(folder / "tone-16k.wav", 1.0, 16_000, rng),
            _clip(folder / "tone-44k-stereo.wav", 2.5, 44_100, rng, channels=2),
            _clip(folder / "tone-8k.flac", 1.5, 8_000, rng),
        ],
        videos=[
            _video(folder / "square.mp4", 6, (160, 120)),
            _video(folder / "wide.mp4", 10, (320, 240)),
        ],
        mic=[  # a browser's microphone (48 kHz, uneven chunks); a recording in half seconds
            _chunks(
                folder, "mic48k", _sound(2.0, 48_000, rng), 48_000, [0, 20_000, 47_000, 96_000]
            ),
            _chunks(folder, "library", words, rate, list(range(0, 3 * rate + 1, rate // 2))),
        ],
        passage=(assets / "forth-bridge.txt").read_text(encoding="utf-8"),
    )


def classroom_cases(m: Media) -> list[Case]:
    """Every endpoint with a few distinct inputs; a file argument is a Path (uploaded)."""
    bank = "We sat on the bank of the river.\nShe paid the cheque in at the bank.\nThe bank fell."
    p = m.photos
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("/bert", ("The capital of France is [MASK].", 1, "")),
        ("/bert", ("the cat sat on the [MASK] .", 3, "")),
        ("/bert", ("A [MASK] is a kind of boat.", 5, "")),
        ("/roberta", ("The capital of France is <mask>.", 2, "")),
        ("/roberta", ("Paris is a <mask> city.", 4, "")),
        ("/elmo", (bank, "bank", "")),
        ("/elmo", ("the cat sat .\na cat ran .", "cat", "")),
        ("/transformer_xl", ("The Forth Bridge is", 12, 0.0, 40, 0, "")),
        # two seeded samples of one prompt: a random generator shared across requests would
        # give each the other's tokens
        ("/transformer_xl", ("The bridge", 16, 1.0, 40, 1, "")),
        ("/transformer_xl", ("The bridge", 16, 1.0, 40, 2, "")),
        ("/transformer_xl_memory", (m.passage[:1500], 32, "")),
        ("/transformer_xl_memory", (m.passage[:800], 64, "")),
        ("/gpt", ("Why is the sky blue?", None, "Be brief.", 0.0, 12, "", "")),
        ("/gpt", ("Name three rivers.", None, "", 0.0, 8, "", "")),
        ("/gpt", ("What is in this picture?", p[2], "", 0.0, 10, "", "")),
        ("/compare_language", ("Paris is the [MASK] of France.", 3)),
        ("/compare_language", ("The river [MASK] was muddy.", 5)),
        ("/compare_word_vectors", (bank, "bank")),
        ("/compare_continuation", ("The Forth Bridge, which carries the railway,",)),
        ("/compare_continuation", ("In 1890 the bridge",)),
        *[("/mobilenet_v2", (photo, 1 + i % 5, "")) for i, photo in enumerate(p[::2])],
        *[("/vit", (photo, 1 + i % 5, "")) for i, photo in enumerate(p[1::2])],
        *[
            ("/yolo", (photo, (0.01, 0.1, 0.3)[i % 3], 0.7, [], ""))
            for i, photo in enumerate(p[::3])
        ],
        ("/yolo", (p[3], 0.01, 0.5, ["person", "car"], "")),
        *[("/compare_vision", (photo,)) for photo in p[1::4]],
        ("/yolo_video", (m.videos[0], 0.01, 0.7, [], "")),
        ("/yolo_video", (m.videos[1], 0.3, 0.7, [], "")),
        *[("/whisper", (clip, "transcribe", "", False, "")) for clip in m.clips[::3]],
        ("/whisper", (m.clips[1], "transcribe", "en", True, "")),
        ("/whisper", (m.clips[4], "translate", "", False, "")),
        *[("/wav2vec2", (clip, "")) for clip in m.clips[1::2]],
        *[("/deepspeech", (clip, "greedy", 100, "")) for clip in m.clips[::2]],
        ("/deepspeech", (m.speech[0], "beam", 16, "")),
        ("/compare_speech", (m.speech[1], "the weather is fine today")),
        ("/compare_speech", (m.clips[3], "")),
    ]
    cases = [
        Case(endpoint, (args,), f"{endpoint} #{i}") for i, (endpoint, args) in enumerate(calls)
    ]
    for n, frames in enumerate([m.frames[:3], m.frames[3:]]):  # the first frame comes back
        steps = tuple((frame, 0.01, 0.7, [], "") for frame in [*frames, frames[0]])
        cases.append(Case("/yolo_stream", steps, f"/yolo_stream webcam {n}"))
    for n, (chunks, decoder) in enumerate(zip(m.mic, ["greedy", "beam"], strict=True)):
        steps = [(chunk, decoder, 16, "", False) for chunk in chunks]
        cases.append(
            Case(
                "/deepspeech_stream",
                (*steps, (None, decoder, 16, "", True)),  # stop: the whole recording decoded
                f"/deepspeech_stream microphone {n}",
            )
        )
    assert len({c.name for c in cases}) == len(cases)
    return cases


# checking answers

# Keys whose values are timings or cache state: they differ between runs of the same request.
TIMED_KEY = re.compile(r"_ms$|^loaded_now$|^tokens_per_s$|^real_time_factor$|per_second$")
# A number followed by a time unit in prose ("loaded in 42 ms", "1.6 frames per second").
TIMED_TEXT = re.compile(
    r"\d[\d,]*(?:\.\d+)?(?=\s*(?:ms|s|fps|frames per second)\b)|(?<=RTF )[\d.]+"
)
# What a compare tab adds when its model had to load first: cache state, not the answer.
LOADED_TEXT = re.compile(r"\s*·?\s*loaded in # ?ms")
# A table column of timings ("Inference (ms)"), an output that is one ("Speed", a speed chart).
TIMED_HEADER = re.compile(r"\bms\b|speed|per second|\bfps\b", re.IGNORECASE)
TIMED_LABEL = re.compile(r"\b(speed|timing|latency)\b", re.IGNORECASE)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}
MEAN_TOLERANCE = 1.5  # colour means of an image, 0-255: room for a codec, not for another image


class AnswerError(Exception):
    """A call that was answered, but with a failure inside (a compare tab's model)."""


def timed_outputs(api: dict[str, Any]) -> dict[str, frozenset[int]]:
    """Per endpoint, the outputs whose label says they are timings (from `Client.view_api`)."""
    return {
        name: frozenset(
            i for i, out in enumerate(ep["returns"]) if TIMED_LABEL.search(out.get("label") or "")
        )
        for name, ep in api["named_endpoints"].items()
    }


def _image(image) -> dict[str, Any]:
    channels = np.asarray(image.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(0)
    return {"image": list(image.size), "mean": [round(float(c), 2) for c in channels]}


def _file(path: Path) -> dict[str, Any]:
    """What a returned file shows: an image's size and colours, a video's frames, else bytes."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from PIL import Image

        with Image.open(path) as image:
            return _image(image)
    if path.suffix.lower() in {".mp4", ".webm", ".avi", ".mov"}:
        import cv2

        capture, frames, last = cv2.VideoCapture(str(path)), 0, None
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            frames, last = frames + 1, bgr
        capture.release()
        shape = list(last.shape[:2]) if last is not None else None
        mean = [round(float(c), 2) for c in last.reshape(-1, 3).mean(0)] if shape else None
        return {"video_frames": frames, "shape": shape, "mean": mean}
    return {"file_bytes": path.stat().st_size}


def _clean(value: Any, downloads: str) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("headers"), list) and isinstance(value.get("data"), list):
            keep = [i for i, h in enumerate(value["headers"]) if not TIMED_HEADER.search(str(h))]
            value = {
                **value,
                "headers": [value["headers"][i] for i in keep],
                "data": [[row[i] for i in keep if i < len(row)] for row in value["data"]],
            }
        return {k: _clean(v, downloads) for k, v in value.items() if not TIMED_KEY.search(k)}
    if isinstance(value, list | tuple):
        return [_clean(v, downloads) for v in value]
    if isinstance(value, str):
        if value.startswith(downloads):
            path = Path(value)
            return _file(path) if path.is_file() else value.replace(downloads, "<downloads>")
        if value.startswith("data:image/"):  # a matplotlib plot, inline
            from PIL import Image

            return _image(Image.open(io.BytesIO(base64.b64decode(value.split(",", 1)[1]))))
        return LOADED_TEXT.sub("", TIMED_TEXT.sub("#", value))
    return value


def signature(endpoint: str, result: Any, downloads: Path, timed: frozenset[int]) -> list[Any]:
    """The deterministic part of an answer; AnswerError if a compare tab's model failed."""
    outputs = list(result) if isinstance(result, list | tuple) else [result]
    for out in outputs:  # a compare tab's "all results": [{"model", "ok", "error"}, ...]
        if isinstance(out, list) and all(isinstance(r, dict) and "ok" in r for r in out):
            failed = [f"{r.get('model')}: {r.get('error')}" for r in out if not r["ok"]]
            if failed:
                raise AnswerError("; ".join(failed))
    shown = [None if i in timed else out for i, out in enumerate(outputs)]
    return _clean(shown, str(downloads))


def differences(a: Any, b: Any, where: str = "") -> Iterator[str]:
    """Where `a` and `b` differ: floats beyond 1e-3 relative (1e-4 absolute), an image's colour
    means beyond `MEAN_TOLERANCE`, anything else that is not equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            yield f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for k in a.keys() & b.keys():
            yield from differences(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{where}: {len(a)} vs {len(b)} items: {a!r:.200} vs {b!r:.200}"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from differences(x, y, f"{where}[{i}]")
    elif isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        if where.endswith(("mean[0]", "mean[1]", "mean[2]")):
            close = abs(a - b) <= MEAN_TOLERANCE
        else:
            close = math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4)
        if not close:
            yield f"{where}: {a!r} vs {b!r}"
    elif a != b:
        yield f"{where}: {a!r:.200} vs {b!r:.200}"


@dataclass
class Tally:
    """What the students saw, appended from their threads (list.append is atomic)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, what happened)
    mismatches: list[str] = field(default_factory=list)
    clicks: list[str] = field(default_factory=list)  # the endpoint of each click
    reloads: list[int] = field(default_factory=list)  # the student of each page reload


@dataclass
class Lesson:
    """What every student shares: the server, the inputs and their reference answers."""

    url: str
    cases: list[Case]
    timed: dict[str, frozenset[int]]  # outputs left out of the comparison, per endpoint
    cfg: SoakConfig
    work: Path
    expected: dict[str, list[Any]] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    deadline: float = 0.0

    def connect(self, name: str):
        from gradio_client import Client

        downloads = self.work / name
        downloads.mkdir(parents=True, exist_ok=True)
        return Client(
            self.url, verbose=False, analytics_enabled=False, download_files=str(downloads)
        )

    def call(self, client, case: Case) -> tuple[list[Any], list[float]]:
        """Make a click's calls in order: their signatures and latencies (s)."""
        from gradio_client import handle_file

        downloads, timed = Path(client.output_dir), self.timed.get(case.endpoint, frozenset())
        answers, latencies = [], []
        try:
            for step in case.steps:
                args = [handle_file(str(a)) if isinstance(a, Path) else a for a in step]
                start = time.perf_counter()
                job = client.submit(*args, api_name=case.endpoint)
                try:
                    result = job.result(timeout=self.cfg.request_timeout_s)
                except TimeoutError:
                    job.cancel()
                    raise
                latencies.append(time.perf_counter() - start)
                answers.append(signature(case.endpoint, result, downloads, timed))
        finally:  # a student's downloads are read once and deleted: the run's disk stays flat
            for entry in downloads.iterdir():
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        return answers, latencies


# watching the server


def _tree_rss(process: psutil.Process) -> int:
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a child (ffmpeg) that ended meanwhile
            total += child.memory_info().rss
    return total


def _walk(folders: list[Path]) -> dict[str, tuple[int, float]]:
    """Every file under `folders`: path -> (bytes, change time)."""
    files = {}
    for folder in folders:
        for parent, _dirs, names in os.walk(folder):
            for name in names:
                path = os.path.join(parent, name)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:  # swept while we looked
                    continue
                files[path] = (st.st_size, max(st.st_mtime, st.st_ctime))
    return files


def descriptors(pid: int) -> Counter:
    """What the process's open descriptors point at: sockets, pipes, eventfds, file paths."""
    kinds: Counter = Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # closed while we looked
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            kinds[re.sub(r"^(\w+):\[.*\]$|^anon_inode:\[?(\w+)\]?$", r"\1\2", target)] += 1
    return kinds


class Monitor(threading.Thread):
    """Samples the server's RSS (with its children), descriptors and temp folders."""

    def __init__(
        self, process: psutil.Process, folders: list[Path], startup: set[str], overdue_s: float
    ):
        super().__init__(daemon=True)
        self.process, self.folders, self.startup = process, folders, startup
        self.overdue_s = overdue_s  # older than this, a file has outlived the retention
        self.overdue: dict[str, float] = {}  # such files: path -> the greatest age seen
        self.started = time.monotonic()
        self.samples: list[dict[str, Any]] = []
        self.written: dict[str, int] = {}  # every file seen in the run: path -> bytes
        self.oldest_s, self.oldest = 0.0, ""  # the oldest upload or output seen at any sample
        self.stop = threading.Event()
        self.lock = threading.Lock()  # the main thread samples too, at the run's milestones

    def sample(self) -> dict[str, Any]:
        with self.lock:
            return self._sample()

    def _sample(self) -> dict[str, Any]:
        files, now = _walk(self.folders), time.time()
        self.written.update({p: size for p, (size, _) in files.items()})
        ages = {p: now - changed for p, (_, changed) in files.items() if p not in self.startup}
        oldest = max(ages, key=ages.get, default="")
        if oldest and ages[oldest] > self.oldest_s:
            self.oldest_s, self.oldest = ages[oldest], oldest
        self.overdue.update({p: round(age) for p, age in ages.items() if age > self.overdue_s})
        dirs = sum(len(d) for folder in self.folders for _, d, _ in os.walk(folder))
        point = {
            "t_s": round(time.monotonic() - self.started, 1),
            "rss_mb": round(_tree_rss(self.process) / 2**20, 1),
            "fds": self.process.num_fds(),
            "sockets": descriptors(self.process.pid)["socket"],
            "temp_mb": round(sum(size for size, _ in files.values()) / 2**20, 2),
            "temp_files": len(files),
            "temp_dirs": dirs,
            "oldest_file_s": round(ages.get(oldest, 0.0), 1),
        }
        self.samples.append(point)
        return point

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY_S):
            try:
                self.sample()
            except psutil.Error:  # the server stopped: the run reports it
                return


# the class


def reference(lesson: Lesson) -> None:
    """Each case alone, in order, once: the expected answers (and the server's warm-up)."""
    client = lesson.connect("reference")
    try:
        for case in lesson.cases:
            try:
                lesson.expected[case.name] = lesson.call(client, case)[0]
            except Exception as exc:  # reported as an error; the case is left out of the run
                said = f"alone {case.name}: {type(exc).__name__}: {exc}"
                lesson.tally.errors.append((case.endpoint, said[:400]))
    finally:
        client.close()


def student(n: int, lesson: Lesson) -> None:
    """Click a random tab, a random input on it, think, repeat until the bell."""
    cfg, tally = lesson.cfg, lesson.tally
    rng = random.Random(f"{cfg.seed}-{n}")
    by_tab: dict[str, list[Case]] = defaultdict(list)
    for case in lesson.cases:
        if case.name in lesson.expected:
            by_tab[case.endpoint].append(case)
    tabs = sorted(by_tab)
    time.sleep(rng.uniform(0, min(15.0, cfg.warmup_s / 2)))  # the class arrives over a while
    client = lesson.connect(f"student{n}")
    try:
        while time.monotonic() < lesson.deadline:
            case = rng.choice(by_tab[rng.choice(tabs)])
            tally.clicks.append(case.endpoint)
            try:
                answers, latencies = lesson.call(client, case)
            except Exception as exc:  # counted; the class goes on
                said = f"student {n} {case.name}: {type(exc).__name__}: {exc}"
                tally.errors.append((case.endpoint, said[:400]))
            else:
                tally.latencies[case.endpoint].extend(latencies)
                found = list(itertools.islice(differences(answers, lesson.expected[case.name]), 3))
                if found:
                    tally.mismatches.append(f"student {n} {case.name}: {'; '.join(found)}")
            if rng.random() < 1 / cfg.reload_every:  # a new page: a new Gradio session
                client.close()
                client = lesson.connect(f"student{n}")
                tally.reloads.append(n)
            pause = rng.uniform(*cfg.think_s)
            time.sleep(max(0.0, min(pause, lesson.deadline - time.monotonic())))
    finally:
        client.close()


def _build_models(root: Path) -> dict[str, str]:
    """Every demo's tiny model (tests/tiny.py) and the variables pointing the server at them."""
    from demos.core import registry
    from tests.tiny import BUILDERS, EXTRA_ENV

    env = {
        f"GALLERY_{key.upper()}_MODEL": str(BUILDERS[key](root))
        for key in registry.REGISTRY
        if key in BUILDERS
    }
    for key in registry.REGISTRY:
        if key in EXTRA_ENV:
            name, path = EXTRA_ENV[key](root)
            env[name] = str(path)
    return env


def server_env(work: Path, models: dict[str, str], cfg: SoakConfig) -> dict[str, str]:
    """The server's variables: tiny models, offline, its own temp folders under `work`."""
    for name in ("gradio", "tmp", "home", "hf"):
        (work / name).mkdir(parents=True, exist_ok=True)
    return {
        **models,
        "GALLERY_DEVICE": "cpu",
        "GALLERY_MAX_LOADED": str(cfg.max_loaded),
        "GALLERY_KEEP_FILES_MINUTES": str(cfg.keep_minutes),
        "GALLERY_HOME": str(work / "home"),
        "GRADIO_TEMP_DIR": str(work / "gradio"),
        "TMPDIR": str(work / "tmp"),
        "HF_HOME": str(work / "hf"),  # an empty hub cache: nothing real is found by accident
        "TRANSFORMERS_OFFLINE": "1",
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "0",
        "YOLO_CONFIG_DIR": str(work / "home" / "ultralytics"),
        "OPENAI_API_KEY": "",  # the GPT tab answers with its local tiny model
        "PYTHONUNBUFFERED": "1",
    }


def teach(url: str, process: psutil.Process, cases: list[Case], cfg: SoakConfig, work: Path):
    """The reference pass, then the class; the lesson, the monitor and the milestone samples."""
    from gradio_client import Client

    folders = [work / "gradio", work / "tmp" / f"pretrained-gallery-{process.pid}"]
    overdue_s = age_bound_s(cfg)
    # Files there at launch are the examples Gradio copied: kept by design, left out of ages.
    monitor = Monitor(process, folders, set(_walk(folders)), overdue_s)
    milestones = {"launch": monitor.sample()}
    probe = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    timed = timed_outputs(probe.view_api(return_format="dict", print_info=False))
    probe.close()
    lesson = Lesson(url, cases, timed, cfg, work / "downloads")
    log.info("reference pass: %d cases, each alone", len(cases))
    reference(lesson)
    milestones["start"] = monitor.sample()
    fds_at = {"start": dict(descriptors(process.pid))}
    monitor.start()
    begin = time.monotonic()
    lesson.deadline = begin + 60 * cfg.minutes
    threads = [
        threading.Thread(target=student, args=(n, lesson), daemon=True) for n in range(cfg.students)
    ]
    log.info("%d students for %g min", cfg.students, cfg.minutes)
    for t in threads:
        t.start()
    time.sleep(max(0.0, begin + cfg.warmup_s - time.monotonic()))
    milestones["warm"] = monitor.sample()
    time.sleep(max(0.0, lesson.deadline - time.monotonic()))
    milestones["end"] = monitor.sample()  # still under load, as the warm-up sample was
    for t in threads:
        t.join(timeout=cfg.request_timeout_s + 60)
    if stuck := sum(t.is_alive() for t in threads):
        lesson.tally.errors.append(("-", f"{stuck} students still waiting for an answer"))
    time.sleep(3)  # closed pages' connections wind down
    milestones["idle"] = monitor.sample()
    fds_at["idle"] = dict(descriptors(process.pid))
    monitor.stop.set()
    monitor.join(timeout=30)
    return lesson, monitor, milestones, fds_at


def run(cfg: SoakConfig, out: Path | None = RESULTS) -> dict[str, Any]:
    """The whole soak: build, serve, teach, the figures (written to `out` unless None)."""
    from bench import report
    from tests.serve import app_server

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gallery-soak-"))
    try:
        log.info("building tiny models and inputs in %s", work)
        env = server_env(work, _build_models(work / "models"), cfg)
        cases = classroom_cases(classroom_media(work / "media"))
        with app_server(env, work / "server.log") as server:
            process = psutil.Process(server.process.pid)
            lesson, monitor, milestones, fds_at = teach(server.url, process, cases, cfg, work)
        server_log = (work / "server.log").read_text(encoding="utf-8", errors="replace")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    tally = lesson.tally
    served = sum(len(v) for v in tally.latencies.values())
    clicks, failed = Counter(tally.clicks), Counter(tab for tab, _ in tally.errors)
    keep_s = 60 * cfg.keep_minutes
    results: dict[str, Any] = {
        "config": {**asdict(cfg), "warmup_s": cfg.warmup_s},
        "machine": report.host(),
        "cases": len(cases),
        "clicks": len(tally.clicks),
        "reloads": len(tally.reloads),
        "requests": served,
        "requests_per_s": round(served / (60 * cfg.minutes), 2),
        "errors": len(tally.errors),
        "error_kinds": dict(Counter(_kind(said) for _, said in tally.errors).most_common(10)),
        "error_examples": [said for _, said in tally.errors[:10]],
        "mismatches": len(tally.mismatches),
        "mismatch_examples": tally.mismatches[:10],
        "tabs": {
            tab: {
                "clicks": clicks[tab],
                "requests": len(v := tally.latencies.get(tab, [])),
                "errors": failed[tab],
                "p50_s": round(statistics.median(v), 3) if v else None,
                "p95_s": round(float(np.percentile(v, 95)), 3) if v else None,
                "max_s": round(max(v), 3) if v else None,
            }
            for tab in sorted(clicks | failed)
        },
        "milestones": milestones,
        "descriptors": {
            when: {
                k.replace(str(work), "<work>").replace(f"{ROOT}/", ""): n for k, n in kinds.items()
            }
            for when, kinds in fds_at.items()
        },
        "fds": {
            f"{when}{part}": sum(n for k, n in kinds.items() if (FONT_FILES in k) == fonts)
            for when, kinds in fds_at.items()
            for part, fonts in (("", False), ("_fonts", True))
        },
        "rss_mb": {
            "launch": milestones["launch"]["rss_mb"],
            "warm": _rss_before(monitor.samples, milestones["warm"]["t_s"], cfg),
            "end": _rss_before(monitor.samples, milestones["end"]["t_s"], cfg),
            "idle": milestones["idle"]["rss_mb"],
            "peak": max(point["rss_mb"] for point in monitor.samples),
        },
        "retention": {
            "keep_s": keep_s,
            "sweep_every_s": sweep_s(cfg),
            "bound_s": age_bound_s(cfg),
            "oldest_file_seen_s": round(monitor.oldest_s, 1),
            "oldest_file_seen": monitor.oldest.replace(str(work), "<work>"),
            "written_mb": round(sum(monitor.written.values()) / 2**20, 2),
            "written_files": len(monitor.written),
            "overdue_files": {
                p.replace(str(work), "<work>"): age for p, age in list(monitor.overdue.items())[:10]
            },
        },
        "server_log": _log_summary(server_log),
        "samples": monitor.samples,
        "total_s": round(time.perf_counter() - started, 1),
    }
    rss = results["rss_mb"]
    results["rss_growth"] = round(rss["end"] / rss["warm"] - 1, 4)
    results["broken"] = broken(results)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "soak.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        (out / "soak.md").write_text(markdown(results), encoding="utf-8")
    return results


def _rss_before(samples: list[dict[str, Any]], t_s: float, cfg: SoakConfig) -> float:
    """Mean RSS over the samples of the half minute (at most the warm-up) up to `t_s`: one
    sample would say more about the requests running at that instant than about the trend."""
    span = min(30.0, cfg.warmup_s)
    near = [p["rss_mb"] for p in samples if t_s - span <= p["t_s"] <= t_s]
    return round(statistics.fmean(near), 1)


def _kind(said: str) -> str:
    """An error without who met it, on which case, or the paths it names: what went wrong."""
    what = said.split(": ", 1)[-1]
    return re.sub(r"`?/\S+`?", "<path>", what)[:160]


def _log_summary(text: str) -> dict[str, Any]:
    """Tracebacks in the server's log, by their last line (what was raised), failed model loads
    (`demos.core.runtime` logs each) by demo and exception, and evictions."""
    raised = Counter()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            raised[lines[j][:200] if j < len(lines) else "?"] += 1
    failed_loads = Counter(
        f"{found.group(1)}: {found.group(2)}"
        for line in lines
        if (found := re.search(r"loading \S+ for (\w+) failed: (\w+)", line))
    )
    return {
        "tracebacks": sum(raised.values()),
        "raised": dict(raised.most_common(10)),
        "failed_loads": dict(failed_loads.most_common()),
        "evictions": sum("evicted" in line for line in lines),
    }


# the figures


def sweep_s(cfg: SoakConfig) -> int:
    """How often the server sweeps (`demos.core.retention.sweep_every_s` for its window)."""
    from demos.core import retention

    keep_s = 60 * cfg.keep_minutes
    return int(min(max(keep_s / 4, retention.MIN_SWEEP_S), retention.MAX_SWEEP_S))


def age_bound_s(cfg: SoakConfig) -> float:
    """The oldest an upload or output may get: the window, one sweep, and `AGE_SLACK_S`."""
    return 60 * cfg.keep_minutes + sweep_s(cfg) + AGE_SLACK_S


def broken(results: dict[str, Any]) -> list[str]:
    """The bounds the run broke, in words; empty when it passed."""
    out: list[str] = []
    if results["errors"]:
        out.append(f"{results['errors']} errors")
    if results["mismatches"]:
        out.append(f"{results['mismatches']} answers differ from the same request made alone")
    if not results["requests"]:
        out.append("no request was served")
    if results["rss_mb"]["end"] > RSS_GROWTH * results["rss_mb"]["warm"]:
        out.append(f"RSS grew {100 * results['rss_growth']:.1f}% (bound {RSS_GROWTH - 1:.0%})")
    fds = results["fds"]
    if fds["idle"] > fds["start"] + FD_SLACK:
        out.append(f"open descriptors {fds['start']} -> {fds['idle']} (+{FD_SLACK} allowed)")
    if fds["idle_fonts"] > FONT_FDS:
        out.append(f"{fds['idle_fonts']} font files open (matplotlib caches {FONT_FDS} at most)")
    ret = results["retention"]
    if ret["oldest_file_seen_s"] > ret["bound_s"]:
        out.append(
            f"{len(ret['overdue_files'])}+ temp files outlived the retention, one by "
            f"{ret['oldest_file_seen_s']:.0f} s (window + sweep + slack: {ret['bound_s']:.0f} s)"
        )
    return out


def markdown(results: dict[str, Any]) -> str:
    cfg, m, ret = results["config"], results["milestones"], results["retention"]
    host, fds, rss = results["machine"], results["fds"], results["rss_mb"]
    said = "PASS" if not results["broken"] else "FAIL: " + "; ".join(results["broken"])
    begin, per_min = m["start"]["t_s"], []
    for point in results["samples"]:  # the first sample in each minute of the class
        if point["t_s"] >= begin + 60 * len(per_min):
            per_min.append(point["rss_mb"])
    lines = [
        f"### Classroom soak: {cfg['students']} students, {cfg['minutes']:g} min ({said})",
        "",
        f"`python -m bench --soak --minutes {cfg['minutes']:g} --students {cfg['students']}`: "
        f"tiny random models, `GALLERY_MAX_LOADED={cfg['max_loaded']}` "
        f"({results['server_log']['evictions']} evictions), "
        f"`GALLERY_KEEP_FILES_MINUTES={cfg['keep_minutes']:g}`, {cfg['think_s'][0]:g}-"
        f"{cfg['think_s'][1]:g} s between clicks, a page reload every ~{cfg['reload_every']} "
        f"clicks. {host['cpu']}, {host['cores']} cores, no GPU, {host['date']}.",
        "",
        "| check | result | bound |",
        "|---|---|---|",
        f"| requests served | {results['requests']:,} ({results['requests_per_s']}/s; "
        f"{results['clicks']:,} clicks, {results['reloads']} reloads) | – |",
        f"| errors | {results['errors']} | 0 |",
        f"| crosstalk: answers unlike the same request alone | {results['mismatches']} | 0 |",
        f"| server RSS after warm-up → end (under load, 30 s means) | {rss['warm']:,.0f} → "
        f"{rss['end']:,.0f} MB ({100 * results['rss_growth']:+.1f}%; peak {rss['peak']:,.0f}) | "
        f"≤ +{RSS_GROWTH - 1:.0%} |",
        f"| open descriptors start → end (besides fonts) | {fds['start']} ({m['start']['sockets']}"
        f" sockets) → {fds['idle']} ({m['idle']['sockets']} sockets) | ≤ +{FD_SLACK} |",
        f"| matplotlib font files open, start → end | {fds['start_fonts']} → "
        f"{fds['idle_fonts']} | ≤ {FONT_FDS} (its per-thread cache) |",
        f"| temp folders at the end | {m['idle']['temp_mb']:.1f} MB in {m['idle']['temp_files']} "
        f"files ({ret['written_mb']:.1f} MB in {ret['written_files']} files written in all; "
        f"{m['idle']['temp_dirs']} folders) | – |",
        f"| oldest upload or output seen | {ret['oldest_file_seen_s']:.0f} s | "
        f"≤ {ret['bound_s']:.0f} s (window + sweep + {AGE_SLACK_S:.0f}) |",
        "",
        "| tab | clicks | requests answered | errors | p50 s | p95 s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tab, t in results["tabs"].items():
        p50, p95 = (f"{x:.2f}" if x is not None else "–" for x in (t["p50_s"], t["p95_s"]))
        lines.append(f"| {tab} | {t['clicks']} | {t['requests']} | {t['errors']} | {p50} | {p95} |")
    lines += [
        "",
        f"RSS at the start of each minute of the class (MB): "
        f"{', '.join(f'{x:,.0f}' for x in per_min)}; at launch {rss['launch']:,.0f}, once the "
        f"class had left {rss['idle']:,.0f}.",
    ]
    if results["error_kinds"]:
        lines += [
            "",
            "Errors by kind (the 10 most common):",
            *[f"- {n}× {kind}" for kind, n in results["error_kinds"].items()],
        ]
    if results["server_log"]["failed_loads"]:
        loads = results["server_log"]["failed_loads"]
        lines += [
            "",
            "Failed model loads in the server log: "
            + ", ".join(f"{k} ×{n}" for k, n in loads.items())
            + ".",
        ]
    if results["mismatch_examples"]:
        lines += ["", "Mismatches (first 10):", *[f"- {e}" for e in results["mismatch_examples"]]]
    grown = Counter(results["descriptors"]["idle"])
    grown.subtract(results["descriptors"]["start"])
    if any(n > 0 for n in grown.values()):
        lines += [
            "",
            "Descriptors open at the end and not at the start: "
            + ", ".join(f"`{k}` +{n}" for k, n in grown.most_common() if n > 0)
            + ".",
        ]
    if ret["overdue_files"]:
        lines += [
            "",
            "Files that outlived the retention (greatest age seen):",
            *[f"- `{p}`: {age:.0f} s" for p, age in ret["overdue_files"].items()],
        ]
    if results["server_log"]["raised"]:
        lines += [
            "",
            "Server log tracebacks:",
            *[f"- {n}× `{e}`" for e, n in results["server_log"]["raised"].items()],
        ]
    return "\n".join(lines) + "\n"


def main(minutes: float = 10.0, students: int = 30, out: Path = RESULTS) -> int:
    """`python -m bench --soak`: run, write the results, print the table; 1 if a bound broke."""
    results = run(SoakConfig(minutes=minutes, students=students), out)
    print(markdown(results))
    return 1 if results["broken"] else 0
