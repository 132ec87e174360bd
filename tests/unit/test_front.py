"""The agent endpoint's asyncio front on real sockets, with a WebSocket server standing in for
a job's app (dialled in this process's own network namespace): a WebSocket upgrade through a
job's HTTP port (what Jupyter's kernels need), the headers the app sees and does not, a
request body that arrives after its head, and every connection closed when the job ends. Each
test runs twice: relayed by the front's own Python and by the compiled relay (tools/relay,
built here with Go; skipped without it), whose own semantics and fallback follow."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.sync.client import connect
from websockets.sync.server import serve

from gpurent.agent.config import IngressLimits
from gpurent.agent.endpoint import Endpoint, LogStore
from gpurent.agent.ingress import TUNNEL, Ingress, rewrite_response_head
from gpurent.agent.native import ENV as RELAY_ENV
from gpurent.agent.netns import NamespaceDialer
from gpurent.agent.state import AgentState
from gpurent.agent.tokens import Tokens
from gpurent.types import AgentPhase
from gpurent.workload.spec import PortSpec

JOB = "0x" + "ab" * 32
RENTER = "0x" + "02" * 20


def _can_enter_own_namespace() -> bool:
    try:
        NamespaceDialer(os.getpid()).close()
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _can_enter_own_namespace(), reason="needs CAP_SYS_ADMIN (setns) to dial")


@pytest.fixture
def app():
    """A WebSocket echo server that also answers plain HTTP with what it was sent."""
    seen: list[dict[str, str]] = []

    def handler(ws):
        seen.append(dict(ws.request.headers.raw_items()))
        for message in ws:
            ws.send(message)

    server = serve(handler, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.socket.getsockname()[1], seen
    server.shutdown()


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def relay_binary(tmp_path_factory):
    """tools/relay built for this run (not the one `make setup` built: the source under test)."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
    if go is None:
        pytest.skip("Go is not installed: the compiled relay cannot be built")
    out = tmp_path_factory.mktemp("relay") / "gpurent-relay"
    subprocess.run([go, "build", "-trimpath", "-o", str(out), "."], cwd=ROOT / "tools" / "relay", check=True,
                   env={**os.environ, "GOTOOLCHAIN": "local"}, timeout=300)
    return out


@pytest.fixture(params=["python", "compiled"])
def relay_mode(request, monkeypatch):
    """Which relay the front uses: its own (Python) or the compiled one."""
    if request.param == "python":
        monkeypatch.setenv(RELAY_ENV, "python")
    else:
        monkeypatch.setenv(RELAY_ENV, str(request.getfixturevalue("relay_binary")))
    return request.param


def _start(tmp_path, port, idle_s=30.0):
    state = AgentState(tmp_path / "agent.db")
    state.record_new_jobs([{"job_id": JOB, "resource_id": "0x" + "01" * 32, "renter": RENTER, "image_cid": "bafy",
                            "duration_s": 60, "priority": 1.0, "block": 1}], 1)
    state.update(JOB, AgentPhase.RUNNING)
    tokens = Tokens()
    ports = (PortSpec(port),) if isinstance(port, int) else port
    ingress = Ingress(state, IngressLimits(idle_s=idle_s), 31337, tokens, lambda job_id: ports,
                      lambda job_id: os.getpid())
    endpoint = Endpoint(state, LogStore(tmp_path / "logs"), 31337, "0x" + "03" * 20, "127.0.0.1", 0, dict)
    endpoint.ingress = ingress
    endpoint.start()
    return endpoint, ingress, tokens.issue(JOB, RENTER)[0]


@pytest.fixture
def front(tmp_path, app, relay_mode):
    port, _ = app
    endpoint, ingress, token = _start(tmp_path, port)
    native = endpoint._front.native
    assert (native is not None and native.alive) == (relay_mode == "compiled")
    yield endpoint.port, ingress, token, port
    endpoint.stop()
    ingress.close()


