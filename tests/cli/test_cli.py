"""The `gpurent` CLI against a real Anvil: happy paths with --json parsed, and user mistakes
ending in one line on stderr with exit code 1 or 2, never a traceback."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from gpurent.cli.root import make_root
from gpurent.manifest import Manifest, save_manifest
from gpurent.units import TOKEN, to_base_units

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
PROVIDER, RENTER, ORACLE, ADMIN, OUTSIDER = "3", "5", "1", "0", "7"  # test-account indexes (see Cast)


@pytest.fixture
def cli(suite, cast, chain, tmp_path, monkeypatch):
    """Runs `gpurent ARGS`; the state folder holds a manifest of the session's deployment."""
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                           contracts={n: c.address for n, c in suite.as_dict().items()}))
    runner = CliRunner(mix_stderr=False)
    root = make_root()

    def run(*args: str, code: int = 0, input: str | None = None):
        result = runner.invoke(root, list(args), input=input)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
        if code == 0 and "--json" in args:
            return json.loads(result.stdout)
        return result

    return run


@pytest.fixture
def listed_gpu(cli) -> str:
    cli("--account", PROVIDER, "provider", "register", "--endpoint", "http://127.0.0.1:8765")
    data = cli("--json", "--account", PROVIDER, "provider", "add-gpu", "--model", "RTX4090", "--vcpu", "16",
               "--memory", "64", "--storage", "500", "--price", "10")
    return data["id"]


def assert_one_line_error(result, text: str):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert text in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_gpus_list_filters_and_sorts(cli, listed_gpu):
    cli("--json", "--account", PROVIDER, "provider", "add-gpu", "--model", "A100", "--vcpu", "32",
        "--memory", "256", "--price", "4.5")
    rows = cli("--json", "gpus", "list")
    assert [r["model"] for r in rows] == ["A100", "RTX4090"]  # cheapest first
    assert rows[1]["id"] == listed_gpu and rows[1]["price_per_hour"] == "10"
    assert [r["model"] for r in cli("--json", "gpus", "list", "--model", "rtx")] == ["RTX4090"]
    assert [r["model"] for r in cli("--json", "gpus", "list", "--min-memory", "100")] == ["A100"]
    assert cli("--json", "gpus", "list", "--max-price", "4") == []
    assert cli("--json", "gpus", "list", "--min-reputation", "701") == []  # unmeasured: 700
    shown = cli("--json", "gpus", "show", listed_gpu)
    assert (shown["endpoint"], shown["provider_stake"], shown["reputation"]) == ("http://127.0.0.1:8765", "100", 700)


def test_gpus_list_narrows_by_the_reputations_components(cli, listed_gpu, suite, cast, chain, manifest, tmp_path,
                                                         monkeypatch):
    """--min-uptime / --min-response (percent) on the chain's components and on the index's,
    the same rows both ways; the row shows them (a provider not measured yet: 50, as its score counts)."""
    from tests.gateway.test_gateway import serve
    from tests.indexer.test_indexer import make_indexer

    suite.reputation.submitValidationReport(cast.provider, 1, (4, 4, 1, 0, 100), sender=cast.oracle)
    suite.token.approve(suite.registry, 100 * TOKEN, sender=cast.provider2)  # measured never
    suite.registry.registerProvider("http://127.0.0.1:9999", 100 * TOKEN, sender=cast.provider2)
    suite.registry.registerResource("A100", 16, 80, 500, 3 * TOKEN, sender=cast.provider2)
    rep = suite.reputation.getReputation(cast.provider)
    measured = (Decimal(rep.uptimeBps) / 100, Decimal(rep.responseBps) / 100)
    assert measured[1] > 50
    response = str(measured[1])
    cases = {(): {"A100": (50, 50), "RTX4090": measured}, ("--min-response", "50.01"): {"RTX4090": measured},
             ("--min-response", response): {"RTX4090": measured},
             ("--min-response", str(measured[1] + Decimal("0.001"))): {},
             ("--min-uptime", "0", "--min-response", "50"): {"A100": (50, 50), "RTX4090": measured}}

    def listed(*args: str) -> dict:
        return {r["model"]: (Decimal(r["uptime_pct"]), Decimal(r["response_pct"])) for r in cli("--json", "gpus", "list", *args)}

    for args, expected in cases.items():
        assert listed(*args) == expected, ("chain", args)
    for bad in ("101", "-1", "nan", "ninety"):
        assert_one_line_error(cli("gpus", "list", "--min-uptime", bad, code=2), "--min-uptime")

    indexer = make_indexer(f"sqlite:///{tmp_path / 'index.db'}", manifest, chain)
    indexer.sync()
    server, _ = serve(indexer)
    try:
        monkeypatch.setenv("GPURENT_INDEXER_URL", f"{server.url}/graphql")
        assert "(indexer)" in cli("gpus", "list", "--min-response", "50.01").stdout
        for args, expected in cases.items():
            assert listed(*args) == expected, ("indexer", args)
    finally:
        server.stop()


