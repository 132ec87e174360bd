"""Attacks on the gateway, on the real stack (Anvil, a real index, the gateway on uvicorn): a
GraphQL WebSocket through it, a flood of sign-in nonces."""

from __future__ import annotations

import time

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from gpurent.gateway.guard import Limits
from gpurent.gateway.store import MemoryStore
from tests.gateway.test_gateway import gateway, index_db, indexed, serve, sign  # noqa: F401 - fixtures


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
