"""The oracle for real: `gpurent-oracle run` processes, an in-process provider agent sending
signed heartbeats and answering challenges, the session chain, a Kubo node and podman."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal

import requests

from gpurent.wire.protocol import Challenge, Domain, Heartbeat, incident, new_heartbeat, sign_response
from gpurent.types import DisputeOutcome, JobStatus
from gpurent.units import TOKEN
from tests.oracle.conftest import INTERVAL, MISS_LIMIT, wait_for

DOWNTIME, DATA_FRAUD = 0, 1


def with_agent(start_oracle, start_agent, *oracles_args, probability=0.0, instances=1, slots=1):
    oracles = [start_oracle(probability=probability) for _ in range(instances)]
    runner = start_agent(slots, oracle_urls=tuple(o.url for o in oracles), heartbeat_interval_s=INTERVAL)
    return oracles, runner


def penalties(suite, chain, provider, start_block=0):
    rep = suite.reputation
    return [e for e in rep.PenaltyApplied.range(start_block, chain.blocks.height + 1) if e.event_arguments["provider"] == provider]


def reports(suite, chain, provider):
    rep = suite.reputation
    return [e for e in rep.ValidationReported.range(0, chain.blocks.height + 1) if e.event_arguments["provider"] == provider]


def test_an_honest_providers_reputation_rises_period_by_period(start_oracle, start_agent, push_image, renter_rent,
                                                              gp, suite, chain, cast):
    (oracle,), runner = with_agent(start_oracle, start_agent, probability=1.0)
    provider = cast.provider.address
    job = renter_rent.create_job(runner.gpu, push_image("sleep 60"), 3600).value
    runner.wait_phase(job.job_id, "running")

    scores = [gp.reputation(provider).score]  # unmeasured: 0.5 uptime and response
    seen = 0
    while len(scores) < 4:  # three reports after the job started
        v = wait_for("a new report", lambda: (x := gp.validation(provider)).reports > seen and x,
                     timeout_s=30, log=oracle.log)
        seen = v.reports
        scores.append(gp.reputation(provider).score)
    assert scores == sorted(scores) and scores[-1] > scores[0], scores
    v = gp.validation(provider)
    assert v.challenges_passed >= 2 and v.challenges_failed == 0
    assert v.heartbeats_kept >= v.heartbeats_expected - 1  # at most the slot before the first heartbeat
    assert gp.reputation(provider).penalties == 0 and not penalties(suite, chain, provider)
    periods = [e.period for e in reports(suite, chain, provider)]
    assert periods == sorted(set(periods))  # one report per period, in order
    table = oracle.get("providers")[provider.lower()]
    assert table["challenges_passed"] >= 2 and table["streak"] == 0
    wait_for("the GPU to carry the uptime and score", lambda: (r := gp.resource(runner.gpu)).total_uptime >= 4 * INTERVAL
             and r.reputation == gp.reputation(provider).score, timeout_s=15, log=oracle.log)


def test_a_silent_provider_is_reported_after_the_fourth_miss(start_oracle, start_agent, gp, suite, chain, cast):
    (oracle,), runner = with_agent(start_oracle, start_agent)
    provider = cast.provider.address
    wait_for("heartbeats kept", lambda: oracle.get("providers").get(provider.lower(), {}).get("kept", 0) >= 2,
             log=oracle.log)
    runner.agent.oracle.paused = True  # the agent goes silent; its GPUs stay offered on-chain
    db = oracle.state()
    observed = []  # (misses in a row the oracle has judged, penalty applied?)
    deadline = time.monotonic() + 30
    while not observed or not observed[-1][1]:
        assert time.monotonic() < deadline, oracle.log.read_text()[-3000:]
        misses = db.query("SELECT streak FROM watch WHERE provider = ?", (provider.lower(),))[0][0]
        observed.append((misses, bool(penalties(suite, chain, provider))))
        time.sleep(0.1)
    assert all(not applied for misses, applied in observed if misses <= MISS_LIMIT), observed
    assert observed[-1][0] >= MISS_LIMIT + 1

    (event,) = penalties(suite, chain, provider)
    assert (event.reason, event.points) == (DOWNTIME, 50)
    first_missed = db.query("SELECT streak_start FROM watch WHERE provider = ?", (provider.lower(),))[0][0]
    assert db.query("SELECT kept FROM slots WHERE provider = ? AND slot = ?", (provider.lower(), first_missed - 1)) == [
        (1,)]  # the outage began right after a kept slot
    assert event.incident == incident("downtime", chain.chain_id, provider, first_missed)
    r = suite.reputation.getReputation(provider)  # the SPEC formula on its components, less 50
    base = (4 * r.uptimeBps + 2 * r.responseBps + 3 * r.completionBps + 10_000 - r.disputeRateBps) // 100
    assert (r.penalties, r.score) == (50, base - 50)

    time.sleep(4 * INTERVAL)  # the same outage goes on: still one penalty
    assert len(penalties(suite, chain, provider)) == 1
    db.close()


def test_a_provider_serving_altered_bytes_loses_200_and_stake(start_oracle, start_agent, push_image, renter_rent,
                                                              gp, suite, chain, cast):
    (oracle,), runner = with_agent(start_oracle, start_agent, probability=1.0)
    provider = cast.provider.address
    agent = runner.agent
    honest = agent.endpoint.challenge_handler

    def altered(body):  # the provider lost the image and makes bytes up, signed properly
        answer = honest(body)
        challenge = Challenge.from_json(body)
        data = b"\0" * challenge.length
        answer["data"] = base64.b64encode(data).decode()
        answer["signature"] = sign_response(agent.gp.account, agent.oracle.domain, challenge, data)
        return answer

    agent.endpoint.challenge_handler = altered
    stake = gp.provider(provider).stake
    supply = gp.token.totalSupply()
    job = renter_rent.create_job(runner.gpu, push_image("sleep 60"), 3600).value
    runner.wait_phase(job.job_id, "running")
    first = wait_for("a data-fraud penalty", lambda: penalties(suite, chain, provider), timeout_s=30, log=oracle.log)[0]
    agent.endpoint.challenge_handler = honest
    assert (first.reason, first.points) == (DATA_FRAUD, 200)
    slashed = [e for e in suite.registry.Slashed.range(first.block_number, first.block_number + 1)]
    # the fraud slash (50%) is capped by the registry at 20% of the stake per slash
    assert slashed and slashed[0].amount == int(stake * TOKEN) * 20 // 100 and slashed[0].reason == "data fraud"
    assert gp.token.totalSupply() <= supply - slashed[0].amount  # burnt
    assert gp.provider(provider).stake <= stake * 8 / 10
    assert gp.reputation(provider).penalties >= 200
    frauds = [c for c in oracle.state().challenges(provider) if c.outcome == "fraud"]
    assert frauds and frauds[0].job_id == job.job_id and "differ" in frauds[0].detail


def test_forged_stale_and_replayed_heartbeats_are_rejected(start_oracle, start_agent, gp, cast, chain):
    oracle = start_oracle()
    runner = start_agent()  # registers the provider; sends no heartbeats itself
    domain = runner.agent.oracle.domain
    provider = cast.provider.address

    def post(beat: Heartbeat):
        response = requests.post(f"{oracle.url}/heartbeat", json=beat.to_json(), timeout=5)
        return response.status_code, response.json()

    good = new_heartbeat(provider, 0, 0.25, 10).signed(cast.provider, domain)
    assert post(good)[0] == 200
    code, body = post(good)  # the same message again
    assert (code, body["reason"]) == (409, "replay")
    forged = new_heartbeat(provider, 0, 0.25, 10).signed(cast.renter, domain)  # someone else's key
    assert post(forged)[0] == 401
    tampered = Heartbeat(**{**new_heartbeat(provider, 0, 0.1, 10).signed(cast.provider, domain).__dict__,
                            "jobs_running": 5})
    assert post(tampered)[0] == 401
    other_chain = new_heartbeat(provider, 0, 0.1, 10).signed(cast.provider, Domain(1, domain.contract))
    assert post(other_chain)[0] == 401
    stale = new_heartbeat(provider, 0, 0.1, 10, now=time.time() - 60).signed(cast.provider, domain)
    code, body = post(stale)
    assert code == 400 and "stale" in body["error"]
    stranger = new_heartbeat(cast.outsider.address, 0, 0.1, 10).signed(cast.outsider, domain)
    assert post(stranger)[0] == 403
    junk = requests.post(f"{oracle.url}/heartbeat", data=b"not json", timeout=5)
    assert junk.status_code == 400
    rejected = oracle.get("health")["rejected"]
    assert rejected == {"replay": 1, "bad-signature": 3, "stale": 1, "unknown-provider": 1}
    kept = oracle.state().query("SELECT COUNT(*) FROM heartbeats")[0][0]
    assert kept == 1


def _resolved(suite, chain, job_id):
    jid = bytes.fromhex(job_id[2:])
    return [e for e in suite.marketplace.DisputeResolved.range(0, chain.blocks.height + 1) if e.jobId == jid]


def _billed_seconds(gp, job_id):
    """Seconds from startJob to disputeJob, by their blocks' timestamps."""
    stamps = {e["event"]: e["timestamp"] for e in gp.job_events(job_id)}
    return stamps["JobDisputed"] - stamps["JobStarted"]


