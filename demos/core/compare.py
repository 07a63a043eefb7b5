"""What the compare tabs share: run one input through several demos, one column each.

Models run one after another (one GPU, one model's activations at a time) and the handler yields
after each, so the UI shows every column as soon as it is ready. A model that fails (no weights,
an input it cannot take) puts its message in its own column; the others still run.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from demos.core import registry
from demos.core.errors import GalleryError
from demos.core.pipeline import DemoModule, Result
from demos.core.registry import DemoSpec

log = logging.getLogger(__name__)


# classes


@dataclass
class Outcome:
    """One column: the demo's typed result (its answer and run info), or the message of its
    failure. `answer` is what the JSON API shows of the result (by default `Result.answer()`)."""

    key: str
    title: str
    result: Any = None  # a demo's `Result` once it answered
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    pending: bool = True
    answer: Callable[[Any], Any] = field(default=lambda result: result.answer(), repr=False)

    @property
    def ok(self) -> bool:
        return not self.pending and self.error is None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON for the API: {model, ok, result | error, info}."""
        out: dict[str, Any] = {"model": self.key, "title": self.title, "ok": self.ok}
        if self.error is not None:
            out["error"] = self.error
        elif not self.pending:
            out["result"] = self.answer(self.result)
            out["info"] = self.info
        return out


# helpers


def present(keys: list[str]) -> list[DemoSpec]:
    """The demos among `keys` that the registry has (a compare tab grows as demos land)."""
    return [registry.get(k) for k in keys if k in registry.REGISTRY]


def module(spec: DemoSpec) -> DemoModule:
    return importlib.import_module(spec.module)


def run_each(
    specs: list[DemoSpec],
    call: Callable[[DemoSpec], Result],
    answer: Callable[[Any], Any] | None = None,
) -> Iterator[list[Outcome]]:
    """Run `call(spec)` (a demo's typed result) for each spec in turn; yield all outcomes after
    each one finishes. `answer(result)` is what the API shows of each (default: its fields)."""
    outcomes = [Outcome(key=s.key, title=s.title) for s in specs]
    if answer is not None:
        for outcome in outcomes:
            outcome.answer = answer
    yield outcomes
    for spec, outcome in zip(specs, outcomes, strict=True):
        try:
            outcome.result = call(spec)
            outcome.info = outcome.result.info_dict()
        except GalleryError as exc:
            outcome.error = str(exc)
        except gr.Error as exc:
            outcome.error = exc.message
        except Exception as exc:  # one model's bug must not stop the comparison
            log.exception("compare: %s failed", spec.key)
            outcome.error = f"{spec.title} hit an unexpected {type(exc).__name__}; see the log."
        outcome.pending = False
        yield outcomes


def status(outcome: Outcome) -> str:
    """A column's footer: timing and size, the error, or 'waiting'."""
    if outcome.pending:
        return "*waiting…*"
    if outcome.error:
        return f"**Error:** {outcome.error}"
    info = outcome.info
    speed = info.get("speed_ms", {})
    total = sum(speed.values())
    params = f" · {info['params'] / 1e6:.1f}M params" if info.get("params") else ""
    rtf = f" · RTF {info['real_time_factor']:.2f}" if "real_time_factor" in info else ""
    return (
        f"{info.get('device', '?')} · {total:.0f} ms (inference "
        f"{speed.get('inference', 0):.0f} ms){rtf}{params}"
        + (f" · loaded in {info['load_ms']:.0f} ms" if info.get("loaded_now") else "")
    )
