"""`python -m bench`: build full-size random models, time the gallery against them, report.

    python -m bench                      # everything, about 10-15 min on 2 CPU cores
    python -m bench --only bert,vit      # some demos (start-up and the cache test still run)
    python -m bench --quick              # 3 warm calls per demo, 1 start-up run
    python -m bench --device cuda        # GALLERY_DEVICE=cuda: float16 where the registry allows
    python -m bench --update-readme      # also rewrite README.md's benchmark section
    python -m bench --soak               # a classroom day: 30 students, 10 min (bench/soak.py)

Each measurement runs in its own `bench.worker` subprocess; checkpoints are built once per run in
a temporary folder (`--work-dir DIR` keeps and reuses them). Results: bench/results/latest.md and
latest.json, and the table on stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import peers, report, startup
from bench.architectures import BUILDERS, NOTES, REAL_NOTES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
WORKER_TIMEOUT_S = 1800  # one subprocess; the slowest (cycling every demo twice) takes minutes
CACHE_DEMOS = ("bert", "vit", "mobilenet_v2")  # the first available takes the concurrency test
ENGINE_DEMOS = ("yolo", "whisper")  # default engine not PyTorch on CPU: memory of each engine
PARTS = ("startup", "peers", "demos", "cache", "memory")

log = logging.getLogger("bench")


# choosing what to run


def available(only: list[str] | None) -> tuple[list[str], dict[str, str]]:
    """Keys to benchmark in tab order, and why each other known demo is skipped."""
    from demos.core import registry  # stdlib-only import: cheap

    known = list(dict.fromkeys([*registry.REGISTRY, *BUILDERS]))
    keys, skipped = [], {}
    for key in known:
        if only and key not in only:
            continue
        spec = registry.REGISTRY.get(key)
        if spec is None:
            skipped[key] = "no registry record yet"
        elif importlib.util.find_spec(spec.module) is None:
            skipped[key] = f"module `{spec.module}` does not exist yet"
        elif key not in BUILDERS:
            skipped[key] = "no benchmark architecture for it in bench/"
        else:
            keys.append(key)
    for key in only or []:
        if key not in known:
            skipped[key] = "unknown key"
    return keys, skipped


def worker_env(work_dir: Path, device: str | None, threads: int | None) -> dict[str, str]:
    """Offline, quiet, nothing from the user's setup that would change what is measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GALLERY_", "OPENAI_"))}
    home = work_dir / "home"
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        TRANSFORMERS_VERBOSITY="error",
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HOME=str(work_dir / "hf"),  # an empty hub cache: nothing real is found by accident
        GALLERY_HOME=str(home),
        YOLO_OFFLINE="1",
        YOLO_CONFIG_DIR=str(home / "ultralytics"),
        PYTHONUNBUFFERED="1",
    )
    if device:
        env["GALLERY_DEVICE"] = device
    if threads:  # torch reads these when it is imported: every worker and the app alike
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


# running workers


def run_worker(name: str, request: dict[str, Any], env: dict[str, str], work_dir: Path) -> dict:
    """Run one `bench.worker` subprocess; its result, or {"error": ...} if it failed."""
    runs = work_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    req, res, err = runs / f"{name}.json", runs / f"{name}.result.json", runs / f"{name}.log"
    req.write_text(json.dumps(request), encoding="utf-8")
    res.unlink(missing_ok=True)
    start = time.perf_counter()
    with err.open("w", encoding="utf-8") as stderr:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "bench.worker", str(req), str(res)],
                cwd=ROOT,
                env=env,
                stdout=stderr,
                stderr=stderr,
                timeout=WORKER_TIMEOUT_S,
            )
            failed = proc.returncode != 0 or not res.is_file()
        except subprocess.TimeoutExpired:
            failed = True
    elapsed = time.perf_counter() - start
    if failed:
        lines = [x for x in err.read_text(encoding="utf-8").splitlines() if x.strip()]
        why = lines[-1] if lines else f"no result after {elapsed:.0f} s"
        log.warning("%s failed after %.0f s: %s", name, elapsed, why)
        return {"error": why[:300], "log_tail": lines[-30:]}  # the work dir may be deleted
    log.info("%s done in %.0f s", name, elapsed)
    return json.loads(res.read_text(encoding="utf-8"))


def _guarded(part: str, call) -> dict[str, Any]:
    try:
        return call()
    except Exception as exc:  # one failed part is reported in the table, the rest still runs
        log.warning("%s failed: %r", part, exc)
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


