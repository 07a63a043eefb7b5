"""Adaptive input embeddings and adaptive softmax for the gallery's Transformer-XL.

References: Baevski & Auli, 2018, "Adaptive Input Representations for Neural Language Modeling"
(arXiv 1809.10853) and Grave et al., 2016, "Efficient softmax approximation for GPUs" (arXiv
1609.04309), as Transformer-XL (Dai et al., 2019, arXiv 1901.02860) uses them for WikiText-103.

The vocabulary, sorted by frequency, is cut into clusters at `cutoffs` (wt103: 20000, 40000 and
200000 of 267,735 words). With `div_val` > 1, cluster k stores vectors d_embed // div_val**k wide
(wt103: 1024, 256, 64, 16) and a matrix projecting them to d_model, so rare words cost fewer
parameters. The softmax factorises: a head over the first cluster's words plus one logit per tail
cluster, then a softmax inside each tail cluster: log p(w) = log p_head(cluster k) + log p_k(w).
Output weights and projections may be tied to the input ones (`tie_word_embeddings`, `tie_projs`);
ties are resolved at call time by reading the embedding's tensors, so no Parameter is shared.

Independent reimplementation from the papers; checkpoint facts (shapes, tying rules) from the hub
checkpoint `transfo-xl/transfo-xl-wt103` (card gives no licence; original code Apache-2.0).
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


def cluster_bounds(vocab_size: int, cutoffs: tuple[int, ...]) -> list[tuple[int, int]]:
    """[(first id, one past last id)] per cluster: the head cluster first."""
    edges = [0, *cutoffs, vocab_size]
    return list(pairwise(edges))


class AdaptiveEmbedding(nn.Module):
    """Word ids [...] → vectors [..., d_model], scaled by sqrt(d_model)."""

    def __init__(
        self, *, vocab_size: int, cutoffs: tuple[int, ...], d_embed: int, d_model: int, div_val: int
    ) -> None:
        super().__init__()
        self.d_model, self.div_val = d_model, div_val
        self.bounds = cluster_bounds(vocab_size, cutoffs)
        self.scale = d_model**0.5
        if div_val == 1:  # one table for every word; projected only if its width differs
            self.tables = nn.ModuleList([nn.Embedding(vocab_size, d_embed)])
            widths = [d_embed] if d_embed != d_model else []
        else:
            widths = [d_embed // div_val**k for k in range(len(self.bounds))]
            self.tables = nn.ModuleList(
                nn.Embedding(hi - lo, w) for (lo, hi), w in zip(self.bounds, widths, strict=True)
            )
        # projs[k]: [d_model, width_k], applied as x @ proj.T
        self.projs = nn.ParameterList(nn.Parameter(torch.empty(d_model, w)) for w in widths)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.div_val == 1:
            x = self.tables[0](ids)
            if len(self.projs):
                x = x @ self.projs[0].T
            return x * self.scale
        out = self.projs[0].new_zeros(*ids.shape, self.d_model)
        for (lo, hi), table, proj in zip(self.bounds, self.tables, self.projs, strict=True):
            in_cluster = (ids >= lo) & (ids < hi)
            if in_cluster.any():
                out[in_cluster] = table(ids[in_cluster] - lo) @ proj.T
        return out * self.scale


class AdaptiveLogSoftmax(nn.Module):
    """Hidden states [N, d_model] → log-probabilities over the vocabulary (all, or of targets)."""

    def __init__(
        self,
        *,
        vocab_size: int,
        cutoffs: tuple[int, ...],
        d_embed: int,
        d_model: int,
        div_val: int,
        tie_word_embeddings: bool,
        tie_projs: tuple[bool, ...],
    ) -> None:
        super().__init__()
        self.bounds = cluster_bounds(vocab_size, cutoffs)
        self.div_val, self.tie_weights, self.tie_projs = div_val, tie_word_embeddings, tie_projs
        n_tail = len(self.bounds) - 1
        if div_val == 1:  # one output matrix over the whole vocabulary, sliced per cluster
            shapes = [(vocab_size, d_embed)]
            proj_widths = [d_embed if d_embed != d_model else None] * len(self.bounds)
        else:
            widths = [d_embed // div_val**k for k in range(len(self.bounds))]
            shapes = [(hi - lo, w) for (lo, hi), w in zip(self.bounds, widths, strict=True)]
            proj_widths = widths
        # The head scores "the word is in tail cluster k" with these rows, after the head's words.
        self.cluster_weight = nn.Parameter(torch.empty(n_tail, shapes[0][1])) if n_tail else None
        self.cluster_bias = nn.Parameter(torch.empty(n_tail)) if n_tail else None
        self.biases = nn.ParameterList(nn.Parameter(torch.empty(rows)) for rows, _ in shapes)
        self.weights = nn.ParameterList(
            [] if tie_word_embeddings else [nn.Parameter(torch.empty(s)) for s in shapes]
        )
        self.projs = nn.ParameterDict(
            {
                str(k): nn.Parameter(torch.empty(d_model, w))
                for k, w in enumerate(proj_widths)
                if w is not None and not tie_projs[k]
            }
        )
        self.has_proj = [w is not None for w in proj_widths]

    def _cluster(self, k: int, embedding: AdaptiveEmbedding):
        """(weight [n_k, width], bias [n_k], proj [d_model, width] or None) of cluster k."""
        lo, hi = self.bounds[k]
        one_matrix = self.div_val == 1
        table = 0 if one_matrix else k
        weight = embedding.tables[table].weight if self.tie_weights else self.weights[table]
        bias = self.biases[table]
        if one_matrix:
            weight, bias = weight[lo:hi], bias[lo:hi]
        proj = None
        if self.has_proj[k]:
            proj = embedding.projs[table] if self.tie_projs[k] else self.projs[str(k)]
        return weight, bias, proj

    def _cluster_log_probs(
        self, h: torch.Tensor, k: int, embedding: AdaptiveEmbedding
    ) -> torch.Tensor:
        weight, bias, proj = self._cluster(k, embedding)
        if k == 0 and self.cluster_weight is not None:  # head words, then a logit per tail cluster
            weight = torch.cat([weight, self.cluster_weight])
            bias = torch.cat([bias, self.cluster_bias])
        if proj is not None:
            h = h @ proj
        return F.log_softmax(F.linear(h, weight, bias), dim=-1)

    def log_probs(self, h: torch.Tensor, embedding: AdaptiveEmbedding) -> torch.Tensor:
        """[N, d_model] → [N, V]."""
        head = self._cluster_log_probs(h, 0, embedding)
        n_head = self.bounds[0][1]
        parts = [head[:, :n_head]]
        for k in range(1, len(self.bounds)):
            cluster = head[:, n_head + k - 1 : n_head + k]
            parts.append(cluster + self._cluster_log_probs(h, k, embedding))
        return torch.cat(parts, dim=-1)

    def target_log_probs(
        self, h: torch.Tensor, targets: torch.Tensor, embedding: AdaptiveEmbedding
    ) -> torch.Tensor:
        """[N, d_model], [N] → log p(target) [N]; tail clusters run only for rows that need them."""
        head = self._cluster_log_probs(h, 0, embedding)
        n_head = self.bounds[0][1]
        out = head.new_empty(targets.shape)
        in_head = targets < n_head
        out[in_head] = head[in_head].gather(1, targets[in_head, None]).squeeze(1)
        for k, (lo, hi) in enumerate(self.bounds[1:], start=1):
            rows = (targets >= lo) & (targets < hi)
            if rows.any():
                tail = self._cluster_log_probs(h[rows], k, embedding)
                word = tail.gather(1, (targets[rows] - lo)[:, None]).squeeze(1)
                out[rows] = head[rows, n_head + k - 1] + word
        return out
