"""What a loaded vision model weighs, read from the model itself: its weight files on disk and how
many parameters MobileNetV2's depthwise-separable convolutions save.

Depthwise separable convolution (Howard et al. 2017, "MobileNets", arXiv:1704.04861; used by
MobileNetV2): a k x k filter per channel (depthwise, k²·c weights) followed by a 1x1 convolution
that mixes the channels (pointwise, c·c_out weights), where an ordinary convolution of the same
shape has a k x k filter for every (input, output) pair: k²·c·c_out weights. For k = 3 that is
8 to 9 times fewer. Counts are of convolution weights only (no biases, no batch norm), as in the
paper's comparison. Nothing here imports the UI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

# Weight files of a transformers checkpoint, in the order `from_pretrained` prefers them.
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


# weight files


def _with_shards(index: Path, shard: Any) -> list[Path]:
    """An index file's shards (each resolved by `shard(name)`), or [] when one is missing."""
    names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    paths = [shard(name) for name in names]
    return paths if all(p is not None and p.is_file() for p in paths) else []


def weight_files(checkpoint_id: str, revision: str | None = None) -> list[Path]:
    """The weight files a transformers checkpoint was loaded from: a local folder's, or the hub
    cache's (read without network: the model was just loaded, so they are there). [] if unknown."""
    folder = Path(checkpoint_id).expanduser()
    if folder.is_dir():

        def find(name: str) -> Path | None:
            return folder / name if (folder / name).is_file() else None

    else:
        from huggingface_hub import try_to_load_from_cache

        def find(name: str) -> Path | None:
            try:
                got = try_to_load_from_cache(checkpoint_id, name, revision=revision)
            except ValueError:  # not a hub id (a path that does not exist): nothing cached
                return None
            return Path(got) if isinstance(got, str) else None

    for name in WEIGHT_FILES:
        path = find(name)
        if path is None:
            continue
        if name.endswith(".index.json"):
            shards = _with_shards(path, find)
            if shards:
                return shards
            continue
        return [path]
    return []


def size_on_disk(paths: list[Path] | Path) -> int | None:
    """Bytes of a file, of a list of files, or of every file under a folder; None if none."""
    if isinstance(paths, Path):
        paths = [p for p in paths.rglob("*") if p.is_file()] if paths.is_dir() else [paths]
    files = [p for p in paths if p.is_file()]
    return sum(p.stat().st_size for p in files) if files else None


# depthwise separable convolutions


def separable_blocks(model: torch.nn.Module) -> list[dict[str, Any]]:
    """Each depthwise convolution of `model` with the 1x1 convolution that follows it, as
    {name, k, c, c_out, depthwise, pointwise, separable, full} (weights counted, not biases).

    Read from the modules in their order: a depthwise conv (groups == in == out channels > 1)
    and the next 1x1 conv, whose output channels are the block's c_out.
    """
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    blocks: list[dict[str, Any]] = []
    for i, (name, conv) in enumerate(convs):
        c = conv.in_channels
        if not (c > 1 and conv.groups == c == conv.out_channels):
            continue
        pointwise = next((m for _, m in convs[i + 1 :] if m.kernel_size == (1, 1)), None)
        if pointwise is None or pointwise.in_channels != c:
            continue
        kh, kw = conv.kernel_size
        c_out = pointwise.out_channels
        depthwise_n, pointwise_n = kh * kw * c, c * c_out
        blocks.append(
            {
                "name": name.removesuffix(".convolution").removeprefix("mobilenet_v2."),
                "k": kh if kh == kw else (kh, kw),
                "c": c,
                "c_out": c_out,
                "depthwise": depthwise_n,
                "pointwise": pointwise_n,
                "separable": depthwise_n + pointwise_n,
                "full": kh * kw * c * c_out,
            }
        )
    return blocks


def separable_totals(blocks: list[dict[str, Any]]) -> dict[str, float]:
    """{separable, full, ratio} summed over the blocks (ratio: how many times fewer)."""
    separable = sum(b["separable"] for b in blocks)
    full = sum(b["full"] for b in blocks)
    return {"separable": separable, "full": full, "ratio": full / separable if separable else 0.0}
