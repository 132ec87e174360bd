"""The indexer against the session chain, into SQLite and into a real PostgreSQL server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from gpurent.indexer import schema as s
from gpurent.indexer.db import connect, migrate
from gpurent.indexer.indexer import Indexer, ReorgTooDeep
from gpurent.indexer.rpc import JsonRpc
from gpurent.units import TOKEN

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
CID2 = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
BIN = Path(sys.executable).parent


def make_indexer(db_url, manifest, chain, **kwargs) -> Indexer:
    engine = connect(db_url)
    migrate(engine)
    return Indexer(JsonRpc(chain.provider.http_uri), manifest, engine, **kwargs)


def dump(engine) -> dict[str, list[tuple]]:
    """Every table's rows (without autoincrement ids), sorted: two equal dumps are equal indexes."""
    out = {}
    with engine.connect() as db:
        for table in (*s.DERIVED, s.events):
            cols = [c for c in table.columns if not (c.name == "id" and isinstance(c.type, s.Integer))]
            out[table.name] = sorted(tuple(r) for r in db.execute(select(*cols)).all())
    return out


def busy_chain(suite, cast, chain, jobs: int = 3) -> dict:
    """Every kind of event: providers, GPUs, prices, jobs in every end state, disputes, oracle."""
    reg, m, rep, tok = suite.registry, suite.marketplace, suite.reputation, suite.token
    tok.approve(reg, 100 * TOKEN, sender=cast.provider)
    reg.registerProvider("http://127.0.0.1:8765", 100 * TOKEN, sender=cast.provider)
    rids = []
    for model in ("RTX4090", "A100"):
        tx = reg.registerResource(model, 8, 32, 100, 10 * TOKEN, sender=cast.provider)
        rids.append(tx.events.filter(reg.ResourceRegistered)[0].resourceId)
    reg.updatePricing(rids[1], 20 * TOKEN, sender=cast.provider)
    reg.updateAvailability(rids[1], False, sender=cast.provider)
    reg.updateAvailability(rids[1], True, sender=cast.provider)
    tok.approve(m, 1000 * TOKEN, sender=cast.renter)
    ids = {}
    for kind in ("complete", "cancel", "dispute") + ("complete",) * max(0, jobs - 3):
        tx = m.createJob(rids[0], CID if kind != "cancel" else CID2, 3600, 2**256 - 1, sender=cast.renter)
        job = tx.events.filter(m.JobCreated)[0].jobId
        ids.setdefault(kind, []).append(job)
        if kind == "complete" and len(ids[kind]) == 1:
            m.extendJob(job, 1800, sender=cast.renter)  # booked 1.5 h: 15 tokens locked
        if kind == "cancel":
            m.cancelJob(job, sender=cast.renter)
            continue
        m.acceptJob(job, sender=cast.provider)
        started = m.startJob(job, sender=cast.provider)
        # exactly 900 s billed: from the start block's own time, not the wall clock's pending block
        chain.pending_timestamp = started.timestamp + 900
        if kind == "complete":
            m.completeJob(job, sender=cast.renter)
        else:
            m.disputeJob(job, "it hung", sender=cast.renter)
            m.resolveDispute(job, 3, "bafkreievidence", sender=cast.oracle)
    rep.submitValidationReport(cast.provider, 1, (4, 4, 1, 0, 100), sender=cast.oracle)  # 4 s periods
    rep.applyPenalty(cast.provider, 0, b"\x01" * 32, sender=cast.oracle)
    rep.reward(cast.provider, 10, sender=cast.oracle)
    reg.updateUptime(rids[0], 600, sender=cast.oracle)  # no more than the time since registration
    reg.updateReputation(rids[0], rep.getScore(cast.provider), sender=cast.oracle)  # mirrors the score
    reg.retireResource(rids[1], sender=cast.provider)
    return {"resources": rids, "jobs": ids}


