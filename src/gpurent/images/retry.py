"""Asking the provider's own IPFS node (or engine) again while it is down, for a bounded time.

A pull can fail two ways, and they are not the same party's fault (see
:class:`~gpurent.images.kubo.KuboClient`): an ``ImageError`` is about the content (not found,
not a gpurent image, a digest or archive that does not verify) and is final at once; a
``ServiceUnavailable`` is the node itself (refused, reset, cut short, timed out, a 5xx, Kubo
restarting) and is asked again, with exponential backoff, until ``bound_s`` has passed since
the first failure. Past it the call ends with :class:`NodeDown`: still not the image's fault,
and said so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

from gpurent.errors import ServiceUnavailable

T = TypeVar("T")


class NodeDown(ServiceUnavailable):
    """Raised when the provider's own node (or engine) did not answer for the whole retry bound."""


@dataclass(frozen=True)
class Backoff:
    """Waits of ``first_s``, doubling up to ``max_s``, for at most ``bound_s`` in all."""

    bound_s: float
    first_s: float = 1.0
    max_s: float = 15.0

    def __post_init__(self) -> None:
        if not (self.bound_s >= 0 and 0 < self.first_s <= self.max_s):
            raise ValueError(f"a backoff needs bound >= 0 and 0 < first <= max, got {self}")

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1, 2, …)."""
        return min(self.max_s, self.first_s * 2.0 ** min(attempt - 1, 30))


Waiting = Callable[[int, float, Exception], None]
# the node's or the engine's failure: ours, or the engine client's own (docker-py raises requests')
TRANSPORT = (ServiceUnavailable, requests.ConnectionError, requests.Timeout)


def retry_node(call: Callable[[], T], backoff: Backoff, *, stop: threading.Event | None = None,
               on_wait: Waiting | None = None, clock: Callable[[], float] = time.monotonic) -> T:
    """``call()``, asked again on a transport failure (:data:`TRANSPORT`) until ``backoff.bound_s`` after the first
    failure; then NodeDown. Every other error (an ImageError above all) goes through at once.
    ``on_wait(attempt, delay_s, error)`` is told before each wait; a set ``stop`` ends the
    waiting with the last error (the caller is shutting down: nothing is decided)."""
    started: float | None = None
    attempt = 0
    while True:
        try:
            return call()
        except NodeDown:
            raise
        except TRANSPORT as err:
            attempt += 1
            now = clock()
            started = now if started is None else started
            left = started + backoff.bound_s - now
            if left <= 0:
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise NodeDown(f"{first} (still, after {attempt} attempt(s) over {backoff.bound_s:g} s: "
                               "the provider's own node, not the image)") from err
            delay = min(backoff.delay(attempt), left)
            if on_wait is not None:
                on_wait(attempt, delay, err)
            if stop is not None:
                if stop.wait(delay):
                    raise
            else:
                time.sleep(delay)
