"""The demo contract: every model runs as preprocess -> forward -> postprocess, and every demo
module exposes the same typed surface.

As in transformers' `Pipeline`, only `forward` touches the model and the device; `preprocess`
turns user input into tensors on the CPU and `postprocess` turns outputs into plain Python
(`[{"label": ..., "score": ...}]`). That keeps the hot path small and lets a compare tab treat all
models of one task alike. Calls are timed per stage (ms) and serialised by a lock, because one
loaded model is shared by every request. Streams (token by token, chunk by chunk) go through
`Pipeline.stream`, so the lock, the timing and inference mode live here and nowhere else.

A demo module (the one its registry record names) exposes:
- `SPEC`: its `DemoSpec`;
- `build_tab()`: the tab's components and events, inside the app's Blocks; it returns the
  component (or list of them) that shows what the tab produces (an image, a plot, a chart, a
  transcript), which the Overview mirrors on the model's card;
- `predict(...) -> <a Result subclass>`: the model's answer as typed fields plus its `RunInfo`.
Compare tabs and tests read those fields instead of unpacking tuples; rendering (plots, boxes
drawn on images) happens in the tab, after postprocess. `tests/test_contract.py` checks every
registered module against this.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import torch

from demos.core.registry import DemoSpec
from demos.core.runtime import RunInfo, timed

In = TypeVar("In")
Out = TypeVar("Out")


# the contract


@dataclasses.dataclass(kw_only=True)
class Result:
    """What a demo's `predict` returns: typed answer fields (in subclasses) and the run info."""

    info: RunInfo

    def info_dict(self) -> dict[str, Any]:
        """The run info as the tab and the API show it (a result may add what it measured)."""
        return self.info.as_dict()

    def answer(self) -> dict[str, Any]:
        """The answer's fields as plain Python, without the run info (for the API and compare)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "info" and f.metadata.get("api", True)
        }


def ui_only(default: Any = None) -> Any:
    """A result field the tab shows but the JSON API leaves out (an image, a figure)."""
    return dataclasses.field(default=default, metadata={"api": False})


class DemoModule(Protocol):
    """The surface of the module a registry record names (checked by tests/test_contract.py)."""

    SPEC: DemoSpec

    def build_tab(self) -> Any: ...  # a gradio component: what the tab produces

    def predict(self, *args: Any, **kwargs: Any) -> Result: ...


_DONE = object()  # the end of a stream of forward steps


# classes


class Pipeline(Generic[In, Out]):
    """A loaded model with its pre- and post-processing."""

    def __init__(self, *, model: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> None:
        self.model = model.eval()
        self.device = device
        self.dtype = dtype
        self._lock = threading.Lock()  # one forward at a time per loaded model

    @functools.cached_property
    def n_params(self) -> int:
        """Parameter count of the model (reported with every result)."""
        return sum(p.numel() for p in self.model.parameters())

    def preprocess(self, inputs: In, **params: Any) -> Any:
        raise NotImplementedError

    def forward(self, batch: Any) -> Any:
        raise NotImplementedError

    def forward_steps(self, batch: Any) -> Iterator[Any]:
        """For pipelines that stream: the forward pass as a series of outputs (tokens so far,
        audio heard so far), each of which `postprocess` can turn into a partial result."""
        raise NotImplementedError(f"{type(self).__name__} does not stream")

    # Held around each forward step of a stream. A pipeline whose steps come from a worker
    # thread that holds the model lock for the whole generation sets this to False.
    lock_each_step: ClassVar[bool] = True
    first_step: ClassVar[str] = "first_output"  # the run info's name for time to the first step

    def postprocess(self, outputs: Any, **params: Any) -> Out:
        raise NotImplementedError

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Move a batch to the model's device; floating tensors also take the model's dtype."""
        return {
            k: v.to(self.device, dtype=self.dtype if v.is_floating_point() else None)
            for k, v in batch.items()
        }

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # so the time is the GPU's, not the launch's

    def __call__(self, inputs: In, **params: Any) -> tuple[Out, dict[str, float]]:
        """Run the three stages; returns (result, per-stage times in ms)."""
        speed: dict[str, float] = {}
        with timed(speed, "preprocess"):
            batch = self.preprocess(inputs, **params)
        with self._lock, torch.inference_mode(), timed(speed, "inference"):
            outputs = self.forward(batch)
            self._synchronize()
        with timed(speed, "postprocess"):
            result = self.postprocess(outputs, **params)
        return result, speed

    def stream(
        self, inputs: In, speed: dict[str, float] | None = None, **params: Any
    ) -> Iterator[Out]:
        """Like calling the pipeline, but yields a partial result after every forward step.

        Per-stage times (ms) accumulate in `speed`, with `first_step` (a name) the time to
        the first step. The lock is held one step at a time, so a long stream never blocks
        other requests for long.
        """
        speed = {} if speed is None else speed
        with timed(speed, "preprocess"):
            batch = self.preprocess(inputs, **params)
        steps, start = self.forward_steps(batch), time.perf_counter()
        try:
            while True:
                lock = self._lock if self.lock_each_step else contextlib.nullcontext()
                with lock, torch.inference_mode(), timed(speed, "inference"):
                    outputs = next(steps, _DONE)
                    self._synchronize()
                if outputs is _DONE:
                    return
                speed.setdefault(self.first_step, (time.perf_counter() - start) * 1000.0)
                with timed(speed, "postprocess"):
                    result = self.postprocess(outputs, **params)
                yield result
        finally:
            close = getattr(steps, "close", None)
            if close is not None:
                close()  # a reader that left early ends the generation
