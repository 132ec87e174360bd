"""A job's logs and progress through the gateway's WebSocket, for real (Anvil, Kubo, podman, a
provider agent, an index, the gateway): the renter's wallet signs the access (the gateway holds no
key), the stream reaches only the job's renter, subscribers beyond the provider's two streams a
job share one upstream, and the upstream goes on past the signature's minute with the agent's
token."""

from __future__ import annotations

import functools
import json
import os
import threading
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from gpurent.gateway import app as gateway_app
from gpurent.gateway.app import GatewayConfig, make_app
from gpurent.gateway.auth import Authenticator
from gpurent.gateway.service import GatewayServer
from gpurent.gateway.store import MemoryStore
from gpurent.images.archive import LayerFile
from gpurent.local.process import free_port
from gpurent.sdk.provider import DelegatedEndpoint
from gpurent.wire.access import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_access
from tests.agent.test_job_metrics import cli  # noqa: F401 - a fixture
from tests.gateway.test_gateway import sign_in
from tests.indexer.test_indexer import make_indexer

TALK = "i=0; while true; do echo line-$i; i=$((i+1)); /bin/busybox sleep 0.2; done"


@pytest.fixture
def stack(start_agent, push_image, renter2_rent, tmp_path, manifest, chain, gp):
    runner = start_agent()
    job = renter2_rent.create_job(runner.gpu, push_image(TALK), 3600).value
    runner.wait_phase(job.job_id, "running")
    server = serve_gateway(tmp_path, manifest, chain, gp)
    yield server, job.job_id, runner.agent
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


def hello(url: str, account, job_id: str, chain_id: int, signed: dict[str, str] | None = None) -> str:
    signed = signed or sign_access(account, chain_id, job_id)  # what the renter's wallet signs (personal_sign)
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
    server, job_id, _ = stack
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