def test_renter_job_flow(cli, listed_gpu, suite, cast, chain):
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--yes")
    assert (job["status"], job["max_cost"], job["image"], job["cost_limit"]) == ("Created", "10", CID, "10")
    suite.marketplace.acceptJob(job["id"], sender=cast.provider)
    start = suite.marketplace.startJob(job["id"], sender=cast.provider).timestamp
    chain.pending_timestamp = start + 2700
    done = cli("--json", "--account", RENTER, "jobs", "complete", job["id"])
    assert (done["status"], done["cost"]) == ("Completed", "7.5")
    shown = cli("--json", "jobs", "show", job["id"])
    assert (shown["escrow_released"], shown["escrow_refunded"]) == ("7.5", "2.5")
    listed = cli("--json", "--account", RENTER, "jobs", "list")
    assert [j["id"] for j in listed] == [job["id"]]
    assert cli("--json", "jobs", "list", "--provider", cast.provider.address, "--status", "completed")[0]["id"] == \
        job["id"]
    earnings = cli("--json", "--account", PROVIDER, "provider", "earnings")
    assert (earnings["earned"], earnings["to_withdraw"], earnings["fee_held"]) == ("7.35", "7.35", "0.15")
    provider0, treasury0 = suite.token.balanceOf(cast.provider), suite.token.balanceOf(cast.treasury)
    paid = cli("--json", "--account", PROVIDER, "provider", "withdraw")
    assert (paid["withdrawn"], paid["fee_to_treasury"]) == ("7.35", "0.15")
    assert suite.token.balanceOf(cast.provider) - provider0 == to_base_units("7.35")
    assert suite.token.balanceOf(cast.treasury) - treasury0 == to_base_units("0.15")
    assert cli("--json", "--account", PROVIDER, "provider", "earnings")["to_withdraw"] == "0"
    assert_one_line_error(cli("--account", PROVIDER, "provider", "withdraw", code=1), "nothing to withdraw")


def test_cancel_and_dispute(cli, listed_gpu, suite, cast):
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "0.5", "--yes")
    cancelled = cli("--json", "--account", RENTER, "jobs", "cancel", job["id"])
    assert cancelled["status"] == "Cancelled"
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--yes")
    suite.marketplace.acceptJob(job["id"], sender=cast.provider)
    # a job that has not started costs nothing yet: it is cancelled, not disputed
    result = cli("--account", RENTER, "jobs", "dispute", job["id"], "--reason", "never started", code=1)
    assert_one_line_error(result, f"cannot dispute job {job['id'][:10]}…: it is Accepted")
    suite.marketplace.startJob(job["id"], sender=cast.provider)
    before = suite.token.balanceOf(cast.renter)
    result = cli("--account", RENTER, "jobs", "dispute", job["id"], "--reason", "stalled")
    assert "posting a dispute bond of 1 GPU" in result.stderr  # 10% of the 10 GPU max cost
    assert suite.token.balanceOf(cast.renter) == before - 10**18  # the bond, nothing else
    assert [d["id"] for d in cli("--json", "admin", "disputes")] == [job["id"]]
    resolved = cli("--json", "--account", ORACLE, "admin", "resolve", job["id"], "split", "--evidence", "bafy-e")
    assert resolved["status"] == "Resolved"
    assert suite.token.balanceOf(cast.renter) > before  # no fault: the bond and the unbilled rest came back


