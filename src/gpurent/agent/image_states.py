"""What ``GET /images/<cid>`` answers (gpurent.wire.images): the image cache's state of a CID,
kept for a few seconds so that the route, which anyone may call, costs the node and the engine at
most one question per image per ``ttl_s`` (requests that come while it is asked wait for its
answer), and its memory at most ``kept`` answers."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

TTL_S = 10.0
KEPT = 4096


class ImageStates:
    def __init__(self, state: Callable[[str], str], ttl_s: float = TTL_S, kept: int = KEPT,
                 clock: Callable[[], float] = time.monotonic):
        self._state, self.ttl_s, self.kept, self._clock = state, ttl_s, kept, clock
        self._answers: OrderedDict[str, tuple[str, float]] = OrderedDict()  # cid -> (state, asked at)
        self._asking: dict[str, Future[str]] = {}  # cid -> the question under way (one at a time)
        self._lock = threading.Lock()

    def get(self, cid: str) -> str:
        """The state of ``cid`` (at most ``ttl_s`` old); what the cache raises when it cannot say."""
        now = self._clock()
        with self._lock:
            known = self._answers.get(cid)
            if known is not None and now - known[1] < self.ttl_s:
                return known[0]
            asking = self._asking.get(cid)
            if asking is None:
                question: Future[str] = Future()
                self._asking[cid] = question
        if asking is not None:
            return asking.result()  # asked by another request just now: its answer (or its error)
        try:
            state = self._state(cid)
        except BaseException as err:
            with self._lock:
                self._asking.pop(cid, None)
            question.set_exception(err)  # not kept: the next request asks again
            raise
        with self._lock:  # kept before the question is let go: a later request finds one or the other
            self._answers[cid] = (state, now)
            self._answers.move_to_end(cid)
            while len(self._answers) > self.kept:
                self._answers.popitem(last=False)
            self._asking.pop(cid, None)
        question.set_result(state)
        return state
