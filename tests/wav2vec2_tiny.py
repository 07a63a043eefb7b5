"""A tiny Wav2Vec 2.0 CTC model of the real architecture (random weights), saved as the hub does.

The vocabulary is `facebook/wav2vec2-base-960h`'s: `<pad>` (the CTC blank), `<s>`, `</s>`,
`<unk>`, `|` (the space between words), the 26 capitals and the apostrophe, in a `vocab.json`
read by `Wav2Vec2CTCTokenizer`. The feature encoder keeps the real kernels and strides
(5·2·2·2·2·2·2 = 320 samples = 20 ms per frame at 16 kHz); only the widths are tiny.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import torch

VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", *string.ascii_uppercase, "'"]


def build(out: Path) -> Path:
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    vocab_file = out / "vocab.json"
    vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(VOCAB)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True
    )
    config = Wav2Vec2Config(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        pad_token_id=tokenizer.pad_token_id,
        ctc_loss_reduction="mean",
    )
    model = Wav2Vec2ForCTC(config)
    # Random heads are nearly flat; spread the logits so frames pick letters and blanks alike.
    torch.nn.init.normal_(model.lm_head.weight, std=2.0)
    with torch.no_grad():  # and make the blank win about half the frames, as in a trained model
        model.lm_head.weight[tokenizer.pad_token_id] = 0.0
        model.lm_head.bias[tokenizer.pad_token_id] = 14.0  # ≈ the median best letter logit
    model.save_pretrained(out)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(out)
    return out
