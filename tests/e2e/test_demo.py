"""The main job end to end, as `make demo` runs it: `gpurent demo` starts its own stack (Anvil,
Kubo, podman, the indexer, the oracle, a provider agent, each a real process), builds and pushes
the sample image, rents the GPU, runs the job and settles it. The stack is kept running so this
test can check the outcome independently of the demo's own report: balances and the job read
straight from the chain with web3, the indexer through its GraphQL API, the stack through
`gpurent status`; then `gpurent down` must leave no process behind.

A second test drives `gpurent up | status | down` and checks that `up` is idempotent and that a
failed `up` stops what it started.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from gpurent.demo import FOREIGN_ENV
from gpurent.deployment import ESCROW_DUST
from gpurent.local.process import alive
from tests.geth_chain import needs_geth

BIN = Path(sys.executable).parent
TOKEN = 10**18
FUNDING = 10_000 * TOKEN
STAKE = 100 * TOKEN


def gpurent(home: Path, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV} | {"GPURENT_HOME": str(home)}
    return subprocess.run([str(BIN / "gpurent"), *args], env=env, capture_output=True, text=True, timeout=timeout_s)


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture
def demo_home(tmp_path) -> Any:
    home = tmp_path / "home"
    yield home
    gpurent(home, "down", timeout_s=120)  # whatever a failed assertion left running


def abi_of(name: str) -> list[dict[str, Any]]:
    from importlib.resources import files

    doc = json.loads(files("gpurent.abi").joinpath(f"{name}.json").read_text())
    return doc["abi"] if isinstance(doc, dict) else doc


def struct(contract: Any, function: str, *args: Any) -> dict[str, Any]:
    """A view function's struct result, by field name."""
    abi = next(o for o in contract.abi if o.get("name") == function)
    names = [c["name"] for c in abi["outputs"][0]["components"]]
    return dict(zip(names, getattr(contract.functions, function)(*args).call(), strict=True))


def chain_reader(url: str, manifest: dict[str, Any]) -> Any:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url))
    return {name: w3.eth.contract(address=manifest["contracts"][name], abi=abi_of(name))
            for name in ("GPUToken", "Marketplace", "ReputationSystem")}


@pytest.mark.parametrize("chain", ["anvil", pytest.param("geth", marks=needs_geth)])
def test_demo_runs_the_main_job_end_to_end(demo_home, chain):
    demo = as_json(gpurent(demo_home, "--json", "demo", "--home", str(demo_home), "--keep-running", "--chain", chain))
    status = as_json(gpurent(demo_home, "--json", "status"))
    assert status["up"], status
    assert next(s for s in status["services"] if s["service"] == "chain")["kind"] == chain
    chain_url = next(s["endpoint"] for s in status["services"] if s["service"] == "chain")
    manifest = json.loads(next((demo_home / "deployments").glob("*.json")).read_text())
    c = chain_reader(chain_url, manifest)
    token, market, reputation = c["GPUToken"], c["Marketplace"], c["ReputationSystem"]

    # the job, as the chain has it: settled by the seconds it ran, at the GPU's price
    job = struct(market, "getJob", bytes.fromhex(demo["job_id"][2:]))
    assert job["status"] == 4  # Completed
    seconds = job["endTime"] - job["startTime"]
    assert 5 <= seconds <= 30  # the sample job sleeps 5 s, then the agent settles
    cost = job["finalCost"]  # billed to the container's end, which the settlement comes after
    billed = round(Decimal(cost) * 3600 / job["pricePerHour"])
    assert 3 <= billed <= seconds and cost == job["pricePerHour"] * billed // 3600
    assert demo["costs"]["billed_seconds"] == billed
    fee = cost * job["feeBps"] // 10_000
    assert job["pricePerHour"] == Decimal("3.6") * TOKEN and job["feeBps"] == 200

    # balances: the renter paid exactly the cost, the provider got 98%, the treasury 2%
    balance = token.functions.balanceOf
    assert balance(demo["renter"]).call() == FUNDING - cost
    assert balance(demo["provider"]).call() == FUNDING - STAKE + cost - fee
    assert balance(demo["treasury"]).call() == fee
    assert balance(market.address).call() == ESCROW_DUST  # nothing left in escrow but the deployer's dust
    assert Decimal(demo["costs"]["final_cost"]) * TOKEN == cost
    assert Decimal(demo["costs"]["refund"]) * TOKEN == job["maxCost"] - cost

    # the job's own output, streamed from the provider's endpoint, once
    output = demo["output"]
    assert output.count("gpurent sample job") == 1
    assert demo["job_id"] in output and "step 5/5" in output and output.rstrip().endswith("done")

    # the timeline: the chain's order, with the provider's pull and run in between
    on_chain = [row["detail"] for row in demo["timeline"] if row["source"].startswith("chain")]
    assert on_chain == ["JobCreated", "JobAccepted", "JobStarted", "ResultCommitted", "JobCompleted", "FundsReleased",
                        "Refunded"]

    # the job read its input and wrote its output: the result committed on chain, fetched and opened
    assert "input      /data/params: iterations=80" in output and "wrote /outputs/mandelbrot.txt" in output
    committed = [row for row in demo["timeline"] if row["detail"] == "ResultCommitted"]
    assert committed and demo["result_cid"]
    picture = demo["result_picture"]
    assert hashlib.sha256(picture.encode()).hexdigest() == demo["result_files"]["mandelbrot.txt"]
    assert picture.count("\n") == 17 and "@" in picture  # the Mandelbrot set, 17 rows
    phases = [row["event"] for row in demo["timeline"] if row["source"] == "provider agent"]
    assert phases.index("pulling") < phases.index("running") < phases.index("exited") < phases.index("completed")
    assert [row["t_s"] for row in demo["timeline"]] == sorted(row["t_s"] for row in demo["timeline"])

    # reputation: the completed job counts, and the oracle has reported the provider
    rep = struct(reputation, "getReputation", demo["provider"])
    validation = struct(reputation, "getValidation", demo["provider"])
    assert (rep["successfulJobs"], rep["totalJobs"]) == (1, 1)
    assert validation["reports"] >= 1 and validation["heartbeatsKept"] >= 1
    assert demo["reputation"]["after"] == reputation.functions.getScore(demo["provider"]).call()
    period_s = 10  # the demo's report period
    assert (validation["lastPeriod"] + 1) * period_s >= job["endTime"] - 2  # the report covers the job's end

    # the indexer's view, asked directly
    url = next(s["endpoint"] for s in status["services"] if s["service"] == "indexer")
    body = requests.post(url, json={"query": """query($id: String!, $renter: String!) {
        job(id: $id) { status totalCost startTime endTime user provider history { status } }
        myJobs(address: $renter) { id } }""", "variables": {"id": demo["job_id"], "renter": demo["renter"]}},
                         timeout=10).json()
    indexed = body["data"]["job"]
    assert indexed["status"] == "Completed"
    assert Decimal(indexed["totalCost"]) * TOKEN == cost
    assert (indexed["startTime"], indexed["endTime"]) == (job["startTime"], job["endTime"])
    assert [h["status"] for h in indexed["history"]] == ["Created", "Accepted", "Running", "Completed"]
    assert [j["id"] for j in body["data"]["myJobs"]] == [demo["job_id"]]

    # the API gateway of the stack answers from the same index: the demo's GPU, and the job's provider
    gateway = next(s["endpoint"] for s in status["services"] if s["service"] == "gateway")
    listed = requests.get(f"{gateway}/api/v1/gpus", timeout=10).json()
    assert [g["providerAddress"] for g in listed["items"]] == [demo["provider"].lower()], listed
    assert requests.get(f"{gateway}/api/v1/health", timeout=10).json()["chainId"] == manifest["chain_id"]

    # status: every service up, the indexer close behind, nothing running any more
    assert status["indexer_lag_blocks"] is not None and status["indexer_lag_blocks"] <= 5
    assert status["jobs_running"] == []

    # down stops every process the demo started
    pids = [pid for pid in demo["pids"].values() if pid]
    assert len(pids) == 7 and all(alive(pid) for pid in pids)
    stopped = as_json(gpurent(demo_home, "--json", "down"))
    assert set(stopped["stopped"]) == {"chain", "ipfs", "engine", "indexer", "gateway", "oracle", "provider"}
    assert not [pid for pid in pids if alive(pid)]
    assert not as_json(gpurent(demo_home, "--json", "status"))["up"]


