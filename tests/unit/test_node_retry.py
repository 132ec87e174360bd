"""retry_node: the provider's own node asked again within a bound; the image's faults at once."""

from __future__ import annotations

import threading

import pytest
import requests

from gpurent.errors import ImageError, IntegrityError, ServiceUnavailable
from gpurent.images.retry import Backoff, NodeDown, retry_node


class Clock:
    """A clock the waits move forward (no real sleeping)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, attempt: int, delay: float, err: Exception) -> None:
        self.waits.append(delay)
        self.now += delay


def failing(times: int, error: Exception, result: str = "pulled"):
    calls = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return result

    return call, calls


class Instant(threading.Event):
    """A stop event whose waits return at once (never set)."""

    def wait(self, timeout: float | None = None) -> bool:
        return False


def test_a_node_that_comes_back_within_the_bound_is_waited_for_with_backoff():
    clock = Clock()
    call, calls = failing(4, ServiceUnavailable("no IPFS node answers"))
    backoff = Backoff(60, first_s=1, max_s=4)
    assert retry_node(call, backoff, stop=Instant(), on_wait=clock.wait, clock=clock) == "pulled"
    assert len(calls) == 5 and clock.waits == [1, 2, 4, 4]


@pytest.mark.parametrize("error", [requests.ConnectionError("engine socket"), requests.ReadTimeout("slow")])
def test_the_engine_clients_own_transport_errors_are_retried_too(error):
    clock = Clock()
    call, calls = failing(1, error)
    assert retry_node(call, Backoff(10), stop=Instant(), on_wait=clock.wait, clock=clock) == "pulled"
    assert len(calls) == 2


def test_past_the_bound_it_is_node_down_and_says_it_is_not_the_image():
    clock = Clock()
    call, calls = failing(100, ServiceUnavailable("connection reset"))
    with pytest.raises(NodeDown, match="connection reset .*not the image"):
        retry_node(call, Backoff(10, first_s=1, max_s=4), stop=Instant(), on_wait=clock.wait, clock=clock)
    assert sum(clock.waits) == 10  # the last wait is cut to the bound, never past it
    assert len(calls) == len(clock.waits) + 1


@pytest.mark.parametrize("error", [ImageError("not found within 120 s"), IntegrityError("digest differs")])
def test_the_images_faults_are_never_retried(error):
    clock = Clock()
    call, calls = failing(1, error)
    with pytest.raises(type(error)):
        retry_node(call, Backoff(60), stop=Instant(), on_wait=clock.wait, clock=clock)
    assert len(calls) == 1 and not clock.waits


def test_a_stop_ends_the_waiting_with_the_last_error_not_a_verdict():
    stop = threading.Event()
    stop.set()
    call, calls = failing(5, ServiceUnavailable("down"))
    with pytest.raises(ServiceUnavailable) as raised:
        retry_node(call, Backoff(60), stop=stop)
    assert not isinstance(raised.value, NodeDown) and len(calls) == 1


def _answer(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    return response


@pytest.mark.parametrize("status, body, node", [
    (500, b'{"Message": "context deadline exceeded", "Code": 0, "Type": "error"}', False),  # not found: content
    (500, b'{"Message": "no link named \\"x\\"", "Code": 0, "Type": "error"}', False),
    (400, b'{"Message": "invalid path", "Code": 1, "Type": "error"}', False),
    (500, b'{"Message": "context canceled", "Code": 0, "Type": "error"}', True),  # the daemon shutting down
    (500, b"<html>Internal Server Error</html>", True),  # not Kubo answering
    (502, b"bad gateway", True), (503, b"", True), (504, b"", True),
])
def test_kubo_errors_are_the_nodes_only_when_the_node_failed(status, body, node):
    from gpurent.images.kubo import _kubo_message, _node_failed

    response = _answer(status, body)
    assert _node_failed(response, _kubo_message(response, "cat")) is node