def _evidence(kubo, cid):
    return json.loads(kubo.client().cat_bytes(cid))


def _flat(text):
    return " ".join(text.split())


def test_dispute_with_a_silent_provider_is_the_providers_fault(start_oracle, start_agent, push_image, renter_rent,
                                                              gp, suite, chain, cast, kubo):
    (oracle,), runner = with_agent(start_oracle, start_agent)
    before = renter_rent.balance()
    job = renter_rent.create_job(runner.gpu, push_image("sleep 60"), 3600).value
    runner.wait_phase(job.job_id, "running")
    runner.agent.oracle.paused = True
    wait_for("a downtime penalty", lambda: penalties(suite, chain, cast.provider.address), log=oracle.log)
    bond = renter_rent.dispute_bond(job.job_id)
    assert bond > 0
    renter_rent.dispute_job(job.job_id, "the provider went dark")
    assert renter_rent.balance() == before - job.max_cost - bond  # the bond is posted with the dispute
    (ruling,) = wait_for("the ruling", lambda: _resolved(suite, chain, job.job_id), log=oracle.log)
    assert ruling.outcome == DisputeOutcome.PROVIDER_FAULT and ruling.finalCost == 0
    assert gp.job(job.job_id).status == JobStatus.RESOLVED
    assert renter_rent.balance() == before  # all of it back, the bond too
    evidence = _evidence(kubo, ruling.evidenceCID)
    assert evidence["ruling"]["outcome"] == "provider_fault" and "heartbeats in a row" in evidence["ruling"]["rule"]
    assert evidence["heartbeats"]["longest_miss_run"] > MISS_LIMIT
    assert evidence["job"]["id"] == job.job_id and evidence["image"]["intact"]
    assert [e["event"] for e in evidence["chain_timeline"]][:4] == ["JobCreated", "JobAccepted", "JobStarted",
                                                                    "JobDisputed"]


