"""The README's generated parts: the Hugging Face Spaces front matter and the model table.

    python -m demos.core.space_card        # rewrite both in README.md from the registry

Spaces reads the YAML block at the top of README.md: `sdk`, `python_version`, `app_file`, the
`models` it links to and `preload_from_hub`, which bakes the default checkpoints into the Space's
image at build time so the first click does not wait for a download. A test keeps README.md in
sync with this module.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gradio

from demos.core import registry

README = Path(__file__).resolve().parents[2] / "README.md"
PYTHON_VERSION = "3.12"  # ZeroGPU accepts 3.10.13 or 3.12.12; transformers 5 needs >= 3.11
TABLE_START, TABLE_END = "<!-- models:start", "<!-- models:end -->"

# The files each default's loader reads, so the Space preloads those and not the TF, Flax or ONNX
# copies many repos also hold. Taken from the repos' public file lists (not re-checked from here);
# a file the loader needs and that is missing here is simply downloaded at first use.
PRELOAD_FILES: dict[str, str] = {
    "google-bert/bert-base-uncased": "config.json,model.safetensors,tokenizer.json,"
    "tokenizer_config.json,vocab.txt",
    "FacebookAI/roberta-base": "config.json,merges.txt,vocab.json,pytorch_model.bin",
    "lysandre/elmo-2x4096_512_2048cnn_2xhighway": "options.json,weights.hdf5",
    "transfo-xl/transfo-xl-wt103": "config.json,pytorch_model.bin,vocab.pkl",
    "Qwen/Qwen2.5-0.5B-Instruct": "config.json,generation_config.json,model.safetensors,"
    "tokenizer.json,tokenizer_config.json,vocab.json,merges.txt",
    "google/mobilenet_v2_1.0_224": "config.json,preprocessor_config.json,pytorch_model.bin",
    "google/vit-base-patch16-224": "config.json,preprocessor_config.json,model.safetensors",
    "openai/whisper-base": "config.json,generation_config.json,model.safetensors,"
    "preprocessor_config.json,tokenizer.json,tokenizer_config.json,vocab.json,merges.txt,"
    "normalizer.json,added_tokens.json,special_tokens_map.json",
    "facebook/wav2vec2-base-960h": "config.json,preprocessor_config.json,model.safetensors,"
    "vocab.json,tokenizer_config.json,special_tokens_map.json",
}


def hub_defaults() -> list[registry.Checkpoint]:
    """Each demo's default checkpoint that lives on the hub (not a URL or a bare file name)."""
    out = []
    for spec in registry.REGISTRY.values():
        ckpt = spec.default
        if "/" in ckpt.id and "://" not in ckpt.id:
            out.append(ckpt)
    return out


def front_matter() -> str:
    lines = [
        "---",
        "title: Pretrained-model gallery",
        "emoji: 🖼️",
        "colorFrom: indigo",
        "colorTo: green",
        "sdk: gradio",
        f"sdk_version: {gradio.__version__}",
        f'python_version: "{PYTHON_VERSION}"',
        "app_file: app.py",
        "pinned: false",
        "short_description: The classic pre-trained models, side by side",
        "models:",
        *[f"  - {c.id}" for c in hub_defaults()],
        "preload_from_hub:",
    ]
    for ckpt in hub_defaults():
        if ckpt.id in PRELOAD_FILES:  # a repo with no known file list would be fetched whole
            revision = f" {ckpt.revision}" if ckpt.revision else ""
            lines.append(f"  - {ckpt.id} {PRELOAD_FILES[ckpt.id]}{revision}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def render(readme: str) -> str:
    """`readme` with its front matter and model table regenerated."""
    body = readme.split("\n---\n", 1)[1].lstrip("\n") if readme.startswith("---\n") else readme
    if TABLE_START in body and TABLE_END in body:
        head, rest = body.split(TABLE_START, 1)
        marker_line, rest = rest.split("\n", 1)
        _old, tail = rest.split(TABLE_END, 1)
        body = f"{head}{TABLE_START}{marker_line}\n{registry.markdown_table()}\n{TABLE_END}{tail}"
    return front_matter() + "\n" + body


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    print(f"updated {README}", file=sys.stderr)