def test_dispute_shows_its_bond_and_closes_after_the_grace(cli, listed_gpu, suite, cast, chain):
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--yes")
    suite.marketplace.acceptJob(job["id"], sender=cast.provider)
    start = suite.marketplace.startJob(job["id"], sender=cast.provider).timestamp
    chain.pending_timestamp = start + 600
    disputed = cli("--json", "--account", RENTER, "jobs", "dispute", job["id"], "--reason", "slow")
    assert (disputed["status"], disputed["bond"]) == ("Disputed", "1")
    late = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
               "--hours", "1", "--yes")
    suite.marketplace.acceptJob(late["id"], sender=cast.provider)
    start = suite.marketplace.startJob(late["id"], sender=cast.provider).timestamp
    chain.pending_timestamp = start + 3600 + 15 * 60 + 1  # booked hour plus the 15 min grace, passed
    before = suite.token.allowance(cast.renter, suite.marketplace)
    result = cli("--account", RENTER, "jobs", "dispute", late["id"], "--reason", "too late", code=1)
    assert_one_line_error(result, f"cannot dispute job {late['id'][:10]}…: its dispute window closed at "
                                  f"timestamp {start + 3600 + 15 * 60}")
    assert suite.token.allowance(cast.renter, suite.marketplace) == before  # refused before any approval
    result = cli("--account", OUTSIDER, "jobs", "dispute", job["id"], "--reason", "x", code=1)
    assert_one_line_error(result, "it is Disputed")


def test_create_never_locks_more_than_the_cost_limit(cli, listed_gpu, suite, cast):
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--max-cost", "12", "--yes")
    assert (job["max_cost"], job["cost_limit"]) == ("10", "12")
    before = suite.token.balanceOf(cast.renter)
    # the provider raised its price after the renter's quote (a front-run): the limit refuses it
    cli("--account", PROVIDER, "provider", "update", listed_gpu, "--price", "1000")
    result = cli("--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "1",
                 "--max-cost", "10", "--yes", code=1)
    assert_one_line_error(result, "the job now costs 1000 GPU, above your limit of 10 GPU")
    assert suite.token.balanceOf(cast.renter) == before


def test_wallet(cli, cast):
    before = cli("--json", "--account", OUTSIDER, "wallet", "balance")
    assert before["address"] == cast.outsider.address and before["gpu"] == "10000"
    after = cli("--json", "--account", OUTSIDER, "wallet", "faucet", "--amount", "5.5")
    assert after["gpu"] == "10005.5"


def test_provider_stake_cycle(cli, listed_gpu):
    info = cli("--json", "--account", PROVIDER, "provider", "stake", "50")
    assert info["stake"] == "150"
    updated = cli("--json", "--account", PROVIDER, "provider", "update", listed_gpu, "--price", "12",
                  "--unavailable")
    assert (updated["price_per_hour"], updated["available"]) == ("12", False)
    result = cli("--account", PROVIDER, "provider", "unstake", code=1)
    assert_one_line_error(result, "retire all 1 active GPU(s)")
    cli("--account", PROVIDER, "provider", "retire", listed_gpu)
    info = cli("--json", "--account", PROVIDER, "provider", "unstake")
    assert info["unlock_at"] > 0


