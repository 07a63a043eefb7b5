"""The gallery's registry: one typed record per demo, in tab order.

The records are the single source for the app's tabs, the tests and the README's model table
(`python -m demos.core.registry` prints that table). Like timm's `PretrainedCfg`, a record says
where the weights live and where the model came from; the demo module named in `module` says how
to run it. This file imports nothing heavy, so the app can list every demo even when one module
fails to import.
"""

from __future__ import annotations

from demos.core.spec import (
    FAMILIES,
    PYTORCH,
    Checkpoint,
    DemoSpec,
    Engine,
    Family,
    ModelCard,
)

__all__ = ["FAMILIES", "REGISTRY", "Checkpoint", "DemoSpec", "Engine", "Family", "ModelCard"]


# the records, in tab order

_SPECS: tuple[DemoSpec, ...] = (
    DemoSpec(
        key="bert",
        title="BERT",
        family="language",
        module="demos.language.bert",
        card=ModelCard(
            authors="Jacob Devlin, Ming-Wei Chang, Kenton Lee, Kristina Toutanova "
            "(Google AI Language)",
            year=2018,
            paper="BERT: Pre-training of Deep Bidirectional Transformers for Language "
            "Understanding",
            paper_url="https://arxiv.org/abs/1810.04805",
            params="110M",
            licence="Apache-2.0",
            known_for="Reading a sentence in both directions at once: it was pre-trained by hiding "
            "words and guessing them from both sides, which this tab lets you try.",
        ),
        default=Checkpoint(
            id="google-bert/bert-base-uncased",
            label="base uncased · 110M",
            revision="86b5e0934494bd15c9632b12f734a8a67f723594",
        ),
        choices=(
            Checkpoint(id="google/bert_uncased_L-4_H-256_A-4", label="mini · 11M"),
            Checkpoint(id="google-bert/bert-large-uncased", label="large uncased · 340M"),
            Checkpoint(id="google-bert/bert-base-multilingual-cased", label="multilingual · 178M"),
        ),
    ),
    DemoSpec(
        key="roberta",
        title="RoBERTa",
        family="language",
        module="demos.language.roberta",
        card=ModelCard(
            authors="Yinhan Liu, Myle Ott, Naman Goyal et al. (Facebook AI)",
            year=2019,
            paper="RoBERTa: A Robustly Optimized BERT Pretraining Approach",
            paper_url="https://arxiv.org/abs/1907.11692",
            params="125M",
            licence="MIT",
            known_for="BERT's recipe trained longer, on ten times the text, with dynamic masking "
            "and no next-sentence task: the same guessing game, played better.",
        ),
        default=Checkpoint(
            id="FacebookAI/roberta-base",
            label="base · 125M",
            revision="e2da8e2f811d1448a5b465c236feacd80ffbac7b",
        ),
        choices=(
            Checkpoint(id="distilbert/distilroberta-base", label="distilled · 82M"),
            Checkpoint(id="FacebookAI/roberta-large", label="large · 355M"),
        ),
    ),
    DemoSpec(
        key="elmo",
        title="ELMo",
        family="language",
        module="demos.language.elmo.tab",
        card=ModelCard(
            authors="Matthew E. Peters, Mark Neumann, Mohit Iyyer, Matt Gardner, Christopher "
            "Clark, Kenton Lee, Luke Zettlemoyer (AI2, University of Washington)",
            year=2018,
            paper="Deep contextualized word representations",
            paper_url="https://arxiv.org/abs/1802.05365",
            params="93.6M",
            licence="Apache-2.0 (AllenNLP)",
            known_for="Word vectors that depend on the sentence: a character CNN feeds two "
            "bidirectional LSTM layers trained as a language model, so one word gets a different "
            "vector in each context. This tab measures how different, layer by layer.",
        ),
        default=Checkpoint(
            id="lysandre/elmo-2x4096_512_2048cnn_2xhighway",
            label="original · 2x4096 LSTM · 93.6M",
            revision="20d7005306acf8a4f3654740c63bafbff99ecc1b",
        ),
        choices=(
            Checkpoint(
                id="https://s3-us-west-2.amazonaws.com/allennlp/models/elmo/"
                "2x1024_128_2048cnn_1xhighway/elmo_2x1024_128_2048cnn_1xhighway_options.json",
                label="small · 2x1024 LSTM · 13.6M",
            ),
        ),
        # float32 only: the LSTM's cell and projection clipping was trained in float32.
        half_precision=False,
    ),
    DemoSpec(
        key="transformer_xl",
        title="Transformer-XL",
        family="language",
        module="demos.language.transformer_xl.tab",
        card=ModelCard(
            authors="Zihang Dai, Zhilin Yang, Yiming Yang, Jaime Carbonell, Quoc V. Le, "
            "Ruslan Salakhutdinov (Carnegie Mellon University, Google Brain)",
            year=2019,
            paper="Transformer-XL: Attentive Language Models Beyond a Fixed-Length Context",
            paper_url="https://arxiv.org/abs/1901.02860",
            params="285M",
            licence="unspecified on the hub card; original code Apache-2.0; trained on "
            "WikiText-103 (CC BY-SA 3.0)",
            known_for="A word-level language model that reads text in segments and keeps each "
            "layer's states of the previous segments as a memory (segment-level recurrence with "
            "relative positions), so its context reaches far past one segment. This tab "
            "continues a text word by word, and reads a long passage twice, memory carried and "
            "memory reset, to show what the memory is worth.",
        ),
        default=Checkpoint(
            id="transfo-xl/transfo-xl-wt103",
            label="WikiText-103 · 18 layers · 285M",
            revision="40a186da79458c9f9de846edfaea79c412137f97",
        ),
        # float32 only: fp16 was never checked for the adaptive softmax's log-probabilities
        # (267,735 words in four clusters) or the 1,600-step memory; the gallery's code runs fp32.
        half_precision=False,
    ),
    DemoSpec(
        key="gpt",
        title="GPT-4",
        family="language",
        module="demos.language.gpt.tab",
        card=ModelCard(
            authors="OpenAI",
            year=2023,
            paper="GPT-4 Technical Report",
            paper_url="https://arxiv.org/abs/2303.08774",
            params="undisclosed",
            licence="proprietary (OpenAI API terms of use)",
            known_for="A chat model that also reads images (photos, charts, screenshots of web "
            "pages), served only through OpenAI's API. With OPENAI_API_KEY set this tab talks to "
            "the API; without one, small open GPT-style models stand in on this machine: "
            "Qwen2.5-0.5B-Instruct for text, SmolVLM-256M-Instruct for images (both Apache-2.0).",
        ),
        # The checkpoints are the local stand-ins (GPT-4's weights are not published); the image
        # model's sizes live in demos/language/gpt/local.py (GALLERY_GPT_VISION_MODEL).
        default=Checkpoint(
            id="Qwen/Qwen2.5-0.5B-Instruct",
            label="local stand-in: Qwen2.5 0.5B Instruct · 494M",
            revision="7ae557604adf67be50417f59c2c2f167def9a775",
        ),
        choices=(
            Checkpoint(
                id="Qwen/Qwen2.5-1.5B-Instruct",
                label="local stand-in: Qwen2.5 1.5B Instruct · 1.5B",
            ),
        ),
        # float32 only: Qwen2 in float16 can overflow to inf/NaN while sampling (it was trained in
        # bfloat16), and these stand-ins are small enough for float32 on any GPU.
        half_precision=False,
    ),
    DemoSpec(
        key="mobilenet_v2",
        title="MobileNetV2",
        family="vision",
        module="demos.vision.mobilenet_v2",
        card=ModelCard(
            authors="Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, "
            "Liang-Chieh Chen (Google)",
            year=2018,
            paper="MobileNetV2: Inverted Residuals and Linear Bottlenecks",
            paper_url="https://arxiv.org/abs/1801.04381",
            params="3.5M",
            licence="Apache-2.0 (TensorFlow models release)",
            known_for="ImageNet classification small and fast enough for a phone: inverted "
            "residual blocks of depthwise convolutions.",
        ),
        default=Checkpoint(id="google/mobilenet_v2_1.0_224", label="1.0 · 224 px · 3.5M"),
        choices=(
            Checkpoint(id="google/mobilenet_v2_0.35_96", label="0.35 · 96 px · 1.7M"),
            Checkpoint(id="google/mobilenet_v2_0.75_160", label="0.75 · 160 px · 2.6M"),
            Checkpoint(id="google/mobilenet_v2_1.4_224", label="1.4 · 224 px · 6.1M"),
        ),
        # The float model answers by default; Google's uint8 TFLite release (LiteRT, always on
        # the CPU) is the phone's form of the same network, there to be compared.
        engines=(
            PYTORCH,
            Engine(
                key="litert",
                label="LiteRT int8 (TFLite)",
                precision=(("cuda", "uint8"), ("mps", "uint8"), ("cpu", "uint8")),
                package="ai_edge_litert",
            ),
        ),
    ),
    DemoSpec(
        key="vit",
        title="Vision Transformer",
        family="vision",
        module="demos.vision.vit",
        card=ModelCard(
            authors="Alexey Dosovitskiy, Lucas Beyer, Alexander Kolesnikov et al. "
            "(Google Research)",
            year=2020,
            paper="An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
            paper_url="https://arxiv.org/abs/2010.11929",
            params="86M",
            licence="Apache-2.0",
            known_for="A plain Transformer reading an image as a sentence of 16x16 patches; the "
            "attention map shows which patches the class token looked at.",
        ),
        default=Checkpoint(
            id="google/vit-base-patch16-224",
            label="base · 16 px patches · 86M",
            revision="3f49326eb077187dfe1c2a2bb15fbd74e6ab91e3",
        ),
        choices=(
            Checkpoint(id="google/vit-base-patch32-384", label="base · 32 px patches · 88M"),
            Checkpoint(id="google/vit-large-patch16-224", label="large · 16 px patches · 304M"),
        ),
    ),
    DemoSpec(
        key="yolo",
        title="YOLO",
        family="vision",
        module="demos.vision.yolo.tab",
        card=ModelCard(
            authors="Glenn Jocher, Jing Qiu (Ultralytics)",
            year=2026,
            paper="You Only Look Once: Unified, Real-Time Object Detection (Redmon et al., 2015)",
            paper_url="https://arxiv.org/abs/1506.02640",
            params="2.4M",
            licence="AGPL-3.0",
            known_for="Object detection in one pass of one network, fast enough for a webcam: "
            "boxes, classes and confidences for COCO's 80 classes. YOLO26 (January 2026) has no "
            "paper; the link is the 2015 YOLO paper by Joseph Redmon et al. that began the line.",
        ),
        default=Checkpoint(id="yolo26n.pt", label="YOLO26 nano · 2.4M"),
        choices=(
            Checkpoint(id="yolo11n.pt", label="YOLO11 nano · 2.6M"),
            Checkpoint(id="yolo26s.pt", label="YOLO26 small · 9.5M"),
            Checkpoint(id="yolo26m.pt", label="YOLO26 medium · 20.4M"),
        ),
    ),
    DemoSpec(
        key="whisper",
        title="Whisper",
        family="speech",
        module="demos.speech.whisper.tab",
        card=ModelCard(
            authors="Alec Radford, Jong Wook Kim, Tao Xu, Greg Brockman, Christine McLeavey, "
            "Ilya Sutskever (OpenAI)",
            year=2022,
            paper="Robust Speech Recognition via Large-Scale Weak Supervision",
            paper_url="https://arxiv.org/abs/2212.04356",
            params="74M",
            licence="Apache-2.0 (weights on the Hugging Face Hub); OpenAI's code MIT",
            known_for="One encoder-decoder trained on 680,000 hours of web audio: it hears 99 "
            "languages, says which one it heard, translates them into English and times what it "
            "writes, even through noise and accents.",
        ),
        default=Checkpoint(
            id="openai/whisper-base",
            label="base · 74M",
            revision="e37978b90ca9030d5170a5c07aadb050351a65bb",
        ),
        choices=(
            Checkpoint(
                id="openai/whisper-tiny",
                label="tiny · 39M",
                revision="169d4a4341b33bc18d8881c4b69c2e104e1cc0af",
            ),
            Checkpoint(
                id="openai/whisper-small",
                label="small · 244M",
                revision="973afd24965f72e36ca33b3055d56a652f456b4d",
            ),
            Checkpoint(
                id="openai/whisper-large-v3-turbo",
                label="large-v3 turbo · 809M",
                revision="41f01f3fe87f28c78e2fbf8b568835947dd65ed9",
            ),
        ),
    ),
    DemoSpec(
        key="wav2vec2",
        title="Wav2Vec 2.0",
        family="speech",
        module="demos.speech.wav2vec2",
        card=ModelCard(
            authors="Alexei Baevski, Henry Zhou, Abdelrahman Mohamed, Michael Auli (Facebook AI)",
            year=2020,
            paper="wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations",
            paper_url="https://arxiv.org/abs/2006.11477",
            params="95M",
            licence="Apache-2.0",
            known_for="Learned speech from raw, unlabelled audio first, then needed little "
            "transcribed speech: a letter (or a blank) for every 20 ms frame, which the plot here "
            "shows turning into words.",
        ),
        default=Checkpoint(
            id="facebook/wav2vec2-base-960h",
            label="base · 960 h LibriSpeech · 95M",
            revision="22aad52d435eb6dbaf354bdad9b0da84ce7d6156",
        ),
        choices=(
            Checkpoint(
                id="facebook/wav2vec2-large-960h-lv60-self",
                label="large · LibriVox 60k h + self-training · 317M",
            ),
        ),
    ),
    DemoSpec(
        key="deepspeech",
        title="DeepSpeech",
        family="speech",
        module="demos.speech.deepspeech.tab",
        card=ModelCard(
            authors="Reuben Morais, Mozilla's DeepSpeech team",
            year=2020,
            paper="Deep Speech: Scaling up end-to-end speech recognition (Hannun et al., 2014)",
            paper_url="https://arxiv.org/abs/1412.5567",
            params="47M",
            licence="MPL-2.0",
            known_for="Mozilla's open answer to cloud speech recognition: one recurrent network "
            "from sound to letters, small enough to transcribe offline, as you speak, even on a "
            "Raspberry Pi; a KenLM language model can steer its spelling. Coqui STT carried it "
            "on. Model 0.9.3, released December 2020.",
        ),
        default=Checkpoint(
            id="https://github.com/mozilla/DeepSpeech/releases/download/v0.9.3/"
            "deepspeech-0.9.3-models.tflite",
            label="Mozilla DeepSpeech 0.9.3 · 47M",
        ),
        choices=(
            Checkpoint(
                id="https://github.com/coqui-ai/STT-models/releases/download/english/coqui/"
                "v0.9.3/model.tflite",
                label="Coqui STT English 0.9.3 · 47M",
            ),
        ),
        half_precision=False,  # LiteRT runs the graph in float32 on the CPU whatever the device
    ),
)

REGISTRY: dict[str, DemoSpec] = {spec.key: spec for spec in _SPECS}


# helpers


def get(key: str) -> DemoSpec:
    """The record for `key`; a KeyError lists the keys that exist."""
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"no demo {key!r}; known: {', '.join(REGISTRY)}") from None


def by_family(family: Family) -> list[DemoSpec]:
    return [spec for spec in REGISTRY.values() if spec.family == family]


def markdown_table() -> str:
    """The README's model table, generated from the records."""
    rows = [
        "| Tab | Family | Default checkpoint | Other sizes | Params | Paper | Licence |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in REGISTRY.values():
        card = spec.card
        others = ", ".join(f"`{c.id}`" for c in spec.choices) or "–"
        rows.append(
            f"| {spec.title} (`/{spec.key}`) | {spec.family} | `{spec.default.id}` | {others} "
            f"| {card.params} | [{card.paper}]({card.paper_url}) | {card.licence} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
