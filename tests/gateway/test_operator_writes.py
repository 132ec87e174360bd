"""An operator's writes through the gateway, as the web app's operator page makes them: the
transactions that pause and unpause (the marketplace and the registry together) and the one that
rules on a dispute, prepared for the wallet with the role checked first, signed by the
operator's own key and broadcast back; on Anvil, with a real index."""

from __future__ import annotations

import requests
from web3 import Web3

from tests.gateway.test_gateway import index_db, indexed, sign_in, wallet_send, writable  # noqa: F401 - fixtures

EVIDENCE = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def open_dispute(url: str, suite, cast) -> str:
    """A job of the renter's on the second provider's H100, running and then disputed."""
    gpu = requests.get(f"{url}/api/v1/gpus", params={"model": "H100"}, timeout=10).json()["items"][0]["id"]
    m = suite.marketplace
    job = m.createJob(gpu, "bafkreiopen", 3600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0].jobId
    m.acceptJob(job, sender=cast.provider2)
    m.startJob(job, sender=cast.provider2)
    m.disputeJob(job, "no output after an hour", sender=cast.renter)
    return "0x" + bytes(job).hex()


def send(url: str, web3: Web3, account, auth: dict[str, str], request: dict) -> dict:
    sent = requests.post(f"{url}/api/v1/transactions", headers=auth, timeout=90,
                         json={"rawTransaction": wallet_send(web3, account, request)})
    assert sent.status_code == 200, sent.text
    return sent.json()


def test_only_the_oracle_rules_on_an_open_dispute_and_sees_its_deadline(writable, cast, gp, suite):
    server, indexer = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    job_id = open_dispute(url, suite, cast)
    indexer.sync()
    ruling = {"outcome": "split", "evidenceCid": EVIDENCE}

    view = requests.get(f"{url}/api/v1/operator/{cast.oracle.address}", timeout=30).json()
    (open_one,) = [d for d in view["disputes"] if d["outcome"] is None]
    assert open_one["jobId"] == job_id and open_one["raisedAt"] == gp.job(job_id).updated_at
    assert open_one["expiresAt"] == open_one["raisedAt"] + 3 * 24 * 3600  # the job's terms: 3 days
    assert 0 <= view["chainTime"] - open_one["raisedAt"] < 600

    renter = {"Authorization": f"Bearer {sign_in(url, cast.renter)}"}
    refused = requests.post(f"{url}/api/v1/operator/disputes/{job_id}/resolve", headers=renter, json=ruling, timeout=10)
    assert refused.status_code == 403 and "ORACLE_ROLE" in refused.json()["error"], refused.text
    oracle = {"Authorization": f"Bearer {sign_in(url, cast.oracle)}"}
    for bad, words in (({**ruling, "outcome": "none"}, "unknown dispute outcome"),
                       ({**ruling, "outcome": "<b>"}, "unknown dispute outcome"),
                       ({**ruling, "evidenceCid": "not-a-cid"}, "CID")):
        answer = requests.post(f"{url}/api/v1/operator/disputes/{job_id}/resolve", headers=oracle, json=bad, timeout=10)
        assert answer.status_code == 400 and words in answer.json()["error"], answer.text
    assert requests.post(f"{url}/api/v1/operator/disputes/{job_id}/resolve", headers={}, json=ruling,
                         timeout=10).status_code == 401  # signed in, or nothing

    prepared = requests.post(f"{url}/api/v1/operator/disputes/{job_id}/resolve", headers=oracle, json=ruling, timeout=10)
    assert prepared.status_code == 200, prepared.text
    request = prepared.json()["transaction"]
    assert request["to"] == str(gp.marketplace.address) and request["from"] == cast.oracle.address
    outcome = send(url, web3, cast.oracle, oracle, request)
    assert outcome["ok"] and outcome["settlement"] is not None, outcome  # where the escrow went
    assert gp.job(job_id).status.label == "Resolved"
    again = requests.post(f"{url}/api/v1/operator/disputes/{job_id}/resolve", headers=oracle, json=ruling, timeout=10)
    assert again.status_code == 400 and "Resolved" in again.json()["error"], again.text  # not disputed any more


def test_a_pauser_pauses_both_contracts_or_neither_and_unpauses(writable, cast, gp, suite):
    server, _ = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    renter = {"Authorization": f"Bearer {sign_in(url, cast.renter)}"}
    refused = requests.post(f"{url}/api/v1/operator/pause", headers=renter, json={"paused": True}, timeout=10)
    assert refused.status_code == 403 and "PAUSER_ROLE" in refused.json()["error"], refused.text
    loose = requests.post(f"{url}/api/v1/operator/pause", headers=renter, json={"paused": "yes"}, timeout=10)
    assert loose.status_code == 400 and "paused" in loose.json()["error"], loose.text  # a boolean, not a string

    pauser = {"Authorization": f"Bearer {sign_in(url, cast.admin)}"}  # the deployer keeps PAUSER_ROLE
    pause = requests.post(f"{url}/api/v1/operator/pause", headers=pauser, json={"paused": True}, timeout=10).json()
    targets = {str(suite.marketplace.address), str(suite.registry.address)}
    assert {t["to"] for t in pause["transactions"]} == targets and pause["paused"] is True
    for request in pause["transactions"]:
        assert send(url, web3, cast.admin, pauser, request)["ok"]
    assert suite.marketplace.paused() and suite.registry.paused()
    view = requests.get(f"{url}/api/v1/operator/{cast.admin.address}", timeout=30).json()
    assert view["paused"] is True and "PAUSER_ROLE" in view["held"]
    twice = requests.post(f"{url}/api/v1/operator/pause", headers=pauser, json={"paused": True}, timeout=10).json()
    assert twice["transactions"] == []  # both paused already: nothing to sign

    resume = requests.post(f"{url}/api/v1/operator/pause", headers=pauser, json={"paused": False}, timeout=10).json()
    assert {t["to"] for t in resume["transactions"]} == targets
    for request in resume["transactions"]:
        assert send(url, web3, cast.admin, pauser, request)["ok"]
    assert not suite.marketplace.paused() and not suite.registry.paused()
