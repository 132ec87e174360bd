"""The agent's answers to ``GET /images/<cid>`` (gpurent.agent.image_states): requests that come
together for one image cost the node and the engine one question, an answer is kept ``ttl_s``, and
an error is never kept."""

from __future__ import annotations

import threading
import time

import pytest

from gpurent.agent.image_states import ImageStates
from gpurent.errors import ImageError


def test_requests_that_come_together_for_an_image_ask_the_cache_once() -> None:
    asked: list[str] = []

    def state(cid: str) -> str:
        asked.append(cid)
        time.sleep(0.3)  # a busy node and engine
        return "ready"

    states = ImageStates(state)
    answers: list[str] = []
    requests = [threading.Thread(target=lambda: answers.append(states.get("bafyone"))) for _ in range(8)]
    for request in requests:
        request.start()
    for request in requests:
        request.join(5)
    assert answers == ["ready"] * 8 and asked == ["bafyone"], asked


def test_an_answer_is_kept_its_ttl_and_an_error_never() -> None:
    now, asked, down = [100.0], [], [True]

    def state(cid: str) -> str:
        asked.append(cid)
        if down[0]:
            raise ImageError("the node does not answer")
        return "stored"

    states = ImageStates(state, ttl_s=10.0, clock=lambda: now[0])
    with pytest.raises(ImageError):
        states.get("bafyone")
    down[0] = False
    assert states.get("bafyone") == "stored" and states.get("bafyone") == "stored" and len(asked) == 2
    now[0] += 10.5
    assert states.get("bafyone") == "stored" and len(asked) == 3
