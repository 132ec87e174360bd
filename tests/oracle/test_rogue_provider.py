"""The oracle against a rogue provider, on the session chain and a real Kubo node, in process: a
provider whose endpoint answers its record of a disputed job with a 200 of non-JSON and holds a
48 MB log; and the bounds the chain now puts on what the oracle sends for a provider's GPUs."""

from __future__ import annotations

import json
import time

import pytest

from gpurent.images.kubo import KuboClient
from gpurent.images.store import ImageStore
from gpurent.oracle.config import OracleConfig
from gpurent.oracle.oracle import Oracle
from gpurent.local.process import free_port
from gpurent.types import DisputeOutcome, JobStatus
from tests.oracle.rogue_provider import MB, RogueProvider
from tests.services import make_image


@pytest.fixture
def oracle_of(gp, cast, tmp_path):
    """An Oracle object for the session chain (test account 1), not started: the tests drive
    its rounds themselves."""
    made: list[Oracle] = []

    def make(store: ImageStore) -> Oracle:
        config = OracleConfig(listen_port=0, secret="rogue", heartbeat_interval_s=1, period_s=4, evidence_timeout_s=5)
        made.append(Oracle(gp.with_account(cast.oracle), config, tmp_path / f"oracle{len(made)}", store))
        return made[-1]

    yield make
    for oracle in made:
        oracle.shutdown()


def test_a_rogue_record_is_no_record_and_a_failing_ruling_backs_off(oracle_of, gp, cast, kubo, tmp_path, suite,
                                                                   chain):
    rogue = RogueProvider(record=b"<html>exited with code 1</html>", log_size=48 * MB).start()
    try:
        provider, renter = gp.with_account(cast.provider), gp.with_account(cast.renter)
        provider.register_provider(rogue.url, stake=100)
        gpu = provider.register_resource("RTX4090", 1, 1, 10, "36").value
        archive, _ = make_image(tmp_path, "gpurent-test/rogue:1", b"real image, never run")
        cid = ImageStore(kubo.client(), workdir=tmp_path / "work").push_archive(archive).cid
        before = renter.balance()
        job = renter.create_job(gpu.resource_id, cid, 3600).value
        provider.accept_job(job.job_id)
        provider.start_job(job.job_id)  # ... and never runs anything
        time.sleep(2)
        bond = renter.dispute_bond(job.job_id)
        renter.dispute_job(job.job_id, "nothing ran")

        # the oracle's own IPFS node is down: no ruling can be stored, so every try fails
        down = ImageStore(KuboClient(f"http://127.0.0.1:{free_port()}", timeout_s=2))
        oracle = oracle_of(down)
        rounds, began = 0, time.monotonic()
        while time.monotonic() - began < 7.0:
            oracle.follow_disputes()
            rounds += 1
            time.sleep(0.1)
        assert rounds >= 40
        assert 2 <= rogue.requests["record"] <= 3, rogue.requests  # tried at 0 s, 2 s, 6 s: not every round
        assert rogue.requests["logs"] == 0  # an unreadable record: its log is never fetched
        assert gp.job(job.job_id).status == JobStatus.DISPUTED
        ((_, _, _, detail, status),) = oracle.state.actions("dispute")
        assert status == "pending" and "attempt" in detail and "IPFS node" in detail

        # the node is back: the next try rules, the unreadable record counting as no record
        oracle.store = oracle.evidence.store = ImageStore(kubo.client())
        deadline = time.monotonic() + 30
        while oracle.state.action("dispute", job.job_id) == "pending":
            assert time.monotonic() < deadline, oracle.state.actions("dispute")
            oracle.follow_disputes()
            time.sleep(0.1)
        assert oracle.state.action("dispute", job.job_id) == "resolved"
        jid = bytes.fromhex(job.job_id[2:])
        (ruling,) = [e for e in suite.marketplace.DisputeResolved.range(0, chain.blocks.height + 1) if e.jobId == jid]
        assert ruling.outcome == DisputeOutcome.PROVIDER_FAULT and ruling.finalCost == 0
        assert renter.balance() == before  # escrow and bond back
        assert bond > 0
        evidence = json.loads(kubo.client().cat_bytes(ruling.evidenceCID))
        assert "no record" in evidence["ruling"]["rule"] and "unreadable record: not JSON" in evidence["ruling"]["rule"]
        assert evidence["image"]["intact"] and evidence["dispute"]["initiator"].lower() == cast.renter.address.lower()
        assert rogue.requests["record"] <= 4 and rogue.requests["logs"] == 0
    finally:
        rogue.stop()


def test_uptime_credits_and_scores_stay_inside_the_registrys_bounds(oracle_of, gp, cast, chain):
    """The registry takes no more uptime than the seconds since the previous credit (or the
    registration), and a GPU's reputation only as its provider's score: the oracle credits what
    the chain allows and copies the score it reads, so its mirroring never reverts."""
    provider = gp.with_account(cast.provider)
    provider.register_provider("http://127.0.0.1:9", stake=100)
    gpu = provider.register_resource("RTX4090", 1, 1, 10, "36").value
    rid = bytes.fromhex(gpu.resource_id[2:])
    oracle = oracle_of(None)
    address = cast.provider.address
    time.sleep(2)
    oracle.mirror_on_resources(address, 3600)  # an hour of uptime claimed for a GPU seconds old
    first = gp.resource(gpu.resource_id)
    (credit,) = [e for e in gp.registry.UptimeUpdated.range(0, chain.blocks.height + 1) if e.resourceId == rid]
    credited_at = chain.blocks[credit.block_number].timestamp
    assert 0 < first.total_uptime == credit.additionalSeconds <= credited_at - gpu.registered_at
    assert first.reputation == gp.reputation(address).score
    time.sleep(1)
    oracle.mirror_on_resources(address, 3600)  # again: only the seconds since the first credit
    second = gp.resource(gpu.resource_id)
    credits = [e for e in gp.registry.UptimeUpdated.range(0, chain.blocks.height + 1) if e.resourceId == rid]
    assert len(credits) == 2, credits
    assert credits[1].additionalSeconds <= chain.blocks[credits[1].block_number].timestamp - credited_at
    assert second.total_uptime == sum(e.additionalSeconds for e in credits) <= (
        chain.blocks[credits[1].block_number].timestamp - gpu.registered_at)