def test_the_agents_read_routes_take_its_token_for_the_job_and_renter_only(stack, cast, manifest):
    _, job_id, agent = stack
    base = f"http://127.0.0.1:{agent.endpoint.port}"
    signed = sign_access(cast.renter2, manifest.chain_id, job_id)
    routes = (f"/jobs/{job_id}", f"/jobs/{job_id}/logs", f"/jobs/{job_id}/metrics")
    assert all(requests.get(base + r, headers=signed, timeout=5).status_code == 200 for r in routes)  # signed, as before
    issued = requests.post(f"{base}/jobs/{job_id}/access", headers=signed, timeout=5).json()
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert all(requests.get(base + r, headers=bearer, timeout=5).status_code == 200 for r in routes)
    assert requests.get(f"{base}/jobs/{job_id}", headers=bearer, timeout=5).json()["phase"] == "running"

    tokens = agent.ingress.tokens  # the agent's own key: tokens it would have issued
    refused = {
        "another job": tokens.issue("0x" + "ab" * 32, cast.renter2.address)[0],
        "expired": tokens.issue(job_id, cast.renter2.address, now=time.time() - tokens.ttl_s - 1)[0],
        "another renter": tokens.issue(job_id, cast.renter.address)[0],
        "forged": issued["token"][:-4] + "AAAA",
    }
    for why, token in refused.items():
        for route in routes:
            answer = requests.get(base + route, headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert answer.status_code == 403, (why, route, answer.text)
    # a port's cookie opens no log: only the Authorization header carries a token to the read routes
    cookie = requests.get(f"{base}/jobs/{job_id}/logs", cookies={"gpurent_access": issued["token"]}, timeout=5)
    assert cookie.status_code == 403


PAUSED = "i=0; while true; do echo line-$i; i=$((i+1)); /bin/busybox sleep 4; done"


def test_a_followed_log_reconnects_after_its_signature_is_stale_and_goes_on(
        start_agent, push_image, renter2_rent, tmp_path, manifest, chain, gp, cast, monkeypatch):
    """The signature is good for 2 s here (MAX_SKEW_S, 60 s in use) and the gateway's upstream
    reconnects after 1 s of silence (its follow idle bound, 60 s in use): the log pauses 4 s between lines, so every
    line after the first comes over a connection opened with a stale signature. Before the
    agent's token was used for it, the agent refused that reconnect (403) and the stream ended."""
    monkeypatch.setattr("gpurent.wire.access.MAX_SKEW_S", 2)
    monkeypatch.setattr(gateway_app, "DelegatedEndpoint",
                        functools.partial(DelegatedEndpoint, timeout_s=1.0, follow_idle_s=1.0,
                                          follow_reconnects=20))
    runner = start_agent()
    job_id = renter2_rent.create_job(runner.gpu, push_image(PAUSED), 3600).value.job_id
    runner.wait_phase(job_id, "running")
    server = serve_gateway(tmp_path, manifest, chain, gp)
    try:
        signed = sign_access(cast.renter2, manifest.chain_id, job_id)
        with connect(server.url.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/logs", open_timeout=10) as ws:
            ws.send(hello(server.url, cast.renter2, job_id, manifest.chain_id, signed))
            text = read_lines(ws, 4, timeout_s=40)
        assert all(f"line-{i}\n" in text for i in range(4)), text
        assert int(time.time()) - int(signed[TIMESTAMP_HEADER]) > 8  # the lines came long after the signature...
        stale = requests.get(f"http://127.0.0.1:{runner.agent.endpoint.port}/jobs/{job_id}/logs", headers=signed, timeout=5)
        assert stale.status_code == 403 and "stale" in stale.text  # ... which the agent refuses by now
    finally:
        server.stop()


BLOB = 12 * 2**20  # bytes of random data in the image: the pull below takes about 4 s
RATE = 3 * 2**20  # bytes a second the agent's transfer is held to


def test_the_pull_progress_streams_from_the_agents_record_until_the_job_is_done(
        start_agent, push_image, renter2_rent, tmp_path, manifest, chain, gp, cast):
    """A real pull from the Kubo node, held to RATE by the test (the agent's own transfer
    progress, slowed) and held back until the renter subscribed: the frames carry bytes that
    move up to the total, then the phases after it, and the stream ends at the final one."""
    runner = start_agent(fetch_timeout_s=30)
    agent, subscribed = runner.agent, threading.Event()
    progress = agent._progress

    def held(job_id):  # type: ignore[no-untyped-def]
        transfer = progress(job_id)
        advance = transfer.advance

        def slowly(done: int) -> None:
            subscribed.wait(60)
            time.sleep(done / RATE)
            advance(done)

        transfer.advance = slowly
        return transfer

    agent._progress = held
    image = push_image("echo pulled-and-ran", "gpurent-test/progress:1", files=(LayerFile("blob", os.urandom(BLOB)),))
    job_id = renter2_rent.create_job(runner.gpu, image, 3600).value.job_id
    server = serve_gateway(tmp_path, manifest, chain, gp)
    frames: list[dict] = []
    try:
        with connect(server.url.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/progress", open_timeout=10) as ws:
            ws.send(hello(server.url, cast.renter2, job_id, manifest.chain_id))
            deadline = time.monotonic() + 90
            while True:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if "end" in frame or "error" in frame:
                    break
                frames.append(frame)
                subscribed.set()
    finally:
        server.stop()
    assert "end" in frame, frame
    pulling = [f for f in frames if f["phase"] == "pulling"]
    done = [f["bytesDone"] for f in pulling]
    total = pulling[-1]["bytesTotal"]
    assert total is not None and total > BLOB
    assert done == sorted(done) and len(set(done)) >= 3, done  # the count moved, frame by frame
    assert any(0 < d < total for d in done) and frames[-1]["bytesDone"] == total  # and it ended at the total
    phases = [f["phase"] for f in frames]
    assert phases[0] in ("queued", "pulling") and phases[-1] == "completed", phases  # (a job this short may run between two polls)
    assert frames[-1]["phase"] == "completed" and frames[-1]["exitCode"] == 0, frames[-1]
    assert all(set(f) == {"phase", "bytesDone", "bytesTotal", "exitCode", "problem"} for f in frames)
    assert len(frames) == len({json.dumps(f, sort_keys=True) for f in frames})  # only changes are sent


def test_the_gateway_hears_from_the_agent_which_images_start_there_without_a_download(stack, cast, push_image, gp):
    server, job_id, agent = stack
    job = gp.job(job_id)
    never_run = push_image("echo never run here", name="gpurent-test/elsewhere:1")  # on the node, not in the cache
    stranger = cast.renter.address  # no provider: the index has no endpoint for it
    cached = f"{server.url}/api/v1/images/{{}}/cached"
    answer = requests.get(cached.format(job.image_cid), params={"provider": [job.provider, stranger]}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"cid": job.image_cid, "providers": {job.provider.lower(): "ready", stranger.lower(): None}}
    other = requests.get(cached.format(never_run), params={"provider": job.provider}, timeout=10).json()
    assert other["providers"] == {job.provider.lower(): "absent"}

    base = f"http://127.0.0.1:{agent.endpoint.port}"  # the agent's own route: anyone may ask, a CID only
    assert requests.get(f"{base}/images/{job.image_cid}", timeout=5).json() == {"cid": job.image_cid, "state": "ready"}
    for bad in ("not-a-cid", "a" * 129, "..%2Fhealth"):
        assert requests.get(f"{base}/images/{bad}", timeout=5).status_code in (400, 404), bad
    for params in ({"provider": "0x12"}, {"provider": [job.provider] * 51}, {}):
        refused = requests.get(cached.format(job.image_cid), params=params, timeout=10)
        assert refused.status_code in (400, 422) and "provider" in refused.text, (params, refused.text)


def test_gpus_list_image_says_where_the_image_would_start_without_a_download(stack, push_image, gp, cli):
    _, job_id, _ = stack
    job = gp.job(job_id)
    listed = cli("--json", "gpus", "list", "--all", "--image", job.image_cid)
    assert listed.exit_code == 0, listed.output + listed.stderr
    rows = json.loads(listed.output)
    here = {row["id"].lower(): row["image_here"] for row in rows}
    assert here[job.resource_id.lower()] == "ready"
    assert {row["image_here"] for row in rows if row["provider"].lower() != job.provider.lower()} <= {"unknown", "absent"}
    never_run = push_image("echo never run here", name="gpurent-test/elsewhere:2")
    other = json.loads(cli("--json", "gpus", "list", "--all", "--image", never_run).output)
    assert {row["image_here"] for row in other if row["provider"].lower() == job.provider.lower()} == {"absent"}
    bad = cli("gpus", "list", "--image", "not-a-cid")
    assert bad.exit_code != 0 and "is not a CID" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
