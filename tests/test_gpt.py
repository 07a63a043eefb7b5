"""GPT-4 tab: the OpenAI backend against a real HTTP server, the local stand-ins on tiny models.

The API tests point OPENAI_BASE_URL at `FakeOpenAI` (tests/gpt_fake_openai.py), a server on
localhost that speaks Chat Completions with server-sent events; the key is a recognisable fake
that must never come back in an answer, an error or a log line. The local tests run tiny Qwen2 and
Idefics3 (SmolVLM) models built on the fly, through GALLERY_GPT_MODEL / GALLERY_GPT_VISION_MODEL.
"""

from __future__ import annotations

import base64
import io
import itertools
import logging
import socket
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from demos.core import runtime
from demos.core.errors import BadInput
from demos.language.gpt import api as gpt_api
from demos.language.gpt import chat as gpt_chat
from demos.language.gpt import local as gpt_local
from demos.language.gpt import tab as gpt
from demos.language.gpt.chat import Turn
from tests import gpt_tiny
from tests.gpt_fake_openai import FakeOpenAI

FAKE_KEY = "sk-gallery-test-0123456789abcdefFAKEKEY"
MODEL = "gpt-test-model"
LOGGERS = ["", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "gradio", "demos"]


# fixtures


@pytest.fixture(scope="module")
def tiny_gpt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gpt")
    return {
        "text": gpt_tiny.text_model(root / "text"),
        "vision": gpt_tiny.vision_model(root / "vision"),
    }


@pytest.fixture
def local_env(tiny_gpt, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GALLERY_GPT_MODEL", str(tiny_gpt["text"]))
    monkeypatch.setenv("GALLERY_GPT_VISION_MODEL", str(tiny_gpt["vision"]))
    return tiny_gpt


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    """A fake OpenAI server the gallery is pointed at, with every logger recording at DEBUG."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_MODEL", MODEL)
        monkeypatch.setenv("GALLERY_GPT_TIMEOUT", "5")
        yield server
    assert FAKE_KEY not in caplog.text
    for record in caplog.records:
        assert FAKE_KEY not in record.getMessage()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(path)
    return path


def _decode_data_url(url: str) -> Image.Image:
    head, _, data = url.partition(",")
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def _chatbot_history(messages: list[dict]) -> list[dict]:
    """Messages as the chat handler receives them from the browser (Gradio's own conversion)."""
    chatbot = gr.Chatbot()
    return chatbot.preprocess(chatbot.postprocess(messages))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the OpenAI backend


def test_chat_request_carries_system_history_image_and_settings(api, photo):
    history = _chatbot_history(
        [
            {"role": "user", "content": "Hi, who are you?"},
            {"role": "assistant", "content": "A helpful assistant."},
            {"role": "user", "content": [{"path": str(photo)}, "What is in this picture?"]},
        ]
    )
    outputs = list(gpt.respond(history, "Answer like a pirate.", 0.3, 77, "", ""))
    shown, info = outputs[-1]
    assert shown[-1] == {"role": "assistant", "content": "Hello from the API."}
    assert info["checkpoint"] == MODEL and info["backend"].endswith(f"{api.url}: {MODEL}")
    assert set(info["speed_ms"]) >= {"preprocess", "inference", "postprocess", "first_token"}

    (seen,) = api.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {FAKE_KEY}"  # sent to the server, only
    body = seen.body
    assert body["model"] == MODEL and body["stream"] is True
    assert body["temperature"] == 0.3 and body["max_tokens"] == 77
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == "Answer like a pirate."
    assert messages[1]["content"] == "Hi, who are you?"
    assert messages[2]["content"] == "A helpful assistant."
    text, picture = messages[3]["content"]
    assert text == {"type": "text", "text": "What is in this picture?"}
    sent = _decode_data_url(picture["image_url"]["url"])
    assert np.array_equal(np.asarray(sent.convert("RGB")), np.asarray(Image.open(photo)))


def test_huge_images_are_downscaled_before_upload(api):
    result = gpt.predict("Read this screenshot.", Image.new("RGB", (5000, 3000), "white"))
    assert result.text == "Hello from the API." and result.backend.endswith(MODEL)
    part = api.requests[0].body["messages"][-1]["content"][-1]
    width, height = _decode_data_url(part["image_url"]["url"]).size
    assert width == gpt_api.API_MAX_SIDE and abs(width / height - 5 / 3) < 0.01


def test_openai_itself_gets_max_completion_tokens():
    chat = gpt_chat.make_chat([Turn("user", "Hi")], max_new_tokens=99)
    official = gpt_api.ApiConfig(key=FAKE_KEY, model="gpt-4.1-mini", base_url=None, timeout_s=9)
    kwargs = gpt_api.request(chat, official)
    assert kwargs["max_completion_tokens"] == 99 and "max_tokens" not in kwargs
    assert FAKE_KEY not in repr(official) and official.describe() == "OpenAI API: gpt-4.1-mini"
    other = gpt_api.ApiConfig(
        key=FAKE_KEY, model="m", base_url="http://me:pw@host:8000/v1?t=1", timeout_s=9
    )
    assert other.where == "http://host:8000/v1"  # no credentials or query in what is shown


def test_endpoint_streams_the_answer_in_order(api, gallery_client):
    api.script.pieces = ["The", " sky", " is", " blue", " because", "..."]
    api.script.piece_delay_s = 0.05
    job = gallery_client.submit(
        "Why is the sky blue?", None, "Be brief.", 0.5, 64, "", "", api_name="/gpt"
    )
    answer, info = job.result(timeout=60)
    assert answer == "The sky is blue because..."
    texts = [out[0] for out in job.outputs()]
    assert len(set(texts)) >= 3, texts  # the answer arrived in pieces
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
    assert info["backend"] == f"OpenAI-compatible server {api.url}: {MODEL}"
    assert info["device"] == api.url
    messages = api.requests[0].body["messages"]
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Why is the sky blue?"},
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "rejected the key in OPENAI_API_KEY (401"),
        (404, f"Model `{MODEL}` was not found"),
        (429, "Rate limit or quota exceeded"),
        (500, "server error (500)"),
    ],
)
def test_error_statuses_become_clear_messages_without_the_key(
    api, gallery_client, caplog, status, expected
):
    api.script.status = status
    with pytest.raises(Exception) as err:
        gallery_client.predict("Hello?", None, "", 0.7, 32, "", "", api_name="/gpt")
    message = str(err.value)
    assert expected in message and FAKE_KEY not in message
    assert "Traceback" not in message
    if status != 401:  # the server's own words come through, key blanked
        assert "[OPENAI_API_KEY]" in message
    assert any(r.name.startswith("openai") and r.levelno == logging.DEBUG for r in caplog.records)


