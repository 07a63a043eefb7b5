"""Tiny models of the real architectures, random weights, saved the way the hub stores them.

Each builder writes a checkpoint folder that the demos load through `GALLERY_<KEY>_MODEL`, i.e.
through exactly the code path that loads the real weights on a user's machine.
"""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = [
    "paris",
    "london",
    "tokyo",
    "the",
    "capital",
    "of",
    "france",
    "is",
    "a",
    "city",
    "river",
    "bank",
    "money",
    "boat",
    "cat",
    "dog",
    ".",
]


def _seed() -> None:
    torch.manual_seed(0)


def bert(out: Path) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    _seed()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    tokenizer = BertTokenizer(vocab=vocab, model_max_length=64)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    BertForMaskedLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def roberta(out: Path) -> Path:
    from transformers import AddedToken, RobertaConfig, RobertaForMaskedLM, RobertaTokenizer

    _seed()
    out.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    # Byte-level BPE marks a word that follows a space with "Ġ". Merges that build each word
    # left to right make whole words single tokens, as in the real vocabulary.
    vocab = {tok: i for i, tok in enumerate(specials)}
    merges: list[tuple[str, str]] = []
    for word in [f"Ġ{w}" for w in WORDS] + WORDS:  # Ġ-words first: their merges rank higher
        pieces = ["Ġ" + word[1]] if word.startswith("Ġ") else [word[0]]
        rest = word[2:] if word.startswith("Ġ") else word[1:]
        for piece in ["Ġ", word[1]] if word.startswith("Ġ") else []:
            vocab.setdefault(piece, len(vocab))
        if word.startswith("Ġ") and ("Ġ", word[1]) not in merges:
            merges.append(("Ġ", word[1]))
        vocab.setdefault(pieces[0], len(vocab))
        for ch in rest:
            vocab.setdefault(ch, len(vocab))
            if (pieces[-1], ch) not in merges:
                merges.append((pieces[-1], ch))
            pieces.append(pieces[-1] + ch)
            vocab.setdefault(pieces[-1], len(vocab))
    # As in roberta-base, "<mask>" swallows the space before it.
    mask = AddedToken("<mask>", lstrip=True, rstrip=False)
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges, mask_token=mask, model_max_length=62)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        pad_token_id=1,
    )
    RobertaForMaskedLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def mobilenet_v2(out: Path) -> Path:
    from transformers import (
        MobileNetV2Config,
        MobileNetV2ForImageClassification,
        MobileNetV2ImageProcessor,
    )

    _seed()
    # Like google/mobilenet_v2_1.0_224: class 0 is "background", then the real classes.
    labels = ["background", "tabby cat", "golden retriever", "school bus", "banana", "volcano"]
    config = MobileNetV2Config(
        image_size=32,
        depth_multiplier=0.35,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = MobileNetV2ForImageClassification(config)
    # The default init (std 0.02) fades to zero through 17 blocks: give the head some spread.
    for param in model.parameters():
        if param.dim() > 1:
            torch.nn.init.normal_(param, std=0.5)
    model.save_pretrained(out)
    MobileNetV2ImageProcessor(
        size={"shortest_edge": 36}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(out)
    return out


def vit(out: Path) -> Path:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    _seed()
    labels = ["tabby cat", "golden retriever", "school bus", "banana", "volcano"]
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    ViTForImageClassification(config).save_pretrained(out)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(out)
    return out
