"""Reading the `transfo-xl/transfo-xl-wt103` checkpoint into the gallery's Transformer-XL.

The hub's weights use the parameter names of transformers' `TransfoXLLMHeadModel`
(`transformer.layers.{i}.dec_attn.qkv_net.weight`, `crit.out_layers.{k}.bias`, ...). This module
maps our names to theirs, checks every shape against config.json and names the first key that
does not fit. Tied copies (output words and projections saved next to the input ones, the shared
r biases repeated under every layer) are optional and only shape-checked; the model resolves ties.

Part of the gallery's independent Transformer-XL reimplementation (see
`demos.language.transformer_xl.model`); the name map records facts about the checkpoint file, not
code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from demos.language.transformer_xl.model import TransformerXLLM


class TransformerXLWeightsError(ValueError):
    """config.json, the weights and the vocabulary do not fit together (the message says where)."""


# our parameter name → the checkpoint's (transformers' TransfoXLLMHeadModel layout)
_RENAMES = [
    (r"embed\.tables\.(\d+)\.weight", r"transformer.word_emb.emb_layers.\1.weight"),
    (r"embed\.projs\.(\d+)", r"transformer.word_emb.emb_projs.\1"),
    (r"layers\.(\d+)\.attn\.qkv\.", r"transformer.layers.\1.dec_attn.qkv_net."),
    (r"layers\.(\d+)\.attn\.r_proj\.", r"transformer.layers.\1.dec_attn.r_net."),
    (r"layers\.(\d+)\.attn\.out\.", r"transformer.layers.\1.dec_attn.o_net."),
    (r"layers\.(\d+)\.attn\.norm\.", r"transformer.layers.\1.dec_attn.layer_norm."),
    (r"layers\.(\d+)\.attn\.u", r"transformer.layers.\1.dec_attn.r_w_bias"),
    (r"layers\.(\d+)\.attn\.v", r"transformer.layers.\1.dec_attn.r_r_bias"),
    (r"layers\.(\d+)\.ff\.fc1\.", r"transformer.layers.\1.pos_ff.CoreNet.0."),
    (r"layers\.(\d+)\.ff\.fc2\.", r"transformer.layers.\1.pos_ff.CoreNet.3."),
    (r"layers\.(\d+)\.ff\.norm\.", r"transformer.layers.\1.pos_ff.layer_norm."),
    (r"u$", r"transformer.r_w_bias"),
    (r"v$", r"transformer.r_r_bias"),
    (r"softmax\.cluster_", r"crit.cluster_"),
    (r"softmax\.biases\.(\d+)", r"crit.out_layers.\1.bias"),
    (r"softmax\.weights\.(\d+)", r"crit.out_layers.\1.weight"),
    (r"softmax\.projs\.(\d+)", r"crit.out_projs.\1"),
]


def _checkpoint_name(ours: str) -> str:
    for pattern, repl in _RENAMES:
        name, n = re.subn(f"^{pattern}", repl, ours)
        if n:
            return name
    raise AssertionError(f"no checkpoint name for {ours}")  # a bug here, not in the file


def _optional_keys(model: TransformerXLLM) -> dict[str, tuple[int, ...]]:
    """Checkpoint keys we may find but do not need (tied copies, cached buffers) → their shape."""
    cfg, emb = model.cfg, model.embed
    opt = {"transformer.pos_emb.inv_freq": (cfg.d_model // 2,)}
    if cfg.tie_word_embeddings:
        for i, table in enumerate(emb.tables):
            opt[f"crit.out_layers.{i}.weight"] = tuple(table.weight.shape)
    for k, has in enumerate(model.softmax.has_proj):
        if has and cfg.tie_projs[k]:
            opt[f"crit.out_projs.{k}"] = tuple(emb.projs[0 if cfg.div_val == 1 else k].shape)
    if not cfg.untie_r:  # the shared pair also appears under every layer
        for i in range(cfg.n_layer):
            for name in ("r_w_bias", "r_r_bias"):
                opt[f"transformer.layers.{i}.dec_attn.{name}"] = (cfg.n_head, cfg.d_head)
    return opt


def convert_state_dict(model: TransformerXLLM, ckpt: dict[str, torch.Tensor]) -> dict:
    """Checkpoint state dict → ours, checking that every key and shape fits the config."""
    ours: dict[str, torch.Tensor] = {}
    for name, param in model.state_dict().items():
        key = _checkpoint_name(name)
        if key not in ckpt:
            raise TransformerXLWeightsError(f"checkpoint lacks {key} (needed by the config)")
        _check_shape(key, ckpt[key], tuple(param.shape))
        ours[name] = ckpt[key].float() if ckpt[key].is_floating_point() else ckpt[key]
    optional = _optional_keys(model)
    used = {_checkpoint_name(n) for n in ours}
    for key, tensor in ckpt.items():
        if key in optional:
            _check_shape(key, tensor, optional[key])
        elif key not in used:
            raise TransformerXLWeightsError(
                f"checkpoint has {key}, which the config does not call for"
            )
    return ours


def _check_shape(key: str, tensor: torch.Tensor, want: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != want:
        raise TransformerXLWeightsError(
            f"{key} has shape {list(tensor.shape)}; the config needs {list(want)}"
        )


def read_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    """The state dict in `model_dir`, read without running code: safetensors if present, else
    pytorch_model.bin through torch's weights-only unpickler (tensors and plain containers only)."""
    st, pt = model_dir / "model.safetensors", model_dir / "pytorch_model.bin"
    if st.is_file():
        from safetensors.torch import load_file

        return load_file(st, device="cpu")
    if pt.is_file():
        sd = torch.load(pt, map_location="cpu", weights_only=True)
        if not isinstance(sd, dict):
            raise TransformerXLWeightsError(f"{pt} does not hold a state dict")
        return sd
    raise FileNotFoundError(
        f"no weights in {model_dir}: expected model.safetensors or pytorch_model.bin"
    )
