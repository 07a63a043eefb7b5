"""ZeroGPU: handlers are wrapped with spaces.GPU on a ZeroGPU Space, and left alone elsewhere."""

from __future__ import annotations

import sys
import types

from demos.core import ui, zerogpu


def test_no_op_off_zerogpu(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def handler(x):
        return x + 1

    assert zerogpu.gpu(handler) is handler
    assert ui.guarded("Tab")(handler)(1) == 2


def test_handlers_run_inside_spaces_gpu_on_zerogpu(monkeypatch):
    calls = []
    fake = types.ModuleType("spaces")  # the real package exists only on Spaces

    def gpu(duration):
        def decorate(fn):
            def on_gpu(*args, **kwargs):
                calls.append(duration)
                return fn(*args, **kwargs)

            return on_gpu

        return decorate

    fake.GPU = gpu
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert ui.guarded("Tab")(lambda x: x * 2)(21) == 42
    assert calls == [zerogpu.GPU_SECONDS]
