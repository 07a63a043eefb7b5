"""Write the tiny Transformer-XL fixture and the reference outputs the parity tests compare with.

Run ONCE, in a throwaway venv that holds the last transformers whose Transformer-XL still runs
(never in the gallery's venv, and nothing here is imported by the gallery):

    python3.11 -m venv /tmp/txl-ref
    /tmp/txl-ref/bin/pip install torch==2.13.0 transformers==4.37.2 sacremoses
    /tmp/txl-ref/bin/python tools/make_transformer_xl_fixture.py      # from the project root

It builds two tiny random `TransfoXLLMHeadModel`s with transformers 4.37.2 and saves each in the hub
checkpoint's file layout (`config.json`, `pytorch_model.bin`, `vocab.pkl` pickled by the reference
tokenizer itself) plus `expected.npz` (plain arrays, loads with `allow_pickle=False`):

- `tests/fixtures/transformer_xl/`: the shape of `transfo-xl-wt103` (adaptive input and softmax with
  `div_val` > 1 and three clusters, tied weights and all-but-first tied projections, untied r
  biases, `same_length`, post-LayerNorm), with `mem_len` and `clamp_len` small enough to matter.
- `tests/fixtures/transformer_xl/untied/`: the other branches (`div_val` 1 with `d_embed` !=
  `d_model`, untied output weights and projections, shared r biases, pre-LayerNorm, no
  `same_length` or clamp).

Reference runs recorded per model (B = 2 rows, S segments of L tokens, V words):
    lp_carried [S, B, L, V]   log-probs, memory starts empty and is carried segment to segment
    lp_reset   [S, B, L, V]   log-probs, every segment starts from empty memory
    lp_zeros   [S, B, L, V]   log-probs, `mems=None` in the reference (it fills memory with zeros),
                              then carried: the reference's own default
    greedy     [N]            greedy continuation of `prompt`, memory starting empty
    greedy_zeros [N]          the same from `model.generate(do_sample=False)` (zero-filled memory)
The main fixture also records reference tokenisation of a few sentences (`tok_*` arrays).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import TransformerXLConfig, TransfoXLLMHeadModel, TransfoXLTokenizer

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "transformer_xl"

# 84 words: <eos> first (id 0, as in wt103), then <unk>, then words in rough frequency order.
WORDS = (  # noqa: SIM905 (a word list reads best as text)
    "<eos> <unk> the , . of and in to a was The @-@ is for on as with by he that at from his "
    "it an were are which this also be has or had first one their its new after who they two "
    "her she been other when time during there into school i more 1 @,@ 000 @.@ 5 well known "
    "bridge cost dollars ( ) \" ' 's n't war city film game season river song built years later "
    "= several"
).split()

SENTENCES = [
    "The well-known bridge cost 1,000.5 dollars.",
    'He said "it was built in 1,200 years" (later).',
    "The city's river isn't known, and the film's season was 5.5 years.",
    "= = Season = =",
]


def make_tokenizer(out: Path) -> TransfoXLTokenizer:
    tok = TransfoXLTokenizer()
    for sym in WORDS[:2]:
        tok.add_special(sym)
    for sym in WORDS[2:]:
        tok.add_symbol(sym)
    assert len(tok.idx2sym) == len(WORDS), "duplicate word in WORDS"
    tok.save_vocabulary(str(out))
    return tok


def randomise(model: TransfoXLLMHeadModel, seed: int, scale: float) -> None:
    """Replace the near-uniform default init with larger weights, so that outputs are peaked and
    the greedy continuation does not hinge on differences at the float rounding level."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(scale * torch.randn(p.shape, generator=g))
    model.tie_weights()