# the run


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated demo keys, e.g. bert,vit")
    parser.add_argument("--quick", action="store_true", help="3 warm calls, 1 start-up run")
    parser.add_argument("--repeats", type=int, help="warm calls per demo (default 5; quick 3)")
    parser.add_argument("--device", help="GALLERY_DEVICE for the demos, e.g. cuda (float16)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: its own)")
    parser.add_argument("--skip", default="", help=f"comma-separated parts of {', '.join(PARTS)}")
    parser.add_argument("--profile", default="", help="demo keys whose warm call is cProfiled")
    parser.add_argument("--work-dir", help="keep built checkpoints here and reuse them")
    parser.add_argument("--out", default=str(RESULTS), help="where latest.md / latest.json go")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README's section")
    parser.add_argument("--soak", action="store_true", help="the classroom soak (bench/soak.py)")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length (default 10)")
    parser.add_argument("--students", type=int, default=30, help="soak users (default 30)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse(argv)
    if args.soak:  # writes soak.md / soak.json; exits 1 if a bound broke
        from bench import soak

        raise SystemExit(soak.main(args.minutes, args.students, Path(args.out)))
    started = time.perf_counter()
    only = [k.strip() for k in args.only.split(",") if k.strip()] if args.only else None
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    profile = {k.strip() for k in args.profile.split(",") if k.strip()}
    repeats = args.repeats or (3 if args.quick else 5)
    keys, skipped = available(only)
    log.info("benchmarking %s; skipped: %s", ", ".join(keys) or "nothing", skipped or "none")

    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="gallery-bench-")).resolve()
    env = worker_env(work_dir, args.device, args.threads)
    results: dict[str, Any] = {
        "options": {
            "quick": args.quick,
            "repeats": repeats,
            "device": args.device,
            "threads": args.threads,
            "only": only,
        },
        "architectures": {k: NOTES.get(k, "") for k in keys},
        "skipped": skipped,
        "demos": {},
    }
    try:
        request = {"mode": "build", "keys": keys, "work_dir": str(work_dir)}
        built = run_worker("build", request, env, work_dir)
        if "error" in built:
            raise SystemExit(f"building the checkpoints failed: {built['error']}")
        checkpoints = built["checkpoints"]
        results["build_s"] = built["build_s"]
        results["weights"] = built.get("weights", {})
        for key, kind in results["weights"].items():
            if kind == "real":
                results["architectures"][key] = REAL_NOTES.get(key, NOTES.get(key, ""))
        machine = built["machine"]
        if "startup" not in skip:
            runs = 1 if args.quick else 3
            results["startup"] = _guarded(
                "startup", lambda: startup.measure(sys.executable, ROOT, env, runs)
            )
        if "peers" not in skip:
            results["peers"] = _guarded(
                "peers", lambda: peers.measure(env, work_dir, 3 if args.quick else 5)
            )
        for key in keys if "demos" not in skip else []:
            request = {
                "mode": "demo",
                "keys": [key],
                "checkpoints": checkpoints,
                "repeats": repeats,
                "profile": key in profile,
            }
            results["demos"][key] = r = run_worker(f"demo-{key}", request, env, work_dir)
            if "ratio" in r:
                said = "demo %.1f ms, bare %.1f ms, ratio %.3f, peak RSS %.0f MB"
                numbers = (r["demo_median_ms"], r["bare_median_ms"], r["ratio"], r["peak_rss_mb"])
                log.info("%s: " + said, key, *numbers)
            if "profile" in r:
                log.info("%s profile of one warm demo call:\n%s", key, r["profile"])
        cache_key = next((k for k in CACHE_DEMOS if k in keys), keys[0] if keys else None)
        if "cache" not in skip and cache_key:
            request = {"mode": "concurrency", "keys": [cache_key], "checkpoints": checkpoints}
            results["cache"] = run_worker("concurrency", request, env, work_dir)
        if "memory" not in skip and keys:
            for mode, name in (("all", "all_loaded"), ("cycle", "cycle")):
                request = {"mode": mode, "keys": keys, "checkpoints": checkpoints}
                results[name] = run_worker(name, request, env, work_dir)
            results["engines"] = {}
            for key in (k for k in ENGINE_DEMOS if k in keys):
                for engine in (None, "pytorch"):  # the default, then the PyTorch engine
                    name = f"engine-{key}-{engine or 'default'}"
                    request = {
                        "mode": "engine",
                        "keys": [key],
                        "checkpoints": checkpoints,
                        "engine": engine,
                    }
                    results["engines"][name] = run_worker(name, request, env, work_dir)
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)

    results["machine"] = {**report.host(), **machine}
    cyc = results.get("cycle", {})
    results["memory_bound"] = report.memory_bound(cyc) if "error" not in cyc else None
    results["total_s"] = round(time.perf_counter() - started, 1)
    table = report.markdown(results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "latest.md").write_text(table, encoding="utf-8")
    print(table)
    if args.update_readme:
        report.update_readme(ROOT / "README.md", table)
        log.info("README.md's benchmark section updated")
    return results


if __name__ == "__main__":
    main()
