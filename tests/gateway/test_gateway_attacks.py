"""Attacks on the gateway, on the real stack (Anvil, a real index, the gateway on uvicorn): a
GraphQL WebSocket through it, a flood of sign-in nonces, clients that leave a stream or send a
frame too big, and a route that fails on a hostile index row."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import insert
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from gpurent.gateway.guard import Limits
from gpurent.gateway.store import MemoryStore, RedisStore
from gpurent.indexer import schema as tables
from tests.agent.test_gateway_streams import hello
from tests.conftest import create_job, register_provider, register_resource
from tests.gateway.test_gateway import (gateway, index_db, indexed, redis_server, redis_url, replicas, serve, sign,  # noqa: F401 - fixtures
                                        sign_in)
from tests.indexer.test_indexer import make_indexer
from tests.oracle.rogue_provider import MB, RogueProvider


@contextmanager
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """What the gateway and uvicorn log (uvicorn's loggers do not propagate to the root, where
    caplog listens). Entered after the server starts: uvicorn's config resets its loggers."""
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_log.removeHandler(caplog.handler)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage()[:200] for r in caplog.records
            if r.exc_info or "Traceback" in r.getMessage() or "Exception in ASGI application" in r.getMessage()]


def challenge(url: str, account) -> requests.Response:
    return requests.post(f"{url}/api/v1/auth/challenge", json={"address": account.address}, timeout=10)


# ---------------------------------------------------------------------- 1. GraphQL: HTTP only

def test_graphql_through_the_gateway_is_http_only(gateway):
    server, _, indexer = gateway
    for path in ("/graphql", "/graphql/"):
        for protocols in (["graphql-transport-ws"], ["graphql-ws"], None):
            with pytest.raises(InvalidStatus) as refused:
                connect(server.url.replace("http://", "ws://") + path, subprotocols=protocols, open_timeout=10)
            assert refused.value.response.status_code == 403, (path, protocols)
    query = requests.post(f"{server.url}/graphql", json={"query": "{ indexer { chainId } }"}, timeout=10)
    assert query.json()["data"]["indexer"]["chainId"] == indexer.manifest.chain_id  # HTTP queries as before
    over_http = requests.post(f"{server.url}/graphql", json={"query": "subscription { newGPUAvailable { id } }"},
                              headers={"Accept": "multipart/mixed;subscriptionSpec=1.0, application/json"}, timeout=10)
    assert over_http.headers["content-type"].startswith("application/json")  # no subscription streamed either
    assert "subscription" in over_http.json()["errors"][0]["message"].lower(), over_http.text[:300]


# ---------------------------------------------------------------------- 3. the store's caps

def test_a_nonce_flood_past_the_cap_is_refused_503_and_memory_stays_at_the_cap(indexed, cast):
    indexer, _ = indexed
    store = MemoryStore(max_nonces=25)
    server, _ = serve(indexer, store=store, limits=Limits(per_ip=10_000, sign_in_per_ip=10_000))
    try:
        answers = [challenge(server.url, cast.renter) for _ in range(40)]
        assert [a.status_code for a in answers] == [200] * 25 + [503] * 15
        refused = answers[-1]
        assert 1 <= int(refused.headers["retry-after"]) <= 301 and refused.headers["x-frame-options"] == "DENY"
        assert "25 sign-ins are waiting" in refused.json()["error"] and "\n" not in refused.json()["error"]
        assert store.sizes()[0] == 25  # the flood evicted no one's nonce, and holds no more than the cap
        first = answers[0].json()["message"]  # the first one asked still signs in: its nonce was kept
        login = requests.post(f"{server.url}/api/v1/auth/login", timeout=10,
                              json={"message": first, "signature": sign(cast.renter, first)})
        assert login.status_code == 200, login.text
        assert challenge(server.url, cast.renter).status_code == 200  # the nonce spent freed its place
        assert challenge(server.url, cast.renter).status_code == 503 and store.sizes()[0] == 25
    finally:
        server.stop()


def test_nonces_expire_in_order_and_windows_are_capped_oldest_first():
    store = MemoryStore(max_nonces=3, max_windows=1000)
    for n in range(3):
        store.put_nonce(f"short-{n}", 0.05)
    time.sleep(0.1)
    for n in range(3):  # the expired ones make room, without a scan
        store.put_nonce(f"long-{n}", 60)
    assert store.sizes()[0] == 3 and not store.take_nonce("short-0") and store.take_nonce("long-0")
    for n in range(5000):
        assert store.hit(f"ip:{n}", 2, 60) is None
    assert store.sizes()[1] == 1000  # the oldest windows went
    assert store.hit("ip:4999", 2, 60) is None and store.hit("ip:4999", 2, 60) is not None  # the newest still count
    assert store.hit("ip:0", 2, 60) is None  # evicted: a fresh window