def test_disputes_of_a_healthy_job_go_against_the_disputer(start_oracle, start_agent, push_image, renter_rent,
                                                           provider_rent, gp, suite, chain, kubo, cast, tmp_path,
                                                           monkeypatch):
    """The oracle saw the provider healthy (every heartbeat, a passed challenge of the job's
    image, an intact image): the renter who disputes loses its bond to the provider and pays for
    the time used, whatever the provider says became of the container (here it says: exited
    with code 7); the provider who disputes is paid what completing would have paid it and gets
    its bond back, no more (split)."""
    (oracle,), runner = with_agent(start_oracle, start_agent, slots=2, probability=1.0)
    gpu_a, gpu_b = list(runner.agent.slots)
    before, earned = renter_rent.balance(), provider_rent.earnings()
    held = provider_rent.balance() + provider_rent.held_earnings().amount  # its tokens and its earnings
    # the renter's job runs alone: the oracle draws which running job it challenges, and with two
    # running the draw could miss this one for the whole of its run
    failing = renter_rent.create_job(gpu_a, push_image("echo crunching; sleep 12; echo oops >&2; exit 7"), 3600).value
    bond_a = renter_rent.dispute_bond(failing.job_id)
    runner.wait_phase(failing.job_id, "running")
    state = oracle.state()
    with runner.agent.tx_lock:  # hold the agent's settlement until the renter has disputed
        wait_for("a passed challenge of the renter's job", lambda: any(
            c.outcome == "passed" and c.job_id.lower() == failing.job_id.lower()
            for c in state.challenges(cast.provider.address)), timeout_s=30, log=oracle.log)
        runner.wait_phase(failing.job_id, "exited", timeout_s=30)
        renter_rent.dispute_job(failing.job_id, "my job died, the provider must have killed it")
    ticking = renter_rent.create_job(gpu_b, push_image("while true; do echo tick; sleep 1; done"), 3600).value
    bond_b = renter_rent.dispute_bond(ticking.job_id)
    assert bond_a > 0 and bond_b > 0
    runner.wait_phase(ticking.job_id, "running")
    time.sleep(2 * INTERVAL + 1)  # heartbeat slots the oracle watched during the job
    with runner.agent.tx_lock:  # the agent's account sends one transaction at a time
        provider_rent.dispute_job(ticking.job_id, "the renter's job is too heavy")

    (against_renter,) = wait_for("the ruling on the renter's dispute", lambda: _resolved(suite, chain, failing.job_id),
                                 log=oracle.log)
    (no_fault,) = wait_for("the ruling on the provider's dispute", lambda: _resolved(suite, chain, ticking.job_id),
                           log=oracle.log)
    assert against_renter.outcome == DisputeOutcome.USER_FAULT and no_fault.outcome == DisputeOutcome.SPLIT
    cost_a = Decimal(_billed_seconds(gp, failing.job_id)) / 100  # 36 tokens/hour, billed until the dispute
    cost_b = Decimal(_billed_seconds(gp, ticking.job_id)) / 100
    assert against_renter.finalCost == int(cost_a * TOKEN) > 0 and no_fault.finalCost == int(cost_b * TOKEN) > 0
    assert renter_rent.balance() == before - cost_a - bond_a - cost_b  # the renter's bond went to the provider
    paid = provider_rent.earnings() - earned
    assert abs(paid - (cost_a + cost_b) * Decimal("0.98")) <= Decimal(10) / TOKEN  # less the 2% fee
    # the provider's own bond came back; the pay was credited to its earnings (withdrawn or held)
    assert provider_rent.balance() + provider_rent.held_earnings().amount - held == paid + bond_a

    renters = _evidence(kubo, against_renter.evidenceCID)
    assert renters["ruling"]["outcome"] == "user_fault" and "renter's dispute fails" in renters["ruling"]["rule"]
    assert "code" not in renters["ruling"]["rule"]  # the provider's word on the container decides nothing ...
    assert renters["provider_record"]["job"]["exit_code"] == 7  # ... and stays in the record
    assert renters["dispute"]["initiator"].lower() == cast.renter.address.lower()
    assert renters["heartbeats"]["expected"] > 0 and renters["heartbeats"]["longest_miss_run"] <= MISS_LIMIT
    assert "crunching" in base64.b64decode(renters["provider_record"]["log_tail_b64"]).decode()
    providers = _evidence(kubo, no_fault.evidenceCID)
    assert providers["ruling"]["outcome"] == "split" and "provider disputed" in providers["ruling"]["rule"]
    assert "tick" in base64.b64decode(providers["provider_record"]["log_tail_b64"]).decode()
    assert providers["provider_record"]["log_truncated"] is False

    # the renter sees the ruling and its evidence from the CLI
    from click.testing import CliRunner

    from gpurent.cli.root import make_root
    from gpurent.manifest import Manifest, save_manifest

    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "cli-home"))
    monkeypatch.setenv("GPURENT_IPFS_API", kubo.api_url)
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                           contracts={n: c.address for n, c in suite.as_dict().items()}))
    cli = CliRunner(mix_stderr=False)
    shown = cli.invoke(make_root(), ["--json", "jobs", "show", failing.job_id])
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["ruling"].startswith("user_fault") and data["evidence"] == against_renter.evidenceCID
    assert "must have killed it" in data["dispute"]
    told = cli.invoke(make_root(), ["jobs", "evidence", failing.job_id])
    assert told.exit_code == 0, told.stderr
    assert "renter's dispute fails" in _flat(told.stdout) and "intact" in told.stdout
    never = cli.invoke(make_root(), ["jobs", "evidence", "0x" + "00" * 31 + "01"])
    assert never.exit_code == 2 and "never disputed" in never.stderr and "Traceback" not in never.stderr