def test_a_websocket_reaches_the_jobs_app_through_the_front_and_closes_with_the_job(front, app):
    agent_port, ingress, token, app_port = front
    _, seen = app
    url = f"ws://127.0.0.1:{agent_port}/jobs/{JOB}/ports/{app_port}/api/kernels/1/channels?session=x"
    with connect(url, additional_headers={"Authorization": f"Bearer {token}", "Cookie": f"gpurent_access={token}; a=1"},
                 proxy=None, open_timeout=10) as ws:
        ws.send("ping")
        assert ws.recv(timeout=10) == "ping"
        big = os.urandom(900_000)  # most of a megabyte each way: many chunks, not one
        ws.send(big)
        assert ws.recv(timeout=30) == big
        headers = {k.lower(): v for k, v in seen[0].items()}
        assert headers["x-forwarded-prefix"] == f"/jobs/{JOB}/ports/{app_port}"
        assert "authorization" not in headers and headers["cookie"] == "a=1"  # the renter's token stays here
        assert ingress.open_count(JOB) == 1
        # an app's own credentials pass (a public inference endpoint's API key): only our token is dropped
        with connect(url, additional_headers={"Authorization": "Bearer sk-the-apps-own", "Cookie": f"gpurent_access={token}"},
                     proxy=None, open_timeout=10) as other:
            other.send("x")
            assert other.recv(timeout=10) == "x"
        assert {k.lower(): v for k, v in seen[1].items()}["authorization"] == "Bearer sk-the-apps-own"
        ingress.close_job(JOB)  # the job ends: its connections close at once
        with pytest.raises(Exception):  # noqa: B017 - websockets' ConnectionClosed, whichever side says it
            for _ in range(50):
                ws.send("more")
                ws.recv(timeout=0.2)
    deadline = time.monotonic() + 5
    while ingress.open_count(JOB) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ingress.open_count(JOB) == 0


def test_a_body_sent_after_its_head_and_a_slow_head_reach_the_job(front):
    agent_port, _, token, app_port = front
    with socket.create_connection(("127.0.0.1", agent_port), timeout=10) as sock:
        for piece in (f"GET /jobs/{JOB}/ports/{app_port}/ HTTP/1.1\r\n".encode(), b"Host: x\r\n",
                      f"Authorization: Bearer {token}\r\n\r\n".encode()):
            sock.sendall(piece)
            time.sleep(0.2)  # the head in pieces: the front waits for its end
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    # the app (a WebSocket server) refuses a plain GET; what matters is that its answer came through
    assert data.startswith(b"HTTP/1.1 426") or data.startswith(b"HTTP/1.1 400"), data[:200]
    assert b"Connection: close" in data


@contextmanager
def _server(handle):
    """A TCP server on a port of its own calling ``handle(conn)`` for each connection, stopped
    (its thread joined, its listener closed) when the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            with conn:
                try:
                    handle(conn)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=15)
        listener.close()


@pytest.fixture
def tcp_app():
    """A TCP server that reads to the client's end, answers how much came, then closes."""
    def handle(conn):
        got = b""
        while chunk := conn.recv(65536):
            got += chunk
        conn.sendall(f"got {len(got)}".encode())

    with _server(handle) as port:
        yield port