def test_rate_limit_windows_cost_no_scan_per_request():
    """Past 200,000 live windows every new key used to rescan them all (seconds for a few
    thousand requests); each costs a heap push now."""
    store = MemoryStore()
    for n in range(200_001):
        store.hit(f"ip:{n}", 10, 60)
    started = time.perf_counter()
    for n in range(2000):
        store.hit(f"new:{n}", 10, 60)
    assert time.perf_counter() - started < 1.0
    assert store.sizes()[1] == 202_001


# ---------------------------------------------------------------------- 4. streams end quietly

@pytest.fixture
def long_log_job(index_db, suite, cast, chain, manifest):
    """A renter's job, indexed, on a provider whose endpoint serves a long log (a real HTTP server)."""
    yield from _log_job(RogueProvider(log_size=256 * MB), index_db, suite, cast, chain, manifest)


@pytest.fixture
def trickling_job(index_db, suite, cast, chain, manifest):
    """The same, its log served slowly (about 1 MiB/s): its readers never fall behind."""
    yield from _log_job(RogueProvider(log_size=256 * MB, log_pause=0.05), index_db, suite, cast, chain, manifest)


def _log_job(provider: RogueProvider, index_db, suite, cast, chain, manifest):
    provider.start()
    register_provider(suite, cast.outsider, endpoint=provider.url)
    job_id, _ = create_job(suite, cast.renter, register_resource(suite, cast.outsider))
    indexer = make_indexer(index_db, manifest, chain)
    indexer.sync()
    yield indexer, "0x" + bytes(job_id).hex(), provider
    provider.stop()


@pytest.fixture
def streaming(long_log_job):
    """That job behind the gateway."""
    indexer, job_id, provider = long_log_job
    server, _ = serve(indexer)
    yield server, job_id, provider
    server.stop()


def _abort(ws) -> None:
    """Leaves as a client that vanishes does: the TCP connection cut, no close frame."""
    ws.socket.shutdown(socket.SHUT_RDWR)
    ws.socket.close()


def test_clients_that_leave_or_send_too_much_end_quietly(streaming, cast, manifest, caplog):
    server, job_id, provider = streaming
    ws_url = server.url.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/logs"
    with server_log(caplog):
        _abort(connect(ws_url, open_timeout=10))  # gone before its first message
        with connect(ws_url, open_timeout=10, max_size=None) as big:  # a first message over the frame limit
            big.send("x" * (100 * 1024))
            with pytest.raises(ConnectionClosed) as closed:
                big.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        for leave in ("abort", "too big"):  # mid-stream
            ws = connect(ws_url, open_timeout=10)
            ws.send(hello(server.url, cast.renter, job_id, manifest.chain_id))
            assert isinstance(ws.recv(timeout=20), bytes)  # the log is flowing
            if leave == "abort":
                _abort(ws)
            else:
                ws.send(b"\0" * (100 * 1024))
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        ws.recv(timeout=10)
                # 1009; or, when the gateway closed with most of the frame unread in its socket, a
                # reset (the kernel's answer to a close with unread bytes) overtook the close frame
                assert closed.value.rcvd is None or closed.value.rcvd.code == 1009, closed.value.rcvd
                ws.close()
        time.sleep(1.0)  # the gateway notices the last one gone
        with connect(ws_url, open_timeout=10) as after:  # and it still serves
            after.send(hello(server.url, cast.renter, job_id, manifest.chain_id))
            assert isinstance(after.recv(timeout=20), bytes)
        time.sleep(0.5)
        assert tracebacks(caplog) == []
    assert provider.sent["logs"] < 256 * MB  # the upstream was let go, not read to its end


