"""What each demo is timed on: its `predict` call, and the bare model call doing the same work.

A `Case` holds two things per demo: `demo(module)` calls the demo module's own `predict` (which
loads through `runtime.load_model`, i.e. the gallery's cache, device and precision), and
`bare(checkpoint, device, dtype)` loads the model the plain way and returns a call of it on the
same input on the demo's DEFAULT engine (`runtime.engine_for(spec)`), doing the same work: the
transformers `pipeline` for the hub tasks (fill-mask twice, both sides and the left context, as
the tab does), ultralytics on the gallery's own ONNX export for YOLO, faster-whisper on the
gallery's own CTranslate2 conversion for Whisper, the raw module for the gallery's own models
(ELMo, Transformer-XL), `model.generate` for the GPT stand-in, the LiteRT runner for DeepSpeech.
Inputs are small, so a full run fits in minutes on two CPU cores.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from PIL import Image

from bench.architectures import NEW_TOKENS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16_000  # Hz, what every speech demo reads
SPEECH_S = 4.0  # seconds of audio per speech call
JFK = ROOT.parent / "shared" / "media" / "jfk.wav"  # 11 s of real speech, where ../shared is
BERT_TEXT = "The capital of France is [MASK]."
ROBERTA_TEXT = "The capital of France is <mask>."
ELMO_TEXT = "We sat on the bank of the river.\nThe bank lends money."
TXL_PROMPT = "The history of the city begins in the 12th century, when"
GPT_MESSAGE = "Explain in three sentences why the sky is blue."

Bare = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    key: str
    demo: Callable[[ModuleType], Any]  # -> the RunInfo of one predict call
    bare: Callable[[Path, torch.device, torch.dtype], Bare]  # load, then a call on the same input
    baseline: str  # what the bare call is, for the report


# inputs


@functools.cache
def image() -> Image.Image:
    """The gallery's example photo (or, without assets/, a 640x480 gradient)."""
    path = ROOT / "assets" / "cat-chelsea.jpg"
    if path.is_file():
        return Image.open(path).convert("RGB")
    x = np.linspace(0, 255, 640, dtype=np.uint8)
    return Image.fromarray(np.stack([np.tile(x, (480, 1))] * 3, axis=-1))


@functools.cache
def speech() -> np.ndarray:
    """SPEECH_S seconds of float32 16 kHz mono: chirps gated on and off twice a second + noise."""
    t = np.arange(int(SPEECH_S * SAMPLE_RATE)) / SAMPLE_RATE
    gate = np.sin(2 * np.pi * 2 * t) > 0
    noise = np.random.default_rng(0).normal(0.0, 0.01, len(t))
    return (gate * 0.3 * np.sin(2 * np.pi * (300 + 600 * t) * t) + noise).astype(np.float32)


@functools.cache
def whisper_clip() -> np.ndarray:
    """Whisper's input: jfk.wav (real speech, so real weights decode real lengths) where
    ../shared is present, else the synthetic `speech()`."""
    if not JFK.is_file():
        return speech()
    import soundfile

    samples, rate = soundfile.read(JFK, dtype="float32")
    if rate != SAMPLE_RATE:
        raise ValueError(f"{JFK} is {rate} Hz, not {SAMPLE_RATE}")
    return samples


def _engine(key: str, device: torch.device) -> str:
    """The key of the engine the demo runs on by default on `device`."""
    from demos.core import registry, runtime

    return runtime.engine_for(registry.get(key), dev=device).key


def _info(result: tuple) -> Any:
    return result[-1]  # every predict returns (..., RunInfo)


def _pipeline(task: str, checkpoint: Path, device: torch.device, dtype: torch.dtype):
    from transformers import pipeline

    return pipeline(task, model=str(checkpoint), device=device, dtype=dtype)


# language


