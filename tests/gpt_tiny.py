"""Tiny chat models for the GPT-4 tab's local backend, random weights, saved as the hub stores them.

- `text_model`: a Qwen2 causal LM (the architecture of Qwen2.5-Instruct) with a byte-level BPE
  `Qwen2Tokenizer` and a ChatML chat template, like Qwen's.
- `vision_model`: an Idefics3 model (the architecture of SmolVLM) with a tiny SigLIP-style vision
  tower, a Llama text model and an `Idefics3Processor` whose tokenizer knows `<image>`,
  `<fake_token_around_image>`, `<global-img>` and the `<row_i_col_j>` tile tokens. Images are cut
  into 32 px tiles (up to 2x2 plus the whole image), 4 `<image>` tokens each.

Both load through GALLERY_GPT_MODEL / GALLERY_GPT_VISION_MODEL, the code path of real weights.
"""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = [
    "hello",
    "the",
    "cat",
    "is",
    "a",
    "on",
    "city",
    "what",
    "this",
    "describe",
    "picture",
    "image",
    "in",
    "you",
    "are",
    "helpful",
    "pirate",
    "paris",
    "france",
    "capital",
    "of",
    "coffee",
    "cup",
    "red",
    "blue",
    "sky",
    "why",
    "two",
    "sentences",
    "system",
    "user",
    "assistant",
    "System",
    "User",
    "Assistant",
    ".",
    ",",
    "?",
    ":",
    "!",
]
IMAGE_SEQ_LEN = 4  # <image> tokens per 32 px tile: (32 / 8)^2 patches / scale_factor^2
TILE = 32  # px, the vision tower's input size (SmolVLM's is 512)
LONGEST_EDGE = 64  # px: images are resized to this, then cut into 2x2 tiles (SmolVLM: 2048)


def _tokenizer(specials: list[str], **kwargs):
    """A WordLevel tokenizer over `specials + WORDS`, words split on spaces and punctuation."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece()  # words come back separated by spaces
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", **kwargs)


def vocabulary() -> set[str]:
    """The words the tiny image model can say (its tokens are whole words)."""
    return set(WORDS)


def _byte_level_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocab and merges of a byte-level BPE like Qwen's: printable ASCII, then whole words.

    "Ġ" marks a space before a word and "Ċ" a newline, as in GPT-2's byte-to-unicode map. Only
    printable ASCII is in the alphabet, so any token sequence decodes to valid text.
    """
    vocab = {ch: i for i, ch in enumerate([chr(c) for c in range(33, 127)] + ["Ġ", "Ċ"])}
    merges: list[tuple[str, str]] = []
    for word in [f"Ġ{w}" for w in WORDS] + WORDS:  # "Ġword" first: its merges rank higher
        pieces = [word[0]]
        for ch in word[1:]:
            if (pieces[-1], ch) not in merges:
                merges.append((pieces[-1], ch))
            pieces.append(pieces[-1] + ch)
            vocab.setdefault(pieces[-1], len(vocab))
    return vocab, merges


def text_model(out: Path) -> Path:
    """Qwen2 with Qwen's own tokenizer class (transformers 5 loads a Qwen2 checkpoint's tokenizer
    as `Qwen2Tokenizer`, a byte-level BPE, whatever was saved), over a tiny vocabulary."""
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer

    torch.manual_seed(0)
    vocab, merges = _byte_level_bpe()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for token in specials:
        vocab[token] = len(vocab)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=specials,
        model_max_length=256,
    )
    # ChatML, the format of Qwen2.5's own template: <|im_start|>role\ntext<|im_end|>
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,  # small, so a long chat must drop its oldest turns
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def vision_model(out: Path) -> Path:
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    torch.manual_seed(0)
    image_tokens = ["<image>", "<fake_token_around_image>", "<global-img>"]
    tiles = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    specials = ["<unk>", "<|im_start|>", "<end_of_utterance>", *image_tokens, *tiles]
    tokenizer = _tokenizer(
        specials,
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        pad_token="<unk>",
        additional_special_tokens=specials[3:],
        model_max_length=512,
    )
    # SmolVLM's format: "User:<image> text<end_of_utterance>\nAssistant:", parts in order.
    template = (
        "<|im_start|>{% for m in messages %}{{ m['role'] | capitalize }}:"
        "{% for part in m['content'] %}{% if part['type'] == 'image' %}<image>"
        "{% else %} {{ part['text'] }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
        "{% if add_generation_prompt %}Assistant:{% endif %}"
    )
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessor(
            size={"longest_edge": LONGEST_EDGE}, max_image_size={"longest_edge": TILE}
        ),
        tokenizer=tokenizer,
        image_seq_len=IMAGE_SEQ_LEN,
        chat_template=template,
    )
    config = Idefics3Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": TILE,
            "patch_size": 8,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "max_position_embeddings": 512,
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        scale_factor=2,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Idefics3ForConditionalGeneration(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