def _tunnel(agent_port: int, port: int, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", agent_port), timeout=10)
    sock.sendall(f"GET /jobs/{JOB}/tunnel/{port} HTTP/1.1\r\nHost: x\r\nUpgrade: {TUNNEL}\r\n"
                 f"Connection: Upgrade\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def test_a_tunnel_passes_half_closes_and_is_closed_when_idle(tmp_path, tcp_app, relay_mode):
    endpoint, ingress, token = _start(tmp_path, (PortSpec(tcp_app, "tcp"),), idle_s=1.0)
    try:
        sock = _tunnel(endpoint.port, tcp_app, token)
        sock.sendall(b"x" * 300_000)
        sock.shutdown(socket.SHUT_WR)  # our end reaches the app, whose answer and end come back
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        assert answer == b"got 300000"
        sock.close()
        idle = _tunnel(endpoint.port, tcp_app, token)  # sends nothing: closed after idle_s
        started = time.monotonic()
        assert idle.recv(100) == b""
        assert 0.5 < time.monotonic() - started < 5
        idle.close()
        deadline = time.monotonic() + 5
        while ingress.open_count(JOB) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ingress.open_count(JOB) == 0
    finally:
        endpoint.stop()
        ingress.close()


def _get(agent_port: int, port: int, token: str) -> bytes:
    with socket.create_connection(("127.0.0.1", agent_port), timeout=10) as sock:
        sock.sendall(f"GET /jobs/{JOB}/ports/{port}/ HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_the_compiled_relay_answers_a_closed_port_and_the_front_relays_in_python_without_it(
        tmp_path, app, relay_binary, monkeypatch):
    port, _ = app
    closed = socket.create_server(("127.0.0.1", 0))
    nothing = closed.getsockname()[1]
    closed.close()
    monkeypatch.setenv(RELAY_ENV, str(relay_binary))
    endpoint, ingress, token = _start(tmp_path, (PortSpec(port), PortSpec(nothing)))
    try:
        native = endpoint._front.native
        assert native is not None
        refused = _get(endpoint.port, nothing, token)  # dialled by the relay: the same 502 as the front's
        assert refused.startswith(b"HTTP/1.1 502 Bad Gateway\r\n"), refused
        assert refused.endswith(f'{{"error": "nothing listens on port {nothing} in the job (yet)"}}'.encode())
        assert b"HTTP/1.1 426" in _get(endpoint.port, port, token)[:20]  # the WebSocket app's answer, relayed
        native.process.kill()  # the relay dies: what it held ends, the front relays in Python
        native.process.wait()
        deadline = time.monotonic() + 5
        while native.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not native.alive
        assert b"HTTP/1.1 426" in _get(endpoint.port, port, token)[:20]
        deadline = time.monotonic() + 5
        while ingress.open_count(JOB) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ingress.open_count(JOB) == 0
    finally:
        endpoint.stop()
        ingress.close()
    monkeypatch.setenv(RELAY_ENV, str(tmp_path / "no-such-relay"))  # absent: the front's own relay
    endpoint, ingress, token = _start(tmp_path / "again", port)
    try:
        assert endpoint._front.native is None
        assert b"HTTP/1.1 426" in _get(endpoint.port, port, token)[:20]
    finally:
        endpoint.stop()
        ingress.close()


@pytest.fixture
def raw_app():
    """An HTTP server that answers every request with the head it is told to, then a body, and closes."""
    answers: list[bytes] = []

    def handle(conn):
        got = b""
        while b"\r\n\r\n" not in got and (chunk := conn.recv(65536)):
            got += chunk
        conn.sendall(answers.pop(0))

    with _server(handle) as port:
        yield port, answers


def test_the_jobs_response_head_is_rewritten_alike_by_both_relays(tmp_path, raw_app, relay_mode):
    port, answers = raw_app
    endpoint, ingress, token = _start(tmp_path, port)
    heads = [b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\n CONNECTION : x",
             b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nX-\xc3\xa9: \xff\r\nConnection\xc2\x85: y",
             b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket",
             b"HTTP/1.0 200 OK"]
    try:
        for head in heads:
            answers.append(head + b"\r\n\r\nbody")
            assert _get(endpoint.port, port, token) == rewrite_response_head(head) + b"body", head
    finally:
        endpoint.stop()
        ingress.close()


def test_a_port_dialled_by_the_rootless_helper_is_relayed(tmp_path, raw_app, relay_mode, monkeypatch):
    """Under rootless podman the helper process dials and passes a connected socket (the relay
    then connects nothing itself)."""
    import gpurent.agent.ingress as ingress_module
    from gpurent.agent.netns import Connector

    monkeypatch.setattr(ingress_module, "dialer", Connector)
    port, answers = raw_app
    endpoint, ingress, token = _start(tmp_path, port)
    try:
        answers.append(b"HTTP/1.1 200 OK\r\n\r\nfrom the helper's socket")
        assert _get(endpoint.port, port, token).endswith(b"\r\n\r\nfrom the helper's socket")
        assert isinstance(ingress.dialer(JOB), Connector)
    finally:
        endpoint.stop()
        ingress.close()
