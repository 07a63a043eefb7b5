"""DeepSpeech tab: endpoint vs bare runner, live chunks, beam search with a KenLM scorer, files.

The model is the tiny DeepSpeech-shaped `.tflite` (random weights: gibberish, so only plumbing
and exactness are under test); `tiny.scorer` beside it is a real KenLM binary of the hand-written
`tiny.arpa` with DeepSpeech's trailer, built by tools/make_deepspeech_scorer.py.
"""

from __future__ import annotations

import itertools
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from gradio_client import handle_file

from demos.core import registry
from demos.core.errors import BadInput, ModelUnavailable
from demos.media import audio
from demos.speech.deepspeech import files as deepspeech_files
from demos.speech.deepspeech import tab as deepspeech
from demos.speech.deepspeech.graph import DEFAULT_ALPHABET, DeepSpeechModel, greedy_decode
from demos.speech.deepspeech.live import StreamResampler
from demos.speech.deepspeech.pipeline import DeepSpeechASR
from demos.speech.deepspeech.scorer import BeamSearchDecoder, ScorerError, read_scorer
from tests.deepspeech_tiny import FIXTURE, synthetic_clip, tiny_model_path

SPEC = registry.get("deepspeech")
SCORER, ARPA = FIXTURE.with_name("tiny.scorer"), FIXTURE.with_name("tiny.arpa")
VOCABULARY = {"a", "cat", "hat", "mat", "on", "sat", "the"}  # the unigrams of tiny.arpa
K = len(DEFAULT_ALPHABET) + 1  # classes: labels + CTC blank (last)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setenv(SPEC.env_var, str(tiny_model_path()))
    monkeypatch.setenv("GALLERY_HOME", str(tmp_path / "gallery-home"))  # an empty cache
    monkeypatch.delenv(deepspeech_files.SCORER_ENV, raising=False)
    return DeepSpeechModel(tiny_model_path())


