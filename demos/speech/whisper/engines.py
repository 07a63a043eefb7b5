"""Which engine runs Whisper for a request: the record's fastest that runs here, or the user's
pick; a checkpoint CTranslate2 cannot run (not Whisper's vocabulary, a cache that cannot be
written) runs on transformers instead, and the run info's `fallback` says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from demos.core import registry, runtime
from demos.speech.whisper import ct2
from demos.speech.whisper.pipeline import WhisperASR

log = logging.getLogger(__name__)
SPEC = registry.get("whisper")


@dataclass
class EngineRunInfo(runtime.RunInfo):
    """The run info of a request that asked for an engine that could not run the checkpoint."""

    fallback: str | None = None  # why the engine asked for did not run, in one sentence


def load(
    checkpoint: str | None,
    progress: runtime.Progress | None = None,
    engine: str | None = None,
) -> tuple[WhisperASR | ct2.WhisperCT2, runtime.RunInfo]:
    """The pipeline on `engine` (a key of the record's engines; "" or None: the fastest here)."""
    ckpt, chosen = SPEC.checkpoint(checkpoint), runtime.engine_for(SPEC, engine)
    if chosen.key != ct2.ENGINE:
        return runtime.load_model(SPEC, ckpt, WhisperASR.load, progress, engine=chosen)

    def load(c: registry.Checkpoint, dev: Any, _dtype: Any) -> ct2.WhisperCT2:
        compute = chosen.precision_on(dev.type, ct2.COMPUTE.get(dev.type, "float32"))
        return ct2.WhisperCT2.load(c, dev, compute, progress)

    try:
        return runtime.load_model(SPEC, ckpt, load, progress, engine=chosen)
    except ct2.ConversionFailed as exc:
        other = next(
            (e for e in SPEC.engines if e.key != ct2.ENGINE and runtime.engine_runs_here(e)), None
        )
        if other is None:
            raise
        log.warning("Whisper %s on %s: %s; running on %s", ckpt.id, chosen.key, exc, other.key)
        pipe, info = runtime.load_model(SPEC, ckpt, WhisperASR.load, progress, engine=other)
        reason = f"{chosen.label} could not run {ckpt.label}: {exc}"
        return pipe, EngineRunInfo(**vars(info), fallback=reason)