@pytest.mark.parametrize("failure", ["timeout", "unreachable"])
def test_timeouts_and_unreachable_servers_say_what_to_check(
    api, gallery_client, monkeypatch, failure
):
    if failure == "timeout":
        monkeypatch.setenv("GALLERY_GPT_TIMEOUT", "0.4")
        api.script.delay_s = 3.0
        expected = ["within 0.4 s (timeout)", "GALLERY_GPT_TIMEOUT"]
    else:
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
        expected = ["Cannot reach http://127.0.0.1:", "OPENAI_BASE_URL"]
    with pytest.raises(Exception) as err:
        gallery_client.predict("Hello?", None, "", 0.7, 32, "", "", api_name="/gpt")
    assert all(words in str(err.value) for words in expected)
    assert FAKE_KEY not in str(err.value)


def test_a_key_echoed_in_the_answer_is_never_shown(api):
    api.script.pieces = ["Your key is ", FAKE_KEY[:12], FAKE_KEY[12:], "."]
    replies = list(gpt.stream_reply(gpt.ask_chat("What is my key?", None, None, 0.7, 32)))
    for reply in replies:
        assert FAKE_KEY[:6] not in reply.text and FAKE_KEY not in str(reply.details())
    assert replies[-1].text == "Your key is [OPENAI_API_KEY]."


def test_banner_says_which_backend_answers(api, monkeypatch, tiny_gpt):
    assert f"Answering: OpenAI-compatible server {api.url}: {MODEL}" in gpt.banner()
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert "Answering: OpenAI API: gpt-test-model" in gpt.banner()
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("GALLERY_GPT_MODEL", raising=False)
    assert (
        "Local open model Qwen2.5-0.5B-Instruct standing in for GPT-4 (no OPENAI_API_KEY set)"
        in gpt.banner()
    )
    assert FAKE_KEY not in gpt.banner()