def test_two_oracle_instances_neither_double_report_nor_double_penalise(start_oracle, start_agent, gp, suite, chain,
                                                                        cast):
    oracles, runner = with_agent(start_oracle, start_agent, instances=2)
    provider = cast.provider.address
    wait_for("two reports", lambda: gp.validation(provider).reports >= 2, timeout_s=40, log=oracles[0].log)
    runner.agent.oracle.paused = True
    wait_for("a downtime penalty", lambda: penalties(suite, chain, provider), log=oracles[0].log)
    wait_for("both instances to judge the outage",
             lambda: all(o.state().actions("penalty") and not o.state().actions("penalty", "pending") for o in oracles),
             timeout_s=30, log=oracles[1].log)
    assert len(penalties(suite, chain, provider)) == 1
    periods = [e.period for e in reports(suite, chain, provider)]
    assert len(periods) == len(set(periods)) == gp.validation(provider).reports
    by_instance = [o.state().actions() for o in oracles]
    statuses = [{(kind, status) for kind, _, _, _, status in acts} for acts in by_instance]
    # both instances reached the same penalty; one sent it, the other found it done
    penalty_statuses = sorted(s for acts in statuses for (kind, s) in acts if kind == "penalty")
    assert penalty_statuses == ["already", "applied"], by_instance
    report_statuses = {s for acts in statuses for (kind, s) in acts if kind == "report"}
    assert "submitted" in report_statuses


