"""Using the trained Transformer-XL: continue a prompt token by token; score a text by segments.

`generate` carries the memory from step to step, so each new token costs one forward step on one
token (plus the memory). `segment_losses` reads a text in segments with the memory carried from one
to the next (Transformer-XL) or reset at every segment (a fixed-context model). Both start from
an empty memory unless given one. The network itself is in `demos.language.transformer_xl.model`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from demos.language.transformer_xl.model import Mems, TransformerXLLM


@torch.inference_mode()
def _step(model: TransformerXLLM, ids: torch.Tensor, mems: Mems):
    h, mems = model.hidden_states(ids, mems)
    return model.log_probs(h[:, -1]), mems


def generate(
    model: TransformerXLLM,
    ids: Sequence[int] | torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    mems: Mems = None,
) -> Iterator[int]:
    """Yield up to `max_new_tokens` ids continuing the prompt `ids`, one at a time.

    temperature <= 0 is greedy; else sample from softmax(log p / temperature), restricted to the
    `top_k` likeliest words when given (the paper's samples use top_k=40). `generator` (on the
    model's device) makes sampling repeatable. Memory is carried from step to step, so each step
    feeds one token; `mems` seeds it (default empty)."""
    device = model.embed.tables[0].weight.device
    prompt = torch.as_tensor(ids, dtype=torch.long, device=device).reshape(1, -1)
    if prompt.shape[1] == 0:
        raise ValueError("generate needs at least one prompt token")
    log_p, mems = _step(model, prompt, mems)
    for i in range(max_new_tokens):
        if temperature <= 0:
            token = int(log_p.argmax(dim=-1))
        else:
            logits = log_p / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = logits.topk(top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            token = int(torch.multinomial(logits.softmax(dim=-1), 1, generator=generator))
        yield token
        if i + 1 < max_new_tokens:
            log_p, mems = _step(model, torch.tensor([[token]], device=device), mems)


@torch.inference_mode()
def segment_losses(
    model: TransformerXLLM, ids: Sequence[int] | torch.Tensor, segment_len: int, carry_memory: bool
) -> torch.Tensor:
    """Negative log-likelihood (nats) of each next token, reading `ids` in segments.

    ids [T] or [B, T] → [T-1] or [B, T-1]: entry t scores ids[t+1] given the tokens before it that
    the model can see. With carry_memory the memory flows from segment to segment (Transformer-XL);
    without it every segment starts from scratch (a fixed-context model)."""
    if segment_len < 1:
        raise ValueError("segment_len must be at least 1")
    device = model.embed.tables[0].weight.device
    seq = torch.as_tensor(ids, dtype=torch.long, device=device)
    rows = seq.reshape(-1, seq.shape[-1])
    mems, nll = None, []
    for start in range(0, rows.shape[1] - 1, segment_len):
        x = rows[:, start : start + segment_len]
        y = rows[:, start + 1 : start + 1 + x.shape[1]]
        x = x[:, : y.shape[1]]
        h, new_mems = model.hidden_states(x, mems)
        nll.append(-model.target_log_probs(h, y))
        mems = new_mems if carry_memory else None
    out = torch.cat(nll, dim=1) if nll else rows.new_zeros(rows.shape[0], 0, dtype=torch.float)
    return out.reshape(*seq.shape[:-1], -1)
