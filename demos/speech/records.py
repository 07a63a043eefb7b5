"""The speech family's records for the registry (`demos.core.registry`), in tab order.

A record is data: where the weights live, how the model may run, where it came from. Adding a
model to this family means one record here and one module or package beside this file.
"""

from __future__ import annotations

from demos.core.spec import PYTORCH, Checkpoint, DemoSpec, Engine, ModelCard

RECORDS: tuple[DemoSpec, ...] = (
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
        # CTranslate2 (faster-whisper) int8 on the CPU: 8.5 s against transformers' 26.6 s on a
        # 157 s passage here; float16 on CUDA. The transformers model stays selectable.
        engines=(
            Engine(
                key="ctranslate2",
                label="CTranslate2 (faster-whisper)",
                devices=("cuda", "cpu"),
                precision=(("cuda", "float16"), ("cpu", "int8")),
                package="faster_whisper",
            ),
            PYTORCH,
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
        engines=(
            Engine(
                key="litert",
                label="LiteRT (TFLite), on the CPU",
                precision=(("cuda", "float32"), ("mps", "float32"), ("cpu", "float32")),
                package="ai_edge_litert",
            ),
        ),
    ),
)