def test_cli_mistakes_are_one_line_errors(suite, cast, chain, kubo, tmp_path):
    import subprocess

    from gpurent.manifest import Manifest, save_manifest
    from tests.oracle.conftest import BIN

    home = tmp_path / "home"
    home.mkdir()
    save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                           contracts={n: c.address for n, c in suite.as_dict().items()}), home=home)
    env = {**__import__("os").environ, "GPURENT_HOME": str(home), "GPURENT_NETWORK": chain.provider.http_uri,
           "GPURENT_IPFS_API": kubo.api_url}

    def oracle_cli(*args):
        return subprocess.run([str(BIN / "gpurent-oracle"), *args], env=env, capture_output=True, text=True,
                              timeout=120)

    from gpurent.local.process import free_port

    # never the default port: a gpurent stack may run on this machine (its oracle would answer)
    (home / "oracle.toml").write_text(f'[oracle]\nlisten = "127.0.0.1:{free_port()}"\n')
    no_role = oracle_cli("--account", "4", "run")  # cast.provider2
    assert no_role.returncode == 1 and "lacks ORACLE_ROLE" in no_role.stderr
    assert "Traceback" not in no_role.stderr and len(no_role.stderr.strip().splitlines()) == 1
    absent = oracle_cli("status")
    assert absent.returncode == 1 and "no oracle answers" in absent.stderr and "Traceback" not in absent.stderr
    (home / "oracle.toml").write_text("[heartbeats]\ninterval = 7\n")
    bad = oracle_cli("--account", "1", "run")
    assert bad.returncode != 0 and "whole number of heartbeat intervals" in bad.stderr
    assert "Traceback" not in bad.stderr
    (home / "oracle.toml").write_text("[heartbeats]\ninterval = 1\n[reports]\nperiod = 8\n")
    other_period = oracle_cli("--account", "1", "run")  # the session chain's periods are 4 s
    assert other_period.returncode == 1 and "differs from the chain's (4 s" in other_period.stderr
    assert "Traceback" not in other_period.stderr and len(other_period.stderr.strip().splitlines()) == 1
    refused = oracle_cli("init")  # exists: refuses to overwrite
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert oracle_cli("init", "--force").returncode == 0 and "[reports]" in (home / "oracle.toml").read_text()
