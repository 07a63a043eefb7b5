"""A tiny random ELMo in the released file layout, written on the fly for fast tests.

`write_tiny_elmo(dir)` writes `tiny_options.json` and `tiny_weights.hdf5` with the same keys and
dataset names as AllenNLP's released `*_options.json` / `*_weights.hdf5`, only much smaller.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

TINY_OPTIONS = {
    "lstm": {
        "n_layers": 2,
        "dim": 16,  # LSTM cell size
        "projection_dim": 8,  # token vectors are 8-d; ELMo layers 16-d (forward + backward)
        "cell_clip": 3,
        "proj_clip": 3,
        "use_skip_connections": True,
    },
    "char_cnn": {
        "embedding": {"dim": 4},
        "filters": [[1, 4], [2, 8], [3, 8]],  # 20 filters in all
        "n_highway": 1,
        "n_characters": 262,
        "max_characters_per_token": 50,
        "activation": "relu",
    },
}


def released_layout(options: dict) -> dict[str, tuple[int, ...]]:
    """hdf5 dataset path → shape, as the released weights files lay them out for `options`."""
    lstm, cnn = options["lstm"], options["char_cnn"]
    e, c, p = cnn["embedding"]["dim"], lstm["dim"], lstm["projection_dim"]
    n_filters = sum(num for _, num in cnn["filters"])
    shapes: dict[str, tuple[int, ...]] = {"char_embed": (cnn["n_characters"] - 1, e)}
    for i, (width, num) in enumerate(cnn["filters"]):
        shapes[f"CNN/W_cnn_{i}"] = (1, width, e, num)
        shapes[f"CNN/b_cnn_{i}"] = (num,)
    for k in range(cnn["n_highway"]):
        for name in ("carry", "transform"):
            shapes[f"CNN_high_{k}/W_{name}"] = (n_filters, n_filters)
            shapes[f"CNN_high_{k}/b_{name}"] = (n_filters,)
    shapes["CNN_proj/W_proj"] = (n_filters, p)
    shapes["CNN_proj/b_proj"] = (p,)
    for direction in (0, 1):  # RNN_0 forward, RNN_1 backward
        for layer in range(lstm["n_layers"]):
            cell = f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"
            shapes[f"{cell}/W_0"] = (p + p, 4 * c)  # [input, previous output] → 4 gates
            shapes[f"{cell}/B"] = (4 * c,)
            shapes[f"{cell}/W_P_0"] = (c, p)
    return shapes


def write_tiny_elmo(dir: Path, *, seed: int = 0) -> tuple[Path, Path]:
    """Write a random tiny ELMo into `dir`; return (options_path, weights_path)."""
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    options_path, weights_path = dir / "tiny_options.json", dir / "tiny_weights.hdf5"
    options_path.write_text(json.dumps(TINY_OPTIONS, indent=2), encoding="utf-8")
    rng = np.random.default_rng(seed)
    with h5py.File(weights_path, "w") as fout:
        for path, shape in released_layout(TINY_OPTIONS).items():
            # std 0.5: large enough that every layer and gate does visible work
            fout.create_dataset(path, data=rng.normal(0.0, 0.5, size=shape).astype(np.float32))
    return options_path, weights_path
