"""Whisper on CTranslate2 (`ct2`, `convert`), real weights: right answers, one conversion.

`whisper-base` (a Hugging Face folder) is converted by the gallery's own code into a temporary
`$GALLERY_HOME`, once per session; `whisper-base-ct2` (faster-whisper's float16 release) is used
as it is. Skips, saying why, where ../shared or a model is missing. Slow: a conversion takes about
5 s on two cores, a jfk.wav pass one to two.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import jiwer
import pytest
import torch

from demos.core.errors import BadInput
from demos.core.registry import Checkpoint
from demos.speech.whisper import convert, ct2

pytestmark = pytest.mark.slow

JFK = (
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do "
    "for your country."
)
CPU = torch.device("cpu")


# helpers


def normalised(text: str) -> str:
    """Lower-cased, punctuation removed (apostrophes kept), single spaces."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalised(reference), normalised(hypothesis) or "-")


def checkpoint(path: Path) -> Checkpoint:
    return Checkpoint(id=str(path), label=path.name)


# fixtures


@pytest.fixture(scope="session")
def converted_home(realweight, tmp_path_factory) -> Path:
    """A GALLERY_HOME in which the gallery converted whisper-base (once per session)."""
    home = tmp_path_factory.mktemp("gallery-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALLERY_HOME", str(home))
        convert.converted(checkpoint(realweight("whisper-base")))
    return home


