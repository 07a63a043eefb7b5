"""The language family's records for the registry (`demos.core.registry`), in tab order.

A record is data: where the weights live, how the model may run, where it came from. Adding a
model to this family means one record here and one module or package beside this file.
"""

from __future__ import annotations

from demos.core.spec import Checkpoint, DemoSpec, ModelCard

RECORDS: tuple[DemoSpec, ...] = (
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
)
