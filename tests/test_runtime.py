"""Device choice, precision, and the model cache (load once, evict least recently used)."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest
import torch

from demos.core import registry, runtime
from demos.core.errors import ModelUnavailable
from demos.core.runtime import ModelCache


@pytest.fixture(autouse=True)
def _fresh_device():
    runtime.device.cache_clear()
    yield
    runtime.device.cache_clear()


def test_device_override_and_precision(monkeypatch):
    monkeypatch.setenv("GALLERY_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")
    spec = registry.get("bert")
    assert runtime.dtype_for(spec, torch.device("cpu")) == torch.float32
    assert runtime.dtype_for(spec, torch.device("cuda")) == torch.float16
    if not torch.cuda.is_available():
        runtime.device.cache_clear()
        monkeypatch.setenv("GALLERY_DEVICE", "cuda")
        with pytest.raises(Exception, match="CUDA is not available"):
            runtime.device()


def test_default_device_is_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("GALLERY_DEVICE", raising=False)
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert runtime.device().type == expected


def test_concurrent_first_calls_load_once():
    cache = ModelCache(max_loaded=2)
    calls = []

    def slow_load():
        calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to arrive while the load runs
        return torch.nn.Linear(2, 2)

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(("m", "c", "cpu"), slow_load)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len({id(loaded.value) for loaded, _ in results}) == 1
    assert sorted(now for _, now in results) == [False] * 7 + [True]


def test_least_recently_used_is_evicted_and_freed():
    cache = ModelCache(max_loaded=2)
    a, _ = cache.get(("a", "c", "cpu"), lambda: torch.nn.Linear(4, 4))
    ref_a = weakref.ref(a.value)
    del a
    cache.get(("b", "c", "cpu"), lambda: torch.nn.Linear(4, 4))
    cache.get(("a", "c", "cpu"), lambda: pytest.fail("a is still cached: no reload"))  # a is used
    cache.get(("c", "c", "cpu"), lambda: torch.nn.Linear(4, 4))  # evicts b, the least recent
    assert [k[0] for k in cache.loaded_keys()] == ["a", "c"]
    assert ref_a() is not None
    cache.get(("d", "c", "cpu"), lambda: torch.nn.Linear(4, 4))  # now a goes
    assert [k[0] for k in cache.loaded_keys()] == ["c", "d"]
    gc.collect()
    assert ref_a() is None, "the evicted model is still referenced somewhere"


def test_max_loaded_from_environment(monkeypatch):
    monkeypatch.setenv("GALLERY_MAX_LOADED", "1")
    cache = ModelCache()
    cache.get(("a", "c", "cpu"), lambda: 1)
    cache.get(("b", "c", "cpu"), lambda: 2)
    assert [k[0] for k in cache.loaded_keys()] == ["b"]


def test_failed_load_is_not_cached_and_names_the_fix(monkeypatch):
    monkeypatch.setenv("GALLERY_DEVICE", "cpu")
    spec = registry.get("bert")
    attempts = []

    def broken(checkpoint, device, dtype):
        attempts.append(checkpoint.id)
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    for _ in range(2):
        with pytest.raises(ModelUnavailable) as err:
            runtime.load_model(spec, spec.default, broken)
    assert len(attempts) == 2  # a failure is retried next time, not remembered
    message = str(err.value)
    assert spec.default.id in message
    assert "python -m demos.core.download bert" in message
    assert "GALLERY_BERT_MODEL" in message


def test_out_of_memory_message_suggests_smaller_sizes(monkeypatch):
    monkeypatch.setenv("GALLERY_DEVICE", "cpu")
    spec = registry.get("vit")

    def oom(checkpoint, device, dtype):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with pytest.raises(ModelUnavailable, match=r"not enough memory.*smaller size"):
        runtime.load_model(spec, spec.default, oom)


def test_run_info_reports_device_and_times(monkeypatch):
    monkeypatch.setenv("GALLERY_DEVICE", "cpu")
    spec = registry.get("bert")
    ckpt = registry.Checkpoint(id="unit-test-model", label="x")
    value, info = runtime.load_model(spec, ckpt, lambda c, d, t: "model")
    assert value == "model" and info.device == "cpu" and info.dtype == "float32"
    assert info.loaded_now and info.load_ms >= 0
    _, again = runtime.load_model(spec, ckpt, lambda c, d, t: pytest.fail("reloaded"))
    assert not again.loaded_now
    assert set(again.as_dict()) >= {"device", "load_ms", "speed_ms", "checkpoint"}


def test_room_is_made_before_a_new_model_loads():
    cache = ModelCache(max_loaded=2)
    cache.get(("a", "c", "cpu"), lambda: 1)
    cache.get(("b", "c", "cpu"), lambda: 2)
    resident_during_load = []

    def load_c():
        resident_during_load.extend(k[0] for k in cache.loaded_keys())
        return 3

    cache.get(("c", "c", "cpu"), load_c)
    assert resident_during_load == ["b"]  # a went first: never three models in memory at once
    assert [k[0] for k in cache.loaded_keys()] == ["b", "c"]


# engines


def test_the_fastest_engine_that_runs_here_is_the_default_and_a_pick_is_checked(monkeypatch):
    from demos.core import registry
    from demos.core.errors import GalleryError
    from demos.core.spec import Engine

    fast = Engine(key="fast", label="Fast", devices=("cuda",))
    missing = Engine(key="missing", label="Missing", package="no_such_package_here")
    plain = Engine(key="plain", label="Plain")
    spec = registry.DemoSpec(
        key="demo",
        title="Demo",
        family="vision",
        module="demos.vision.vit",
        card=registry.get("vit").card,
        default=registry.Checkpoint(id="x", label="x"),
        engines=(fast, missing, plain),
    )
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert runtime.engine_for(spec, dev=cpu) is plain  # fast is CUDA-only, missing not installed
    assert runtime.engine_for(spec, dev=cuda) is fast
    assert runtime.engine_for(spec, "plain", dev=cuda) is plain
    with pytest.raises(GalleryError, match="does not run on cpu"):
        runtime.engine_for(spec, "fast", dev=cpu)
    with pytest.raises(GalleryError, match="is not installed"):
        runtime.engine_for(spec, "missing", dev=cpu)
    with pytest.raises(GalleryError, match="no engine 'nope'"):
        runtime.engine_for(spec, "nope", dev=cpu)


def test_run_info_names_the_engine_and_its_precision(monkeypatch):
    from demos.core import registry
    from demos.core.spec import Engine

    int8 = Engine(key="int8", label="Int8", precision=(("cpu", "int8"),))
    spec = registry.get("vit")
    monkeypatch.setattr(runtime, "device", lambda: torch.device("cpu"))
    cache = runtime.ModelCache(max_loaded=2)
    monkeypatch.setattr(runtime, "CACHE", cache)
    ckpt = registry.Checkpoint(id="x", label="x")
    _, default = runtime.load_model(spec, ckpt, lambda c, d, t: object())
    _, other = runtime.load_model(spec, ckpt, lambda c, d, t: object(), engine=int8)
    assert (default.engine, default.dtype) == ("pytorch", "float32")
    assert (other.engine, other.dtype) == ("int8", "int8")
    assert [k[0] for k in cache.loaded_keys()] == ["vit", "vit:int8"]


def test_models_loading_at_the_same_time_all_load_and_keep_loading(tiny_env, monkeypatch):
    """Concurrent first requests to different models: transformers swaps a class method during
    every load, so overlapping loads used to break BERT, RoBERTa and Whisper for good."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from demos.core import compare

    clip = (16_000, (0.3 * np.sin(np.arange(16_000) / 5)).astype(np.float32))
    calls = {
        "bert": lambda m: m.predict("the capital of france is [MASK].", 3),
        "roberta": lambda m: m.predict("the capital of france is <mask>.", 3),
        "whisper": lambda m: m.predict(clip),
        "wav2vec2": lambda m: m.predict(clip),
    }

    def first_request(key: str) -> str | None:
        try:
            calls[key](compare.module(registry.get(key)))
        except Exception as exc:
            return f"{key}: {type(exc).__name__}: {exc}"[:200]
        return None

    cache = runtime.ModelCache(max_loaded=8)
    monkeypatch.setattr(runtime, "CACHE", cache)
    failures = []
    for _ in range(3):
        cache.clear()
        with ThreadPoolExecutor(len(calls)) as pool:
            failures += [f for f in pool.map(first_request, list(calls)) if f]
    cache.clear()
    failures += [f for f in map(first_request, list(calls)) if f]  # and alone, afterwards
    assert failures == []
