"""ELMo: the pretrained bidirectional language model (biLM) behind deep contextualised word vectors.

Model: ELMo (Peters et al., 2018, "Deep contextualized word representations", arXiv 1802.05365):
a character CNN gives each token a context-free vector; stacked forward and backward LSTMs with
projections (layers after the first add their input back, a skip connection) make it contextual.
Downstream tasks mix the layers with softmax-normalised scalar weights (`ScalarMix`).

Weights: AllenNLP's released `*_options.json` + `*_weights.hdf5` (Apache-2.0), in the layout of the
original TensorFlow biLM (bilm-tf). This module is an independent PyTorch reimplementation written
from the paper and that file layout; it reads the hdf5 with h5py only (no pickle).

Shapes: B sentences, T tokens (longest sentence), P = `projection_dim`, C = the LSTM `dim`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from demos.language.elmo.chars import MAX_CHARS, N_CHARACTERS, batch_to_char_ids, word_to_char_ids

# TensorFlow's LSTMCell adds 1.0 to the forget gate at run time; it is not stored in `B`.
FORGET_BIAS = 1.0

LstmState = tuple[torch.Tensor, torch.Tensor]  # (cell [B, C], hidden [B, P])
BiLMState = tuple[tuple[LstmState, LstmState], ...]  # [layer][0 forward, 1 backward]


class ElmoWeightsError(ValueError):
    """The options/weights pair cannot be loaded: a missing dataset, a shape that does not match
    the options, or an option this implementation does not support."""


# helpers


@dataclass(frozen=True)
class ElmoOptions:
    """The parts of a released `*_options.json` that shape the network."""

    n_layers: int  # LSTM layers per direction (2 in every released model)
    cell_dim: int  # LSTM memory cell size C ("dim"), e.g. 4096
    projection_dim: int  # P: LSTM output and token vector size, e.g. 512
    cell_clip: float | None  # memory cell clipped to ±cell_clip after each step
    proj_clip: float | None  # projected output clipped to ±proj_clip
    use_skip_connections: bool  # layer k ≥ 1 adds its input to its output
    char_embed_dim: int  # size of one character vector, e.g. 16
    filters: tuple[tuple[int, int], ...]  # (width in chars, number of filters) per conv
    n_highway: int
    n_characters: int  # 262: 261 stored character vectors plus id 0 for padding
    max_chars: int  # ids per token, 50
    activation: str  # after max-pooling each conv: "relu" or "tanh"

    @property
    def n_filters(self) -> int:
        return sum(num for _, num in self.filters)

    @classmethod
    def from_json(cls, data: dict) -> ElmoOptions:
        try:
            lstm, cnn = data["lstm"], data["char_cnn"]
            opts = cls(
                n_layers=int(lstm.get("n_layers", 1)),
                cell_dim=int(lstm["dim"]),
                projection_dim=int(lstm["projection_dim"]),
                cell_clip=lstm.get("cell_clip"),
                proj_clip=lstm.get("proj_clip"),
                use_skip_connections=bool(lstm.get("use_skip_connections", False)),
                char_embed_dim=int(cnn["embedding"]["dim"]),
                filters=tuple((int(w), int(n)) for w, n in cnn["filters"]),
                n_highway=int(cnn.get("n_highway") or 0),
                n_characters=int(cnn["n_characters"]),
                max_chars=int(cnn["max_characters_per_token"]),
                activation=str(cnn["activation"]),
            )
        except (KeyError, TypeError) as err:
            raise ElmoWeightsError(f"ELMo options lack a required entry: {err!r}") from err
        if opts.n_characters != N_CHARACTERS or opts.max_chars != MAX_CHARS:
            raise ElmoWeightsError(
                f"expected n_characters={N_CHARACTERS} and max_characters_per_token={MAX_CHARS}"
                f" (all released models), found {opts.n_characters} and {opts.max_chars}"
            )
        if opts.activation not in ("relu", "tanh"):
            raise ElmoWeightsError(f"unknown char_cnn activation {opts.activation!r}")
        if opts.projection_dim >= opts.cell_dim:
            raise ElmoWeightsError("only biLMs with an LSTM projection (projection_dim < dim)")
        return opts


def _read(fin: h5py.File, path: str, shape: tuple[int, ...]) -> torch.Tensor:
    """One dataset as float32, checked against the shape the options imply."""
    if path not in fin or not isinstance(fin[path], h5py.Dataset):
        raise ElmoWeightsError(f"weights file {fin.filename} has no dataset {path!r}")
    found = tuple(fin[path].shape)
    if found != shape:
        raise ElmoWeightsError(
            f"dataset {path!r}: expected shape {shape} from the options, found {found}"
        )
    return torch.from_numpy(np.asarray(fin[path][...], dtype=np.float32))


# classes


class CharCNN(nn.Module):
    """Context-free token vectors: char embedding, convs max-pooled over chars, highway, proj."""

    def __init__(self, *, opts: ElmoOptions) -> None:
        super().__init__()
        self.opts = opts
        e, f = opts.char_embed_dim, opts.n_filters
        self.char_embed = nn.Parameter(torch.zeros(opts.n_characters, e))  # row 0: padding
        self.convs = nn.ModuleList(nn.Conv1d(e, num, width) for width, num in opts.filters)
        # Highway and projection kept in TF's (in, out) layout: y = x @ W + b.
        h = opts.n_highway  # highway layers stacked on a leading axis
        self.w_carry, self.w_transform = (nn.Parameter(torch.zeros(h, f, f)) for _ in range(2))
        self.b_carry, self.b_transform = (nn.Parameter(torch.zeros(h, f)) for _ in range(2))
        self.w_proj = nn.Parameter(torch.zeros(f, opts.projection_dim))
        self.b_proj = nn.Parameter(torch.zeros(opts.projection_dim))
        self.act = torch.relu if opts.activation == "relu" else torch.tanh

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        """[..., max_chars] char ids → [..., P] token vectors."""
        lead = char_ids.shape[:-1]
        x = F.embedding(char_ids.reshape(-1, char_ids.shape[-1]), self.char_embed)
        x = x.transpose(1, 2)  # [N, E, max_chars]: Conv1d slides over characters
        # Max-pool each filter over every position, then the activation (both monotone per unit).
        x = torch.cat([self.act(conv(x).amax(dim=-1)) for conv in self.convs], dim=-1)
        for k in range(self.opts.n_highway):
            # gate: the share of the transformed vector let through; the rest carries x as is
            gate = torch.sigmoid(x @ self.w_carry[k] + self.b_carry[k])
            x = gate * torch.relu(x @ self.w_transform[k] + self.b_transform[k]) + (1.0 - gate) * x
        return (x @ self.w_proj + self.b_proj).reshape(*lead, self.opts.projection_dim)

    def load(self, fin: h5py.File) -> None:
        o, e, f = self.opts, self.opts.char_embed_dim, self.opts.n_filters
        with torch.no_grad():
            self.char_embed[1:].copy_(_read(fin, "char_embed", (o.n_characters - 1, e)))
            for i, ((width, num), conv) in enumerate(zip(o.filters, self.convs, strict=True)):
                w = _read(fin, f"CNN/W_cnn_{i}", (1, width, e, num))
                conv.weight.copy_(w[0].permute(2, 1, 0))  # (width, E, num) → (num, E, width)
                conv.bias.copy_(_read(fin, f"CNN/b_cnn_{i}", (num,)))
            for k in range(o.n_highway):
                self.w_carry[k].copy_(_read(fin, f"CNN_high_{k}/W_carry", (f, f)))
                self.b_carry[k].copy_(_read(fin, f"CNN_high_{k}/b_carry", (f,)))
                self.w_transform[k].copy_(_read(fin, f"CNN_high_{k}/W_transform", (f, f)))
                self.b_transform[k].copy_(_read(fin, f"CNN_high_{k}/b_transform", (f,)))
            self.w_proj.copy_(_read(fin, "CNN_proj/W_proj", (f, o.projection_dim)))
            self.b_proj.copy_(_read(fin, "CNN_proj/b_proj", (o.projection_dim,)))


class ProjectedLstm(nn.Module):
    """One direction of one layer: a TF-style LSTMCell with clipping and an output projection."""

    def __init__(self, *, opts: ElmoOptions, go_forward: bool) -> None:
        super().__init__()
        self.opts, self.go_forward = opts, go_forward
        c, p = opts.cell_dim, opts.projection_dim
        # TF layout: gates = [x, h] @ W + B, gate blocks of size C in the order i, j, f, o
        # (input, candidate, forget, output).
        self.weight = nn.Parameter(torch.zeros(p + p, 4 * c))
        self.bias = nn.Parameter(torch.zeros(4 * c))
        self.proj = nn.Parameter(torch.zeros(c, p))

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, state: LstmState
    ) -> tuple[torch.Tensor, LstmState]:
        """x [B, T, P], mask [B, T] → outputs [B, T, P] (zero where masked), final state.

        The backward direction walks t = T-1 … 0; a masked step leaves the state untouched, so each
        sentence starts at its own last token and the final state is the one after its last real
        step, whatever the padding. This equals reversing each sentence by its own length.
        """
        o, p = self.opts, x.shape[-1]
        c, h = state
        x_gates = x @ self.weight[:p] + self.bias  # all input contributions in one matmul
        w_h = self.weight[p:]
        steps = range(x.shape[1]) if self.go_forward else range(x.shape[1] - 1, -1, -1)
        outputs: list[torch.Tensor] = []
        for t in steps:
            i, j, f, g = (x_gates[:, t] + h @ w_h).chunk(4, dim=-1)
            c_new = torch.sigmoid(f + FORGET_BIAS) * c + torch.sigmoid(i) * torch.tanh(j)
            if o.cell_clip is not None:
                c_new = c_new.clamp(-o.cell_clip, o.cell_clip)
            h_new = (torch.sigmoid(g) * torch.tanh(c_new)) @ self.proj
            if o.proj_clip is not None:
                h_new = h_new.clamp(-o.proj_clip, o.proj_clip)
            keep = mask[:, t, None]
            c, h = torch.where(keep, c_new, c), torch.where(keep, h_new, h)
            outputs.append(h_new * keep)
        if not self.go_forward:
            outputs.reverse()  # back to sentence order
        return torch.stack(outputs, dim=1), (c, h)

    def load(self, fin: h5py.File, prefix: str) -> None:
        c, p = self.opts.cell_dim, self.opts.projection_dim
        with torch.no_grad():
            self.weight.copy_(_read(fin, f"{prefix}/W_0", (p + p, 4 * c)))
            self.bias.copy_(_read(fin, f"{prefix}/B", (4 * c,)))
            self.proj.copy_(_read(fin, f"{prefix}/W_P_0", (c, p)))


@dataclass(frozen=True)
class ElmoOutput:
    layers: torch.Tensor  # [n_layers+1, B, T, 2P]: token layer (duplicated), then each LSTM layer
    mask: torch.Tensor  # [B, T] bool, True on real tokens; sentence markers removed
    state: BiLMState  # final (c, h) per layer and direction: pass back as `state` to continue


class ElmoBiLM(nn.Module):
    """The full biLM. Build with `load_elmo`; call with char ids from `batch_to_char_ids`."""

    def __init__(self, *, opts: ElmoOptions) -> None:
        super().__init__()
        self.opts = opts
        self.char_cnn = CharCNN(opts=opts)
        self.forward_lstms = nn.ModuleList(
            ProjectedLstm(opts=opts, go_forward=True) for _ in range(opts.n_layers)
        )
        self.backward_lstms = nn.ModuleList(
            ProjectedLstm(opts=opts, go_forward=False) for _ in range(opts.n_layers)
        )

    @property
    def device(self) -> torch.device:
        return self.char_cnn.char_embed.device

    def zero_state(self, batch_size: int) -> BiLMState:
        """All-zero (c, h) for every layer and direction, on the model's device."""
        like, c, p = self.char_cnn.char_embed, self.opts.cell_dim, self.opts.projection_dim

        def pair() -> LstmState:
            return like.new_zeros(batch_size, c), like.new_zeros(batch_size, p)

        return tuple((pair(), pair()) for _ in range(self.opts.n_layers))

    def forward(self, char_ids: torch.Tensor, state: BiLMState | None = None) -> ElmoOutput:
        """char_ids [B, T+2, 50] with `<S>`/`</S>` in place → per-layer vectors without them.

        `state=None` starts every LSTM from zero (what a demo wants). Passing the `state` of the
        previous output continues that text, as the reference biLM's stateful mode does; the batch
        size must then stay the same.
        """
        mask = (char_ids > 0).any(dim=-1)  # [B, T+2]
        tokens = self.char_cnn(char_ids) * mask[..., None]
        if state is None:
            state = self.zero_state(char_ids.shape[0])
        elif len(state) != self.opts.n_layers or state[0][0][0].shape[0] != char_ids.shape[0]:
            raise ValueError("`state` must come from a call with the same model and batch size")
        layers, new_state = [torch.cat([tokens, tokens], dim=-1)], []
        fwd_in = bwd_in = tokens
        for k, (fwd, bwd) in enumerate(zip(self.forward_lstms, self.backward_lstms, strict=True)):
            fwd_out, fwd_state = fwd(fwd_in, mask, state[k][0])
            bwd_out, bwd_state = bwd(bwd_in, mask, state[k][1])
            if k > 0 and self.opts.use_skip_connections:
                fwd_out, bwd_out = fwd_out + fwd_in, bwd_out + bwd_in
            layers.append(torch.cat([fwd_out, bwd_out], dim=-1))
            new_state.append((fwd_state, bwd_state))
            fwd_in, bwd_in = fwd_out, bwd_out
        # Drop <S> (first column) and </S>: after slicing, each sentence's </S> falls on a position
        # that mask[:, 2:] marks False, so zeroing masked positions removes it.
        word_mask = mask[:, 2:]
        stacked = torch.stack(layers)[:, :, 1:-1] * word_mask[None, ..., None]
        return ElmoOutput(layers=stacked, mask=word_mask, state=tuple(new_state))

    @torch.no_grad()
    def embed_sentences(
        self, sentences: list[list[str]], state: BiLMState | None = None
    ) -> ElmoOutput:
        """Tokenised sentences → `ElmoOutput` on the model's device."""
        char_ids, _ = batch_to_char_ids(sentences, max_chars=self.opts.max_chars)
        return self(char_ids.to(self.device), state)

    @torch.no_grad()
    def token_embeddings(self, words: Sequence[str]) -> torch.Tensor:
        """Context-free char-CNN vectors [len(words), P], one word at a time as a lone token.

        `<S>` and `</S>` give the sentence-marker vectors, as in the reference token dump.
        """
        ids = [word_to_char_ids(w, max_chars=self.opts.max_chars) for w in words]
        ids_t = torch.tensor(ids, dtype=torch.long, device=self.device)
        return self.char_cnn(ids_t.reshape(len(words), self.opts.max_chars))

    def load(self, fin: h5py.File) -> None:
        """Copy every weight from an open released-layout hdf5 file, checking each shape."""
        self.char_cnn.load(fin)
        for k in range(self.opts.n_layers):
            # RNN_0 holds the forward LSTMs, RNN_1 the backward ones; Cell{k} is layer k.
            self.forward_lstms[k].load(fin, f"RNN_0/RNN/MultiRNNCell/Cell{k}/LSTMCell")
            self.backward_lstms[k].load(fin, f"RNN_1/RNN/MultiRNNCell/Cell{k}/LSTMCell")


