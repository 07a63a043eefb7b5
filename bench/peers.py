"""The peers table of `python -m bench`: the gallery's default engine against the engine a user
would pick instead, on the same weights and inputs, each in its own process.

- YOLO: the gallery's `/yolo` call against ultralytics' ONNX Runtime export of the same YOLO26n
  checkpoint (`bench.peer_yolo`): trained weights where ../shared/realweights is beside the
  project, else random full-size weights.
- Whisper: the gallery's default (CTranslate2 int8) against a bare faster-whisper int8 call on the
  same real whisper-base weights and a 2.5-minute English clip (`bench.peer_whisper`), and the
  live panel's lag on jfk.wav fed in real time (`bench.live_lag`); both need
  ../shared/realweights (real weights and real speech), else they are reported as skipped.

Each side's detections or transcript stands beside its time, so equal speed means equal work.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.report import verdict

log = logging.getLogger("bench.peers")
ROOT = Path(__file__).resolve().parents[1]
FETCH = ROOT.parent / "shared" / "realweights" / "fetch.py"
TIMEOUT_S = 1800


def _run(args: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]:
    with log_path.open("w", encoding="utf-8") as err:
        proc = subprocess.run(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    if proc.returncode != 0:
        lines = [x for x in log_path.read_text(encoding="utf-8").splitlines() if x.strip()]
        return {"error": (lines[-1] if lines else f"exit status {proc.returncode}")[:300]}
    return json.loads(proc.stdout)


def real_weight(name: str, env: dict[str, str]) -> Path | None:
    """A real checkpoint from ../shared/realweights (None when it cannot be had)."""
    if not FETCH.is_file():
        return None
    proc = subprocess.run(
        [sys.executable, str(FETCH), name], capture_output=True, text=True, env=env, check=False
    )
    try:
        path = json.loads(proc.stdout or "{}").get(name)
    except json.JSONDecodeError:
        return None
    return Path(path) if path else None


def measure(env: dict[str, str], work_dir: Path, runs: int) -> dict[str, Any]:
    """Both peers; each entry is a peer module's figures or {"error"/"skipped": why}."""
    out: dict[str, Any] = {}
    yolo_dir = work_dir / "peer-yolo"
    yolo_dir.mkdir(parents=True, exist_ok=True)
    log.info("peers: YOLO against ultralytics' ONNX Runtime export")
    out["yolo"] = _run(
        ["bench.peer_yolo", "--runs", str(max(runs, 10)), "--work-dir", str(yolo_dir)],
        env,
        work_dir / "peer-yolo.log",
    )
    whisper = real_weight("whisper-base", env)
    if whisper is None:
        out["whisper"] = {"skipped": "../shared/realweights (real whisper-base) is not here"}
    else:
        log.info("peers: Whisper against faster-whisper on %s", whisper)
        whisper_dir = work_dir / "peer-whisper"
        whisper_dir.mkdir(parents=True, exist_ok=True)
        out["whisper"] = _run(
            [
                "bench.peer_whisper",
                str(whisper),
                "--runs",
                str(runs),
                "--threads",
                "2",
                "--work-dir",
                str(whisper_dir),
            ],
            env,
            work_dir / "peer-whisper.log",
        )
        log.info("peers: Whisper's live panel fed jfk.wav in real time")
        out["whisper_live"] = _run(
            ["bench.live_lag", str(whisper), "--threads", "2"], env, work_dir / "live-lag.log"
        )
    return out


def _verdict(figures: dict[str, Any], key: str) -> str:
    return verdict(figures[key], figures["target_ratio"])


def markdown(peers: dict[str, Any]) -> str:
    """The peers table, with what each side answered."""
    rows = [
        "| Peers (same weights, same input) | gallery | peer | ratio | target | result | "
        "answers (gallery / peer) |",
        "|---|---|---|---|---|---|---|",
    ]
    yolo = peers.get("yolo", {})
    if "gallery" in yolo:
        g, p = yolo["gallery"], yolo["ultralytics_onnxruntime"]
        rows.append(
            f"| YOLO26n, {yolo['image']}; {yolo['checkpoint']}; gallery on "
            f"{yolo['gallery_engine']} vs ultralytics' ONNX Runtime export "
            f"| {g['median_ms']:.1f} ms | {p['median_ms']:.1f} ms "
            f"| {yolo['ratio_gallery_to_onnxruntime']:.3f} | ≤ {yolo['target_ratio']} "
            f"| {_verdict(yolo, 'ratio_gallery_to_onnxruntime')} "
            f"| {g['detections']} / {p['detections']} |"
        )
    else:
        rows.append(f"| YOLO | – | – | – | – | not measured | {yolo} |")
    whisper = peers.get("whisper", {})
    if "gallery" in whisper:
        g, p = whisper["gallery"], whisper["faster_whisper"]
        t = whisper.get("transformers", {})
        wer = f" (WER {g['wer']:.1%} / {p['wer']:.1%})" if "wer" in g else ""
        rows.append(
            f"| Whisper base (real weights), {whisper['clip']}; gallery on "
            f"{whisper['gallery_engine']} vs bare faster-whisper int8 "
            f"| {g['median_s']:.2f} s | {p['median_s']:.2f} s "
            f"| {whisper['ratio_gallery_to_faster_whisper']:.3f} | ≤ {whisper['target_ratio']} "
            f"| {_verdict(whisper, 'ratio_gallery_to_faster_whisper')} "
            f"| same text: {whisper['same_text_gallery_and_faster_whisper']}{wer} |"
        )
        if t:
            rows.append(
                f"| Whisper base, the transformers engine (selectable in the tab) "
                f"| {t['median_s']:.2f} s | {p['median_s']:.2f} s "
                f"| {whisper['ratio_transformers_to_faster_whisper']:.3f} | – | (reported) | "
                f"WER {t.get('wer', float('nan')):.1%} |"
            )
    else:
        rows.append(f"| Whisper | – | – | – | – | not measured | {whisper} |")
    live = peers.get("whisper_live", {})
    if "worst_lag_s" in live:
        lag, target = live["worst_lag_s"], live["target_lag_s"]
        rows.append(
            f"| Whisper's live panel ({live['engine']}), {live['clip']}: the text on screen "
            f"at most this far behind the speaker | {lag:.2f} s | – | – | ≤ {target:g} s "
            f"| {verdict(lag, target)} | final text = file transcript: {live['same_text']} |"
        )
    return "\n".join(rows)