def _follow(server, cast, job_id: str, chain_id: int):
    ws = connect(server.url.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/logs", open_timeout=10)
    ws.send(hello(server.url, cast.renter, job_id, chain_id))
    return ws


def _read_until_closed(ws) -> None:
    try:
        while True:
            ws.recv(timeout=60)
    except Exception:  # noqa: BLE001 - closed, by either side: done
        return


def test_an_address_streams_count_once_across_replicas(trickling_job, cast, manifest, redis_url):
    indexer, job_id, _ = trickling_job  # (a fast log would drop a reader as too slow, freeing its place)
    a, b = replicas(indexer, redis_url, Limits(streams_per_address=2))
    try:
        first, second = _follow(a, cast, job_id, manifest.chain_id), _follow(b, cast, job_id, manifest.chain_id)
        assert isinstance(first.recv(timeout=20), bytes) and isinstance(second.recv(timeout=20), bytes)
        for held in (first, second):  # read on, so neither falls behind and is dropped (its place freed)
            threading.Thread(target=_read_until_closed, args=(held,), daemon=True).start()
        for replica in (a, b):  # a third, on either replica, is refused: the two count across both
            third = _follow(replica, cast, job_id, manifest.chain_id)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    third.recv(timeout=20)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            assert "at most 2 streams" in closed.value.rcvd.reason
        second.close()  # given back: a place is free again, whichever replica asks
        deadline = time.monotonic() + 10
        while True:
            again = _follow(a, cast, job_id, manifest.chain_id)
            try:
                assert isinstance(again.recv(timeout=20), bytes)
                break
            except ConnectionClosed:  # (the close is given back a moment after the client's)
                assert time.monotonic() < deadline, "the closed stream's place never came back"
                time.sleep(0.2)
        again.close()
        first.close()
    finally:
        a.stop()
        b.stop()


def test_a_job_created_a_moment_ago_streams_before_the_index_has_it(long_log_job, suite, cast, manifest, gp):
    """The console opens a job's log as soon as its creation is mined, which can be before the
    index has the job (or its provider): the stream's admission reads those from the chain then,
    as the job's own route does, rather than closing 4404."""
    from gpurent.gateway.app import GatewayConfig, make_app
    from gpurent.gateway.auth import Authenticator
    from gpurent.gateway.service import GatewayServer
    from gpurent.local.process import free_port
    from tests.gateway.test_gateway import KEY

    indexer, _, _ = long_log_job  # indexed: its provider (cast.outsider); not its jobs below
    late = RogueProvider(log_size=MB).start()  # a provider registered after the index's last look
    try:
        register_provider(suite, cast.provider2, endpoint=late.url)
        for owner in (cast.outsider, cast.provider2):  # a provider indexed, then one not
            job, _ = create_job(suite, cast.renter, register_resource(suite, owner))
            job_id = "0x" + bytes(job).hex()
            port, store = free_port(), MemoryStore()
            auth = Authenticator(store, KEY, domain=f"127.0.0.1:{port}", uri=f"http://127.0.0.1:{port}",
                                 chain_id=manifest.chain_id)
            server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=manifest, auth=auth,
                                                          store=store, gp=gp)), "127.0.0.1", port)
            server.start()
            try:
                ws = _follow(server, cast, job_id, manifest.chain_id)
                assert isinstance(ws.recv(timeout=20), bytes)  # the log, not a close 4404
                ws.close()
            finally:
                server.stop()
    finally:
        late.stop()