def test_every_event_lands_in_its_table(db_url, suite, cast, chain, manifest, gp):
    made = busy_chain(suite, cast, chain)
    indexer = make_indexer(db_url, manifest, chain, batch=7)  # several rounds
    assert indexer.sync() > 0
    assert indexer.cursor().block == chain.blocks.height
    with indexer.engine.connect() as db:
        gpus = {r.id: r for r in db.execute(select(s.gpu_resources)).all()}
        for rid in made["resources"]:
            chain_gpu = gp.resource(rid)
            row = gpus["0x" + bytes(rid).hex()]
            assert (row.provider_address, row.gpu_model, row.vcpu, row.memory_gb) == (
                chain_gpu.provider.lower(), chain_gpu.gpu_model, chain_gpu.vcpu, chain_gpu.memory_gb)
            assert (row.availability, row.retired, row.total_uptime, row.reputation_score) == (
                chain_gpu.available, chain_gpu.retired, chain_gpu.total_uptime, chain_gpu.reputation)
            assert row.price_per_hour_tokens == format(chain_gpu.price_per_hour.normalize(), "f")
        jobs = {r.id: r for r in db.execute(select(s.instance_history)).all()}
        for kind, expected in (("complete", "Completed"), ("cancel", "Cancelled"), ("dispute", "Resolved")):
            for jid in made["jobs"][kind]:
                row, chain_job = jobs["0x" + bytes(jid).hex()], gp.job(jid)
                assert row.status == expected == chain_job.status.label
                assert (row.user_address, row.provider_address) == (cast.renter.address.lower(),
                                                                    cast.provider.address.lower())
                if expected == "Completed":
                    assert row.total_cost_tokens == format(chain_job.final_cost.normalize(), "f")
                assert row.estimated_duration == chain_job.estimated_duration  # extensions included
                assert row.max_cost_tokens == format(chain_job.max_cost.normalize(), "f")
        extended = jobs["0x" + bytes(made["jobs"]["complete"][0]).hex()]
        assert (extended.estimated_duration, extended.max_cost_tokens) == (5400, "15")
        history = db.execute(select(s.job_status_history.c.status).where(
            s.job_status_history.c.job_id == "0x" + bytes(made["jobs"]["complete"][0]).hex())
            .order_by(s.job_status_history.c.block_number, s.job_status_history.c.log_index)).scalars().all()
        assert history == ["Created", "Accepted", "Running", "Completed"]
        (dispute,) = db.execute(select(s.disputes)).all()
        assert (dispute.outcome, dispute.evidence_cid, dispute.reason) == ("split", "bafkreievidence", "it hung")
        images = {r.cid: r.download_count for r in db.execute(select(s.images)).all()}
        assert images == {CID: 2, CID2: 1}
        provider = db.execute(select(s.providers)).one()
        assert (provider.address, provider.penalty_points, provider.reports) == (cast.provider.address.lower(), 50, 1)
        assert provider.stake_tokens == "100" and provider.score == gp.reputation(cast.provider.address).score
        kinds = set(db.execute(select(s.reputation_history.c.kind)).scalars())
        assert {"report", "penalty", "reward", "score"} <= kinds
        names = set(db.execute(select(s.events.c.name)).scalars())
    expected_names = {"ProviderRegistered", "ResourceRegistered", "PricingUpdated", "AvailabilityUpdated", "JobCreated",
                      "JobExtended", "FundsLocked", "JobAccepted", "JobStarted", "JobCompleted", "FundsReleased", "Refunded",
                      "JobCancelled", "JobDisputed", "DisputeResolved", "ValidationReported", "PenaltyApplied",
                      "RewardIssued", "UptimeUpdated", "ResourceReputationUpdated", "ResourceRetired", "Transfer"}
    assert expected_names <= names, expected_names - names
    # re-running from the cursor adds nothing
    before = dump(indexer.engine)
    assert indexer.sync() == 0 and dump(indexer.engine) == before


def _save_manifest(home: Path, suite, cast, chain) -> None:
    from gpurent.manifest import Manifest, save_manifest

    save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                           contracts={n: c.address for n, c in suite.as_dict().items()}), home=home)