class ScalarMix(nn.Module):
    """ELMo's task-specific mix: gamma * Σ_k softmax(w)_k * layer_k (paper, eq. 1)."""

    def __init__(
        self, *, n_layers: int, weights: Sequence[float] | None = None, gamma: float = 1.0
    ) -> None:
        super().__init__()
        init = (
            torch.zeros(n_layers) if weights is None else torch.tensor(weights, dtype=torch.float)
        )
        if init.shape != (n_layers,):
            raise ValueError(f"need {n_layers} weights, got {len(init)}")
        self.weights = nn.Parameter(init)  # zeros: an equal average of the layers
        self.gamma = nn.Parameter(torch.tensor(float(gamma)))

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        """[n_layers, ..., D] → [..., D]."""
        w = torch.softmax(self.weights, dim=0).to(layers.dtype)
        return self.gamma * torch.tensordot(w, layers, dims=1)


def load_elmo(
    options_file: str | Path, weights_file: str | Path, device: str | torch.device = "cpu"
) -> ElmoBiLM:
    """Build an `ElmoBiLM` of any released size from its options JSON and hdf5 weights.

    Raises `ElmoWeightsError` naming the dataset when one is missing or has the wrong shape.
    """
    opts = ElmoOptions.from_json(json.loads(Path(options_file).read_text(encoding="utf-8")))
    model = ElmoBiLM(opts=opts)
    with h5py.File(weights_file, "r") as fin:
        model.load(fin)
    model.requires_grad_(False)
    return model.eval().to(device)
