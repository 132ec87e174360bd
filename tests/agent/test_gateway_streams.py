"""A job's logs through the gateway's WebSocket, for real (Anvil, Kubo, podman, a provider agent,
an index, the gateway): the renter's wallet signs the access (the gateway holds no key), the
stream reaches only the job's renter, and subscribers beyond the provider's two streams a job
share one upstream."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from gpurent.gateway.app import GatewayConfig, make_app
from gpurent.gateway.auth import Authenticator
from gpurent.gateway.service import GatewayServer
from gpurent.gateway.store import MemoryStore
from gpurent.local.process import free_port
from gpurent.wire.access import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_access
from tests.gateway.test_gateway import sign_in
from tests.indexer.test_indexer import make_indexer

TALK = "i=0; while true; do echo line-$i; i=$((i+1)); /bin/busybox sleep 0.2; done"


@pytest.fixture
def stack(start_agent, push_image, renter2_rent, tmp_path, manifest, chain, gp):
    runner = start_agent()
    job = renter2_rent.create_job(runner.gpu, push_image(TALK), 3600).value
    runner.wait_phase(job.job_id, "running")
    server = serve_gateway(tmp_path, manifest, chain, gp)
    yield server, job.job_id
    server.stop()


def serve_gateway(tmp_path, manifest, chain, gp, uploads=None) -> GatewayServer:
    """A gateway (started) over a fresh index of ``chain``, synced now."""
    indexer = make_indexer(f"sqlite:///{tmp_path / 'index.db'}", manifest, chain)
    indexer.sync()
    port = free_port()
    store = MemoryStore()
    auth = Authenticator(store, b"s" * 32, domain=f"127.0.0.1:{port}", uri=f"http://127.0.0.1:{port}",
                         chain_id=manifest.chain_id)
    server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=manifest, auth=auth, store=store,
                                                  gp=gp, uploads=uploads)), "127.0.0.1", port)
    server.start()
    return server


def hello(url: str, account, job_id: str, chain_id: int) -> str:
    signed = sign_access(account, chain_id, job_id)  # what the renter's wallet signs (personal_sign)
    return json.dumps({"token": sign_in(url, account),
                       "access": {"timestamp": signed[TIMESTAMP_HEADER], "signature": signed[SIGNATURE_HEADER]}})


def read_lines(ws, want: int, timeout_s: float = 30.0) -> str:
    text, deadline = "", time.monotonic() + timeout_s
    while text.count("line-") < want:
        frame = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        assert isinstance(frame, bytes), frame  # log bytes come as binary frames
        text += frame.decode()
    return text


def test_the_renter_follows_logs_over_the_gateway_and_no_one_else_does(stack, cast, manifest):
    server, job_id = stack
    ws_url = server.url.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/logs"
    subscribers = [connect(ws_url, open_timeout=10) for _ in range(3)]  # more than the provider's 2 streams a job
    try:
        for ws in subscribers:
            ws.send(hello(server.url, cast.renter2, job_id, manifest.chain_id))
        texts = [read_lines(ws, 3) for ws in subscribers]
        assert all("line-" in t for t in texts)
    finally:
        for ws in subscribers:
            ws.close()

    with connect(ws_url, open_timeout=10) as other:  # another renter, with their own valid session and signature
        other.send(hello(server.url, cast.renter, job_id, manifest.chain_id))
        with pytest.raises(ConnectionClosed) as closed:
            other.recv(timeout=10)
        assert closed.value.rcvd.code == 4404
    with connect(ws_url, open_timeout=10) as forged:
        forged.send(json.dumps({"token": "not-a-jwt", "access": {"timestamp": "1", "signature": "0x00"}}))
        with pytest.raises(ConnectionClosed) as closed:
            forged.recv(timeout=10)
        assert closed.value.rcvd.code == 4401
    with connect(ws_url, open_timeout=10) as junk:
        junk.send("{")
        with pytest.raises(ConnectionClosed) as closed:
            junk.recv(timeout=10)
        assert closed.value.rcvd.code == 1008