def test_sigkilled_at_20_random_points_ends_identical_to_a_clean_index(db_url, suite, cast, chain, manifest,
                                                                     tmp_path):
    import os
    import random
    import signal
    import subprocess
    import time

    busy_chain(suite, cast, chain, jobs=12)
    home = tmp_path / "home"
    home.mkdir()
    _save_manifest(home, suite, cast, chain)
    env = {**os.environ, "GPURENT_HOME": str(home)}
    args = [str(BIN / "gpurent-indexer"), "run", "--rpc", chain.provider.http_uri, "--db", db_url, "--batch", "1",
            "--graphql", "off", "--poll", "0.05"]
    engine = connect(db_url)
    rng = random.Random(20)
    head = chain.blocks.height
    kills = 0
    log = (tmp_path / "indexer.log").open("ab")
    while kills < 20:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=log)
        time.sleep(rng.uniform(1.2, 2.5))  # the start takes about a second; then blocks go by
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    started = (tmp_path / "indexer.log").read_text().count("indexing chain")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as db:
                at = db.execute(select(s.cursor.c.block_number)).scalar()
            running = (tmp_path / "indexer.log").read_text().count("indexing chain") > started
            if at == head and running:  # caught up, and this last process is in its loop
                break
            assert time.monotonic() < deadline, (tmp_path / "indexer.log").read_text()[-3000:]
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    clean = make_indexer(f"sqlite:///{tmp_path / 'clean.db'}", manifest, chain)
    clean.sync()
    assert dump(engine) == dump(clean.engine)
    assert len(dump(engine)["events"]) > 100


@pytest.mark.parametrize("depth", [1, 3, 12])
def test_reorgs_leave_no_orphan_or_duplicate_rows(depth, db_url, suite, cast, chain, manifest, tmp_path):
    made = busy_chain(suite, cast, chain)
    indexer = make_indexer(db_url, manifest, chain, window=32)
    indexer.sync()
    m = suite.marketplace
    rid = made["resources"][0]
    fork = chain.snapshot()
    for _ in range(depth):  # a branch the index follows, then loses
        m.createJob(rid, CID2, 60, 2**256 - 1, sender=cast.renter)
    indexer.sync()
    chain.restore(fork)
    for _ in range(depth + 1):  # the winning branch: other jobs, one block longer
        m.createJob(rid, CID, 120, 2**256 - 1, sender=cast.renter)
    indexer.sync()
    assert indexer.progress.reorgs == 1
    clean = make_indexer(f"sqlite:///{tmp_path / 'clean.db'}", manifest, chain)
    clean.sync()
    assert dump(indexer.engine) == dump(clean.engine)
    with indexer.engine.connect() as db:
        durations = db.execute(select(s.instance_history.c.estimated_duration)).scalars().all()
    assert 60 not in durations and durations.count(120) == depth + 1


def test_a_reorg_deeper_than_the_window_stops_with_a_clear_error(suite, cast, chain, manifest, tmp_path):
    made = busy_chain(suite, cast, chain)
    indexer = make_indexer(f"sqlite:///{tmp_path / 'i.db'}", manifest, chain, window=2)
    fork = chain.snapshot()
    for _ in range(6):
        suite.marketplace.createJob(made["resources"][0], CID2, 60, 2**256 - 1, sender=cast.renter)
    indexer.sync()
    chain.restore(fork)
    for _ in range(8):
        suite.marketplace.createJob(made["resources"][0], CID, 60, 2**256 - 1, sender=cast.renter)
    with pytest.raises(ReorgTooDeep, match="deeper than the 2-block window"):
        indexer.sync()


def test_the_migrations_build_exactly_the_schema(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = connect(db_url)
    migrate(engine)
    migrate(engine)  # safe to run on every start
    with engine.connect() as db:
        assert compare_metadata(MigrationContext.configure(db), s.metadata) == []