def _fill_mask(key: str, text: str) -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict(text, top_k=5).info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        from transformers import pipeline

        # As the tab computes: eager attention, attentions returned, and a second call on the
        # sentence cut right after the mask (the left context alone).
        fill = pipeline(
            "fill-mask",
            model=str(checkpoint),
            device=device,
            dtype=dtype,
            model_kwargs={"attn_implementation": "eager"},
        )
        fill.model.config.output_attentions = True
        mask = fill.tokenizer.mask_token
        left = text[: text.index(mask) + len(mask)]
        return lambda: (fill(text, top_k=5), fill(left, top_k=5))

    baseline = (
        "transformers `pipeline('fill-mask')` twice (the sentence, and the sentence cut after "
        "the mask), eager attention with attentions returned, as the tab computes"
    )
    return Case(key, demo, bare, baseline)


def _elmo() -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict(ELMO_TEXT, "bank").info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        from demos.language.elmo.bilm import load_elmo
        from demos.language.elmo.chars import batch_to_char_ids
        from demos.language.elmo.pipeline import tokenize
        from demos.language.elmo.weights import find_pair

        model = load_elmo(*find_pair(checkpoint), device)
        sentences = [tokenize(line) for line in ELMO_TEXT.splitlines()]
        char_ids = batch_to_char_ids(sentences, max_chars=model.opts.max_chars)[0].to(device)

        def call() -> Any:
            with torch.inference_mode():
                return model(char_ids)

        return call

    return Case("elmo", demo, bare, "the biLM module's forward on the char ids")


def _transformer_xl() -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict(TXL_PROMPT, NEW_TOKENS, temperature=0, top_k=0, seed=0).info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        from demos.language.transformer_xl.inference import generate
        from demos.language.transformer_xl.model import load_transformer_xl

        model, vocab = load_transformer_xl(checkpoint, device)
        ids = vocab.encode(TXL_PROMPT)
        return lambda: list(generate(model, ids, NEW_TOKENS, temperature=0))

    baseline = f"`generate` on the module, {NEW_TOKENS} greedy words"
    return Case("transformer_xl", demo, bare, baseline)


def _gpt() -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict(GPT_MESSAGE, temperature=0, max_new_tokens=NEW_TOKENS).info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from demos.language.gpt.chat import DEFAULT_SYSTEM

        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=dtype).to(device).eval()
        messages = [
            {"role": "system", "content": DEFAULT_SYSTEM},
            {"role": "user", "content": GPT_MESSAGE},
        ]
        inputs = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        ).to(device)

        def call() -> Any:
            with torch.inference_mode():
                return model.generate(
                    **inputs,
                    max_new_tokens=NEW_TOKENS,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )

        return call

    return Case("gpt", demo, bare, f"`model.generate`, {NEW_TOKENS} greedy tokens")


# vision


def _classify(key: str) -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict(image(), top_k=5).info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        classify = _pipeline("image-classification", checkpoint, device, dtype)
        return lambda: classify(image(), top_k=5)

    return Case(key, demo, bare, "transformers `pipeline('image-classification')`")


def _yolo() -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict(image()).info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        from demos.vision.yolo import weights as yolo_weights

        yolo_weights.configure_ultralytics()  # offline and weights-only, as the demo runs it
        from ultralytics import YOLO

        from demos.vision.yolo import engines

        if _engine("yolo", device) == engines.ONNX_RUNTIME:  # the export the demo made and ran
            model, half = YOLO(str(engines.export_onnx(checkpoint)), task="detect"), False
        else:
            model, half = YOLO(str(checkpoint)), dtype == torch.float16
        bgr = np.ascontiguousarray(np.asarray(image())[:, :, ::-1])  # ultralytics reads BGR
        return lambda: model.predict(
            bgr, imgsz=640, conf=0.25, iou=0.7, device=str(device), half=half, verbose=False
        )

    baseline = (
        "ultralytics `YOLO(path).predict` on the default engine's file: the gallery's own ONNX "
        "export on CPU (ONNX Runtime), the `.pt` elsewhere"
    )
    return Case("yolo", demo, bare, baseline)


