"""The agent endpoint's asyncio front on real sockets, with a WebSocket server standing in for
a job's app (dialled in this process's own network namespace): a WebSocket upgrade through a
job's HTTP port (what Jupyter's kernels need), the headers the app sees and does not, a
request body that arrives after its head, and every connection closed when the job ends."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from websockets.sync.client import connect
from websockets.sync.server import serve

from gpurent.agent.config import IngressLimits
from gpurent.agent.endpoint import Endpoint, LogStore
from gpurent.agent.ingress import Ingress
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


@pytest.fixture
def front(tmp_path, app):
    port, _ = app
    state = AgentState(tmp_path / "agent.db")
    state.record_new_jobs([{"job_id": JOB, "resource_id": "0x" + "01" * 32, "renter": RENTER, "image_cid": "bafy",
                            "duration_s": 60, "priority": 1.0, "block": 1}], 1)
    state.update(JOB, AgentPhase.RUNNING)
    tokens = Tokens()
    ingress = Ingress(state, IngressLimits(idle_s=30), 31337, tokens, lambda job_id: (PortSpec(port),),
                      lambda job_id: os.getpid())
    endpoint = Endpoint(state, LogStore(tmp_path / "logs"), 31337, "0x" + "03" * 20, "127.0.0.1", 0, dict)
    endpoint.ingress = ingress
    endpoint.start()
    yield endpoint.port, ingress, tokens.issue(JOB, RENTER)[0], port
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
