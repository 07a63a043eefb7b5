"""A tiny Whisper of the real architecture (random weights), saved the way the hub stores one.

What makes it load and generate like `openai/whisper-base` (checked on transformers 5.24):
- a byte-level BPE `WhisperTokenizer` whose special tokens come in Whisper's order, ending with
  `<|notimestamps|>`, followed by the 1501 timestamp tokens `<|0.00|>` … `<|30.00|>`;
- a `GenerationConfig` with `lang_to_id`, `task_to_id`, `no_timestamps_token_id`,
  `is_multilingual=True` and `alignment_heads` (needed for word timestamps);
- the real feature extractor (80 mel bins, 30 s windows, 3000 frames) and 1500 encoder
  positions, so audio over 30 s takes the long-form path exactly as with real weights.
The decoder reads at most 10 positions (4 of them the prompt), so random weights, which rarely
say "end", stop quickly; null quality thresholds in its generation config turn off long-form's
temperature fallback, which random weights would trigger on every window.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bench.vocab import bytes_to_unicode  # GPT-2's byte table, kept in one place

LANGUAGES = ["en", "de", "fr", "es"]  # a few of Whisper's 99; detection picks among these
WORDS = ["the", "and", "speech", "hello", "world", "country", "fellow", "ask", "you"]
MAX_TOKENS = 10  # decoder positions: prompt + up to 6 tokens per 30 s window, fast long-form


def build(out: Path) -> Path:
    from transformers import (
        AddedToken,
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    merges: list[tuple[str, str]] = []
    for word in WORDS:  # "Ġword" as one token, built left to right, as in the real vocabulary
        piece = "Ġ"
        for ch in word:
            merges.append((piece, ch))
            piece += ch
            vocab.setdefault(piece, len(vocab))
    merges = list(dict.fromkeys(merges))
    specials = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *[f"<|{code}|>" for code in LANGUAGES],
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    for token in specials + timestamps:
        vocab[token] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True) for t in specials[1:]]}
    )
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in timestamps])
    ids = {t: vocab[t] for t in specials}
    eot = ids["<|endoftext|>"]

    config = WhisperConfig(
        vocab_size=len(vocab),
        num_mel_bins=80,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_source_positions=1500,
        max_target_positions=MAX_TOKENS,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=ids["<|startoftranscript|>"],
        begin_suppress_tokens=[eot],
        suppress_tokens=[],
    )
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"],
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=MAX_TOKENS,
        # No long-form quality checks, so no fallback re-decoding of random windows at rising
        # temperatures (the demo lets a checkpoint's own settings win over its defaults).
        compression_ratio_threshold=None,
        logprob_threshold=None,
        begin_suppress_tokens=[eot],
        suppress_tokens=[],
        lang_to_id={f"<|{c}|>": ids[f"<|{c}|>"] for c in LANGUAGES},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"],
        prev_sot_token_id=ids["<|startofprev|>"],
        is_multilingual=True,
        max_initial_timestamp_index=50,
        alignment_heads=[[1, 0], [1, 1]],  # (decoder layer, head) pairs whose attention aligns
    )
    model.save_pretrained(out)
    WhisperProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer
    ).save_pretrained(out)
    return out
