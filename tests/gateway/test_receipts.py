"""Receipts on a real stack: Anvil, the indexer's SQLite index of a chain with a job in each end
state, the gateway on a free port. Each receipt's split adds up to what was locked, to the base
unit, and equals what the chain's events paid; the transactions it names are the chain's."""

from __future__ import annotations

import pytest
import requests
from web3 import Web3

from gpurent.indexer.project import tokens
from gpurent.types import hex_id
from gpurent.units import TOKEN, to_base_units
from tests.gateway.test_gateway import index_db, indexed, serve, sign_in  # noqa: F401 - fixtures
from tests.indexer.test_indexer import CID

API = "/api/v1/instances"


@pytest.fixture
def served(indexed):  # noqa: F811
    indexer, made = indexed
    server, _ = serve(indexer)
    yield server, indexer, made
    server.stop()


def get(url: str, job_id: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{url}{API}/{job_id}/receipt", headers=headers, timeout=10)


@pytest.mark.parametrize("kind, locked, final, used, provider, fee", [
    ("complete", 15 * TOKEN, 25 * TOKEN // 10, 900, 245 * TOKEN // 100, 5 * TOKEN // 100),  # booked 1.5 h, ran 15 min
    ("cancel", 10 * TOKEN, 0, 0, 0, 0),  # before it started: all back
    ("dispute", 10 * TOKEN, 25 * TOKEN // 10, 900, 245 * TOKEN // 100, 5 * TOKEN // 100),  # split at the dispute
])
def test_a_settled_jobs_receipt_adds_up_to_the_base_unit_and_is_the_chains(served, cast, gp, kind, locked, final,
                                                                          used, provider, fee):
    server, indexer, made = served
    job_id = hex_id(made["jobs"][kind][0]).lower()
    answer = get(server.url, job_id, sign_in(server.url, cast.renter))
    assert answer.status_code == 200, answer.text
    r = answer.json()
    split = {party: int(amount) for party, amount in r["split"].items()}
    assert split["provider"] + split["fee"] + split["refund"] == int(r["maxCost"]) == locked, r
    assert (int(r["finalCost"]), r["usedSeconds"], split["provider"], split["fee"]) == (final, used, provider, fee)
    assert split["provider"] + split["fee"] == final  # what the provider and the platform got is what it cost
    chain_split = gp.settlement(job_id)  # the SDK, from the chain's own events
    assert {p: to_base_units(v) for p, v in chain_split.items()} == {p: split[p] for p in ("provider", "fee", "refund")}
    assert r["status"] == {"complete": "Completed", "cancel": "Cancelled", "dispute": "Resolved"}[kind]
    assert r["role"] == "renter" and r["renter"] == cast.renter.address.lower()
    assert r["provider"] == cast.provider.address.lower() and r["gpu"]["model"] == "RTX4090"
    assert r["bookedSeconds"] == (5400 if kind == "complete" else 3600) and (r["imageCid"] == CID) != (kind == "cancel")
    assert r["token"]["decimals"] == 18 and r["pricePerHour"] == str(10 * TOKEN)
    web3 = Web3(Web3.HTTPProvider(gp.rpc_url))
    for step in ("creation", "settlement"):
        mined = web3.eth.get_transaction_receipt(r[step]["hash"])
        assert mined["blockNumber"] == r[step]["block"] and mined["status"] == 1, (step, r[step])
        assert web3.eth.get_block(r[step]["block"])["timestamp"] == r[step]["timestamp"]
    assert r["createdAt"] == r["creation"]["timestamp"] and r["endedAt"] == r["settlement"]["timestamp"]
    if kind != "cancel":
        assert r["startedAt"] == gp.job(job_id).start_time and r["endedAt"] - r["startedAt"] == 900
    assert (r["disputedAt"] is not None) == (kind == "dispute")
    # the history's amounts are the receipt's, in tokens
    history = requests.get(f"{server.url}/api/v1/history", timeout=10,
                           headers={"Authorization": f"Bearer {sign_in(server.url, cast.renter)}"}).json()["items"]
    assert {h["totalCost"] for h in history if h["jobId"] == job_id} == {tokens(final)}


def test_receipts_are_refused_unsigned_to_others_and_before_settlement(served, cast, suite):
    server, indexer, made = served
    url = server.url
    done = hex_id(made["jobs"]["complete"][0]).lower()
    assert get(url, done).status_code == 401
    assert get(url, done, sign_in(url, cast.renter2)).status_code == 404  # someone else's
    served = get(url, done, sign_in(url, cast.provider))  # its provider has it too
    assert served.status_code == 200 and served.json()["role"] == "provider", served.text
    open_job = suite.marketplace.createJob(made["resources"][0], CID, 600, 2**256 - 1, sender=cast.renter)
    open_id = hex_id(open_job.events.filter(suite.marketplace.JobCreated)[0].jobId).lower()
    indexer.sync()
    renter = sign_in(url, cast.renter)
    waiting = get(url, open_id, renter)
    assert waiting.status_code == 409 and "Created" in waiting.json()["error"], waiting.text
    assert get(url, "0x" + "12" * 32, renter).status_code == 404
    assert get(url, "0x12", renter).status_code == 400