def _closed_with(ws) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=20)
    assert closed.value.rcvd is not None, "no close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_redis_that_stops_answering_gets_503_and_1013_never_a_500(long_log_job, cast, manifest, tmp_path):
    """Redis gone under a running gateway: requests answer 503 with Retry-After and a one-line
    error, a WebSocket is accepted and closed 1013 ("try again later"); the same once Redis is
    back answers again. A Redis that refuses only the streams' lease (an ACL without ZADD, a real
    refusal mid-admission) closes the stream 1013 too, and nothing else is held."""
    indexer, job_id, _ = long_log_job
    with redis_server(tmp_path) as (url, process):
        server, _ = serve(indexer, RedisStore(url))
        try:
            assert requests.get(f"{server.url}/api/v1/gpus", timeout=10).status_code == 200
            process.terminate()
            process.wait(timeout=10)
            for answer in (requests.get(f"{server.url}/api/v1/gpus", timeout=10),
                           requests.post(f"{server.url}/api/v1/auth/challenge", json={"address": cast.renter.address},
                                         timeout=10)):
                assert answer.status_code == 503 and answer.headers["retry-after"] == "1", answer.text
                assert answer.json() == {"error": "the gateway's shared store did not answer: try again in a moment"}
            ws = connect(server.url.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/logs", open_timeout=10)
            assert _closed_with(ws) == (1013, "the gateway's shared store did not answer: try again in a moment")
        finally:
            server.stop()
    with redis_server(tmp_path) as (url, _):
        admin = RedisStore(url)._redis
        admin.execute_command("ACL", "SETUSER", "gateway", "on", ">pw", "~*", "&*", "+@all", "-zadd")
        limited = url.replace("redis://", "redis://gateway:pw@")
        server, _ = serve(indexer, RedisStore(limited))
        try:
            assert requests.get(f"{server.url}/api/v1/gpus", timeout=10).status_code == 200  # counted: it answers
            ws = connect(server.url.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/logs", open_timeout=10)
            ws.send(hello(server.url, cast.renter, job_id, manifest.chain_id))
            code, reason = _closed_with(ws)
            assert (code, reason) == (1013, "the gateway could not count this stream just now: try again in a moment")
            assert not admin.keys("gpurent:gateway:lease:*")  # no lease left behind
        finally:
            server.stop()


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_lease_not_renewed_expires_and_one_renewed_holds(store, redis_url):
    leases = MemoryStore() if store == "memory" else RedisStore(redis_url)
    held = leases.open_lease("streams:0xabc", 1, 0.3)
    assert held is not None and leases.open_lease("streams:0xabc", 1, 0.3) is None
    for _ in range(4):  # renewed within its life, it holds past the first 0.3 s
        time.sleep(0.15)
        leases.renew_lease("streams:0xabc", held, 0.3)
        assert leases.open_lease("streams:0xabc", 1, 0.3) is None
    time.sleep(0.45)  # no longer renewed (a replica gone): its place comes back
    renewed = leases.open_lease("streams:0xabc", 1, 0.3)
    assert renewed is not None
    leases.close_lease("streams:0xabc", renewed)
    assert leases.open_lease("streams:0xabc", 1, 30) is not None
    assert leases.open_lease("streams:0xdef", 1, 30) is not None  # another address's count is its own


# ---------------------------------------------------------------------- 5. a route that fails

def test_a_route_failing_on_a_hostile_index_row_answers_a_json_500_with_the_headers(indexed, cast):
    indexer, _ = indexed
    with indexer.engine.begin() as db:  # a row no indexer writes: its model is bytes, not text
        db.execute(insert(tables.gpu_resources).values(
            id="0x" + "ee" * 32, provider_address=cast.provider2.address.lower(), gpu_model=b"\xff\xfe",
            vcpu=1, memory_gb=1, storage_gb=1, price_per_hour_tokens="0", price_per_hour_micro=0, availability=True,
            retired=False, reputation_score=0, total_uptime=0, registered_block=1, updated_block=1))
    server, _ = serve(indexer, origins=("http://app.example",))
    try:
        failed = requests.get(f"{server.url}/api/v1/gpus", headers={"Origin": "http://app.example"}, timeout=10)
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/json"
        assert failed.json() == {"error": "the gateway failed (TypeError); it is logged"}
        assert "\n" not in failed.text and "Traceback" not in failed.text
        assert failed.headers["x-frame-options"] == "DENY" and failed.headers["x-content-type-options"] == "nosniff"
        assert failed.headers["cache-control"] == "no-store"
        assert failed.headers["access-control-allow-origin"] == "http://app.example"
        evil = requests.get(f"{server.url}/api/v1/gpus", headers={"Origin": "http://evil.example"}, timeout=10)
        assert evil.status_code == 500 and "access-control-allow-origin" not in evil.headers
        assert evil.headers["x-frame-options"] == "DENY"
        assert requests.get(f"{server.url}/api/v1/health", timeout=10).json()["ok"]  # and it serves on
    finally:
        server.stop()


class _SilentAgent:
    """Accepts connections on 127.0.0.1 and never answers (an offline provider behind a firewall
    that drops, seen from the gateway)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"


def test_questions_to_silent_agents_hold_none_of_the_gateways_threads(indexed, cast):
    """The cached-image route waits for agents on the event loop: 60 pages asking at once, each
    about a new image and a provider that never answers, leave the sync routes (a thread pool of
    40) answering at once."""
    from gpurent.gateway.app import GatewayConfig, make_app
    from gpurent.gateway.auth import Authenticator
    from gpurent.gateway.service import GatewayServer
    from gpurent.local.process import free_port
    from gpurent.sdk.images_here import ImageProbe, agent_ask

    indexer, _ = indexed
    silent = _SilentAgent()
    probe = ImageProbe(lambda wanted: {a: silent.url for a in wanted}, agent_ask(indexer.manifest.chain_id, timeout_s=3.0),
                       timeout_s=3.0)
    port, store = free_port(), MemoryStore()
    auth = Authenticator(store, b"k" * 32, domain=f"127.0.0.1:{port}", uri=f"http://127.0.0.1:{port}",
                         chain_id=indexer.manifest.chain_id)
    server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=indexer.manifest, auth=auth,
                                                  store=store, images=probe)), "127.0.0.1", port)
    server.start()
    provider = cast.provider.address
    answers: list[dict] = []

    def page(i: int) -> None:
        cid = f"bafy{i:06d}" + "a" * 50
        answers.append(requests.get(f"{server.url}/api/v1/images/{cid}/cached", params={"provider": provider},
                                    timeout=30).json())

    try:
        pages = [threading.Thread(target=page, args=(i,)) for i in range(60)]
        for p in pages:
            p.start()
        time.sleep(0.5)  # all 60 waiting on the silent agent
        started = time.monotonic()
        other = requests.get(f"{server.url}/api/v1/reliability", params={"provider": provider}, timeout=30)
        took = time.monotonic() - started
        for p in pages:
            p.join(30)
        assert other.status_code == 200 and took < 1.0, took  # a sync route was not queued behind them
        assert len(answers) == 60 and all(a["providers"] == {provider.lower(): None} for a in answers)
    finally:
        server.stop()
        probe.close()
        silent.listener.close()
