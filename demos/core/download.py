"""Pre-fetch the weights of the gallery's demos, so a classroom can run offline afterwards.

    python -m demos.core.download                 # every demo's default checkpoint
    python -m demos.core.download bert vit        # only these demos
    python -m demos.core.download --all-sizes     # the registry's other sizes too

Weights go to the usual Hugging Face cache (`HF_HOME`); afterwards `HF_HUB_OFFLINE=1 python app.py`
needs no network. Demos whose weights are not on the hub (they name an official URL instead)
provide their own `download(checkpoint)` in their module; it is used when present.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from demos.core import registry
from demos.core.registry import Checkpoint, DemoSpec

log = logging.getLogger(__name__)

# Files a transformers checkpoint needs; other formats (TF, Flax, ONNX, Rust) are left out.
# (*.jinja: transformers 5 saves chat templates as chat_template.jinja.)
CONFIG_PATTERNS = [
    "*.json",
    "*.jinja",
    "*.txt",
    "*.model",
    "*.tiktoken",
    "vocab*",
    "merges*",
    "*.py",
]


def hub_download(checkpoint: Checkpoint) -> str:
    """Fetch one hub checkpoint (safetensors when the repo has them, else the PyTorch .bin)."""
    from huggingface_hub import list_repo_files, snapshot_download

    files = list_repo_files(checkpoint.id, revision=checkpoint.revision)
    weights = ["*.safetensors"] if any(f.endswith(".safetensors") for f in files) else ["*.bin"]
    return snapshot_download(
        checkpoint.id, revision=checkpoint.revision, allow_patterns=CONFIG_PATTERNS + weights
    )


def download(spec: DemoSpec, checkpoint: Checkpoint) -> str:
    """Fetch `checkpoint` of `spec` with the demo's own downloader if it has one."""
    if Path(checkpoint.id).expanduser().exists():
        return f"{checkpoint.id} is a local path; nothing to download"
    module = importlib.import_module(spec.module)
    fetch = getattr(module, "download", hub_download)
    return str(fetch(checkpoint))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    known = " ".join(registry.REGISTRY)
    parser.add_argument("keys", nargs="*", help=f"demos to fetch (default all: {known})")
    parser.add_argument("--all-sizes", action="store_true", help="also the other sizes")
    args = parser.parse_args(argv)
    unknown = [k for k in args.keys if k not in registry.REGISTRY]
    if unknown:
        parser.error(f"unknown demo(s) {', '.join(unknown)}; known: {', '.join(registry.REGISTRY)}")
    failed = []
    for key in args.keys or list(registry.REGISTRY):
        spec = registry.get(key)
        for ckpt in spec.checkpoints if args.all_sizes else (spec.checkpoint(),):
            print(f"[{key}] {ckpt.id}" + (f" @ {ckpt.revision[:10]}" if ckpt.revision else ""))
            try:
                print(f"[{key}]   -> {download(spec, ckpt)}")
            except Exception as exc:  # report every failure, fetch the rest
                failed.append(f"{key}: {ckpt.id}")
                print(f"[{key}]   FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
    if failed:
        print(
            f"\n{len(failed)} download(s) failed (check the network, or HF_HUB_OFFLINE "
            f"must not be set): {'; '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    print("\nAll weights are cached. The gallery can run offline: HF_HUB_OFFLINE=1 python app.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