def pcm16(samples: np.ndarray) -> np.ndarray:
    """demos.media.audio's float samples back to the int16 the runner takes (x * 2^15, rounded)."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def frames(spec: list) -> np.ndarray:
    """Per-frame probabilities [T, K]: each item a letter (p = 0.9) or {letter: p}, then a blank."""
    rows = []
    for item in spec:
        row = np.full(K, 1e-3)
        for letter, p in ({item: 0.9} if isinstance(item, str) else item).items():
            row[DEFAULT_ALPHABET.index(letter)] = p
        blank = np.full(K, 1e-3)
        blank[-1] = 0.95
        rows += [row / row.sum(), blank / blank.sum()]
    return np.array(rows, np.float32)


# through the endpoints


def test_endpoint_transcript_is_the_bare_models_on_the_normalised_audio(
    gallery_client, tiny, tmp_path
):
    clip = synthetic_clip(2.5, seed=3).astype(np.float32) / 32768
    stereo = np.stack([clip, 0.5 * clip], axis=1)
    path = tmp_path / "stereo-44k.wav"  # resampled and downmixed on the way in
    sf.write(path, audio.resample(stereo.T.copy(), 16_000, 44_100).T, 44_100, subtype="FLOAT")
    text, info = gallery_client.predict(
        handle_file(str(path)), "greedy", 100, "", api_name="/deepspeech"
    )
    expected = tiny.transcribe(pcm16(audio.load_audio(str(path)).samples))
    assert text == expected and text
    assert info["checkpoint"] == str(tiny_model_path())
    assert (info["device"], info["dtype"], info["decoder"]) == ("cpu (LiteRT)", "float32", "greedy")
    assert info["audio_s"] == pytest.approx(2.5, abs=0.01)
    assert info["real_time_factor"] == pytest.approx(
        info["speed_ms"]["inference"] / 1000 / info["audio_s"], rel=0.05, abs=1e-3
    )
    assert info["frames"] == 2.5 * 50 and info["params"] > 0  # one frame per 20 ms


def test_real_speech_runs_through(gallery_client, tiny, shared_dir):
    wav = shared_dir / "media" / "LDC93S1.wav"
    text, _ = gallery_client.predict(
        handle_file(str(wav)), "greedy", 100, "", api_name="/deepspeech"
    )
    samples, rate = sf.read(wav, dtype="int16")
    assert rate == 16_000 and text == tiny.transcribe(samples) and text  # gibberish, but the same


def test_beam_search_through_the_endpoint_writes_only_scorer_words(gallery_client, tiny):
    wav = handle_file(str(FIXTURE.parents[3] / "assets" / "speech-en-library.wav"))
    text, info = gallery_client.predict(wav, "beam", 16, "", api_name="/deepspeech")
    package = read_scorer(SCORER)
    assert info["decoder"] == "beam" and info["beam"]["scorer"] == "tiny.scorer"
    assert info["beam"]["alpha"] == pytest.approx(package.alpha, abs=1e-4)
    assert info["beam"]["beta"] == pytest.approx(package.beta, abs=1e-4)
    assert info["beam"]["width"] == 16 and info["beam"]["vocabulary"] == len(VOCABULARY)
    assert text and set(text.split()) <= VOCABULARY  # random weights, but real words only
    assert set(info["greedy_text"].split()) - VOCABULARY  # while greedy spells gibberish


def test_live_chunks_through_the_api_give_the_whole_clip_transcript(gallery_client, tiny, tmp_path):
    clip = synthetic_clip(2.0, seed=5)
    path = tmp_path / "whole.wav"
    sf.write(path, clip, 16_000, subtype="PCM_16")
    whole, _ = gallery_client.predict(
        handle_file(str(path)), "greedy", 100, "", api_name="/deepspeech"
    )
    cuts = [0, 700, 5_000, 5_001, 13_000, 24_321, len(clip)]
    partials = []
    for i, (start, stop) in enumerate(itertools.pairwise(cuts)):
        chunk = tmp_path / f"chunk{i}.wav"
        sf.write(chunk, clip[start:stop], 16_000, subtype="PCM_16")
        text, info = gallery_client.predict(
            handle_file(str(chunk)), "greedy", 100, "", False, api_name="/deepspeech_stream"
        )
        partials.append(text)
    final, info = gallery_client.predict(
        None, "greedy", 100, "", True, api_name="/deepspeech_stream"
    )
    assert final == whole
    assert all(whole.startswith(p) for p in partials) and partials[-1]  # it grew as audio came
    assert info["audio_s"] == pytest.approx(2.0, abs=0.01) and info["real_time_factor"] > 0


def test_missing_weights_offline_and_bad_inputs_are_messages(gallery_client, tiny, tmp_path):
    speech = handle_file(str(FIXTURE.parents[3] / "assets" / "speech-en-library.wav"))
    for checkpoint in (SPEC.default.id, "/no/such/deepspeech.tflite"):
        with pytest.raises(Exception) as err:
            gallery_client.predict(speech, "greedy", 100, checkpoint, api_name="/deepspeech")
        message = str(err.value)
        assert checkpoint in message and SPEC.env_var in message
        assert "python -m demos.core.download deepspeech" in message
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32_000, np.int16), 16_000)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3\x03\x00\x00\x00 definitely not an mp3" * 10)
    cases = [
        (handle_file(str(silent)), "greedy", 100, "silent"),
        (handle_file(str(corrupt)), "greedy", 100, "could not be read"),
        (speech, "viterbi", 100, "viterbi"),  # Gradio's own check of the radio's choices
        (speech, "beam", 0, "less than minimum value 1"),  # Gradio's check of the slider
    ]
    for clip, decoder, width, message in cases:
        with pytest.raises(Exception, match=message):
            gallery_client.predict(clip, decoder, width, "", api_name="/deepspeech")


def test_beam_search_without_a_scorer_says_how_to_get_one(gallery_client, tiny, tmp_path):
    alone = tmp_path / "model" / "tiny.tflite"
    alone.parent.mkdir()
    shutil.copy(tiny_model_path(), alone)
    speech = handle_file(str(FIXTURE.parents[3] / "assets" / "speech-en-library.wav"))
    with pytest.raises(Exception, match=deepspeech_files.SCORER_ENV) as err:
        gallery_client.predict(speech, "beam", 10, str(alone), api_name="/deepspeech")
    assert "greedy decoding works without it" in str(err.value)
    text, _ = gallery_client.predict(speech, "greedy", 10, str(alone), api_name="/deepspeech")
    assert text


def test_an_alphabet_txt_beside_the_model_wins_over_its_metadata(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(tiny_model_path(), folder / "tiny.tflite")
    upper = " \n" + "\n".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + "\n'\n"
    (folder / "alphabet.txt").write_text(upper, encoding="utf-8")
    checkpoint = registry.Checkpoint(id=str(folder), label="")
    assert deepspeech_files.resolve(checkpoint).alphabet == folder / "alphabet.txt"
    pipe = DeepSpeechASR.load(checkpoint, torch.device("cpu"), torch.float32)
    assert pipe.model.alphabet[1:4] == ("A", "B", "C")  # not the embedded lower-case one
    assert pipe.language == "not stated in the model's metadata; its alphabet is Latin"


# live, in Python


def test_uneven_16k_chunks_give_exactly_the_whole_clip_transcript(tiny):
    clip = synthetic_clip(3.0, seed=7)
    whole = deepspeech.predict((16_000, clip))
    token, texts = None, []
    for start, stop in itertools.pairwise([0, 1, 319, 320, 8_000, 8_513, 30_000, len(clip)]):
        update = deepspeech.live_step(token, (16_000, clip[start:stop]))
        token = update.token
        texts.append(update.text)
    final = deepspeech.live_finish(token)
    assert final.text == whole.text == tiny.transcribe(clip)
    assert [len(t) for t in texts] == sorted(len(t) for t in texts)
    assert final.info["audio_s"] == pytest.approx(3.0)
    # The recording went through the pipeline's stream: its stages were timed there
    assert {"preprocess", "inference", "postprocess"} <= set(final.info["speed_ms"])
    # A chunk the browser sends after "stop" does not reopen the finished recording
    assert deepspeech.live_step(token, (16_000, clip[:4000])).text == final.text
    empty = deepspeech.live_step(None, None)
    with pytest.raises(BadInput, match="Nothing was recorded"):
        deepspeech.live_finish(empty.token)


def test_live_chunks_hold_the_model_lock_one_model_call_at_a_time(tiny, monkeypatch):
    clip = synthetic_clip(2.0, seed=9)
    pipe, _ = deepspeech._load(registry.get("deepspeech").checkpoint(None))
    steps: list[int] = []
    original = pipe.forward_steps

    def counted(batch):
        for outputs in original(batch):
            assert pipe._lock.locked()  # each step runs under the pipeline's lock
            steps.append(len(outputs["probs"]))
            yield outputs

    monkeypatch.setattr(pipe, "forward_steps", counted)
    update = deepspeech.live_step(None, (16_000, clip))  # 2 s in one chunk: 100 frames
    assert steps == sorted(steps) and len(steps) == 7  # 6 calls of 16 frames, then the rest
    final = deepspeech.live_finish(update.token).text
    assert final == tiny.transcribe(clip) and final.startswith(update.text)


@pytest.mark.parametrize("rate", [48_000, 44_100, 8_000])
def test_chunked_resampling_matches_one_pass(rate):
    rng = np.random.default_rng(rate)
    x = rng.normal(0.0, 0.2, rate * 2).astype(np.float32)
    edges = [0, *sorted(rng.integers(0, len(x), 20).tolist()), len(x)]
    resampler = StreamResampler(rate)
    pieces = [resampler.push(x[a:b]) for a, b in itertools.pairwise(edges)]
    chunked = np.concatenate([*pieces, resampler.finish()])
    whole = audio.resample(x, rate)
    assert chunked.shape == whole.shape
    # The same arithmetic up to float rounding: at most one int16 step apart
    assert np.abs(chunked - whole).max() < 1e-6
    assert np.abs(pcm16(chunked).astype(int) - pcm16(whole)).max() <= 1


# beam search and the scorer format


def test_scorer_header_vocabulary_and_kenlm_part_are_read():
    package = read_scorer(SCORER)
    data = SCORER.read_bytes()
    assert (
        data.startswith(b"mmap lm http://kheafield.com/code")
        and data[package.lm_bytes :][:4] == b"EIRT"
    )
    version, utf8, alpha, beta = struct.unpack_from("<iBdd", data, package.lm_bytes + 4)
    assert (version, utf8, package.utf8) == (6, 0, False)
    assert (package.alpha, package.beta) == (alpha, beta)
    words = {"".join(DEFAULT_ALPHABET[i] for i in s) for s in package.spellings}
    assert words == VOCABULARY and package.word_end == DEFAULT_ALPHABET.index(" ")


def test_the_language_model_fixes_spelling_and_reads_context():
    from_scorer = BeamSearchDecoder.from_scorer(SCORER, DEFAULT_ALPHABET)
    from_arpa = BeamSearchDecoder.from_words(  # the same LM as text, loaded by KenLM too
        ARPA, sorted(VOCABULARY), DEFAULT_ALPHABET, alpha=from_scorer.alpha, beta=from_scorer.beta
    )
    typo = frames([*"the c", {"e": 0.5, "a": 0.4}, "t"])
    assert greedy_decode(typo, DEFAULT_ALPHABET) == "the cet"
    c_or_h = {"c": 0.45, "h": 0.45}  # acoustically a tie: the bigrams decide
    for decoder in (from_scorer, from_arpa):
        assert decoder.decode(typo, 20) == "the cat"
        assert decoder.decode(frames([*"the ", c_or_h, "a", "t"]), 20) == "the cat"
        assert decoder.decode(frames([*"a ", c_or_h, "a", "t"]), 20) == "a hat"
        assert decoder.decode(np.zeros((0, K), np.float32)) == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d, at: d[:at] + b"EIRT" + struct.pack("<i", 5) + d[at + 8 :], "version 5"),
        (lambda d, at: d[: at + 8] + b"\x01" + d[at + 9 :], "bytes-output"),
        (lambda d, at: d[:-16], "truncated"),
        (lambda d, at: d[:at], "no DeepSpeech vocabulary trie"),
        (lambda d, at: ARPA.read_bytes(), "does not start with a KenLM binary"),
    ],
)
def test_broken_scorers_are_refused_with_the_reason(tmp_path, change, message):
    data = SCORER.read_bytes()
    broken = tmp_path / "broken.scorer"
    broken.write_bytes(change(data, read_scorer(SCORER).lm_bytes))
    with pytest.raises(ScorerError, match=message):
        read_scorer(broken)


def test_options_are_checked():
    assert deepspeech.check_options("Beam ", "7") == ("beam", 7)
    with pytest.raises(BadInput, match="must be 'greedy' or 'beam'"):
        deepspeech.check_options("viterbi", 10)
    with pytest.raises(BadInput, match="whole number"):
        deepspeech.check_options("beam", "wide")
    with pytest.raises(BadInput, match="from 1 to 1024"):
        deepspeech.check_options("beam", 5000)


def test_a_scorer_for_another_alphabet_is_refused():
    with pytest.raises(ScorerError, match="another model"):
        BeamSearchDecoder.from_scorer(SCORER, DEFAULT_ALPHABET[1:])  # no space at label 0


# files: downloads, sizes, checksums


def test_downloads_record_a_checksum_and_catch_changes(tiny, monkeypatch):
    from demos.core import weights

    fetched = []

    def fake_network(url, output_file, part):  # what the server would send, without a server
        Path(output_file).write_bytes(tiny_model_path().read_bytes())
        fetched.append(url)

    monkeypatch.setattr(weights, "_resuming_download", fake_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    coqui = deepspeech_files.COQUI_MODEL
    folder = deepspeech.download(registry.Checkpoint(id=coqui, label="coqui"))
    model = deepspeech_files.cached_path(coqui)
    assert str(model.parent) == folder and model.is_relative_to(deepspeech_files.cache_dir())
    recorded = model.with_name(model.name + ".sha256").read_text().strip()
    assert recorded == weights.sha256(model) and fetched == [coqui]
    assert deepspeech_files.resolve(registry.Checkpoint(id=coqui, label="")).model == model
    model.write_bytes(model.read_bytes()[:-1] + b"\0")  # changed on disk
    with pytest.raises(ModelUnavailable, match="changed since it was downloaded"):
        deepspeech_files.resolve(registry.Checkpoint(id=coqui, label=""))
    # Mozilla's model has a known size: a download of another size is not kept
    with pytest.raises(OSError, match="47,331,784"):
        deepspeech_files.ensure(deepspeech_files.MOZILLA_MODEL)
    assert not deepspeech_files.cached_path(deepspeech_files.MOZILLA_MODEL).exists()
    with pytest.raises(ModelUnavailable, match="only the release files"):
        deepspeech_files.ensure("https://example.com/evil/../../model.tflite")


# a real browser's microphone (Chromium's fake capture device playing a file)


@pytest.mark.browser
def test_live_panel_in_a_browser_streams_then_decodes_with_the_scorer(
    gallery_client, tiny, tmp_path
):
    chromium = "/usr/bin/chromium"
    if not shutil.which(chromium):
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    wav = tmp_path / "voice.wav"
    sf.write(wav, synthetic_clip(8.0, seed=4), 16_000, subtype="PCM_16")
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(gallery_client.src)
        for name in ("Speech", "DeepSpeech"):
            page.get_by_role("tab", name=name, exact=True).click()
        panel = page.locator("[role=tabpanel]:visible").last
        panel.get_by_label("beam search with the KenLM scorer (language model)").check()
        live = panel.get_by_label("Live transcript")
        panel.get_by_role("button", name="Record").last.click()
        page.wait_for_function(  # the greedy transcript grows while recording
            "el => el.value.length > 0", arg=live.element_handle(), timeout=20_000
        )
        partial = live.input_value()
        panel.get_by_role("button", name="Stop").last.click()
        panel.get_by_text("Run info (JSON").last.click()  # the live panel's, a closed accordion
        panel.get_by_text('"decoder": "beam"').wait_for(timeout=20_000)
        final = live.input_value()
        browser.close()
    assert partial and set(partial.split()) - VOCABULARY  # greedy: gibberish from random weights
    assert set(final.split()) <= VOCABULARY  # the scorer's beam search: its words only