# speech


def _whisper_transformers(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
    """`model.generate` on the feature extractor's output, where CTranslate2 is not the engine
    (CUDA-less builds, a checkpoint it cannot convert). Not the ASR pipeline: it passes no
    attention mask, so `generate` takes the padding after a short clip for audio and decodes a
    second window (twice the demo's work)."""
    from transformers import AutoProcessor, WhisperForConditionalGeneration

    processor = AutoProcessor.from_pretrained(checkpoint)
    model = WhisperForConditionalGeneration.from_pretrained(checkpoint, dtype=dtype)
    model = model.to(device).eval()

    def call() -> Any:
        features = processor.feature_extractor(
            whisper_clip(),
            sampling_rate=SAMPLE_RATE,
            return_tensors="pt",
            return_attention_mask=True,
        )
        with torch.inference_mode():
            ids = model.generate(
                input_features=features["input_features"].to(device, dtype),
                attention_mask=features["attention_mask"].to(device),
                return_timestamps=True,
                task="transcribe",
                language="en",
            )
        return processor.batch_decode(ids, skip_special_tokens=True)

    return call


def _whisper() -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict((SAMPLE_RATE, whisper_clip()), task="transcribe", language="en").info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        from demos.core import registry
        from demos.speech.whisper import ct2
        from demos.speech.whisper.convert import converted

        if _engine("whisper", device) != ct2.ENGINE:
            return _whisper_transformers(checkpoint, device, dtype)
        try:  # the folder the demo converted (cached in GALLERY_HOME: found, not redone)
            folder = converted(registry.get("whisper").checkpoint(str(checkpoint)))
        except ct2.ConversionFailed:  # the demo fell back to transformers too (a random vocab)
            return _whisper_transformers(checkpoint, device, dtype)
        from faster_whisper import WhisperModel

        model = WhisperModel(
            str(folder),
            device=device.type,
            compute_type=ct2.COMPUTE[device.type],
            cpu_threads=ct2._cpu_threads(),
        )

        def call() -> Any:
            segments, _ = model.transcribe(
                whisper_clip(), language="en", task="transcribe", **ct2.DECODING
            )
            return [s.text for s in segments]

        return call

    baseline = (
        "faster-whisper `WhisperModel(<the gallery's CTranslate2 conversion>, compute_type="
        "'int8').transcribe` with the tab's `DECODING` options (float16 on CUDA)"
    )
    return Case("whisper", demo, bare, baseline)


def _wav2vec2() -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict((SAMPLE_RATE, speech())).info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        asr = _pipeline("automatic-speech-recognition", checkpoint, device, dtype)
        return lambda: asr({"raw": speech().copy(), "sampling_rate": SAMPLE_RATE})

    return Case("wav2vec2", demo, bare, "transformers ASR `pipeline`")


def _deepspeech() -> Case:
    def demo(module: ModuleType) -> Any:
        return module.predict((SAMPLE_RATE, speech())).info

    def bare(checkpoint: Path, device: torch.device, dtype: torch.dtype) -> Bare:
        from demos.speech.deepspeech.graph import DeepSpeechModel

        model = DeepSpeechModel(checkpoint)
        pcm = np.round(speech() * 32767).astype(np.int16)  # the graph's int16 samples
        return lambda: model.transcribe(pcm)

    return Case("deepspeech", demo, bare, "`DeepSpeechModel.transcribe` (LiteRT)")


CASES: dict[str, Case] = {
    "bert": _fill_mask("bert", BERT_TEXT),
    "roberta": _fill_mask("roberta", ROBERTA_TEXT),
    "elmo": _elmo(),
    "transformer_xl": _transformer_xl(),
    "gpt": _gpt(),
    "mobilenet_v2": _classify("mobilenet_v2"),
    "vit": _classify("vit"),
    "yolo": _yolo(),
    "whisper": _whisper(),
    "wav2vec2": _wav2vec2(),
    "deepspeech": _deepspeech(),
}
