"""gpurent.http's server on its own, with small bounds: a full pool answers 503, a route that
raises answers 500 with one log line and no traceback, an idle client is dropped, a body is
read only within its declared, capped length."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from gpurent.http import HttpServer, read_json, send_json
from tests.http_probes import request, send


@pytest.fixture
def server():
    started: list[HttpServer] = []

    def start(**options) -> HttpServer:
        def get(r):
            if r.path == "/boom":
                raise RuntimeError("a bug in a route\nsecond line")
            send_json(r, 200, {"ok": True})

        def post(r):
            send_json(r, 200, {"got": read_json(r, limit=256)})

        http = HttpServer("127.0.0.1", 0, "test-server", get, post, **options)
        http.start()
        started.append(http)
        return http

    yield start
    for http in started:
        http.stop()


def test_a_full_pool_answers_503_and_holds_no_thread_per_client(server):
    http = server(workers=2, queue_size=2, idle_timeout_s=10.0)
    threads = threading.active_count()

    def until(condition) -> None:  # (a moment here; seconds on a loaded 2-core machine)
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline
            time.sleep(0.05)

    # two clients the workers hold (each waits for its request), then two that wait in the queue:
    # opened in turn, since on a loaded machine the queue can fill before a worker takes any
    stalled = [socket.create_connection(("127.0.0.1", http.port)) for _ in range(2)]
    until(lambda: len(http.httpd._deadlines) == 2)
    stalled += [socket.create_connection(("127.0.0.1", http.port)) for _ in range(2)]
    until(http.httpd.waiting.full)
    busy = send(http.port, request("GET", "/"), timeout_s=5)
    assert busy.status == 503 and "busy" in busy.json()["error"]
    assert threading.active_count() == threads
    for sock in stalled:
        sock.settimeout(15)
        assert sock.recv(12) in (b"", b"HTTP/1.0 503")  # dropped after the idle timeout, or told busy
        sock.close()
    assert send(http.port, request("GET", "/")).status == 200


def test_a_client_dripping_its_request_is_dropped_at_the_arrival_deadline(server):
    """A byte every half second never idles past the timeout, but the head must arrive in time."""
    http = server(idle_timeout_s=5.0, arrival_s=2.0)
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", http.port), timeout=10) as sock:
        with pytest.raises(OSError):
            for byte in b"GET / HTTP/1.0\r\nX-Slow: " + b"a" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.5)
            sock.sendall(b"\r\n\r\n")
            assert sock.recv(100)  # never reached: the server shuts the connection
    assert time.monotonic() - began < 10
    assert send(http.port, request("GET", "/")).status == 200


def test_a_failing_route_is_a_json_500_and_one_log_line(server, caplog, capfd):
    http = server()
    with caplog.at_level(logging.DEBUG, logger="gpurent.http"):
        reply = send(http.port, request("GET", "/boom"))
    assert reply.status == 500 and reply.json() == {"error": "internal error"}
    (record,) = caplog.records
    assert record.exc_info is None and record.getMessage() == (
        "test-server: GET /boom failed: RuntimeError: a bug in a route")
    assert "Traceback" not in capfd.readouterr().err
    assert send(http.port, request("GET", "/")).status == 200  # the worker went on


@pytest.mark.parametrize(("raw", "status"), [
    (request("POST", "/", body=b'{"a": 1}'), 200),
    (request("POST", "/", body=b'{"a": 1}', length="-1"), 400),
    (request("POST", "/", body=b'{"a": 1}', length=None), 411),
    (request("POST", "/", [("Transfer-Encoding", "chunked")], b"2\r\n{}\r\n0\r\n\r\n", length=None), 411),
    (request("POST", "/", body=b"[" + b"1," * 200 + b"1]"), 413),
    (request("POST", "/", body=b"1e400"), 400),
    (request("POST", "/", body=b"[NaN]"), 400),
    (request("POST", "/", body=b"[" * 40 + b"]" * 40), 400),
])
def test_bodies_are_read_only_within_their_declared_capped_length(server, raw, status):
    assert send(server().port, raw).status == status
