"""Every demo's default architecture at full size, random weights, saved as its checkpoint ships.

Configs are kept here, in code, so the benchmark needs no network: each builder writes a folder
(or file) that the demo loads through `GALLERY_<KEY>_MODEL`, i.e. through the code path of the
real weights. Sizes follow the released checkpoints; the weights are random, so outputs are
gibberish but the work per call is the real model's. Exceptions, said in `NOTES`: Whisper runs
the real whisper-base weights where ../shared/realweights is present (faster-whisper needs a real
vocabulary, and real weights decode real lengths of real speech), else random weights with its
decoding capped at `NEW_TOKENS` (a random decoder rarely says "end" and would run to 448; on a
made-up vocabulary CTranslate2 cannot run it and the demo falls back to transformers); DeepSpeech
runs the tiny test graph (a full-size .tflite needs TensorFlow to write). A builder that used real
weights says so in `WEIGHTS` (a file in its output folder), read by `weights_of`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench import vocab

NEW_TOKENS = 16  # generated tokens per call for the generating demos (GPT, Transformer-XL, Whisper)
SEED = 0
REALWEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "realweights" / "fetch.py"
WEIGHTS = ".bench-weights"  # in a builder's output folder: what its weights are, when real

# What each built checkpoint is, for the report.
NOTES = {
    "bert": "bert-base-uncased (BertConfig()), WordPiece 30,522",
    "roberta": "roberta-base, byte-level BPE 50,265",
    "elmo": "ELMo 2x4096_512_2048cnn_2xhighway (hdf5, released layout)",
    "transformer_xl": "transfo-xl-wt103: 18 layers, d 1024, 267,735 words, mem 1,600",
    "gpt": "Qwen2.5-0.5B-Instruct (local stand-in), BPE 151,643",
    "mobilenet_v2": "mobilenet_v2_1.0_224, 1001 labels",
    "vit": "vit-base-patch16-224, 1000 labels",
    "yolo": "YOLO26n (yolo26n.yaml)",
    "whisper": f"whisper-base, BPE 51,865; random: decoding capped at {NEW_TOKENS} tokens",
    "wav2vec2": "wav2vec2-base-960h, 32 characters",
    "deepspeech": "tiny graph (tests/fixtures, 8-cell LSTM), not full size",
}


REAL_NOTES = {  # the note when a builder found real weights
    "whisper": "whisper-base (openai/whisper-base, ../shared/realweights), on jfk.wav (11 s)",
}


# helpers


def weights_of(out: Path) -> str:
    """ "real" or "random": what the checkpoint built into `out` holds."""
    marker = out / WEIGHTS
    return marker.read_text(encoding="utf-8").strip() if marker.is_file() else "random"


def realweights(name: str) -> Path | None:
    """The path of `name` from ../shared/realweights (fetch.py), or None where it is absent."""
    if not REALWEIGHTS.is_file():
        return None
    proc = subprocess.run(
        [sys.executable, str(REALWEIGHTS), name], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        return None
    path = Path(json.loads(proc.stdout).get(name, ""))
    return path if path.is_dir() else None


def _seed() -> None:
    torch.manual_seed(SEED)


def _labels(n: int, first: str | None = None) -> dict[int, str]:
    names = {i: f"class {i}" for i in range(n)}
    if first is not None:
        names[0] = first
    return names


# language


def bert(out: Path) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    _seed()
    config = BertConfig()  # bert-base-uncased: 12 layers, 768 wide, 30,522 WordPiece entries
    # The released layout: [PAD] 0, [unused0..98] 1-99, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103
    specials = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = vocab.wordpiece(config.vocab_size, specials)
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(words)}, model_max_length=512)
    BertForMaskedLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def roberta(out: Path) -> Path:
    from transformers import AddedToken, RobertaConfig, RobertaForMaskedLM, RobertaTokenizer

    _seed()
    config = RobertaConfig(
        vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1
    )
    table, merges = vocab.byte_level_bpe(50264, first=["<s>", "<pad>", "</s>", "<unk>"])
    table["<mask>"] = len(table)  # the last id, 50264, as released
    tokenizer = RobertaTokenizer(
        vocab=table,
        merges=merges,
        mask_token=AddedToken("<mask>", lstrip=True),  # " <mask>" is one token, as released
        model_max_length=512,
    )
    RobertaForMaskedLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


ELMO_OPTIONS = {  # elmo_2x4096_512_2048cnn_2xhighway_options.json, as released
    "lstm": {
        "use_skip_connections": True,
        "projection_dim": 512,
        "cell_clip": 3,
        "proj_clip": 3,
        "dim": 4096,
        "n_layers": 2,
    },
    "char_cnn": {
        "activation": "relu",
        "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
        "n_highway": 2,
        "embedding": {"dim": 16},
        "n_characters": 262,
        "max_characters_per_token": 50,
    },
}


def elmo(out: Path) -> Path:
    import h5py

    from tests.elmo_tiny import released_layout  # the released hdf5 layout, in one place

    out.mkdir(parents=True, exist_ok=True)
    (out / "elmo_options.json").write_text(json.dumps(ELMO_OPTIONS, indent=2), encoding="utf-8")
    rng = np.random.default_rng(SEED)
    with h5py.File(out / "elmo_weights.hdf5", "w") as fout:
        for path, shape in released_layout(ELMO_OPTIONS).items():
            # std 0.03: the gates stay out of saturation at 4096 cells, so no step is trivial
            fout.create_dataset(path, data=rng.standard_normal(shape, dtype=np.float32) * 0.03)
    return out


TRANSFO_XL_CONFIG = {  # transfo-xl/transfo-xl-wt103 config.json, the fields the loader reads
    "model_type": "transfo-xl",
    "architectures": ["TransfoXLLMHeadModel"],
    "vocab_size": 267735,
    "cutoffs": [20000, 40000, 200000],
    "d_model": 1024,
    "d_embed": 1024,
    "n_head": 16,
    "d_head": 64,
    "d_inner": 4096,
    "div_val": 4,
    "pre_lnorm": False,
    "n_layer": 18,
    "mem_len": 1600,
    "clamp_len": 1000,
    "same_length": True,
    "attn_type": 0,
    "sample_softmax": -1,
    "adaptive": True,
    "tie_projs": [False, True, True, True],
    "tie_word_embeddings": True,
    "untie_r": True,
    "eos_token_id": 0,
}


def transformer_xl(out: Path) -> Path:
    from demos.language.transformer_xl.checkpoint import _checkpoint_name  # our name → the hub's
    from demos.language.transformer_xl.model import TransformerXLConfig, TransformerXLLM

    _seed()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(TRANSFO_XL_CONFIG, indent=2), encoding="utf-8")
    words = vocab.word_list(TRANSFO_XL_CONFIG["vocab_size"], first=["<eos>", "<unk>"])
    (out / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    model = TransformerXLLM(TransformerXLConfig.from_dict(TRANSFO_XL_CONFIG))
    state = {}
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            is_norm_weight = ".norm." in name and name.endswith("weight")
            tensor.copy_(torch.ones_like(tensor) if is_norm_weight else torch.randn_like(tensor))
            if not is_norm_weight:
                tensor.mul_(0.02)
            state[_checkpoint_name(name)] = tensor
    torch.save(state, out / "pytorch_model.bin")  # the hub's file; read back weights_only
    return out


QWEN_CHAT_TEMPLATE = (  # ChatML, Qwen2.5's format: <|im_start|>role\ntext<|im_end|>
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def gpt(out: Path) -> Path:
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer

    _seed()
    table, merges = vocab.byte_level_bpe(151643)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for token in specials:
        table[token] = len(table)  # 151643, 151644, 151645 as in Qwen2.5
    tokenizer = Qwen2Tokenizer(
        vocab=table,
        merges=merges,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=specials,
        model_max_length=32768,
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    config = Qwen2Config(  # Qwen2.5-0.5B-Instruct's config.json
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        max_window_layers=21,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


# vision


def mobilenet_v2(out: Path) -> Path:
    from transformers import (
        MobileNetV2Config,
        MobileNetV2ForImageClassification,
        MobileNetV2ImageProcessor,
    )

    _seed()
    labels = _labels(1001, first="background")  # Google's TF release: index 0 is background
    config = MobileNetV2Config(num_labels=1001, id2label=labels, label2id={})
    MobileNetV2ForImageClassification(config).save_pretrained(out)
    MobileNetV2ImageProcessor(size={"shortest_edge": 256}, crop_size=224).save_pretrained(out)
    return out


def vit(out: Path) -> Path:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    _seed()
    config = ViTConfig(num_labels=1000, id2label=_labels(1000), label2id={})  # ViT-B/16, 224 px
    ViTForImageClassification(config).save_pretrained(out)
    ViTImageProcessor().save_pretrained(out)
    return out


def yolo(out: Path) -> Path:
    from demos.vision.yolo import pipeline as yolo_model
    from demos.vision.yolo import weights as yolo_weights

    yolo_weights.configure_ultralytics()  # before ultralytics is imported: offline, safe load
    from ultralytics import YOLO

    _seed()
    model = YOLO("yolo26n.yaml")  # the architecture of yolo26n.pt, built offline
    model.model.names = dict(enumerate(yolo_model.COCO_NAMES))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "yolo26n.pt"
    model.save(str(path))
    return path


# speech


WHISPER_ALIGNMENT_HEADS = [[3, 1], [4, 2], [4, 3], [4, 7], [5, 1], [5, 2], [5, 4], [5, 6]]  # base


def whisper(out: Path) -> Path:
    """The real whisper-base where ../shared/realweights has it (read in place), else random."""
    real = realweights("whisper-base")
    if real is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / WEIGHTS).write_text("real", encoding="utf-8")
        return real
    return random_whisper(out)


def random_whisper(out: Path) -> Path:
    from transformers import (
        AddedToken,
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    _seed()
    out.mkdir(parents=True, exist_ok=True)
    table, merges = vocab.byte_level_bpe(50257)  # the multilingual BPE: ids 0-50256
    languages = list(LANGUAGES)[:99]  # whisper-base knows 99 (Cantonese came with large-v3)
    specials = [
        "<|endoftext|>",  # 50257
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in languages),
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",  # 50363
    ]
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]  # 50364-51864
    for token in specials + timestamps:
        table[token] = len(table)
    assert len(table) == 51865, len(table)
    tokenizer = WhisperTokenizer(vocab=table, merges=merges)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True) for t in specials[1:]]}
    )
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in timestamps])
    eot, sot = table["<|endoftext|>"], table["<|startoftranscript|>"]
    config = WhisperConfig(  # openai/whisper-base
        vocab_size=51865,
        num_mel_bins=80,
        d_model=512,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=8,
        decoder_attention_heads=8,
        encoder_ffn_dim=2048,
        decoder_ffn_dim=2048,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        begin_suppress_tokens=[220, eot],
        suppress_tokens=[],
    )
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=448,
        max_new_tokens=NEW_TOKENS,  # the benchmark's cap (see NOTES): demo and pipeline alike
        begin_suppress_tokens=[220, eot],
        suppress_tokens=[],
        lang_to_id={f"<|{c}|>": table[f"<|{c}|>"] for c in languages},
        task_to_id={"transcribe": table["<|transcribe|>"], "translate": table["<|translate|>"]},
        no_timestamps_token_id=table["<|notimestamps|>"],
        prev_sot_token_id=table["<|startofprev|>"],
        is_multilingual=True,
        max_initial_timestamp_index=50,
        alignment_heads=WHISPER_ALIGNMENT_HEADS,
    )
    model.save_pretrained(out)
    WhisperProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer
    ).save_pretrained(out)
    return out


WAV2VEC2_VOCAB = "<pad> <s> </s> <unk> | E T A O N I H S R D L U M W C F G Y P B V K ' X J Q Z"


def wav2vec2(out: Path) -> Path:
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    _seed()
    out.mkdir(parents=True, exist_ok=True)
    vocab_file = out / "vocab.json"
    symbols = WAV2VEC2_VOCAB.split()  # facebook/wav2vec2-base-960h's order: <pad> is the blank
    vocab_file.write_text(json.dumps({s: i for i, s in enumerate(symbols)}), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16_000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=False,
    )
    config = Wav2Vec2Config(vocab_size=len(symbols), pad_token_id=0)  # the base architecture
    Wav2Vec2ForCTC(config).save_pretrained(out)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(out)
    return out


def deepspeech(out: Path) -> Path:
    from tests.deepspeech_tiny import tiny_model_path

    return tiny_model_path()  # read in place: a full-size graph needs TensorFlow to write


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "bert": bert,
    "roberta": roberta,
    "elmo": elmo,
    "transformer_xl": transformer_xl,
    "gpt": gpt,
    "mobilenet_v2": mobilenet_v2,
    "vit": vit,
    "yolo": yolo,
    "whisper": whisper,
    "wav2vec2": wav2vec2,
    "deepspeech": deepspeech,
}
