"""Marketplace.completeJobAt: a provider settles a job at its container's own end, bounded by
the job's start and the current block, never below what was already paid early."""

from __future__ import annotations

import ape

from gpurent.units import TOKEN, to_base_units
from tests.conftest import create_job, worth

ACCEPTED, RUNNING, COMPLETED = 2, 3, 4


def _balances(suite, cast):
    return {
        "renter": suite.token.balanceOf(cast.renter),
        "provider": worth(suite, cast.provider),
        "treasury": worth(suite, cast.treasury, (cast.provider,)),
    }


def test_completeJobAt_bills_until_the_stated_end(suite, cast, running_job, chain):
    """10 tokens/h, ended 720 s after the start, settled 2700 s after it: 2 tokens, not 7.5."""
    job_id, start = running_job
    m = suite.marketplace
    before = _balances(suite, cast)
    chain.pending_timestamp = start + 2700
    tx = m.completeJobAt(job_id, start + 720, sender=cast.provider)
    after = _balances(suite, cast)
    assert after["provider"] - before["provider"] == to_base_units("1.96")
    assert after["treasury"] - before["treasury"] == to_base_units("0.04")
    assert after["renter"] - before["renter"] == 8 * TOKEN  # refunded
    job = m.getJob(job_id)
    assert job.status == COMPLETED and job.finalCost == 2 * TOKEN
    (completed,) = tx.events.filter(m.JobCompleted)
    assert completed.jobId == job_id and completed.finalCost == 2 * TOKEN
    assert m.getEscrow(job_id).refundedAmount == 8 * TOKEN
    assert m.providerStats(cast.provider).openJobs == 0


def test_completeJobAt_at_the_start_costs_nothing(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 30
    suite.marketplace.completeJobAt(job_id, start, sender=cast.provider)
    job = suite.marketplace.getJob(job_id)
    assert job.status == COMPLETED and job.finalCost == 0
    assert suite.marketplace.getEscrow(job_id).refundedAmount == 10 * TOKEN


def test_completeJobAt_capped_at_the_booked_duration(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 5000
    suite.marketplace.completeJobAt(job_id, start + 4000, sender=cast.provider)  # booked 3600 s
    assert suite.marketplace.getJob(job_id).finalCost == 10 * TOKEN


def test_completeJobAt_never_below_what_was_paid_early(suite, cast, running_job, chain):
    """Released early at 1800 s (5 tokens); an end stated at 600 s settles at 5, not 1.67."""
    job_id, start = running_job
    m = suite.marketplace
    chain.pending_timestamp = start + 1800
    m.partialRelease(job_id, 2**256 - 1, sender=cast.provider)
    provider0 = worth(suite, cast.provider)
    chain.pending_timestamp = start + 1900
    tx = m.completeJobAt(job_id, start + 600, sender=cast.provider)
    assert m.getJob(job_id).finalCost == 5 * TOKEN
    assert worth(suite, cast.provider) == provider0  # nothing more, nothing taken back
    assert not tx.events.filter(m.FundsReleased)
    assert m.getEscrow(job_id).refundedAmount == 5 * TOKEN
    assert m.providerStats(cast.provider).releasedOpen == 0  # the stake no longer backs it


def test_completeJobAt_refuses_an_end_before_the_start(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 100
    with ape.reverts(suite.marketplace.MarketplaceInvalidEndTime, jobId=job_id, endedAt=start - 1, startTime=start):
        suite.marketplace.completeJobAt(job_id, start - 1, sender=cast.provider)
    with ape.reverts(suite.marketplace.MarketplaceInvalidEndTime, jobId=job_id, endedAt=0, startTime=start):
        suite.marketplace.completeJobAt(job_id, 0, sender=cast.provider)
    assert suite.marketplace.getJob(job_id).status == RUNNING


def test_completeJobAt_refuses_an_end_in_the_future(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 100
    future = start + 10_000  # far past any block this call can land in
    with ape.reverts(suite.marketplace.MarketplaceInvalidEndTime, jobId=job_id, endedAt=future, startTime=start):
        suite.marketplace.completeJobAt(job_id, future, sender=cast.provider)
    with ape.reverts(suite.marketplace.MarketplaceInvalidEndTime, jobId=job_id, endedAt=2**256 - 1):
        suite.marketplace.completeJobAt(job_id, 2**256 - 1, sender=cast.provider)
    assert suite.marketplace.getJob(job_id).status == RUNNING


def test_completeJobAt_is_the_providers_alone(suite, cast, running_job, chain):
    """The renter ends a job with completeJob (now) or a dispute; nobody else may pick the end."""
    job_id, start = running_job
    chain.pending_timestamp = start + 3600 + 16 * 60  # past the grace: anyone may completeJob, not this
    for who in (cast.renter, cast.outsider):
        with ape.reverts(suite.marketplace.MarketplaceUnauthorized, jobId=job_id, caller=who.address):
            suite.marketplace.completeJobAt(job_id, start + 60, sender=who)


def test_completeJobAt_only_settles_running_jobs(suite, cast, resource_id, chain):
    m = suite.marketplace
    job_id, _ = create_job(suite, cast.renter, resource_id)
    m.acceptJob(job_id, sender=cast.provider)
    now = chain.pending_timestamp
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=ACCEPTED):
        m.completeJobAt(job_id, now, sender=cast.provider)
    start = m.startJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + 60
    m.completeJob(job_id, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=COMPLETED):
        m.completeJobAt(job_id, start + 10, sender=cast.provider)