# the local stand-ins


def _words(text: str) -> set[str]:
    return set(text.replace(".", " . ").replace(",", " , ").split())


def _greedy_reference(path: Path, messages: list[dict], max_new_tokens: int) -> str:
    """What the checkpoint says to `messages`, greedily, with plain transformers calls."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1] :]
    return tokenizer.decode(new, skip_special_tokens=True).strip()


def test_local_text_model_answers_through_the_endpoint(local_env, gallery_client):
    question, system = "what is the capital of france ?", "you are a pirate ."
    job = gallery_client.submit(question, None, system, 0, 12, "", "", api_name="/gpt")
    answer, info = job.result(timeout=120)
    expected = _greedy_reference(
        local_env["text"],
        [{"role": "system", "content": system}, {"role": "user", "content": question}],
        max_new_tokens=12,
    )
    assert answer and answer == expected  # temperature 0: the model's own greedy answer
    texts = [out[0] for out in job.outputs()]
    assert texts[-1] == answer and all(b.startswith(a) for a, b in itertools.pairwise(texts))
    assert info["checkpoint"] == str(local_env["text"])
    assert info["backend"].startswith("Local open model text standing in for GPT-4")
    assert 1 <= info["new_tokens"] <= 12 and info["device"] == "cpu"


def test_local_image_model_answers_through_the_endpoint(local_env, gallery_client, photo):
    answer, info = gallery_client.predict(
        "describe this picture .", handle_file(str(photo)), "", 0.7, 12, "", "", api_name="/gpt"
    )
    assert answer and _words(answer) <= gpt_tiny.vocabulary()
    assert info["checkpoint"] == str(local_env["vision"])
    assert info["prompt_tokens"] > 5 * gpt_tiny.IMAGE_SEQ_LEN  # the image's tiles are in it


def test_local_prompts_hold_system_history_and_image_tokens(local_env, photo):
    history = [Turn("user", "hello"), Turn("assistant", "hello , you are a cat .")]
    question = Turn("user", "what is this picture ?", (Image.open(photo).convert("RGB"),))
    chat = gpt_chat.make_chat([*history, question], system="you are a pirate .")

    pipe, _ = runtime.load_model(
        gpt_local.VISION_SPEC, gpt_local.VISION_SPEC.checkpoint(), gpt_local.VisionChat.load
    )
    batch = pipe.preprocess(chat)
    ids = batch["inputs"]["input_ids"][0]
    prompt = pipe.tokenizer.decode(ids)
    order = [prompt.index(s) for s in ("pirate", "hello", "cat", "picture")]
    assert order == sorted(order) and prompt.rstrip().endswith("Assistant :")
    image_id = pipe.tokenizer.convert_tokens_to_ids("<image>")
    tiles = batch["inputs"]["pixel_values"].shape[1]
    assert tiles > 1  # cut into tiles plus the whole image, as SmolVLM does
    assert int((ids == image_id).sum()) == tiles * gpt_tiny.IMAGE_SEQ_LEN

    text_pipe, _ = runtime.load_model(gpt.SPEC, gpt.SPEC.checkpoint(), gpt_local.TextChat.load)
    text_chat = gpt_chat.make_chat([*history, Turn("user", "why ?")], system="be two .")
    prompt = text_pipe.tokenizer.decode(text_pipe.preprocess(text_chat)["inputs"]["input_ids"][0])
    assert (
        prompt.index("system") < prompt.index("be two") < prompt.index("cat") < prompt.index("why")
    )
    assert prompt.rstrip().endswith("assistant")


def test_long_chats_drop_their_oldest_turns_to_fit(local_env):
    pipe, _ = runtime.load_model(gpt.SPEC, gpt.SPEC.checkpoint(), gpt_local.TextChat.load)
    filler = " ".join(["the cat is on the city"] * 5)  # 30 words, 30 tokens
    turns = []
    for i, word in enumerate(["paris", "france", "coffee", "cup", "red", "blue", "sky"]):
        turns += [Turn("user", f"{word} {filler}"), Turn("assistant", f"ok {i}")]
    chat = gpt_chat.make_chat([*turns, Turn("user", "why ?")], max_new_tokens=64)
    batch = pipe.preprocess(chat)
    prompt = pipe.tokenizer.decode(batch["inputs"]["input_ids"][0])
    assert batch["prompt_tokens"] <= pipe.context - 64
    assert "paris" not in prompt and "why" in prompt and "helpful" in prompt  # system kept
    too_long = gpt_chat.make_chat([Turn("user", " ".join(["cat"] * 400))])
    with pytest.raises(BadInput, match="reads at most"):
        pipe.preprocess(too_long)


def test_missing_local_weights_name_the_checkpoint_and_the_fix(local_env, gallery_client, photo):
    cases = [
        (None, "GALLERY_GPT_MODEL", "Qwen/Qwen2.5-0.5B-Instruct"),
        (
            handle_file(str(photo)),
            "GALLERY_GPT_VISION_MODEL",
            "HuggingFaceTB/SmolVLM-256M-Instruct",
        ),
    ]
    for image, variable, checkpoint in cases:
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv(variable)
            with pytest.raises(Exception) as err:
                gallery_client.predict("hello", image, "", 0.7, 8, "", "", api_name="/gpt")
        message = str(err.value)
        assert checkpoint in message and variable in message
        assert "python -m demos.core.download gpt" in message and "Traceback" not in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("", None, "", 0.7, 32), "Type a message"),
        (("hello", None, "", 3.0, 32), "greater than maximum value 2"),  # the slider
        (("x" * 40_000, None, "", 0.7, 32), "characters long"),
    ],
)
def test_bad_input_gets_a_readable_message(local_env, gallery_client, args, expected):
    with pytest.raises(Exception, match=expected):
        gallery_client.predict(*args, "", "", api_name="/gpt")


def test_chat_history_from_the_browser_becomes_turns(photo, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    history = _chatbot_history(
        [
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"path": str(photo)}, "second"]},  # after an error
            {"role": "assistant", "content": "answer"},
        ]
    )
    turns = gpt_chat.merge(gpt_chat.turns_from_history(history))
    assert [(t.role, t.text, len(t.images)) for t in turns] == [
        ("user", "first\n\nsecond", 1),
        ("assistant", "answer", 0),
    ]
    assert turns[0].images[0].size == (60, 40) and turns[0].images[0].mode == "RGB"
    with pytest.raises(gr.Error, match="not an image"):
        gpt.add_message({"text": "look", "files": [str(broken)]}, [])
    with pytest.raises(gr.Error, match="Type a message"):
        gpt.add_message({"text": "  ", "files": []}, [])
    chat, _ = gpt.add_message({"text": "look", "files": [str(photo)]}, [])
    assert chat == [{"role": "user", "content": [{"path": str(photo)}, "look"]}]


def test_a_reader_that_leaves_frees_the_model_for_the_next_request(local_env):
    pipe, _ = runtime.load_model(gpt.SPEC, gpt.SPEC.checkpoint(), gpt_local.TextChat.load)
    chat = gpt_chat.make_chat([Turn("user", "hello")], temperature=0, max_new_tokens=100)
    pieces = pipe.stream(chat, {})
    next(pieces)
    pieces.close()  # the user pressed Stop: the generation thread must end and let go
    assert pipe._lock.acquire(timeout=10)
    pipe._lock.release()
    counts: dict[str, int] = {}
    speed: dict[str, float] = {}
    assert "".join(pipe.stream(chat, speed, counts=counts)) and counts["new_tokens"] >= 1
    assert counts["prompt_tokens"] > 1 and set(speed) >= {"inference", "first_token"}


def test_an_error_in_the_generation_thread_reaches_the_reader(local_env, monkeypatch):
    pipe, _ = runtime.load_model(gpt.SPEC, gpt.SPEC.checkpoint(), gpt_local.TextChat.load)
    chat = gpt_chat.make_chat([Turn("user", "hello")], temperature=0, max_new_tokens=4)

    def broken(batch):
        raise RuntimeError("the generation failed")

    monkeypatch.setattr(pipe, "forward", broken)
    with pytest.raises(RuntimeError, match="the generation failed"):
        list(pipe.stream(chat, {}))
    assert pipe._lock.acquire(timeout=10)  # the worker let go of the model
    pipe._lock.release()