def test_admin(cli, cast):
    params = cli("--json", "--account", ADMIN, "admin", "set", "--fee-bps", "150", "--timeouts", "50", "60", "70",
                 "80", "--dispute-bond", "500", "0.5")
    assert (params["fee_bps"], params["accept_timeout_s"], params["start_timeout_s"], params["completion_grace_s"],
            params["dispute_timeout_s"]) == (150, 50, 60, 70, 80)
    assert (params["dispute_bond_bps"], params["dispute_min_bond"]) == (500, "0.5")
    assert params["timelock_delay_s"] == 0 and "scheduled" not in params  # no delay: executed at once
    shown = cli("--json", "admin", "params")
    assert shown["terms_version"] == params["terms_version"] >= 1 and shown["fee_bps"] == 150
    result = cli("--account", ADMIN, "admin", "set", "--timeouts", "60", "70", "80", code=2)  # the old 3 values
    assert "requires 4 arguments" in result.stderr and "Traceback" not in result.stderr
    cli("--account", ADMIN, "admin", "pause")
    assert cli("--json", "admin", "params")["paused"] is True
    cli("--account", ADMIN, "admin", "unpause")
    cli("--account", ADMIN, "admin", "grant", "oracle", cast.outsider.address)
    result = cli("--account", OUTSIDER, "admin", "set", "--fee-bps", "1", code=1)
    assert_one_line_error(result, "lacks the role needed to schedule (set the fee)")  # not a timelock proposer
    result = cli("--account", ADMIN, "admin", "set", "--fee-bps", "5000", code=1)
    assert_one_line_error(result, "fee 5000 bps is above the maximum of 1000 bps")
    result = cli("--account", ADMIN, "admin", "set", "--dispute-bond", "6000", "0", code=1)
    assert_one_line_error(result, "dispute bond 6000 bps is above the maximum of 5000 bps")


def test_admin_changes_wait_out_the_timelock_delay(cli, suite, cast, chain):
    from tests.conftest import govern

    govern(suite, cast.admin, suite.timelock.updateDelay, 3600)  # as on a real network (there: days)
    assert cli("--json", "admin", "params")["timelock_delay_s"] == 3600
    refused = cli("--account", ADMIN, "admin", "set", "--fee-bps", "5000", code=1)
    assert_one_line_error(refused, "fee 5000 bps is above the maximum of 1000 bps")  # before it is scheduled
    assert cli("--json", "admin", "pending") == []
    result = cli("--account", ADMIN, "admin", "set", "--fee-bps", "150")
    assert "fee set to 150 bps: scheduled 0x" in result.stderr and "executable from" in result.stderr
    (op,) = cli("--json", "admin", "pending")
    assert op["call"] == "Marketplace.setFee(150)" and op["change"] == "platform fee 2% → 1.5%" and op["ready"] is False
    assert op["op_id"] in result.stderr and "(timestamp " in op["executable_from"]
    result = cli("--account", ADMIN, "admin", "execute", op["op_id"], code=1)
    assert_one_line_error(result, "is not ready (its delay has not passed")
    assert cli("--json", "admin", "params")["fee_bps"] == 200  # unchanged until executed

    chain.pending_timestamp += 3601
    assert cli("--json", "admin", "pending")[0]["ready"] is True
    executed = cli("--account", ADMIN, "admin", "execute", op["op_id"])
    assert "executed Marketplace.setFee(150)" in executed.stderr
    assert cli("--json", "admin", "params")["fee_bps"] == 150 and cli("--json", "admin", "pending") == []
    result = cli("--account", ADMIN, "admin", "execute", op["op_id"], code=1)
    assert_one_line_error(result, f"no pending timelock operation {op['op_id']}")

    granted = cli("--json", "--account", ADMIN, "admin", "grant", "pauser", cast.outsider.address)
    assert [o["call"].split("(")[0] for o in granted["scheduled"]] == ["ResourceRegistry.grantRole",
                                                                       "Marketplace.grantRole"]
    assert len(cli("--json", "admin", "pending")) == 2


# ------------------------------------------------------------------ user mistakes


def test_unknown_gpu(cli):
    result = cli("--account", RENTER, "jobs", "create", "--gpu", "0x" + "11" * 32, "--image", CID,
                 "--hours", "1", "--yes", code=1)
    assert_one_line_error(result, "Error (UnknownResource): GPU 0x11111111… does not exist")


def test_malformed_ids(cli):
    result = cli("jobs", "show", "0x1234", code=1)
    assert_one_line_error(result, "malformed job id")
    result = cli("gpus", "show", "not-hex", code=1)
    assert_one_line_error(result, "malformed GPU id")


def test_malformed_cid_and_amounts(cli, listed_gpu):
    result = cli("--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", "", "--hours", "1",
                 "--yes", code=1)
    assert_one_line_error(result, "'' is not a CID")
    result = cli("--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "lots",
                 "--yes", code=2)
    assert "is not a number of hours" in result.stderr and "Traceback" not in result.stderr


