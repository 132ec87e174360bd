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


def post(url: str, path: str, auth: dict[str, str], body: dict | None = None) -> requests.Response:
    return requests.post(f"{url}/api/v1/operator/{path}", headers=auth, json=body, timeout=30)


def test_a_proposer_schedules_a_parameter_change_that_waits_out_the_delay_then_is_executed(writable, cast, gp, suite,
                                                                                            chain):
    from tests.conftest import govern

    govern(suite, cast.admin, suite.timelock.updateDelay, 3600)  # as on a real network (there: days)
    server, _ = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    renter = {"Authorization": f"Bearer {sign_in(url, cast.renter)}"}
    admin = {"Authorization": f"Bearer {sign_in(url, cast.admin)}"}  # the deployer: proposer, executor, canceller
    fee = {"parameter": "fee_bps", "values": ["300"]}

    refused = post(url, "proposals", renter, fee)
    assert refused.status_code == 403 and "PROPOSER_ROLE" in refused.json()["error"], refused.text
    assert post(url, "proposals", {}, fee).status_code == 401
    for bad, words in (({"parameter": "gas", "values": ["1"]}, "unknown parameter 'gas'"),
                       ({"parameter": "fee_bps", "values": ["3%"]}, "a whole number of basis points"),
                       ({"parameter": "fee_bps", "values": ["5000"]}, "fee 5000 bps is above the maximum of 1000 bps"),
                       ({"parameter": "timeouts", "values": ["60", "60", "60"]}, "takes 4 value(s)"),
                       ({"parameter": "timeouts", "values": ["60", "0", "60", "60"]}, "must be 1 s to 30 days"),
                       ({"parameter": "min_stake", "values": ["-1"]}, "a plain decimal number of tokens"),
                       ({"parameter": "min_stake", "values": ["1e999999999"]}, "a plain decimal number of tokens"),
                       ({"parameter": "treasury", "values": ["0x" + "00" * 20]}, "treasury"),
                       ({"parameter": "unstake_cooldown", "values": [str(91 * 86400)]}, "cooldown"),
                       ({"parameter": "fee_bps", "values": ["1"] * 5}, "values"),
                       ({"parameter": "fee_bps", "values": ["1" * 101]}, "values")):
        answer = post(url, "proposals", admin, bad)
        assert answer.status_code == 400 and words in answer.json()["error"], (bad, answer.text)
        assert "\n" not in answer.json()["error"]
    assert gp.pending_operations() == []  # nothing refused was scheduled

    prepared = post(url, "proposals", admin, fee)
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    assert body["transaction"]["to"] == str(suite.timelock.address) and body["action"] == "schedule"
    assert body["operation"]["change"] == "platform fee 2% → 3%" and body["operation"]["ready"] is False
    assert send(url, web3, cast.admin, admin, body["transaction"])["ok"]

    view = requests.get(f"{url}/api/v1/operator/{cast.admin.address}", timeout=30).json()
    (op,) = view["operations"]
    assert op["opId"] == body["operation"]["opId"] and op["change"] == "platform fee 2% → 3%"
    assert op["call"] == "Marketplace.setFee(300)" and op["ready"] is False
    assert op["readyAt"] == int(suite.timelock.getTimestamp(op["opId"])) and 3590 <= op["readyAt"] - view["chainTime"] <= 3600
    assert {"PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE"} <= set(view["held"])
    outsider = requests.get(f"{url}/api/v1/operator/{cast.renter.address}", timeout=30).json()
    assert outsider["held"] == [] and len(outsider["operations"]) == 1  # public chain data

    early = post(url, f"operations/{op['opId']}/execute", admin)
    assert early.status_code == 400 and "is not ready (its delay has not passed): executable from" in early.json()["error"]
    for path, role in (("execute", "EXECUTOR_ROLE"), ("cancel", "CANCELLER_ROLE")):
        answer = post(url, f"operations/{op['opId']}/{path}", renter)
        assert answer.status_code == 403 and role in answer.json()["error"], answer.text
    assert post(url, f"operations/{op['opId']}/run", admin).status_code == 400  # execute or cancel, nothing else
    assert gp.parameters()["fee_bps"] == 200  # unchanged until executed

    chain.mine(deltatime=3601)  # a block past the delay (what the wallet's gas estimate runs at)
    ready = requests.get(f"{url}/api/v1/operator/{cast.admin.address}", timeout=30).json()["operations"]
    assert ready[0]["ready"] is True
    execute = post(url, f"operations/{op['opId']}/execute", admin)
    assert execute.status_code == 200, execute.text
    assert send(url, web3, cast.admin, admin, execute.json()["transaction"])["ok"]
    assert gp.parameters()["fee_bps"] == 300
    assert requests.get(f"{url}/api/v1/operator/{cast.admin.address}", timeout=30).json()["operations"] == []
    again = post(url, f"operations/{op['opId']}/execute", admin)
    assert again.status_code == 400 and "no pending timelock operation" in again.json()["error"], again.text


def test_a_canceller_cancels_a_scheduled_change(writable, cast, gp, suite):
    from tests.conftest import govern

    govern(suite, cast.admin, suite.timelock.updateDelay, 3600)
    server, _ = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    admin = {"Authorization": f"Bearer {sign_in(url, cast.admin)}"}
    stake = int(suite.registry.minStake())
    body = post(url, "proposals", admin, {"parameter": "dispute_bond", "values": ["500", "2.5"]}).json()
    assert body["operation"]["change"] == "dispute bond 10% → 5%; minimum dispute bond 0.01 GPU → 2.5 GPU", body
    assert send(url, web3, cast.admin, admin, body["transaction"])["ok"]
    cooldown = post(url, "proposals", admin, {"parameter": "unstake_cooldown", "values": ["86400"]}).json()
    assert send(url, web3, cast.admin, admin, cooldown["transaction"])["ok"]
    assert len(gp.pending_operations()) == 2
    cancel = post(url, f"operations/{body['operation']['opId']}/cancel", admin)
    assert cancel.status_code == 200 and cancel.json()["transaction"]["to"] == str(suite.timelock.address)
    assert send(url, web3, cast.admin, admin, cancel.json()["transaction"])["ok"]
    left = requests.get(f"{url}/api/v1/operator/{cast.admin.address}", timeout=30).json()["operations"]
    assert [o["opId"] for o in left] == [cooldown["operation"]["opId"]]
    assert left[0]["change"].startswith("unstake cooldown ") and left[0]["change"].endswith("→ 24 h")
    assert int(suite.registry.minStake()) == stake
