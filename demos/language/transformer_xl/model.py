"""Transformer-XL: a word-level language model that attends to a memory of earlier segments.

Model: Transformer-XL (Dai et al., 2019, "Transformer-XL: Attentive Language Models Beyond a
Fixed-Length Context", arXiv 1901.02860). Text is read in segments; each layer attends over its own
inputs from previous segments (the memory, `mem_len` steps, kept without gradients) plus the current
segment. Positions are relative: the score of query i for key j is

    (q_i + u)·k_j  +  (q_i + v)·W_r R_{i-j}      (content term + position term, Eq. 4 of the paper)

with R the sinusoid encoding of the distance i-j (distances past `clamp_len` share one encoding),
and u, v learned biases (per layer when `untie_r`). With `same_length`, every query sees the same
number of keys (`mem_len`). Inputs and the output softmax are adaptive
(`demos.language.transformer_xl.adaptive`). Generating and scoring text: `inference`.

Checkpoint: `transfo-xl/transfo-xl-wt103` on the Hugging Face hub (WikiText-103, 18 layers, d_model
1024, 16 heads, mem_len 1600, clamp_len 1000, 267,735 words). Its card gives no licence ("More
information needed"); the authors' original code is Apache-2.0 and WikiText-103 is CC BY-SA 3.0.
This module is an independent reimplementation written from the paper and the checkpoint's file
layout. It reads weights with `torch.load(weights_only=True)` (or safetensors) and the vocabulary
through an allow-list unpickler (`demos.language.transformer_xl.vocab`), so no code in the files
runs.

Shapes: B rows, T tokens in the segment, M memory steps, K = M + T keys, H heads of size D, V words.
Memory ("mems"): one [B, M, 2, H, D] tensor per layer, the keys and values of its last M inputs;
None = empty. The paper keeps the inputs themselves and projects them again for every segment;
keeping the projections is exact (a key depends only on its own input) and makes a generation step
cost O(1) projections instead of O(M). W_r·R is cached per distance for the same reason. Both
assume frozen weights: the model is for inference only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from demos.language.transformer_xl.adaptive import AdaptiveEmbedding, AdaptiveLogSoftmax
from demos.language.transformer_xl.checkpoint import (
    TransformerXLWeightsError,
    convert_state_dict,
    read_weights,
)
from demos.language.transformer_xl.vocab import Vocab

Mems = list[torch.Tensor] | None


# helpers


@dataclass(frozen=True)
class TransformerXLConfig:
    """The fields of config.json that shape the network (the wt103 values in comments)."""

    vocab_size: int  # 267735 words
    cutoffs: tuple[int, ...]  # (20000, 40000, 200000): adaptive cluster boundaries
    d_model: int  # 1024
    d_embed: int  # 1024: width of the head cluster's vectors
    n_head: int  # 16
    d_head: int  # 64
    d_inner: int  # 4096: feed-forward width
    n_layer: int  # 18
    div_val: int  # 4: cluster k's vectors are d_embed // div_val**k wide
    tie_projs: tuple[bool, ...]  # (False, True, True, True): output proj k = input proj k
    tie_word_embeddings: bool  # True ("tie_weight" in the hub file): output words = input words
    pre_lnorm: bool  # False: LayerNorm after each residual sum
    mem_len: int  # 1600 steps of memory per layer
    clamp_len: int  # 1000: longer distances share one encoding (<= 0: no clamp)
    same_length: bool  # True: every query sees at most mem_len keys
    untie_r: bool  # True: u and v per layer, not shared
    layer_norm_epsilon: float = 1e-5
    eos_token_id: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> TransformerXLConfig:
        if d.get("attn_type", 0) != 0:
            raise TransformerXLWeightsError(f"attn_type {d['attn_type']} is not supported (only 0)")
        if d.get("sample_softmax", -1) > 0:
            raise TransformerXLWeightsError(
                "sample_softmax > 0 (a training option) is not supported"
            )
        try:
            cutoffs = tuple(int(c) for c in d["cutoffs"])
            n_clusters = len(cutoffs) + 1
            share = d.get("proj_share_all_but_first", True)
            tie_projs = d.get("tie_projs", [False] + [share] * len(cutoffs))
            cfg = cls(
                vocab_size=int(d.get("vocab_size", d.get("n_token"))),
                cutoffs=cutoffs,
                tie_projs=tuple(bool(t) for t in tie_projs),
                tie_word_embeddings=bool(d.get("tie_word_embeddings", d.get("tie_weight", True))),
                **{k: int(d[k]) for k in _INT_FIELDS},
                **{k: bool(d[k]) for k in _BOOL_FIELDS},
                layer_norm_epsilon=float(d.get("layer_norm_epsilon", 1e-5)),
                eos_token_id=int(d.get("eos_token_id", 0)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise TransformerXLWeightsError(f"config.json lacks or mistypes a field: {e}") from e
        if list(cutoffs) != sorted(set(cutoffs)) or (cutoffs and cutoffs[0] <= 0):
            raise TransformerXLWeightsError(f"cutoffs {cutoffs} must increase")
        if cutoffs and cutoffs[-1] >= cfg.vocab_size:
            raise TransformerXLWeightsError(f"cutoffs {cutoffs} must be below vocab_size")
        if len(cfg.tie_projs) != n_clusters:
            raise TransformerXLWeightsError(
                f"tie_projs needs {n_clusters} entries: {cfg.tie_projs}"
            )
        if cfg.d_embed // cfg.div_val ** (n_clusters - 1) < 1:
            raise TransformerXLWeightsError(
                f"d_embed {cfg.d_embed} too small for div_val {cfg.div_val}"
            )
        return cfg


_INT_FIELDS = ["d_model", "d_embed", "n_head", "d_head", "d_inner", "n_layer", "div_val"]
_INT_FIELDS += ["mem_len", "clamp_len"]
_BOOL_FIELDS = ["pre_lnorm", "same_length", "untie_r"]


def sinusoids(distances: torch.Tensor, dim: int) -> torch.Tensor:
    """Distances [P] → encodings [P, dim]: sines then cosines at wavelengths 2π·10000^(2i/dim)."""
    inv_freq = 1.0 / 10000 ** (torch.arange(0, dim, 2, device=distances.device) / dim)
    angles = distances[:, None].float() * inv_freq[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


# classes


class RelativeAttention(nn.Module):
    """Multi-head attention over [memory; segment] with relative-position scores (paper Eq. 4)."""

    def __init__(self, cfg: TransformerXLConfig) -> None:
        super().__init__()
        h, d = cfg.n_head, cfg.d_head
        self.n_head, self.d_head, self.pre_lnorm = h, d, cfg.pre_lnorm
        self.qkv = nn.Linear(cfg.d_model, 3 * h * d, bias=False)
        self.r_proj = nn.Linear(cfg.d_model, h * d, bias=False)  # W_{k,R}: encodings → keys
        self.out = nn.Linear(h * d, cfg.d_model, bias=False)
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_epsilon)
        if cfg.untie_r:  # else the model passes its shared pair
            self.u = nn.Parameter(torch.empty(h, d))  # content bias
            self.v = nn.Parameter(torch.empty(h, d))  # position bias

    def keys_values(self, x: torch.Tensor) -> torch.Tensor:
        """Layer inputs [B, N, C] → their keys and values [B, N, 2, H, D]."""
        if self.pre_lnorm:
            x = self.norm(x)
        kv_weight = self.qkv.weight[self.n_head * self.d_head :]  # rows: queries, keys, values
        return F.linear(x, kv_weight).unflatten(-1, (2, self.n_head, self.d_head))

    def forward(self, x, mem, r_keys, rel_idx, blocked, uv=None):
        """x [B, T, C] the segment, mem [B, M, 2, H, D] keys and values of the memory, r_keys
        [P, H, D] = W_r·R for distances 0..P-1, rel_idx [T, K] index into them, blocked [T, K] True
        where a query must not look, uv the model's (u, v) when they are shared by all layers.
        Returns the output [B, T, C] and keys and values of memory and segment [B, K, 2, H, D]."""
        u, v = uv if uv is not None else (self.u, self.v)
        (b, t, _), h, d = x.shape, self.n_head, self.d_head
        qkv = self.qkv(self.norm(x) if self.pre_lnorm else x).view(b, t, 3, h, d)
        q, kv = qkv[:, :, 0], torch.cat([mem, qkv[:, :, 1:]], dim=1)
        k, val = kv.unbind(2)  # each [B, K, H, D]
        content = torch.einsum("bihd,bjhd->bhij", q + u, k)
        by_distance = torch.einsum("bihd,phd->bhip", q + v, r_keys)
        position = by_distance.gather(3, rel_idx.expand(b, h, -1, -1))
        scores = (content + position) * d**-0.5
        scores = scores.masked_fill(blocked, torch.finfo(scores.dtype).min)
        att = torch.einsum("bhij,bjhd->bihd", scores.softmax(dim=-1), val).reshape(b, t, h * d)
        y = x + self.out(att)
        return (y if self.pre_lnorm else self.norm(y)), kv


class FeedForward(nn.Module):
    def __init__(self, cfg: TransformerXLConfig) -> None:
        super().__init__()
        self.pre_lnorm = cfg.pre_lnorm
        self.fc1 = nn.Linear(cfg.d_model, cfg.d_inner)
        self.fc2 = nn.Linear(cfg.d_inner, cfg.d_model)
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_lnorm:
            return x + self.fc2(F.relu(self.fc1(self.norm(x))))
        return self.norm(x + self.fc2(F.relu(self.fc1(x))))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: TransformerXLConfig) -> None:
        super().__init__()
        self.attn = RelativeAttention(cfg)
        self.ff = FeedForward(cfg)

    def forward(self, x, mem, r_keys, rel_idx, blocked, uv=None):
        y, kv = self.attn(x, mem, r_keys, rel_idx, blocked, uv)
        return self.ff(y), kv


class TransformerXLLM(nn.Module):
    """Transformer-XL language model: (ids [B, T], mems) → (log-probs [B, T, V], new mems)."""

    def __init__(self, cfg: TransformerXLConfig) -> None:
        super().__init__()
        self.cfg = cfg
        shape = dict(vocab_size=cfg.vocab_size, cutoffs=cfg.cutoffs, d_embed=cfg.d_embed)
        shape.update(d_model=cfg.d_model, div_val=cfg.div_val)
        self.embed = AdaptiveEmbedding(**shape)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_layer))
        if not cfg.untie_r:
            self.u = nn.Parameter(torch.empty(cfg.n_head, cfg.d_head))
            self.v = nn.Parameter(torch.empty(cfg.n_head, cfg.d_head))
        self.softmax = AdaptiveLogSoftmax(
            **shape, tie_word_embeddings=cfg.tie_word_embeddings, tie_projs=cfg.tie_projs
        )
        self._r_keys: dict = {}  # (device, dtype) → per layer W_r·R [n, H, D] for distances < n

    def load_state_dict(self, *args, **kwargs):
        self._r_keys.clear()  # new weights, new W_r·R
        return super().load_state_dict(*args, **kwargs)

    @torch.no_grad()
    def zero_mems(self, batch: int) -> list[torch.Tensor]:
        """The memory of mem_len all-zero inputs per layer: what the transformers implementation
        starts from when given none (the paper and the authors' code start empty: `None`)."""
        h = self.embed.tables[0].weight.new_zeros(batch, self.cfg.mem_len, self.cfg.d_model)
        return [layer.attn.keys_values(h) for layer in self.layers]

    def _position_keys(self, n_dist: int, like: torch.Tensor) -> list[torch.Tensor]:
        """W_r·R for distances 0..n_dist-1, per layer; computed once, grown by doubling."""
        cache_key = (like.device, like.dtype)
        cached = self._r_keys.get(cache_key)
        if cached is None or cached[0].shape[0] < n_dist:
            n = max(n_dist, 2 * cached[0].shape[0] if cached else 0)
            if self.cfg.clamp_len > 0:
                n = min(n, self.cfg.clamp_len + 1)
            with torch.inference_mode(False), torch.no_grad():
                r = sinusoids(torch.arange(n, device=like.device), self.cfg.d_model)
                r = r.to(like.dtype)
                cached = [
                    layer.attn.r_proj(r).unflatten(-1, (self.cfg.n_head, -1))
                    for layer in self.layers
                ]
            self._r_keys[cache_key] = cached
        return [c[:n_dist] for c in cached]

    def _geometry(self, t: int, m: int, device: torch.device):
        """The index [T, K] into encodings of distances 0..P-1, P, and the blocked mask [T, K]."""
        k = m + t
        n_dist = min(k, self.cfg.clamp_len + 1) if self.cfg.clamp_len > 0 else k
        distance = torch.arange(t, device=device)[:, None] + m - torch.arange(k, device=device)
        window = self.cfg.mem_len if self.cfg.same_length and 0 < self.cfg.mem_len < k else k
        blocked = (distance < 0) | (distance >= window)  # the future; beyond the same-length span
        rel_idx = distance.clamp(0, n_dist - 1)  # distances past clamp_len share one encoding
        return rel_idx, n_dist, blocked

    def hidden_states(self, ids: torch.Tensor, mems: Mems = None):
        """ids [B, T] → (last layer's states [B, T, d_model], new mems)."""
        x = self.embed(ids)
        if mems is None:
            kv_shape = (x.shape[0], 0, 2, self.cfg.n_head, self.cfg.d_head)
            mems = [x.new_zeros(kv_shape) for _ in self.layers]
        if len(mems) != len(self.layers):
            raise ValueError(f"mems has {len(mems)} entries for {len(self.layers)} layers")
        rel_idx, n_dist, blocked = self._geometry(ids.shape[1], mems[0].shape[1], x.device)
        r_keys = self._position_keys(n_dist, x)
        uv = None if self.cfg.untie_r else (self.u, self.v)
        new_mems = []
        for layer, mem, r_k in zip(self.layers, mems, r_keys, strict=True):
            x, kv = layer(x, mem, r_k, rel_idx, blocked, uv)
            new_mems.append(kv[:, max(0, kv.shape[1] - self.cfg.mem_len) :].detach())
        return x, new_mems

    def log_probs(self, h: torch.Tensor) -> torch.Tensor:
        """States [..., d_model] → log-probabilities [..., V]."""
        return self.softmax.log_probs(h.reshape(-1, h.shape[-1]), self.embed).view(
            *h.shape[:-1], -1
        )

    def target_log_probs(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """States [..., d_model], targets [...] → log p(target) [...]."""
        flat = self.softmax.target_log_probs(
            h.reshape(-1, h.shape[-1]), targets.reshape(-1), self.embed
        )
        return flat.view(targets.shape)

    def forward(self, ids: torch.Tensor, mems: Mems = None):
        h, new_mems = self.hidden_states(ids, mems)
        return self.log_probs(h), new_mems


# loading


def load_transformer_xl(
    model_dir: str | Path, device: str | torch.device = "cpu"
) -> tuple[TransformerXLLM, Vocab]:
    """Read a checkpoint directory (config.json, weights, vocab.pkl) → (TransformerXLLM, Vocab)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"Transformer-XL model directory not found: {model_dir}")
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"no config.json in {model_dir}")
    cfg = TransformerXLConfig.from_dict(json.loads(config_path.read_text()))
    vocab = Vocab.from_dir(model_dir)
    if len(vocab) != cfg.vocab_size:
        raise TransformerXLWeightsError(
            f"vocabulary has {len(vocab)} words; config says {cfg.vocab_size}"
        )
    ckpt = read_weights(model_dir)
    with torch.device("meta"):  # no time or memory spent on random init; weights are assigned
        model = TransformerXLLM(cfg)
    model.load_state_dict(convert_state_dict(model, ckpt), assign=True)
    return model.requires_grad_(False).eval().to(device), vocab
