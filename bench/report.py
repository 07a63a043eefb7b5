"""The benchmark's verdicts and its markdown table; the README's benchmark section.

Targets are reported, never asserted: each row says PASS or MISS and by how much.
"""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RATIO_TARGET = 1.10  # demo call / bare model call, median of the warm calls
STARTUP_TARGET = 1.2  # app start-up / bare imports
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


# the machine


def _first_line(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def host() -> dict[str, Any]:
    """What this machine is (no torch needed): CPU, cores, RAM, OS, date."""
    mem_kb = _first_line("/proc/meminfo", "MemTotal")
    return {
        "cpu": _first_line("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram_gb": round(int(mem_kb.split()[0]) / 1024**2, 1) if mem_kb else None,
        "os": platform.platform(terse=True),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def describe(machine: dict[str, Any]) -> str:
    gpu = machine.get("gpu") or "no GPU"
    return (
        f"{machine['cpu']} ({machine['cores']} cores, torch {machine.get('torch_threads', '?')} "
        f"thread(s), {machine.get('ram_gb', '?')} GB RAM, {gpu}); device {machine.get('device')}; "
        f"Python {machine.get('python')}, torch {machine.get('torch')}, transformers "
        f"{machine.get('transformers')}, gradio {machine.get('gradio')}"
    )


# verdicts


def verdict(value: float | None, target: float, fmt: str = "{:.2f}") -> str:
    """'PASS (0.04 under)' / 'MISS (0.12 over)' against an upper bound; '–' if not measured."""
    if value is None:
        return "–"
    margin = target - value
    said = "under" if margin >= 0 else "over"
    return f"{'PASS' if margin >= 0 else 'MISS'} ({fmt.format(abs(margin))} {said})"


def memory_bound(cycle: dict[str, Any]) -> dict[str, Any] | None:
    """The cycling target: the app's base RSS (every tab used once, nothing loaded) plus the two
    largest models' own peaks, each measured alone in the same process (`measure.cycle`)."""
    base_mb = cycle.get("base_mb")
    footprints = sorted(
        ((mb, key) for key, mb in (cycle.get("alone_mb") or {}).items()), reverse=True
    )
    if base_mb is None or len(footprints) < 2:
        return None
    (a, key_a), (b, key_b) = footprints[:2]
    return {
        "base_mb": round(base_mb),
        "largest": {key_a: round(a), key_b: round(b)},
        "bound_mb": round(base_mb + a + b),
    }


# the table


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _params(n: int | None) -> str:
    if not n:
        return "–"
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def _gb(mb: float | None) -> str:
    return "–" if mb is None else f"{mb / 1024:.2f} GB"


def command(opts: dict[str, Any]) -> str:
    """The command line that produced a report."""
    parts = ["python -m bench"]
    if opts.get("quick"):
        parts.append("--quick")
    for name in ("device", "threads"):
        if opts.get(name):
            parts.append(f"--{name} {opts[name]}")
    return " ".join(parts)


def markdown(results: dict[str, Any]) -> str:
    """The whole report: start-up, one row per demo, cache and memory, what was skipped."""
    m, opts = results["machine"], results["options"]
    lines = [
        f"Measured {m['date']} on {describe(m)}.",
        f"Full-size architectures with random weights, real where the Weights column says so "
        f"(`{command(opts)}`); warm times are "
        f"medians of {opts['repeats']} calls or more (about 2 s of calls per side when a call "
        "is quick, up to 50), demo and bare call interleaved; took "
        f"{results.get('total_s', 0) / 60:.1f} min.",
        "",
    ]
    start = results.get("startup")
    if start and "error" not in start:
        lines += [
            f"| Start-up (median of {start['runs']}) | seconds | target | result |",
            "|---|---|---|---|",
            f"| `python app.py` → first HTTP 200 | {start['app_median_s']:.1f} | | |",
            f"| bare imports (`{start['bare_imports']}`) | {start['imports_median_s']:.1f} | | |",
            f"| ratio | {start['ratio']:.2f} | ≤ {STARTUP_TARGET} | "
            f"{verdict(start['ratio'], STARTUP_TARGET)} |",
            "",
        ]
    elif start:
        lines += [f"Start-up: failed ({start['error']}).", ""]

    if results.get("peers"):
        from bench import peers

        lines += [peers.markdown(results["peers"]), ""]

    if results["demos"]:
        lines += [
            "| Demo | Architecture | Weights | Engine | Params | Load ms | First call ms "
            "| Demo call ms | Bare call ms | Ratio | Target ≤ 1.10 | Peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
    weights = results.get("weights", {})
    for key, r in results["demos"].items():
        arch = results["architectures"].get(key, "")
        kind = weights.get(key, "random")
        if "error" in r:
            lines.append(f"| {key} | {arch} | {kind} | | | | | | | | failed: {r['error']} | |")
            continue
        engine = f"{r.get('engine') or '–'} {r.get('dtype') or ''}".strip()
        lines.append(
            f"| {key} | {arch} | {kind} | {engine} | {_params(r['params'])} "
            f"| {_ms(r['cold_load_ms'])} "
            f"| {_ms(r['cold_call_ms'])} | {_ms(r['demo_median_ms'])} | {_ms(r['bare_median_ms'])} "
            f"| {r['ratio']:.3f} | {verdict(r['ratio'], RATIO_TARGET, '{:.3f}')} "
            f"| {_gb(r['peak_rss_mb'])}"
            + (f" · GPU {_gb(r['peak_gpu_mb'])} |" if r.get("peak_gpu_mb") else " |")
        )
    if results["demos"]:
        lines.append("")

    rows = []
    cache = results.get("cache")
    if cache and "error" not in cache:
        said = f"{cache['loads']} load(s), {cache['answered']}/{cache['threads']} answered"
        result = "PASS" if cache["loads"] == 1 and not cache["errors"] else "MISS"
        rows.append(
            f"| {cache['threads']} concurrent first requests to `{cache['key']}` | {said} "
            f"| exactly 1 load | {result} |"
        )
    elif cache:
        rows.append(f"| concurrent first requests | failed: {cache['error']} | 1 load | – |")
    every = results.get("all_loaded")
    if every and "error" not in every:
        rows.append(
            f"| all {len(every['keys'])} defaults loaded at once | peak RSS "
            f"{_gb(every['peak_rss_mb'])} ({every['loaded']} loaded) | – | (reported) |"
        )
    elif every:
        rows.append(f"| all defaults loaded at once | failed: {every['error']} | – | – |")
    rows += engine_rows(results.get("engines") or {})
    cyc = results.get("cycle")
    if cyc and "error" not in cyc:
        bound = results.get("memory_bound")
        target, result = "–", "–"
        if bound:
            largest = " + ".join(f"{k} {_gb(v)}" for k, v in bound["largest"].items())
            target = f"≤ base {_gb(bound['base_mb'])} + {largest} = {_gb(bound['bound_mb'])}"
            result = verdict(cyc["peak_rss_mb"] / 1024, bound["bound_mb"] / 1024, "{:.2f} GB")
        rows.append(
            f"| `GALLERY_MAX_LOADED={cyc['max_loaded']}`, every demo in turn ×{cyc['rounds']} "
            f"| peak RSS {_gb(cyc['peak_rss_mb'])}, {cyc['loads']} loads | {target} | {result} |"
        )
    elif cyc:
        rows.append(f"| GALLERY_MAX_LOADED cycling | failed: {cyc['error']} | – | – |")
    if rows:
        lines += ["| Cache and memory | measured | target | result |", "|---|---|---|---|", *rows]
        lines.append("")

    baselines = {r["baseline"]: [] for r in results["demos"].values() if "baseline" in r}
    for key, r in results["demos"].items():
        if "baseline" in r:
            baselines[r["baseline"]].append(key)
    if baselines:
        lines.append(
            "Bare calls: "
            + "; ".join(f"{', '.join(keys)}: {what}" for what, keys in baselines.items())
            + "."
        )
    if results.get("skipped"):
        lines.append(
            "Not benchmarked: "
            + "; ".join(f"{k} ({why})" for k, why in results["skipped"].items())
            + "."
        )
    return "\n".join(lines).rstrip() + "\n"


def engine_rows(engines: dict[str, dict]) -> list[str]:
    """One row per demo whose default engine is not PyTorch: RSS its default load adds against
    its PyTorch engine's, each in a fresh process, and the torch tensors each holds (a default
    engine that also kept the PyTorch model would hold as many as the PyTorch one)."""
    rows = []
    by_key: dict[str, dict[str, dict]] = {}
    for name, r in engines.items():
        _, key, which = name.split("-", 2)
        by_key.setdefault(key, {})[which] = r
    for key, pair in by_key.items():
        said = []
        for which in ("default", "pytorch"):
            r = pair.get(which, {})
            if "error" in r or not r:
                said.append(f"{which}: failed ({r.get('error', 'not run')})")
                continue
            added = r["rss_loaded_mb"] - r["rss_after_import_mb"]
            said.append(
                f"{r['engine']} +{added:,.0f} MB RSS, torch tensors {r['torch_tensor_mb']:,.0f} MB"
            )
        d, t = pair.get("default", {}), pair.get("pytorch", {})
        result = "–"
        if "torch_tensor_mb" in d and "torch_tensor_mb" in t:
            one_copy = d["torch_tensor_mb"] < 0.5 * t["torch_tensor_mb"]
            result = "PASS (one copy)" if one_copy else "MISS (PyTorch model kept too)"
        rows.append(
            f"| `{key}` default engine vs its PyTorch engine, each alone | {'; '.join(said)} "
            f"| the default holds no PyTorch copy | {result} |"
        )
    return rows


def update_readme(readme: Path, table: str) -> None:
    """Replace what lies between the benchmark markers in the README with `table`."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no {README_START} … {README_END} section")
    text = pattern.sub(lambda _: f"{README_START}\n{table.rstrip()}\n{README_END}", text, count=1)
    readme.write_text(text, encoding="utf-8")
