"""The API gateway on a real stack: Anvil, a real index (SQLite), uvicorn on a free port, Redis
for two replicas. Sign-in with an Anvil account's signature; every refusal path of EIP-4361 and
of the session token; GPUs through REST equal to the index's GraphQL; limits answer 429."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import subprocess
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Iterator
from datetime import datetime, timedelta, timezone

import jwt
import pytest
import requests

from gpurent.gateway import siwe
from gpurent.gateway.app import GatewayConfig, make_app
from gpurent.gateway.auth import Authenticator
from gpurent.gateway.guard import Limits
from gpurent.gateway.service import GatewayServer
from gpurent.gateway.store import MemoryStore, RedisStore
from gpurent.local.process import free_port
from gpurent.units import TOKEN
from tests.indexer.test_graphql import run as graphql
from tests.indexer.test_indexer import busy_chain, make_indexer

KEY = b"k" * 32


@pytest.fixture
def index_db(tmp_path):
    return f"sqlite:///{tmp_path / 'index.db'}"


@pytest.fixture
def indexed(index_db, suite, cast, chain, manifest):
    """The GraphQL tests' chain story (three jobs of the renter's, GPUs of two providers), indexed."""
    made = busy_chain(suite, cast, chain)
    suite.token.approve(suite.registry, 100 * TOKEN, sender=cast.provider2)
    suite.registry.registerProvider("http://127.0.0.1:9999", 100 * TOKEN, sender=cast.provider2)
    for model, memory, price in (("A100", 80, 3), ("RTX4090", 24, 1), ("H100", 80, 8)):
        suite.registry.registerResource(model, 16, memory, 500, price * TOKEN, sender=cast.provider2)
    indexer = make_indexer(index_db, manifest, chain)
    indexer.sync()
    return indexer, made


def serve(indexer, store=None, limits=Limits(), origins=()):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    store = store or MemoryStore()
    auth = Authenticator(store, KEY, domain=f"127.0.0.1:{port}", uri=url, chain_id=indexer.manifest.chain_id)
    server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=indexer.manifest, auth=auth,
                                                  store=store, origins=origins, limits=limits)), "127.0.0.1", port)
    server.start()
    return server, auth


@pytest.fixture
def gateway(indexed):
    indexer, _ = indexed
    server, auth = serve(indexer)
    yield server, auth, indexer
    server.stop()


def sign(account, text: str) -> str:
    return "0x" + account.sign_message(text).encode_rsv().hex()


def sign_in(url: str, account) -> str:
    challenge = requests.post(f"{url}/api/v1/auth/challenge", json={"address": account.address}, timeout=10).json()
    answer = requests.post(f"{url}/api/v1/auth/login", json={"message": challenge["message"],
                                                             "signature": sign(account, challenge["message"])}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def test_a_renter_signs_in_and_reads_gpus_and_its_jobs(gateway, cast):
    server, auth, indexer = gateway
    url = server.url
    token = sign_in(url, cast.renter)
    me = requests.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.json()["address"] == cast.renter.address.lower()
    assert me.headers["x-content-type-options"] == "nosniff" and me.headers["x-frame-options"] == "DENY"
    assert me.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in me.headers["content-security-policy"]

    page = requests.get(f"{url}/api/v1/gpus", params={"max_price": 5, "min_memory_gb": 32}, timeout=10).json()
    assert [(g["gpuModel"], g["pricePerHour"]) for g in page["items"]] == [("A100", "3")]
    everything = requests.get(f"{url}/api/v1/gpus", params={"sort": "price_desc", "limit": 2, "offset": 1}, timeout=10)
    direct = graphql(indexer, "{ gpus(sort: PRICE_DESC, limit: 2, offset: 1) { id pricePerHour } }").data["gpus"]
    assert [(g["id"], g["pricePerHour"]) for g in everything.json()["items"]] == [(g["id"], g["pricePerHour"]) for g in direct]
    one = requests.get(f"{url}/api/v1/gpus/{direct[0]['id']}", timeout=10).json()
    assert one["id"] == direct[0]["id"] and one["provider"]["address"] == one["providerAddress"]
    assert requests.get(f"{url}/api/v1/gpus/0x{'0' * 64}", timeout=10).status_code == 404

    mine = requests.get(f"{url}/api/v1/instances", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert len(mine["items"]) == 3 and {j["user"] for j in mine["items"]} == {cast.renter.address.lower()}
    job = mine["items"][0]
    assert requests.get(f"{url}/api/v1/instances/{job['id']}", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).json()["id"] == job["id"]
    other = sign_in(url, cast.renter2)  # another renter sees none of them
    assert requests.get(f"{url}/api/v1/instances/{job['id']}", headers={"Authorization": f"Bearer {other}"},
                        timeout=10).status_code == 404
    assert requests.get(f"{url}/api/v1/instances", timeout=10).status_code == 401

    gql = requests.post(f"{url}/graphql", json={"query": "{ indexer { chainId } }"}, timeout=10).json()
    assert gql["data"]["indexer"]["chainId"] == indexer.manifest.chain_id  # the index's schema, mounted
    assert "/api/v1/gpus" in requests.get(f"{url}/openapi.json", timeout=10).json()["paths"]
    assert "/api/v1/gpus" in requests.get(f"{url}/docs", timeout=10).text


def test_gpus_narrow_by_the_reputations_components_in_percent(gateway, cast, gp):
    """min_uptime_pct / min_response_pct: percentages (decimals allowed) of the index's components,
    each GPU row carrying them in basis points; out of 0-100 or not a number: 400."""
    server, _, indexer = gateway
    url = f"{server.url}/api/v1/gpus"
    measured, new = cast.provider.address.lower(), cast.provider2.address.lower()
    response = int(gp.reputation(cast.provider.address).response * 10_000)  # provider2: 5000, unmeasured
    rows = requests.get(url, timeout=10).json()["items"]
    assert {(g["providerAddress"], g["responseBps"]) for g in rows} == {(measured, response), (new, None)}
    for pct, expected in ((0, {measured, new}), ("50", {measured, new}), ("50.01", {measured}),
                          (f"{response / 100:.2f}", {measured}), (f"{response / 100 + 0.001:.3f}", set()),
                          (100, set())):
        found = requests.get(url, params={"min_response_pct": pct}, timeout=10)
        assert found.status_code == 200 and {g["providerAddress"] for g in found.json()["items"]} == expected, pct
    both = requests.get(url, params={"min_uptime_pct": 0, "min_response_pct": 50.01}, timeout=10).json()["items"]
    direct = graphql(indexer, "{ gpus(filters: {minUptimeBps: 0, minResponseBps: 5001}) { id } }").data["gpus"]
    assert [g["id"] for g in both] == [g["id"] for g in direct] and direct
    for name in ("min_uptime_pct", "min_response_pct"):
        for bad in ("-0.5", "100.01", "nan", "inf", "ninety", "1" * 40):
            answer = requests.get(url, params={name: bad}, timeout=10)
            assert answer.status_code == 400 and name in answer.json()["error"], (name, bad, answer.text)


@pytest.mark.parametrize("bad", ["bad sort", "bad provider", "page too big", "bad id"])
def test_bad_queries_get_one_line_errors(gateway, bad):
    server, _, _ = gateway
    path, params = {"bad sort": ("gpus", {"sort": "cheapest"}), "bad provider": ("gpus", {"provider": "0x12"}),
                    "page too big": ("gpus", {"limit": 101}), "bad id": ("gpus/'; drop", {})}[bad]
    answer = requests.get(f"{server.url}/api/v1/{path}", params=params, timeout=10)
    assert answer.status_code == 400 and "\n" not in answer.json()["error"] and answer.json()["error"]


def test_sign_in_refuses_replay_expiry_domain_chain_and_forgery(gateway, cast):
    server, auth, _ = gateway
    url = server.url

    def login(text: str, signature: str):
        return requests.post(f"{url}/api/v1/auth/login", json={"message": text, "signature": signature}, timeout=10)

    def fresh(**changes):
        challenge = requests.post(f"{url}/api/v1/auth/challenge", json={"address": cast.renter.address}, timeout=10).json()
        message = replace(siwe.parse(challenge["message"]), **changes)
        return message.render()

    text = fresh()
    assert login(text, sign(cast.renter, text)).status_code == 200
    replayed = login(text, sign(cast.renter, text))
    assert replayed.status_code == 401 and "used already" in replayed.json()["error"]

    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    for changes, says in (({"expiration_time": past}, "expired"),
                          ({"issued_at": past - timedelta(minutes=10), "expiration_time": None}, "too old"),
                          ({"domain": "evil.example"}, "not this gateway"),
                          ({"uri": "https://evil.example/login"}, "URI"),
                          ({"chain_id": 1}, "chain 1"),
                          ({"nonce": "a" * 32}, "nonce")):
        text = fresh(**changes)
        answer = login(text, sign(cast.renter, text))
        assert answer.status_code == 401 and says in answer.json()["error"], (changes, answer.text)

    text = fresh()
    forged = login(text, sign(cast.renter2, text))  # signed by another key
    assert forged.status_code == 401 and "not the message's address" in forged.json()["error"]
    assert login(text, sign(cast.renter, text)).status_code == 200  # a forgery does not burn the nonce
    assert login("hello", "0x" + "00" * 65).status_code == 401
    assert login(text.replace("Version: 1", "Version: 2"), sign(cast.renter, text)).status_code == 401


def test_tampered_and_unsigned_tokens_are_refused(gateway, cast):
    server, auth, _ = gateway
    token = sign_in(server.url, cast.renter)

    def me(value: str) -> int:
        return requests.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {value}"}, timeout=10).status_code

    assert me(token) == 200
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = cast.renter2.address.lower()
    other_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert me(f"{head}.{other_body}.{sig}") == 401  # tampered claims
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    assert me(f"{none_head}.{other_body}.") == 401  # alg: none
    assert me(jwt.encode({**claims, "exp": int(time.time()) - 60}, KEY, algorithm="HS256")) == 401  # expired
    assert me(jwt.encode({**claims, "aud": "http://evil.example"}, KEY, algorithm="HS256")) == 401  # another audience
    assert me(jwt.encode({**claims, "exp": int(time.time()) + 86400}, KEY, algorithm="HS256")) == 401  # too long
    assert me(jwt.encode(claims, b"x" * 32, algorithm="HS256")) == 401  # another key


def test_limits_answer_429_with_retry_after_and_bodies_are_bounded(indexed, cast):
    indexer, _ = indexed
    server, _ = serve(indexer, limits=Limits(per_ip=5, window_s=30))
    try:
        codes = [requests.get(f"{server.url}/api/v1/gpus", timeout=10) for _ in range(6)]
        assert [c.status_code for c in codes] == [200] * 5 + [429]
        assert 1 <= int(codes[-1].headers["retry-after"]) <= 30 and codes[-1].headers["x-frame-options"] == "DENY"
    finally:
        server.stop()
    server, _ = serve(indexer, limits=Limits(max_body=1024))
    try:
        big = requests.post(f"{server.url}/api/v1/auth/login", data=b"{" + b" " * 5000 + b"}",
                            headers={"Content-Type": "application/json"}, timeout=10)
        assert big.status_code == 413
        chunked = requests.post(f"{server.url}/api/v1/auth/login", data=iter([b"{", b" " * 3000, b"}"]),
                                headers={"Content-Type": "application/json"}, timeout=10)  # no length announced
        assert chunked.status_code == 413
    finally:
        server.stop()


def test_cors_admits_only_configured_origins(indexed):
    indexer, _ = indexed
    server, _ = serve(indexer, origins=("http://app.example",))
    try:
        ok = requests.options(f"{server.url}/api/v1/gpus", timeout=10, headers={
            "Origin": "http://app.example", "Access-Control-Request-Method": "GET"})
        assert ok.headers.get("access-control-allow-origin") == "http://app.example"
        evil = requests.get(f"{server.url}/api/v1/gpus", headers={"Origin": "http://evil.example"}, timeout=10)
        assert "access-control-allow-origin" not in evil.headers
    finally:
        server.stop()


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real Redis on a free port (no persistence), its URL once it answers, and its process."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: run `make setup`")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                RedisStore(url).ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path) as (url, _):
        yield url


def replicas(indexer, redis_url: str, limits: Limits):
    """Two gateways on one index and one Redis, as one deployment (one sign-in domain)."""
    a, auth_a = serve(indexer, RedisStore(redis_url), limits)
    store_b = RedisStore(redis_url)
    auth_b = Authenticator(store_b, KEY, domain=auth_a.domain, uri=auth_a.uri, chain_id=auth_a.chain_id)
    b = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=indexer.manifest, auth=auth_b,
                                             store=store_b, limits=limits)), "127.0.0.1", free_port())
    b.start()
    return a, b


def test_two_replicas_share_nonces_and_limits_through_redis(indexed, cast, redis_url):
    indexer, _ = indexed
    a, b = replicas(indexer, redis_url, Limits(per_ip=8, window_s=30))
    try:
        challenge = requests.post(f"{a.url}/api/v1/auth/challenge", json={"address": cast.renter.address}, timeout=10).json()
        body = {"message": challenge["message"], "signature": sign(cast.renter, challenge["message"])}
        on_b = requests.post(f"{b.url}/api/v1/auth/login", json=body, timeout=10)  # issued by a, spent at b
        assert on_b.status_code == 200
        again = requests.post(f"{a.url}/api/v1/auth/login", json=body, timeout=10)
        assert again.status_code == 401 and "used already" in again.json()["error"]
        token = on_b.json()["token"]
        assert requests.get(f"{a.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        codes = [requests.get(f"{(a, b)[i % 2].url}/api/v1/gpus", timeout=10).status_code for i in range(6)]
        assert codes == [200] * 4 + [429] * 2  # 4 counted above; 8 a window across both replicas
    finally:
        a.stop()
        b.stop()


# ---------------------------------------------------------------------- non-custodial writes

def wallet_send(web3, account, request: dict, gas: int | None = None) -> str:
    """What a browser wallet does with eth_sendTransaction, minus the sending: fill in nonce,
    gas and fees, sign with the account's own key (Anvil's test key, held by the "wallet")."""
    from eth_account import Account

    tx = {"to": request["to"], "data": request["data"], "value": 0, "chainId": int(request["chainId"], 16),
          "nonce": web3.eth.get_transaction_count(account.address), "type": 2}
    tx["gas"] = gas or web3.eth.estimate_gas({**tx, "from": account.address})
    base = web3.eth.get_block("latest")["baseFeePerGas"]
    tx.update(maxFeePerGas=2 * base + 10**9, maxPriorityFeePerGas=10**9)
    return "0x" + bytes(Account.sign_transaction(tx, account.private_key).raw_transaction).hex()


def sign_typed(account, typed: dict) -> str:
    from eth_account import Account

    message = {**typed, "message": {k: (int(v) if k in ("value", "nonce", "deadline") else v)
                                     for k, v in typed["message"].items()}}
    return "0x" + bytes(Account.sign_typed_data(account.private_key, full_message=message).signature).hex()


@pytest.fixture
def writable(indexed, gp):
    indexer, _ = indexed
    port = free_port()
    store = MemoryStore()
    auth = Authenticator(store, KEY, domain=f"127.0.0.1:{port}", uri=f"http://127.0.0.1:{port}",
                         chain_id=indexer.manifest.chain_id)
    server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=indexer.manifest, auth=auth,
                                                  store=store, gp=gp)), "127.0.0.1", port)
    server.start()
    yield server, indexer
    server.stop()


def test_a_renter_rents_through_prepare_sign_broadcast_and_cancels(writable, cast, gp, suite):
    from web3 import Web3

    server, indexer = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    token = sign_in(url, cast.renter)
    auth = {"Authorization": f"Bearer {token}"}
    gpu_id = requests.get(f"{url}/api/v1/gpus", params={"model": "H100"}, timeout=10).json()["items"][0]["id"]
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    before = int(suite.token.balanceOf(cast.renter))

    permit = requests.post(f"{url}/api/v1/instances/prepare", headers=auth, timeout=10,
                           json={"gpuId": gpu_id, "imageCid": cid, "durationSeconds": 3600})
    assert permit.status_code == 200, permit.text
    body = permit.json()
    assert body["typedData"]["message"]["owner"] == cast.renter.address and int(body["maxCost"]) == 8 * 10**18
    signature = sign_typed(cast.renter, body["typedData"])  # the wallet's eth_signTypedData_v4
    created = requests.post(f"{url}/api/v1/instances", headers=auth, timeout=10, json={
        "gpuId": gpu_id, "imageCid": cid, "durationSeconds": 3600, "maxCost": int(body["maxCost"]),
        "deadline": body["deadline"], "permitSignature": signature})
    assert created.status_code == 200, created.text
    request = created.json()["transaction"]
    assert request["to"] == str(gp.marketplace.address) and request["from"] == cast.renter.address

    foreign = wallet_send(web3, cast.renter2, request, gas=500_000)  # signed by someone else than the session
    refused = requests.post(f"{url}/api/v1/transactions", headers=auth, json={"rawTransaction": foreign}, timeout=10)
    assert refused.status_code == 400 and "not by the signed-in" in refused.json()["error"]
    elsewhere = wallet_send(web3, cast.renter, {**request, "to": str(suite.reputation.address), "data": "0x"}, gas=100_000)
    refused = requests.post(f"{url}/api/v1/transactions", headers=auth, json={"rawTransaction": elsewhere}, timeout=10)
    assert refused.status_code == 400 and "not this deployment" in refused.json()["error"]

    sent = requests.post(f"{url}/api/v1/transactions", headers=auth, timeout=90,
                         json={"rawTransaction": wallet_send(web3, cast.renter, request)})
    assert sent.status_code == 200 and sent.json()["ok"], sent.text
    job_id = sent.json()["jobId"]
    at_once = requests.get(f"{url}/api/v1/instances/{job_id}", headers=auth, timeout=10).json()  # not indexed yet
    assert at_once["status"] == "Created" and at_once["maxCost"] == "8" and at_once["indexed"] is False, at_once
    assert at_once["user"] == cast.renter.address.lower() and at_once["history"] == [] and at_once["chainTime"] > 0
    assert requests.get(f"{url}/api/v1/instances/0x{'12' * 32}", headers=auth, timeout=10).status_code == 404
    job = gp.job(job_id)
    assert job.user.lower() == cast.renter.address.lower() and job.image_cid == cid
    assert int(suite.token.balanceOf(cast.renter)) == before - 8 * 10**18  # the max cost, locked in escrow

    more = requests.post(f"{url}/api/v1/instances/{job_id}/extend/prepare", headers=auth, timeout=10,
                         json={"extraSeconds": 1800})
    assert more.status_code == 200 and int(more.json()["maxCost"]) == 4 * 10**18, more.text  # half an hour at 8/h
    extend = requests.post(f"{url}/api/v1/instances/{job_id}/extend", headers=auth, timeout=10, json={
        "extraSeconds": 1800, "maxCost": int(more.json()["maxCost"]), "deadline": more.json()["deadline"],
        "permitSignature": sign_typed(cast.renter, more.json()["typedData"])}).json()["transaction"]
    extended = requests.post(f"{url}/api/v1/transactions", headers=auth, timeout=90,
                             json={"rawTransaction": wallet_send(web3, cast.renter, extend)})
    assert extended.json()["ok"] and gp.job(job_id).estimated_duration == 5400, extended.text
    wallet = requests.get(f"{url}/api/v1/balances", headers=auth, timeout=10).json()
    assert int(Decimal(wallet["tokens"]) * 10**18) == before - 12 * 10**18  # 8 + 4 locked
    other = {"Authorization": f"Bearer {sign_in(url, cast.renter2)}"}
    assert requests.post(f"{url}/api/v1/instances/{job_id}/extend/prepare", headers=other, timeout=10,
                         json={"extraSeconds": 60}).status_code == 403  # not theirs
    assert requests.delete(f"{url}/api/v1/instances/{job_id}", headers=other, timeout=10).status_code == 403
    ending = requests.delete(f"{url}/api/v1/instances/{job_id}", headers=auth, timeout=10)
    assert ending.status_code == 200 and ending.json()["action"] == "cancel", ending.text
    done = requests.post(f"{url}/api/v1/transactions", headers=auth, timeout=90,
                         json={"rawTransaction": wallet_send(web3, cast.renter, ending.json()["transaction"])})
    assert done.json()["ok"] and int(suite.token.balanceOf(cast.renter)) == before  # all of it back
    assert done.json()["settlement"] == {"provider": "0", "fee": "0", "refund": "12"}  # from the receipt's events
    indexer.sync()
    shown = requests.get(f"{url}/api/v1/instances/{job_id}", headers=auth, timeout=10).json()
    assert shown["status"] == "Cancelled" and shown["settlement"] == done.json()["settlement"], shown
    assert shown["resultCid"] is None  # cancelled: nothing ran, no result
    again = requests.delete(f"{url}/api/v1/instances/{job_id}", headers=auth, timeout=10)
    assert again.status_code == 400 and "Cancelled" in again.json()["error"], again.text  # refused before signing
    replay = wallet_send(web3, cast.renter, ending.json()["transaction"], gas=200_000)  # signed anyway: reverts
    failed = requests.post(f"{url}/api/v1/transactions", headers=auth, json={"rawTransaction": replay}, timeout=90).json()
    assert failed["ok"] is False and "Cancelled" in failed["error"] and "0x" not in failed["error"][:12], failed

    # a wallet that sends itself (MetaMask's eth_sendTransaction): the gateway reports the outcome by hash
    sent_by_wallet = web3.eth.send_raw_transaction(wallet_send(web3, cast.renter, ending.json()["transaction"],
                                                               gas=200_000)).hex()
    sent_by_wallet = sent_by_wallet if sent_by_wallet.startswith("0x") else "0x" + sent_by_wallet
    reported = requests.get(f"{url}/api/v1/transactions/{sent_by_wallet}", headers=auth, timeout=90).json()
    assert reported["ok"] is False and "Cancelled" in reported["error"] and reported["hash"] == sent_by_wallet, reported
    theirs = requests.get(f"{url}/api/v1/transactions/{sent_by_wallet}", headers=other, timeout=90)
    assert theirs.status_code == 400 and "not by the signed-in" in theirs.json()["error"], theirs.text
    unknown = requests.get(f"{url}/api/v1/transactions/0x{'ab' * 32}", headers=auth, timeout=10)
    assert unknown.status_code == 400 and "knows no transaction" in unknown.json()["error"], unknown.text


# ---------------------------------------------------------------------- image uploads

def test_uploads_push_a_real_archive_and_refuse_the_rest_leaving_nothing_pinned(indexed, kubo, cast, tmp_path):
    import socket as sockets
    from pathlib import Path

    from gpurent.gateway.uploads import Uploads
    from gpurent.images.archive import LayerFile, build_archive
    from gpurent.images.store import ImageStore

    indexer, _ = indexed
    port = free_port()
    store = MemoryStore()
    auth = Authenticator(store, KEY, domain=f"127.0.0.1:{port}", uri=f"http://127.0.0.1:{port}",
                         chain_id=indexer.manifest.chain_id)
    uploads = Uploads(ImageStore(kubo.client(), max_bytes=4 * 1024 * 1024), spool=tmp_path, idle_s=1.0)
    server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=indexer.manifest, auth=auth,
                                                  store=store, uploads=uploads)), "127.0.0.1", port)
    server.start()
    try:
        url = server.url
        headers = {"Authorization": f"Bearer {sign_in(url, cast.renter)}", "Content-Type": "application/x-tar"}
        archive = tmp_path / "image.tar"
        build_archive(archive, [LayerFile("bin/busybox", Path("/bin/busybox"), 0o755)], "gpurent-test/upload:1",
                      ["/bin/busybox", "true"])

        def chunks():
            with archive.open("rb") as handle:
                while block := handle.read(256 * 1024):
                    yield block

        pushed = requests.post(f"{url}/api/v1/images/upload", data=chunks(), headers=headers, timeout=60)  # chunked
        assert pushed.status_code == 200, pushed.text
        cid = pushed.json()["cid"]
        assert pushed.json()["size"] == archive.stat().st_size and pushed.json()["name"] == "gpurent-test/upload"
        about = requests.get(f"{url}/api/v1/images/{cid}", timeout=30).json()
        assert about["uploader"] == cast.renter.address.lower() and about["digest"] == pushed.json()["digest"]
        after_good = kubo.client().pins()

        not_tar = requests.post(f"{url}/api/v1/images/upload", data=b"not a tar at all" * 100, headers=headers, timeout=30)
        assert not_tar.status_code == 400 and "\n" not in not_tar.json()["error"], not_tar.text
        assert not_tar.json()["error"].startswith("the upload is not a docker-archive tar"), not_tar.text  # no spool path
        big = requests.post(f"{url}/api/v1/images/upload", headers={**headers, "Content-Length": str(5 * 1024 * 1024)},
                            data=b"", timeout=30)
        assert big.status_code == 413
        streamed_big = requests.post(f"{url}/api/v1/images/upload", headers=headers, timeout=60,
                                     data=(b"\0" * (1024 * 1024) for _ in range(5)))
        assert streamed_big.status_code == 413
        assert requests.post(f"{url}/api/v1/images/upload", data=b"x", timeout=10).status_code == 401  # not signed in

        with sockets.create_connection(("127.0.0.1", port), timeout=10) as slow:  # a client that stalls mid-body
            slow.sendall((f"POST /api/v1/images/upload HTTP/1.1\r\nHost: x\r\nAuthorization: {headers['Authorization']}\r\n"
                          "Content-Length: 100000\r\n\r\n").encode() + b"x" * 10)
            answer = slow.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        assert kubo.client().pins() == after_good  # the refused uploads pinned nothing
        assert list(tmp_path.glob("gpurent-upload-*")) == []  # nothing left on disk
    finally:
        server.stop()


# ---------------------------------------------------------------------- dataset uploads

def test_data_uploads_give_the_clis_cid_and_refuse_the_rest_leaving_nothing_pinned(indexed, kubo, cast, tmp_path,
                                                                                    monkeypatch):
    import hashlib
    import os
    import socket as sockets

    from click.testing import CliRunner

    from gpurent.cli.root import make_root
    from gpurent.gateway.uploads import Uploads
    from gpurent.images.store import ImageStore

    indexer, _ = indexed
    port = free_port()
    store = MemoryStore()
    auth = Authenticator(store, KEY, domain=f"127.0.0.1:{port}", uri=f"http://127.0.0.1:{port}",
                         chain_id=indexer.manifest.chain_id)
    spool = tmp_path / "spool"
    spool.mkdir()
    uploads = Uploads(ImageStore(kubo.client(), max_bytes=8 * 1024 * 1024), spool=spool, idle_s=1.0,
                      max_data_bytes=2 * 1024 * 1024)  # the data limit, not the image one
    server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=indexer.manifest, auth=auth,
                                                  store=store, uploads=uploads)), "127.0.0.1", port)
    server.start()
    try:
        url = server.url
        token = sign_in(url, cast.renter)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
        content = os.urandom(700 * 1024)  # three 256 KiB chunks: a UnixFS tree, not one block
        dataset = tmp_path / "train labels.csv"
        dataset.write_bytes(content)

        def upload(name, data, extra=None, **params):
            return requests.post(f"{url}/api/v1/data/upload", params={"name": name, **params}, data=data,
                                 headers={**headers, **(extra or {})}, timeout=60)

        pushed = upload(dataset.name, (content[i:i + 100_000] for i in range(0, len(content), 100_000)))  # chunked
        assert pushed.status_code == 200, pushed.text
        answer = pushed.json()
        assert answer["name"] == "train labels.csv" and answer["size"] == len(content)
        assert answer["digest"] == f"sha256:{hashlib.sha256(content).hexdigest()}"
        assert kubo.client().is_pinned(answer["cid"]) and kubo.client().cat_bytes(answer["cid"]) == content
        after_good = kubo.client().pins()

        # `gpurent data push` of the same file: the same CID and digest
        monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("GPURENT_IPFS_API", kubo.api_url)
        cli = CliRunner(mix_stderr=False).invoke(make_root(), ["--json", "data", "push", str(dataset)])
        assert cli.exit_code == 0, (cli.stdout, cli.stderr)
        by_cli = json.loads(cli.stdout)
        assert (by_cli["cid"], by_cli["digest"], by_cli["size"]) == (answer["cid"], answer["digest"], answer["size"])

        for bad in ("a/b.csv", "..\\up.csv", "..", "x" * 256, "tab\tname", ""):
            refused = upload(bad, b"some bytes")
            assert refused.status_code == 400 and refused.json()["error"].startswith("name:"), (bad, refused.text)
        missing = requests.post(f"{url}/api/v1/data/upload", data=b"x", headers=headers, timeout=10)
        assert missing.status_code == 400 and missing.json()["error"].startswith("name:"), missing.text
        empty = upload("empty.bin", b"")
        assert empty.status_code == 400 and empty.json()["error"] == "the body is empty: send the file as the body"
        form = requests.post(f"{url}/api/v1/data/upload", params={"name": "f.csv"}, files={"f": b"a,b"},
                             headers={"Authorization": headers["Authorization"]}, timeout=10)
        assert form.status_code == 400 and "not a form" in form.json()["error"], form.text
        big = upload("big.bin", b"", {"Content-Length": str(3 * 1024 * 1024)})
        assert big.status_code == 413 and big.json()["error"] == "the file is 3.0 MiB, over the 2.0 MiB limit", big.text
        streamed_big = upload("big.bin", (b"\0" * (1024 * 1024) for _ in range(3)))
        assert streamed_big.status_code == 413, streamed_big.text
        unsigned = requests.post(f"{url}/api/v1/data/upload", params={"name": "f.csv"}, data=b"x", timeout=10)
        assert unsigned.status_code == 401, unsigned.text

        with sockets.create_connection(("127.0.0.1", port), timeout=10) as slow:  # a client that stalls mid-body
            slow.sendall((f"POST /api/v1/data/upload?name=slow.bin HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: {headers['Authorization']}\r\nContent-Length: 100000\r\n\r\n").encode()
                         + b"x" * 10)
            stalled = slow.recv(4096)
        assert stalled.startswith(b"HTTP/1.1 408"), stalled[:100]
        assert b"the upload stalled" in stalled, stalled
        assert kubo.client().pins() == after_good  # the refused uploads pinned nothing
        assert list(spool.iterdir()) == []  # nothing left on disk
    finally:
        server.stop()


# ---------------------------------------------------------------------- a provider's dashboard

def test_a_providers_dashboard_has_its_gpus_jobs_earnings_by_day_and_reputation_history(gateway, cast, gp):
    server, _, indexer = gateway
    url = server.url
    answer = requests.get(f"{url}/api/v1/providers/{cast.provider.address}", timeout=10)
    assert answer.status_code == 200, answer.text
    board = answer.json()
    me = cast.provider.address.lower()
    assert board["address"] == me and board["stake"] == "100" and board["score"] == 689 and board["penaltyPoints"] == 50
    assert {g["gpuModel"]: (g["available"], g["retired"]) for g in board["gpus"]} == {"RTX4090": (True, False),
                                                                                     "A100": (False, True)}
    assert board["jobs"] == {"total": 3, "ended": 2, "byStatus": {"Cancelled": 1, "Completed": 1, "Resolved": 1}}
    # two jobs settled at 2.5 (a quarter hour at 10 an hour): 2% fee each, the rest the provider's
    (day,) = board["earningsByDay"]
    assert day["earned"] == "4.9" and day["fee"] == "0.1" and day["jobs"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", day["day"])
    history = board["reputationHistory"]
    assert [h["kind"] for h in history] == ["report", "score", "penalty", "reward"]
    assert history[1]["detail"] == {"score": 729, "uptime_bps": 5312, "response_bps": 5827}
    assert [h["block"] for h in history] == sorted(h["block"] for h in history)  # oldest first
    missing = requests.get(f"{url}/api/v1/providers/{cast.outsider.address}", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == f"no provider {cast.outsider.address} in the index"
    assert requests.get(f"{url}/api/v1/providers/0x12", timeout=10).status_code == 400


# ---------------------------------------------------------------------- providers' records, any availability

START_WAITS = (60, 120, 300)  # seconds from creation to start of the three jobs provider_record starts


def provider_record(suite, cast, chain, gpu_id: str) -> dict:
    """provider2's story on ``gpu_id``: three jobs started START_WAITS seconds after their
    creation (two completed, one disputed and ruled its fault), one accepted and then
    cancelled by the provider (abandoned); what GET /reliability must answer for it."""
    m = suite.marketplace
    for wait, end in zip(START_WAITS, ("complete", "lost", "complete")):
        job = m.createJob(gpu_id, "bafkreirecord", 3600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0].jobId
        created = chain.blocks.head.timestamp
        m.acceptJob(job, sender=cast.provider2)
        chain.pending_timestamp = created + wait  # JobStarted's block: exactly `wait` after JobCreated's
        m.startJob(job, sender=cast.provider2)
        chain.pending_timestamp = chain.blocks.head.timestamp + 60
        if end == "complete":
            m.completeJob(job, sender=cast.renter)
        else:
            m.disputeJob(job, "no output", sender=cast.renter)
            m.resolveDispute(job, 1, "bafkreievidence", sender=cast.oracle)  # ProviderFault
    job = m.createJob(gpu_id, "bafkreirecord", 3600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0].jobId
    m.acceptJob(job, sender=cast.provider2)
    m.cancelJob(job, sender=cast.provider2)
    return {"completed": 2, "started": 3, "abandoned": 1, "disputes": 1, "disputesLost": 1,
            "medianStartS": 120.0, "startSamples": 3, "recentJobs": 200}


def test_reliability_counts_each_providers_jobs_from_chain_events_and_gpus_take_any_availability(gateway, suite,
                                                                                                 cast, chain):
    from gpurent.indexer.api import GpuFilter, find_gpus

    server, _, indexer = gateway
    url = server.url
    (gpu,) = find_gpus(indexer.engine, GpuFilter(provider=cast.provider2.address, model="A100"))
    expected = provider_record(suite, cast, chain, gpu.id)
    suite.registry.updateAvailability(gpu.id, False, sender=cast.provider2)
    indexer.sync()
    two, three = cast.provider2.address.lower(), cast.outsider.address.lower()
    answer = requests.get(f"{url}/api/v1/reliability", params={"provider": [cast.provider2.address, three]}, timeout=10)
    assert answer.status_code == 200, answer.text
    got = answer.json()["providers"]
    assert got[two] == expected
    assert got[three] == {**expected, "completed": 0, "started": 0, "abandoned": 0, "disputes": 0, "disputesLost": 0,
                          "medianStartS": None, "startSamples": 0}  # no job in the index: zeros
    first = requests.get(f"{url}/api/v1/reliability", params={"provider": cast.provider.address},
                         timeout=10).json()["providers"][cast.provider.address.lower()]
    assert (first["completed"], first["disputes"], first["disputesLost"]) == (1, 1, 0)  # busy_chain's, ruled a split
    assert first["abandoned"] == 0 and first["started"] == 2  # its cancelled job was never accepted
    for bad in ({}, {"provider": "0x12"}, {"provider": ["0x" + "1" * 40] * 51}):
        refused = requests.get(f"{url}/api/v1/reliability", params=bad, timeout=10)
        assert refused.status_code == 400 and "\n" not in refused.json()["error"], (bad, refused.text)

    def models(available: str) -> set[str]:
        rows = requests.get(f"{url}/api/v1/gpus", params={"available": available, "provider": two}, timeout=10)
        assert rows.status_code == 200, rows.text
        return {g["gpuModel"] for g in rows.json()["items"]}

    assert models("true") == models("1") == {"RTX4090", "H100"}
    assert models("false") == models("0") == {"A100"}
    assert models("any") == {"RTX4090", "H100", "A100"}
    assert requests.get(f"{url}/api/v1/gpus", params={"available": "maybe"}, timeout=10).status_code == 400


def test_a_renter_disputes_a_running_job_approving_the_bond_first_when_short(writable, cast, gp, suite):
    from web3 import Web3

    from gpurent.indexer.api import GpuFilter, find_gpus

    server, indexer = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    (gpu,) = find_gpus(indexer.engine, GpuFilter(provider=cast.provider2.address, model="H100"))
    m = suite.marketplace
    job = "0x" + bytes(m.createJob(gpu.id, "bafkreidispute", 3600, 2**256 - 1, sender=cast.renter)
                       .events.filter(m.JobCreated)[0].jobId).hex()
    auth = {"Authorization": f"Bearer {sign_in(url, cast.renter)}"}
    early = requests.post(f"{url}/api/v1/instances/{job}/dispute", headers=auth, json={"reason": "x"}, timeout=10)
    assert early.status_code == 400 and "Created" in early.json()["error"], early.text  # not running yet
    m.acceptJob(job, sender=cast.provider2)
    m.startJob(job, sender=cast.provider2)
    suite.token.approve(m, 0, sender=cast.renter)  # no allowance left: the bond needs an approval first
    other = {"Authorization": f"Bearer {sign_in(url, cast.renter2)}"}
    theirs = requests.post(f"{url}/api/v1/instances/{job}/dispute", headers=other, json={"reason": "x"}, timeout=10)
    assert theirs.status_code == 403, theirs.text  # not a party of the job
    for reason in ("", "x" * 1025, "é" * 600):  # empty, over 1024 characters, over 1024 bytes
        long = requests.post(f"{url}/api/v1/instances/{job}/dispute", headers=auth, json={"reason": reason}, timeout=10)
        assert long.status_code == 400 and "\n" not in long.json()["error"], (reason[:3], long.text)

    reason = "<b>no output</b> after ten minutes"
    answer = requests.post(f"{url}/api/v1/instances/{job}/dispute", headers=auth, json={"reason": reason}, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    bond = int(m.disputeBond(job))
    assert bond > 0 and body["bond"] == str(bond)
    approve, dispute = body["transactions"]
    assert approve["transaction"]["to"] == str(suite.token.address) and approve["action"].startswith("approve")
    assert approve["transaction"]["data"] == "0x" + bytes(suite.token.approve.encode_input(m.address, bond)).hex()
    assert dispute["transaction"]["to"] == str(m.address) and dispute["action"] == "dispute"
    for step in (approve, dispute):
        sent = requests.post(f"{url}/api/v1/transactions", headers=auth, timeout=90,
                             json={"rawTransaction": wallet_send(web3, cast.renter, step["transaction"])})
        assert sent.status_code == 200 and sent.json()["ok"], sent.text
    assert gp.job(job).status.label == "Disputed"
    assert m.disputeOf(job) == (cast.renter.address, bond)
    again = requests.post(f"{url}/api/v1/instances/{job}/dispute", headers=auth, json={"reason": "x"}, timeout=10)
    assert again.status_code == 400 and "Disputed" in again.json()["error"], again.text