def reference_runs(model: TransfoXLLMHeadModel, seed: int, cfg: TransformerXLConfig) -> dict:
    n_seg, seg_len, batch = 3, 6, 2
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (batch, n_seg * seg_len + 1), generator=g)
    empty = [torch.zeros(0, batch, cfg.d_model) for _ in range(cfg.n_layer)]

    def run(first_mems, carry: bool) -> np.ndarray:
        mems, out = first_mems, []
        for s in range(n_seg):
            o = model(ids[:, s * seg_len : (s + 1) * seg_len], mems=mems)
            out.append(o.prediction_scores.numpy())
            mems = o.mems if carry else first_mems
        return np.stack(out)

    res = {
        "ids": ids.numpy(),
        "segment_len": np.array(seg_len),
        "lp_carried": run(empty, True),
        "lp_reset": run(empty, False),
        "lp_zeros": run(None, True),
    }
    # Greedy continuation, memory starting empty: feed the prompt, then one token at a time.
    prompt = torch.tensor([[3, 60, 7, 64, 8, 3]])  # token ids; words don't matter here
    n_new = 12
    mems1 = [torch.zeros(0, 1, cfg.d_model) for _ in range(cfg.n_layer)]
    o = model(prompt, mems=mems1)
    greedy, margins = [], []
    for _ in range(n_new):
        last = o.prediction_scores[0, -1]
        top2 = last.topk(2).values
        margins.append(float(top2[0] - top2[1]))
        nxt = int(last.argmax())
        greedy.append(nxt)
        o = model(torch.tensor([[nxt]]), mems=o.mems)
    assert min(margins) > 1e-3, f"greedy step too close to a tie: {margins}"
    gen = model.generate(prompt, max_new_tokens=n_new, do_sample=False, pad_token_id=0)
    res.update(
        prompt=prompt[0].numpy(),
        greedy=np.array(greedy),
        greedy_zeros=gen[0, prompt.shape[1] :].numpy(),
    )
    return res


def build(out: Path, seed: int, scale: float, **config) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cfg = TransformerXLConfig(vocab_size=len(WORDS), dropout=0.0, dropatt=0.0, **config)
    model = TransfoXLLMHeadModel(cfg).eval()
    randomise(model, seed, scale)
    model.save_pretrained(str(out), safe_serialization=False)
    with torch.no_grad():
        res = reference_runs(model, seed + 1, cfg)
    np.savez_compressed(out / "expected.npz", **res)
    keys = sorted(torch.load(out / "pytorch_model.bin", weights_only=True))
    print(out, "keys:", len(keys), "greedy:", res["greedy"].tolist(), res["greedy_zeros"].tolist())


def record_tokenisation(tok: TransfoXLTokenizer) -> None:
    """Reference tokens (Moses with aggressive dash splits, then number splits) for SENTENCES."""
    tokens = [tok.tokenize(s) for s in SENTENCES]
    ids = [tok.convert_tokens_to_ids(t) for t in tokens]
    (OUT / "tokenisation.json").write_text(
        json.dumps(
            [
                {
                    "text": s,
                    "tokens": t,
                    "ids": i,
                    "reference_detok": tok.convert_tokens_to_string(t),
                }
                for s, t, i in zip(SENTENCES, tokens, ids, strict=True)
            ],
            indent=1,
        )
        + "\n"
    )


def main() -> None:
    os.environ.setdefault("TRUST_REMOTE_CODE", "True")  # lets the reference read its own vocab.pkl
    import transformers

    assert transformers.__version__ == "4.37.2", transformers.__version__
    wt103_like = dict(
        cutoffs=[20, 40],
        d_model=16,
        d_embed=16,
        n_head=2,
        d_head=8,
        d_inner=32,
        div_val=2,
        pre_lnorm=False,
        n_layer=2,
        mem_len=8,
        clamp_len=5,
        same_length=True,
        proj_share_all_but_first=True,
        untie_r=True,
    )
    build(OUT, 0, 0.4, **wt103_like)
    tok = make_tokenizer(OUT)
    reloaded = TransfoXLTokenizer.from_pretrained(str(OUT))
    assert reloaded.idx2sym == tok.idx2sym
    record_tokenisation(reloaded)

    untied = dict(
        cutoffs=[30],
        d_model=16,
        d_embed=12,
        n_head=2,
        d_head=6,
        d_inner=24,
        div_val=1,
        pre_lnorm=True,
        n_layer=2,
        mem_len=5,
        clamp_len=0,
        same_length=False,
        proj_share_all_but_first=False,
        untie_r=False,
        tie_word_embeddings=False,
    )
    build(OUT / "untied", 10, 0.2, **untied)
    make_tokenizer(OUT / "untied")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"fixture size: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    sys.exit(main())
