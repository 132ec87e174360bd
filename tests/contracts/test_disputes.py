"""Disputes: who may raise them, the three rulings and their payouts, the timeout."""

from __future__ import annotations

import ape
import pytest

from gpurent.units import TOKEN
from tests.conftest import PRICE

CREATED, ACCEPTED, RUNNING, COMPLETED, CANCELLED, DISPUTED, RESOLVED = range(1, 8)
PROVIDER_FAULT, USER_FAULT, SPLIT = 1, 2, 3
EVIDENCE = "bafkreievidencecid"


def parties(suite, cast):
    t = suite.token
    return t.balanceOf(cast.renter), t.balanceOf(cast.provider), t.balanceOf(cast.treasury)


def dispute_at(suite, cast, running_job, chain, elapsed, who=None):
    job_id, start = running_job
    chain.pending_timestamp = start + elapsed
    tx = suite.marketplace.disputeJob(job_id, "container exited 137", sender=who or cast.renter)
    return job_id, tx


def test_dispute_by_renter_or_provider(suite, cast, running_job, chain):
    job_id, tx = dispute_at(suite, cast, running_job, chain, 60, who=cast.provider)
    (ev,) = tx.events.filter(suite.marketplace.JobDisputed)
    assert (ev.initiator, ev.reason) == (cast.provider.address, "container exited 137")
    assert suite.marketplace.getJob(job_id).status == DISPUTED


def test_dispute_accepted_job(suite, cast, job_id):
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    suite.marketplace.disputeJob(job_id, "never started", sender=cast.renter)
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    assert after[0] - before[0] == 10 * TOKEN  # nothing ran: half of nothing, all refunded


def test_dispute_checks(suite, cast, job_id):
    m = suite.marketplace
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=CREATED):
        m.disputeJob(job_id, "x", sender=cast.renter)
    m.acceptJob(job_id, sender=cast.provider)
    with ape.reverts(m.MarketplaceUnauthorized, jobId=job_id, caller=cast.outsider.address):
        m.disputeJob(job_id, "x", sender=cast.outsider)
    with ape.reverts(m.MarketplaceReasonTooLong, length=1025):
        m.disputeJob(job_id, "x" * 1025, sender=cast.renter)


def test_provider_fault_refunds_renter_and_penalises(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1800)
    before = parties(suite, cast)
    tx = suite.marketplace.resolveDispute(job_id, PROVIDER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    assert after[0] - before[0] == 10 * TOKEN and after[1] == before[1] and after[2] == before[2]
    (ev,) = tx.events.filter(suite.marketplace.DisputeResolved)
    assert (ev.outcome, ev.finalCost, ev.resolver, ev.evidenceCID) == (PROVIDER_FAULT, 0, cast.oracle.address, EVIDENCE)
    rep = suite.reputation.getReputation(cast.provider)
    assert (rep.totalJobs, rep.successfulJobs, rep.disputes, rep.penalties) == (1, 0, 1, 100)
    assert rep.disputeRateBps == 10_000
    job = suite.marketplace.getJob(job_id)
    assert job.status == RESOLVED and job.finalCost == 0


def test_user_fault_pays_provider_cost_so_far(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1800)
    chain.pending_timestamp = chain.pending_timestamp + 7200  # time after the dispute is not billed
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, USER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    assert after[1] - before[1] == 5 * TOKEN * 98 // 100
    assert after[2] - before[2] == 5 * TOKEN * 2 // 100
    assert after[0] - before[0] == 5 * TOKEN
    assert suite.marketplace.getJob(job_id).finalCost == 5 * TOKEN


def test_split_pays_half_the_cost_so_far(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 2700)
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    half = PRICE * 2700 // 3600 // 2  # 3.75 tokens
    assert after[1] - before[1] + after[2] - before[2] == half
    assert after[0] - before[0] == 10 * TOKEN - half
    rep = suite.reputation.getReputation(cast.provider)
    assert (rep.totalJobs, rep.successfulJobs, rep.disputes) == (1, 0, 0)


def test_provider_fault_after_partial_release_keeps_what_was_paid(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 1800
    suite.marketplace.partialRelease(job_id, 2**256 - 1, sender=cast.provider)
    chain.pending_timestamp = start + 2000
    suite.marketplace.disputeJob(job_id, "stalled", sender=cast.renter)
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, PROVIDER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    assert after[0] - before[0] == 5 * TOKEN  # the unreleased rest
    escrow = suite.marketplace.getEscrow(job_id)
    assert escrow.releasedAmount + escrow.refundedAmount == escrow.lockedAmount


def test_resolve_only_oracle_and_only_disputed(suite, cast, running_job, chain):
    job_id, _ = running_job
    m = suite.marketplace
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=RUNNING):
        m.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.oracle)
    m.disputeJob(job_id, "x", sender=cast.renter)
    with ape.reverts(m.AccessControlUnauthorizedAccount):
        m.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidOutcome):
        m.resolveDispute(job_id, 0, EVIDENCE, sender=cast.oracle)
    m.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.oracle)
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=RESOLVED):
        m.resolveDispute(job_id, USER_FAULT, EVIDENCE, sender=cast.oracle)


def test_expired_dispute_splits(suite, cast, running_job, chain):
    job_id, tx = dispute_at(suite, cast, running_job, chain, 3600)
    open_at = tx.timestamp + 3 * 86400
    chain.pending_timestamp = open_at - 1
    with ape.reverts(suite.marketplace.MarketplaceDeadlineNotReached, jobId=job_id, availableAt=open_at):
        suite.marketplace.resolveExpiredDispute(job_id, sender=cast.outsider)
    chain.pending_timestamp = open_at
    tx = suite.marketplace.resolveExpiredDispute(job_id, sender=cast.outsider)
    (ev,) = tx.events.filter(suite.marketplace.DisputeResolved)
    assert (ev.outcome, ev.finalCost, ev.evidenceCID) == (SPLIT, 5 * TOKEN, "")


@pytest.mark.parametrize("outcome", [PROVIDER_FAULT, USER_FAULT, SPLIT])
def test_every_ruling_settles_the_escrow_exactly(suite, cast, running_job, chain, outcome):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1234)
    escrow_before = suite.token.balanceOf(suite.marketplace)
    suite.marketplace.resolveDispute(job_id, outcome, EVIDENCE, sender=cast.oracle)
    e = suite.marketplace.getEscrow(job_id)
    assert e.completed and e.releasedAmount + e.refundedAmount == e.lockedAmount == 10 * TOKEN
    assert escrow_before - suite.token.balanceOf(suite.marketplace) == 10 * TOKEN