def _ports() -> list[str]:
    return ["--chain-port", "0", "--indexer-port", "0", "--gateway-port", "0", "--redis-port", "0", "--oracle-port", "0",
            "--agent-port", "0", "--ipfs-ports", "0,0,0"]


def test_up_is_idempotent_and_a_failed_up_stops_what_it_started(demo_home):
    first = as_json(gpurent(demo_home, "--json", "up", "--redis", *_ports()))
    assert first["up"], first
    pids = {s["service"]: s["pid"] for s in first["services"]}
    assert list(pids) == ["chain", "ipfs", "engine", "indexer", "redis", "gateway", "oracle", "provider"]
    again = as_json(gpurent(demo_home, "--json", "up", *_ports()))  # Redis, once up, stays part of the stack
    assert {s["service"]: s["pid"] for s in again["services"]} == pids  # nothing started twice
    gateway = next(s for s in again["services"] if s["service"] == "gateway")
    assert gateway["store"] == "redis" and gateway["block"] >= 1, gateway
    redis_url = next(s["endpoint"] for s in again["services"] if s["service"] == "redis")
    from gpurent.gateway.store import RedisStore

    challenge = requests.post(f"{gateway['endpoint']}/api/v1/auth/challenge",
                              json={"address": "0x" + "11" * 20}, timeout=10)
    assert challenge.status_code == 200, challenge.text
    assert RedisStore(redis_url).take_nonce(challenge.json()["nonce"])  # the nonce lives in the stack's Redis
    provider = next(s for s in again["services"] if s["service"] == "provider")
    assert provider["gpus"] == 1 and provider["accepting"]
    for service in again["services"]:
        assert Path(service["log"]).exists(), service
    refused = gpurent(demo_home, "demo", "--home", str(demo_home))  # the demo wants a stack of its own
    assert refused.returncode == 1 and "a gpurent stack already runs in" in refused.stderr, refused.stderr
    assert {s["service"]: s["pid"] for s in as_json(gpurent(demo_home, "--json", "status"))["services"]} == pids

    # down, then an up that cannot finish: the indexer's port is taken
    as_json(gpurent(demo_home, "--json", "down"))
    assert not [pid for pid in pids.values() if alive(pid)]
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = str(blocker.getsockname()[1])
        failed = gpurent(demo_home, "up", "--chain-port", "0", "--indexer-port", port, "--ipfs-ports", "0,0,0")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("Error (PortTaken): port " + port)
    assert "Traceback" not in failed.stderr
    after = as_json(gpurent(demo_home, "--json", "status"))
    assert not [s["service"] for s in after["services"] if s["running"]]