@pytest.fixture(scope="session")
def base(realweight, converted_home) -> ct2.WhisperCT2:
    """whisper-base on CTranslate2 (int8), loaded from the gallery's converted copy."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALLERY_HOME", str(converted_home))
        return ct2.WhisperCT2.load(checkpoint(realweight("whisper-base")), CPU)


# conversion


def test_conversion_is_cached_under_the_gallery_home(realweight, converted_home, monkeypatch):
    monkeypatch.setenv("GALLERY_HOME", str(converted_home))
    root = converted_home / convert.CACHE
    (folder,) = [p for p in root.iterdir()]  # no `.part` left beside it
    assert folder.name.startswith("whisper-base-") and convert.is_ct2_folder(folder)
    assert {"model.bin", "tokenizer.json", "preprocessor_config.json"} <= {
        p.name for p in folder.iterdir()
    }
    meta = (folder / convert.SIDECAR).read_text()
    assert '"stored": "float16"' in meta and '"n_params": 72593920' in meta
    stamp = (folder / "model.bin").stat().st_mtime_ns
    progress: list[str] = []
    again = convert.converted(
        checkpoint(realweight("whisper-base")), lambda _f, message: progress.append(message)
    )
    assert again == folder and (folder / "model.bin").stat().st_mtime_ns == stamp
    assert progress == []  # found, not converted again


def test_a_ct2_folder_is_used_as_it_is(realweight, media, tmp_path, monkeypatch):
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path))
    folder = realweight("whisper-base-ct2")
    assert convert.converted(checkpoint(folder)) == folder
    pipe = ct2.WhisperCT2.load(checkpoint(folder), CPU)
    ct2.warm_up(pipe.model)  # what a load on CUDA runs, to find cuBLAS before a request
    fields, _ = pipe(str(media("jfk.wav")))
    assert wer(JFK, fields["text"]) <= 0.05, fields["text"]
    assert not (tmp_path / convert.CACHE).exists()  # nothing converted, nothing written


@pytest.mark.gpu
def test_float16_on_cuda(realweight, media):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    # A CTranslate2 wheel that cannot find its CUDA libraries fails here, saying which.
    pipe = ct2.WhisperCT2.load(checkpoint(realweight("whisper-base-ct2")), torch.device("cuda"))
    assert pipe.dtype == "float16"
    fields, _ = pipe(str(media("jfk.wav")), word_timestamps=True)
    assert wer(JFK, fields["text"]) <= 0.05, fields["text"]
    assert fields["languages"][0]["language"] == "en"


# answers


def test_jfk_with_language_probabilities_and_word_times(base, media):
    fields, speed = base(str(media("jfk.wav")), word_timestamps=True)
    assert wer(JFK, fields["text"]) <= 0.05, fields["text"]
    assert (fields["language"], fields["language_name"]) == ("en", "English")
    assert fields["language_detected"] is True
    top = fields["languages"]
    assert len(top) == 5 and top[0]["language"] == "en", top
    assert top[0]["probability"] > 0.8 and sum(t["probability"] for t in top) <= 1.0, top
    assert [t["probability"] for t in top] == sorted((t["probability"] for t in top), reverse=True)
    americans = [w for w in fields["words"] if "Americans" in w["word"]]
    assert americans and 1.3 <= americans[0]["start"] <= 2.1, fields["words"]
    assert all(type(w["start"]) is float for w in fields["words"])
    assert " ".join(s["text"] for s in fields["segments"]) == fields["text"]
    assert fields["duration_s"] == pytest.approx(11.0) and speed["inference"] > 0


def test_a_chosen_language_is_not_detected(base, media):
    fields, _ = base(str(media("jfk.wav")), language="English")
    assert (fields["language"], fields["language_detected"], fields["languages"]) == (
        "en",
        False,
        [],
    )
    assert wer(JFK, fields["text"]) <= 0.05


def test_translate_gives_english(base):
    import ctranslate2

    german = Path(__file__).resolve().parents[1] / "assets" / "speech-de-train.wav"
    ctranslate2.set_random_seed(0)  # a window that falls back to sampling reads the same
    fields, _ = base(str(german), task="translate", language="de")
    words = set(normalised(fields["text"]).split())
    assert fields["text"].isascii() and words & {"the", "train", "to", "from", "please"}, fields
    assert fields["task"] == "translate"


def test_english_only_checkpoint_skips_detection(realweight, media, tmp_path, monkeypatch):
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path))
    pipe = ct2.WhisperCT2.load(checkpoint(realweight("whisper-tiny.en")), CPU)
    assert not pipe.multilingual
    fields, _ = pipe(str(media("jfk.wav")))
    assert wer(JFK, fields["text"]) <= 0.1, fields["text"]
    assert (fields["language"], fields["language_detected"], fields["languages"]) == (
        "en",
        False,
        [],
    )
    with pytest.raises(BadInput, match="English-only"):
        pipe(str(media("jfk.wav")), task="translate")


def test_both_engines_hear_the_same_sentence(base, realweight, media):
    from demos.speech.whisper.pipeline import WhisperASR

    hf = WhisperASR.load(checkpoint(realweight("whisper-base")), CPU, torch.float32)
    reference, _ = hf(str(media("jfk.wav")))
    fields, _ = base(str(media("jfk.wav")))
    assert normalised(fields["text"]) == normalised(reference["text"]) == normalised(JFK)
    assert set(reference) <= set(fields), "the CTranslate2 engine answers every field"


# what cannot run says why


def test_a_folder_that_is_not_whisper_is_refused(realweight, tmp_path, monkeypatch):
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path))
    with pytest.raises(convert.ConversionFailed, match="not a Whisper checkpoint"):
        convert.converted(checkpoint(realweight("mobilenet-v2")))
    assert not (tmp_path / convert.CACHE).exists()


def test_a_tiny_whisper_is_refused_before_converting(tmp_path, monkeypatch):
    from tests.whisper_tiny import build

    monkeypatch.setenv("GALLERY_HOME", str(tmp_path / "home"))
    with pytest.raises(convert.ConversionFailed, match="faster-whisper runs Whisper's own"):
        convert.converted(checkpoint(build(tmp_path / "tiny")))
    assert not (tmp_path / "home").exists()


def test_an_unwritable_cache_is_refused_and_leaves_nothing(realweight, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    if os.access(home, os.W_OK):  # root ignores permissions: a home under a file fails for all
        home = tmp_path / "a-file"
        home.write_text("not a folder")
    monkeypatch.setenv("GALLERY_HOME", str(home))
    try:
        with pytest.raises(convert.ConversionFailed, match="cannot be written") as failed:
            convert.converted(checkpoint(realweight("whisper-base")))
        assert "GALLERY_HOME" in str(failed.value)
    finally:
        (tmp_path / "home").chmod(0o755)
    assert not any(p.name.endswith(".part") for p in tmp_path.rglob("*"))


# through the tab: the engine the record puts first, the fallback, the live panel


@pytest.fixture
def tab_on_base(realweight, converted_home, monkeypatch):
    """The Whisper tab on whisper-base, its conversion in `converted_home`, no model loaded."""
    from demos.core import runtime
    from demos.speech.whisper import tab

    monkeypatch.setenv(tab.SPEC.env_var, str(realweight("whisper-base")))
    monkeypatch.setenv("GALLERY_HOME", str(converted_home))
    runtime.CACHE.clear()
    yield tab
    runtime.CACHE.clear()


def test_the_tab_runs_ctranslate2_first_with_top_languages(tab_on_base, media):
    result = tab_on_base.predict(str(media("jfk.wav")), word_timestamps=True)
    info = result.run_info()
    assert (info["engine"], info["dtype"], info["params"]) == ("ctranslate2", "int8", 72593920)
    assert "fallback" not in info
    assert wer(JFK, result.text) <= 0.05, result.text
    assert result.languages[0]["language"] == "en" and len(result.languages) == 5
    americans = [w for w in result.words if "Americans" in w["word"]]
    assert americans and 1.3 <= americans[0]["start"] <= 2.1
    # The other engine, chosen in the menu, hears the same sentence and the same language.
    other = tab_on_base.predict(str(media("jfk.wav")), engine="pytorch")
    assert other.info.engine == "pytorch" and other.info.dtype == "float32"
    assert normalised(other.text) == normalised(result.text)
    assert [t["language"] for t in other.languages[:1]] == ["en"]
    assert abs(other.languages[0]["probability"] - result.languages[0]["probability"]) < 0.05


def test_an_unwritable_cache_falls_back_to_pytorch(tab_on_base, media, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("GALLERY_HOME under a file: no folder can be made, even by root")
    monkeypatch.setenv("GALLERY_HOME", str(blocked / "home"))
    result = tab_on_base.predict(str(media("jfk.wav")))
    info = result.run_info()
    assert info["engine"] == "pytorch", info
    assert "CTranslate2" in info["fallback"] and "cannot be written" in info["fallback"], info
    assert wer(JFK, result.text) <= 0.05, result.text


def test_live_panel_on_ctranslate2(tab_on_base, media):
    import soundfile as sf

    from demos.speech.whisper import live

    samples, rate = sf.read(media("jfk.wav"), dtype="int16")
    state = None
    for i in range(0, len(samples), 2 * rate):  # 2 s chunks, as the browser's stream arrives
        state = live.live_step(state, (rate, samples[i : i + 2 * rate]))
    state = live.live_finish(state)
    assert state.info["engine"] == "ctranslate2" and state.language == "en"
    assert wer(JFK, state.text) <= 0.1, state.text
