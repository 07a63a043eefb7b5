"""Load: 8 gradio_client users x 25 mixed requests against `python app.py` on tiny models.

Every request is answered; every answer is the one its own input calls for (checked against
the same request made alone beforehand, so crosstalk between users would show); and the server's
memory after the run stays within 10% of its memory after warm-up. Localhost only, bounded in
count (200 requests) and time.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import psutil
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.serve import app_server, tiny_server_env

USERS = 8
REQUESTS_PER_USER = 25
MEMORY_SLACK = 1.10  # after the run / after warm-up
pytestmark = pytest.mark.slow


def _requests(tmp_path) -> list[tuple[str, tuple]]:
    """Distinct requests across four demos: sentences, images of distinct sizes, top-k values."""
    words = ["paris", "london", "tokyo", "city", "river", "bank", "money", "boat", "cat", "dog"]
    out: list[tuple[str, tuple]] = []
    for i, word in enumerate(words):
        out.append(("/bert", (f"the {word} is a [MASK] .", 1 + i % 7, "")))
        out.append(("/roberta", (f"the {word} of <mask>.", 1 + (i + 3) % 7, "")))
    rng = np.random.default_rng(0)
    for i in range(10):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (24 + 3 * i, 40 + 5 * i, 3), dtype=np.uint8)).save(
            path
        )
        out.append(("/mobilenet_v2", (str(path), 1 + i % 5, "")))
        out.append(("/vit", (str(path), 1 + (i + 2) % 5, "")))
    return out


def _call(client: Client, endpoint: str, args: tuple):
    if endpoint in ("/mobilenet_v2", "/vit"):
        args = (handle_file(args[0]), *args[1:])
    result = client.predict(*args, api_name=endpoint)
    label = result[0]
    answer = [(c["label"], round(c["confidence"], 4)) for c in label["confidences"]]
    if endpoint == "/vit":  # the rollout overlay has the size of the image sent
        answer.append(Image.open(result[1]).size)
    return answer


def test_eight_users_mixed_requests(tiny_checkpoints, tiny_extra_env, tmp_path):
    env = tiny_server_env(tiny_checkpoints, tiny_extra_env, tmp_path / "hf-home")
    with app_server(env, tmp_path / "server.log") as server:
        requests = _requests(tmp_path)
        warm = Client(server.url, verbose=False)
        expected = {i: _call(warm, ep, args) for i, (ep, args) in enumerate(requests)}
        process = psutil.Process(server.process.pid)
        rss_warm = process.memory_info().rss

        answers: dict[tuple[int, int], object] = {}
        errors: list[str] = []

        def user(u: int) -> None:
            client = Client(server.url, verbose=False)
            picks = itertools.islice(
                itertools.cycle(range(len(requests))), u * 7, u * 7 + REQUESTS_PER_USER
            )
            for n, i in enumerate(picks):
                try:
                    answers[(u, n)] = (i, _call(client, *requests[i]))
                except Exception as exc:  # collected: the test reports every failure
                    errors.append(f"user {u} request {n} ({requests[i][0]}): {exc}")

        threads = [threading.Thread(target=user, args=(u,)) for u in range(USERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads), "a user never got all its answers"
        assert not errors, errors[:5]
        assert len(answers) == USERS * REQUESTS_PER_USER
        for (u, n), (i, answer) in answers.items():
            assert answer == expected[i], f"user {u} request {n} got another request's answer"
        rss_after = process.memory_info().rss
        assert rss_after <= MEMORY_SLACK * rss_warm, (rss_warm, rss_after)