def test_insufficient_balance(cli, listed_gpu, suite, cast):
    suite.token.transfer(cast.admin, suite.token.balanceOf(cast.outsider), sender=cast.outsider)
    result = cli("--account", OUTSIDER, "jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "1",
                 "--yes", code=1)
    assert_one_line_error(result, "balance 0 GPU, needed 10 GPU")


def test_wrong_state(cli, listed_gpu, suite, cast):
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--yes")
    result = cli("--account", RENTER, "jobs", "complete", job["id"], code=1)
    assert_one_line_error(result, f"cannot complete job {job['id'][:10]}…: it is Created")


def test_missing_account(cli, listed_gpu):
    result = cli("jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "1", "--yes", code=2)
    assert "pass --account" in result.stderr and "Traceback" not in result.stderr


def test_missing_deployment(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "empty"))
    result = cli("gpus", "list", code=1)
    assert_one_line_error(result, "no gpurent deployment on chain 31337")


def test_json_everywhere_parses(cli, listed_gpu):
    for args in (("gpus", "list"), ("gpus", "show", listed_gpu), ("admin", "params"), ("admin", "disputes"),
                 ("devnet", "status")):
        assert cli("--json", *args) is not None
    assert Decimal(cli("--json", "--account", RENTER, "wallet", "balance")["gpu"]) > 0


def test_create_asks_first(cli, listed_gpu, cast):
    result = cli("--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "2",
                 input="n\n", code=1)
    assert "Lock up to 20 GPU for 2 h" in result.stderr and "(cost limit 20 GPU)" in result.stderr
    assert "Aborted" in result.stderr
    assert cli("--json", "--account", RENTER, "jobs", "list") == []  # nothing was created
    cli("--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "2", input="y\n")
    assert [j["max_cost"] for j in cli("--json", "--account", RENTER, "jobs", "list")] == ["20"]


def test_operator_and_provider_views(cli, listed_gpu, cast):
    info = cli("--json", "provider", "info", cast.provider.address)
    assert info["provider"]["stake"] == "100" and [g["id"] for g in info["gpus"]] == [listed_gpu]
    assert info["reputation"]["score"] == 700
    # the oracle slashes only through the ReputationSystem; governance may grant the role to a key
    result = cli("--account", ORACLE, "admin", "slash", cast.provider.address, "30", "--reason", "test", code=1)
    assert_one_line_error(result, "lacks the role needed to slash")
    cli("--account", ADMIN, "admin", "grant", "slasher", cast.oracle.address, "--contract", "registry")
    result = cli("--account", ORACLE, "admin", "slash", cast.provider.address, "30", "--reason", "test")
    assert "20 GPU burnt" in result.stderr and "at most 20% of the stake" in result.stderr  # the cap, not 30
    slashed = cli("--json", "--account", ORACLE, "admin", "slash", cast.provider.address, "30", "--reason", "again")
    assert slashed["stake"] == "80"  # once a day at most: the second burns nothing
    rep = cli("--json", "--account", ORACLE, "admin", "penalise", cast.provider.address, "downtime")
    assert (rep["score"], rep["penalties"]) == (650, 50)
    # a pauser of the Marketplace alone cannot pause half the protocol: nothing changes
    cli("--account", ADMIN, "admin", "grant", "pauser", cast.outsider.address, "--contract", "marketplace")
    result = cli("--account", OUTSIDER, "admin", "pause", code=1)
    assert_one_line_error(result, "lacks the role needed to pause (ResourceRegistry needs PAUSER_ROLE)")
    assert cli("--json", "admin", "params")["paused"] is False
    cli("--account", ADMIN, "admin", "grant", "pauser", cast.outsider.address)
    cli("--account", OUTSIDER, "admin", "pause")
    assert cli("--json", "admin", "params")["paused"] is True
    cli("--account", ADMIN, "admin", "revoke", "pauser", cast.outsider.address)
    result = cli("--account", OUTSIDER, "admin", "unpause", code=1)
    assert_one_line_error(result, "lacks the role needed to unpause")
