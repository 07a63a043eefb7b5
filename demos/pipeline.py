"""The shape every demo's model code takes: preprocess -> forward -> postprocess.

As in transformers' `Pipeline`, only `forward` touches the model and the device; `preprocess`
turns user input into tensors on the CPU and `postprocess` turns outputs into plain Python
(`[{"label": ..., "score": ...}]`). That keeps the hot path small and lets a compare tab treat all
models of one task alike. Calls are timed per stage (ms) and serialised by a lock, because one
loaded model is shared by every request.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Generic, TypeVar

import torch

from demos.runtime import timed

In = TypeVar("In")
Out = TypeVar("Out")


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

    def postprocess(self, outputs: Any, **params: Any) -> Out:
        raise NotImplementedError

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Move a batch to the model's device; floating tensors also take the model's dtype."""
        return {
            k: v.to(self.device, dtype=self.dtype if v.is_floating_point() else None)
            for k, v in batch.items()
        }

    def __call__(self, inputs: In, **params: Any) -> tuple[Out, dict[str, float]]:
        """Run the three stages; returns (result, per-stage times in ms)."""
        speed: dict[str, float] = {}
        with timed(speed, "preprocess"):
            batch = self.preprocess(inputs, **params)
        with self._lock, torch.inference_mode(), timed(speed, "inference"):
            outputs = self.forward(batch)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)  # so the time is the GPU's, not the launch's
        with timed(speed, "postprocess"):
            result = self.postprocess(outputs, **params)
        return result, speed
