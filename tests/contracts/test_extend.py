"""Marketplace.extendJob: the renter books more time of a Created, Accepted or Running job at the
job's own price, locking what it costs; the cap, the deadlines and every settlement follow, exact
to the base unit."""

from __future__ import annotations

import ape
import pytest

from gpurent.limits import MAX_DURATION
from gpurent.units import TOKEN, to_base_units
from gpurent.wire.permit import sign_permit
from tests.conftest import create_job, dispute, escrowed, register_resource, worth

CREATED, ACCEPTED, RUNNING, COMPLETED, CANCELLED, DISPUTED, RESOLVED = 1, 2, 3, 4, 5, 6, 7
SPLIT = 3


def _extend(suite, renter, job_id, extra: int):
    """Approves exactly what ``extra`` seconds cost the job and extends it; returns the receipt."""
    job = suite.marketplace.getJob(job_id)
    price, duration = job.pricePerHour, job.estimatedDuration
    cost = price * (duration + extra) // 3600 - price * duration // 3600
    suite.token.approve(suite.marketplace, cost, sender=renter)
    return suite.marketplace.extendJob(job_id, extra, sender=renter)


def _worths(suite, cast):
    return (suite.token.balanceOf(cast.renter), worth(suite, cast.provider),
            worth(suite, cast.treasury, (cast.provider,)))


# ------------------------------------------------------------------ what it locks


def test_extendJob_running_locks_the_extra_cost_and_moves_the_cap(suite, cast, running_job, chain):
    """10 tokens/h, booked 3600 s, 30 min more at 600 s: 5 tokens more locked, the cap is 15."""
    job_id, start = running_job
    m = suite.marketplace
    chain.pending_timestamp = start + 300
    m.partialRelease(job_id, 2**256 - 1, sender=cast.provider)  # a job's every field set: paid too
    before = m.getJob(job_id)
    renter0, escrow0 = suite.token.balanceOf(cast.renter), escrowed(suite, (cast.provider,))
    chain.pending_timestamp = start + 600
    tx = _extend(suite, cast.renter, job_id, 1800)
    (extended,) = tx.events.filter(m.JobExtended)
    assert (extended.jobId, extended.user) == (job_id, cast.renter.address)
    assert (extended.extraSeconds, extended.extraCost, extended.newDuration) == (1800, 5 * TOKEN, 5400)
    (locked,) = tx.events.filter(m.FundsLocked)
    assert (locked.jobId, locked.user, locked.amount) == (job_id, cast.renter.address, 5 * TOKEN)
    assert renter0 - suite.token.balanceOf(cast.renter) == 5 * TOKEN
    assert escrowed(suite, (cast.provider,)) - escrow0 == 5 * TOKEN
    job = m.getJob(job_id)
    assert (job.estimatedDuration, job.maxCost, job.status, job.startTime) == (5400, 15 * TOKEN, RUNNING, start)
    assert m.getEscrow(job_id).lockedAmount == 15 * TOKEN
    # only the duration changed, in the job's packed slot (written in assembly): every other field reads back
    unchanged = ("jobId", "user", "provider", "resourceId", "pricePerHour", "feeBps", "termsVersion", "startTime",
                 "endTime", "updatedAt", "status", "finalCost")
    assert {k: getattr(job, k) for k in unchanged} == {k: getattr(before, k) for k in unchanged}
    assert before.finalCost == 10 * TOKEN * 300 // 3600
    assert m.disputeBond(job_id) == to_base_units("1.5")  # 10% of the new maxCost


@pytest.mark.parametrize("accepted", [False, True])
def test_extendJob_before_the_start_keeps_the_timeouts(suite, cast, job_id, accepted, chain):
    m = suite.marketplace
    if accepted:
        m.acceptJob(job_id, sender=cast.provider)
    updated = m.getJob(job_id).updatedAt
    chain.pending_timestamp = updated + 100
    _extend(suite, cast.renter, job_id, 3600)
    job = m.getJob(job_id)
    assert (job.status, job.estimatedDuration, job.maxCost) == ((ACCEPTED if accepted else CREATED), 7200, 20 * TOKEN)
    assert job.updatedAt == updated  # not a transition: the accept and start timeouts stay


def test_extendJob_price_is_the_jobs_not_the_gpus(suite, cast, resource_id, chain):
    job_id, _ = create_job(suite, cast.renter, resource_id)
    suite.registry.updatePricing(resource_id, 50 * TOKEN, sender=cast.provider)
    tx = _extend(suite, cast.renter, job_id, 3600)
    assert tx.events.filter(suite.marketplace.JobExtended)[0].extraCost == 10 * TOKEN


def test_extendJob_rounds_as_if_booked_for_the_whole_duration(suite, cast, chain):
    """7001 base units/h: 1000 s lock 1944 (1944.7 rounded down); 1000 s more lock 1945, so the
    2000 s lock 3889 in all, what createJob locks for 2000 s (not 1944 + 1944)."""
    from tests.conftest import register_provider

    register_provider(suite, cast.provider)
    rid = register_resource(suite, cast.provider, price=7001)
    job_id, _ = create_job(suite, cast.renter, rid, duration=1000)
    m = suite.marketplace
    assert m.getJob(job_id).maxCost == 1944
    tx = _extend(suite, cast.renter, job_id, 1000)
    assert tx.events.filter(m.JobExtended)[0].extraCost == 1945 == 7001 * 2000 // 3600 - 1944
    assert m.getJob(job_id).maxCost == 3889
    # settled past the end: the cap is the whole new maxCost, nothing left in escrow, nothing missing
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    escrow0 = escrowed(suite, (cast.provider,))
    renter0, provider0, treasury0 = _worths(suite, cast)
    chain.pending_timestamp = start + 2500
    m.completeJob(job_id, sender=cast.renter)
    renter1, provider1, treasury1 = _worths(suite, cast)
    assert m.getJob(job_id).finalCost == 3889
    assert (provider1 - provider0) + (treasury1 - treasury0) == 3889
    assert treasury1 - treasury0 == 3889 * 200 // 10_000
    assert renter1 == renter0  # no refund: the whole booking ran
    assert escrow0 - escrowed(suite, (cast.provider,)) == 3889


def test_extendJob_settled_mid_way_is_exact(suite, cast, chain):
    """7001 base units/h, 1000 s + 1000 s booked, ended at 1500 s: 1500 s cost 2917, the rest of
    the 3889 locked comes back."""
    from tests.conftest import register_provider

    register_provider(suite, cast.provider)
    rid = register_resource(suite, cast.provider, price=7001)
    job_id, _ = create_job(suite, cast.renter, rid, duration=1000)
    _extend(suite, cast.renter, job_id, 1000)
    m = suite.marketplace
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    renter0, provider0, treasury0 = _worths(suite, cast)
    chain.pending_timestamp = start + 1500
    m.completeJob(job_id, sender=cast.renter)
    renter1, provider1, treasury1 = _worths(suite, cast)
    cost = 7001 * 1500 // 3600
    assert m.getJob(job_id).finalCost == cost == 2917
    assert treasury1 - treasury0 == cost * 200 // 10_000
    assert provider1 - provider0 == cost - cost * 200 // 10_000
    assert renter1 - renter0 == 3889 - cost
    assert m.getEscrow(job_id).refundedAmount == 3889 - cost


# ------------------------------------------------------------------ settlements after it


def test_completeJob_after_extension_bills_past_the_old_cap(suite, cast, running_job, chain):
    """Booked 3600 s + 1800 s, ended by the renter at 4500 s: 12.5 tokens, the provider 12.25,
    the platform 0.25, the renter 2.5 back of the 15 locked."""
    job_id, start = running_job
    m = suite.marketplace
    chain.pending_timestamp = start + 600
    _extend(suite, cast.renter, job_id, 1800)
    renter0, provider0, treasury0 = _worths(suite, cast)
    escrow0 = escrowed(suite, (cast.provider,))
    chain.pending_timestamp = start + 4500
    m.completeJob(job_id, sender=cast.renter)
    renter1, provider1, treasury1 = _worths(suite, cast)
    assert m.getJob(job_id).finalCost == to_base_units("12.5")
    assert provider1 - provider0 == to_base_units("12.25")
    assert treasury1 - treasury0 == to_base_units("0.25")
    assert renter1 - renter0 == to_base_units("2.5")
    assert escrow0 - escrowed(suite, (cast.provider,)) == 15 * TOKEN  # the job holds nothing more


def test_completeJob_after_extension_is_capped_at_the_new_duration(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    chain.pending_timestamp = start + 600
    _extend(suite, cast.renter, job_id, 1800)
    renter0 = suite.token.balanceOf(cast.renter)
    chain.pending_timestamp = start + 6000
    m.completeJob(job_id, sender=cast.provider)
    assert m.getJob(job_id).finalCost == 15 * TOKEN
    assert suite.token.balanceOf(cast.renter) == renter0  # nothing back: the whole booking ran


def test_extension_moves_when_anyone_may_settle(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    grace = m.terms(m.getJob(job_id).termsVersion).completionGrace
    chain.pending_timestamp = start + 600
    _extend(suite, cast.renter, job_id, 1800)
    chain.pending_timestamp = start + 3600 + grace + 1  # past the old deadline, not the new one
    with ape.reverts(m.MarketplaceDeadlineNotReached, jobId=job_id, availableAt=start + 5400 + grace):
        m.completeJob(job_id, sender=cast.outsider)
    chain.pending_timestamp = start + 5400 + grace
    m.completeJob(job_id, sender=cast.outsider)
    assert m.getJob(job_id).finalCost == 15 * TOKEN


def test_completeJobWithResult_after_extension(suite, cast, running_job, chain):
    """Ended at 4000 s, past the old cap: billed 4000 s (11.11… tokens), not 3600 s."""
    job_id, start = running_job
    m = suite.marketplace
    chain.pending_timestamp = start + 600
    _extend(suite, cast.renter, job_id, 1800)
    renter0 = suite.token.balanceOf(cast.renter)
    chain.pending_timestamp = start + 4100
    m.completeJobWithResult(job_id, start + 4000, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                            sender=cast.provider)
    cost = 10 * TOKEN * 4000 // 3600
    assert m.getJob(job_id).finalCost == cost
    assert suite.token.balanceOf(cast.renter) - renter0 == 15 * TOKEN - cost


def test_partialRelease_after_extension_then_complete(suite, cast, running_job, chain):
    """Released early at 4000 s (past the old cap), completed at 5000 s: the two releases and
    the refund add up to the 15 locked, to the base unit."""
    job_id, start = running_job
    m = suite.marketplace
    chain.pending_timestamp = start + 600
    _extend(suite, cast.renter, job_id, 1800)
    renter0, provider0, treasury0 = _worths(suite, cast)
    chain.pending_timestamp = start + 4000
    early = m.partialRelease(job_id, 2**256 - 1, sender=cast.provider).events.filter(m.FundsReleased)[0]
    first = 10 * TOKEN * 4000 // 3600
    assert early.providerAmount + early.fee == first  # more than the 10 the old cap allowed
    chain.pending_timestamp = start + 5000
    m.completeJob(job_id, sender=cast.renter)
    renter1, provider1, treasury1 = _worths(suite, cast)
    cost = 10 * TOKEN * 5000 // 3600
    assert m.getJob(job_id).finalCost == cost
    fees = first * 200 // 10_000 + (cost - first) * 200 // 10_000
    assert treasury1 - treasury0 == fees
    assert provider1 - provider0 == cost - fees
    assert renter1 - renter0 == 15 * TOKEN - cost
    assert m.providerStats(cast.provider).releasedOpen == 0


def test_cancel_after_extension_refunds_everything(suite, cast, job_id):
    m = suite.marketplace
    renter0 = suite.token.balanceOf(cast.renter)
    _extend(suite, cast.renter, job_id, 3600)
    m.cancelJob(job_id, sender=cast.renter)
    # the 10 locked at creation (before renter0) and the 10 of the extension both come back
    assert suite.token.balanceOf(cast.renter) - renter0 == 10 * TOKEN
    assert m.getEscrow(job_id).refundedAmount == 20 * TOKEN


def test_abandoned_after_extension_refunds_everything(suite, cast, job_id):
    m = suite.marketplace
    m.acceptJob(job_id, sender=cast.provider)
    _extend(suite, cast.renter, job_id, 3600)
    renter0 = suite.token.balanceOf(cast.renter)
    tx = m.cancelJob(job_id, sender=cast.provider)
    assert tx.events.filter(m.Refunded)[0].amount == 20 * TOKEN
    assert suite.token.balanceOf(cast.renter) - renter0 == 20 * TOKEN


def test_dispute_after_extension_opens_past_the_old_window_and_settles_exact(suite, cast, running_job, chain):
    """The window moves with the booking; a split pays the cost up to the dispute and refunds
    the rest of the new maxCost."""
    job_id, start = running_job
    m = suite.marketplace
    grace = m.terms(m.getJob(job_id).termsVersion).completionGrace
    chain.pending_timestamp = start + 600
    _extend(suite, cast.renter, job_id, 1800)
    at = start + 3600 + grace + 60  # closed without the extension
    dispute(suite, job_id, cast.provider, at=at)
    renter0, provider0, treasury0 = _worths(suite, cast)
    chain.pending_timestamp = at + 100
    m.resolveDispute(job_id, SPLIT, "bafkreievidence", sender=cast.oracle)
    renter1, provider1, treasury1 = _worths(suite, cast)
    cost = 10 * TOKEN * (3600 + grace + 60) // 3600
    fee = cost * 200 // 10_000
    bond = 15 * TOKEN * 1000 // 10_000
    assert m.getJob(job_id).finalCost == cost
    assert treasury1 - treasury0 == fee
    assert provider1 - provider0 == cost - fee + bond  # its bond back
    assert renter1 - renter0 == 15 * TOKEN - cost


# ------------------------------------------------------------------ what it refuses


def test_extendJob_only_by_the_renter(suite, cast, running_job):
    job_id, _ = running_job
    for who in (cast.provider, cast.outsider, cast.renter2):
        suite.token.approve(suite.marketplace, 5 * TOKEN, sender=who)
        with ape.reverts(suite.marketplace.MarketplaceUnauthorized, jobId=job_id, caller=who.address):
            suite.marketplace.extendJob(job_id, 1800, sender=who)
    assert suite.marketplace.getJob(job_id).estimatedDuration == 3600


def test_extendJob_unknown_job(suite, cast):
    job_id = (int(cast.renter.address, 16) << 96 | 999).to_bytes(32, "big")
    with ape.reverts(suite.marketplace.MarketplaceUnknownJob, jobId=job_id):
        suite.marketplace.extendJob(job_id, 1800, sender=cast.renter)


def _ended(suite, cast, job_id, status, chain):
    m = suite.marketplace
    if status == CANCELLED:
        m.cancelJob(job_id, sender=cast.renter)
        return
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    if status == COMPLETED:
        chain.pending_timestamp = start + 600
        m.completeJob(job_id, sender=cast.renter)
    else:
        dispute(suite, job_id, cast.renter, at=start + 600)
        if status == RESOLVED:
            m.resolveDispute(job_id, SPLIT, "bafkreievidence", sender=cast.oracle)


@pytest.mark.parametrize("status", [COMPLETED, CANCELLED, DISPUTED, RESOLVED])
def test_extendJob_refused_unless_created_accepted_or_running(suite, cast, job_id, status, chain):
    _ended(suite, cast, job_id, status, chain)
    suite.token.approve(suite.marketplace, 10 * TOKEN, sender=cast.renter)
    with ape.reverts(suite.marketplace.MarketplaceInvalidJobState, jobId=job_id, current=status):
        suite.marketplace.extendJob(job_id, 1800, sender=cast.renter)


def test_extendJob_refused_once_the_booked_end_has_come(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    suite.token.approve(m, 5 * TOKEN, sender=cast.renter)
    chain.pending_timestamp = start + 3600  # the agent stops it now
    with ape.reverts(m.MarketplaceBookingEnded, jobId=job_id, bookedEnd=start + 3600):
        m.extendJob(job_id, 1800, sender=cast.renter)
    chain.pending_timestamp = start + 4000
    with ape.reverts(m.MarketplaceBookingEnded, jobId=job_id, bookedEnd=start + 3600):
        m.extendJob(job_id, 1800, sender=cast.renter)


def test_extendJob_one_second_before_the_end(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 3599
    _extend(suite, cast.renter, job_id, 60)
    assert suite.marketplace.getJob(job_id).estimatedDuration == 3660


def test_extendJob_up_to_the_longest_job(suite, cast, job_id):
    m = suite.marketplace
    room = MAX_DURATION - 3600
    suite.token.approve(m, 10_000 * TOKEN, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidExtension, jobId=job_id, extraSeconds=0, maxExtraSeconds=room):
        m.extendJob(job_id, 0, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidExtension, jobId=job_id, extraSeconds=room + 1, maxExtraSeconds=room):
        m.extendJob(job_id, room + 1, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidExtension, jobId=job_id, extraSeconds=2**256 - 1, maxExtraSeconds=room):
        m.extendJob(job_id, 2**256 - 1, sender=cast.renter)
    suite.token.approve(m, 0, sender=cast.renter)
    suite.token.transfer(cast.renter, 20_000 * TOKEN, sender=cast.admin)  # 90 days at 10/h: 21,590 more
    _extend(suite, cast.renter, job_id, room)
    assert m.getJob(job_id).estimatedDuration == MAX_DURATION
    with ape.reverts(m.MarketplaceInvalidExtension, jobId=job_id, extraSeconds=1, maxExtraSeconds=0):
        m.extendJob(job_id, 1, sender=cast.renter)


def test_extendJob_that_would_cost_nothing(suite, cast, chain):
    """1 base unit per hour: an hour locks 1, one second more locks nothing, so it is refused."""
    from tests.conftest import register_provider

    register_provider(suite, cast.provider)
    rid = register_resource(suite, cast.provider, price=1)
    job_id, _ = create_job(suite, cast.renter, rid, duration=3600)
    with ape.reverts(suite.marketplace.MarketplaceZeroCost, pricePerHour=1, duration=1):
        suite.marketplace.extendJob(job_id, 1, sender=cast.renter)


def test_extendJob_without_allowance(suite, cast, running_job):
    job_id, _ = running_job
    with ape.reverts(suite.token.ERC20InsufficientAllowance):
        suite.marketplace.extendJob(job_id, 1800, sender=cast.renter)
    assert suite.marketplace.getJob(job_id).estimatedDuration == 3600


def test_extendJob_refused_while_paused(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    m.pause(sender=cast.admin)
    suite.token.approve(m, 5 * TOKEN, sender=cast.renter)
    with ape.reverts(m.EnforcedPause):
        m.extendJob(job_id, 1800, sender=cast.renter)
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(cast.renter, suite.token, m.address, 5 * TOKEN, deadline)
    with ape.reverts(m.EnforcedPause):
        m.extendJobWithPermit(job_id, 1800, 5 * TOKEN, deadline, v, r, s, sender=cast.renter)
    m.unpause(sender=cast.admin)
    m.extendJob(job_id, 1800, sender=cast.renter)
    assert m.getJob(job_id).estimatedDuration == 5400


# ------------------------------------------------------------------ permit


def test_extendJobWithPermit_one_transaction(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    assert suite.token.allowance(cast.renter, m) == 0
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(cast.renter, suite.token, m.address, 5 * TOKEN, deadline)
    renter0 = suite.token.balanceOf(cast.renter)
    tx = m.extendJobWithPermit(job_id, 1800, 5 * TOKEN, deadline, v, r, s, sender=cast.renter)
    assert tx.events.filter(m.JobExtended)[0].extraCost == 5 * TOKEN
    assert renter0 - suite.token.balanceOf(cast.renter) == 5 * TOKEN
    assert suite.token.allowance(cast.renter, m) == 0
    assert m.getJob(job_id).estimatedDuration == 5400


def test_extendJobWithPermit_refuses_more_than_its_limit(suite, cast, running_job, chain):
    job_id, _ = running_job
    m = suite.marketplace
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(cast.renter, suite.token, m.address, 5 * TOKEN - 1, deadline)
    with ape.reverts(m.MarketplaceCostAboveLimit, maxCost=5 * TOKEN, limit=5 * TOKEN - 1):
        m.extendJobWithPermit(job_id, 1800, 5 * TOKEN - 1, deadline, v, r, s, sender=cast.renter)


def test_extendJobWithPermit_front_run_permit_still_extends(suite, cast, running_job, chain):
    job_id, _ = running_job
    m = suite.marketplace
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(cast.renter, suite.token, m.address, 5 * TOKEN, deadline)
    suite.token.permit(cast.renter, m, 5 * TOKEN, deadline, v, r, s, sender=cast.outsider)
    m.extendJobWithPermit(job_id, 1800, 5 * TOKEN, deadline, v, r, s, sender=cast.renter)
    assert m.getJob(job_id).maxCost == 15 * TOKEN


def test_extendJob_twice(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 100
    _extend(suite, cast.renter, job_id, 1800)
    chain.pending_timestamp = start + 5000  # past the old end, before the new one
    _extend(suite, cast.renter, job_id, 1800)
    job = suite.marketplace.getJob(job_id)
    assert (job.estimatedDuration, job.maxCost) == (7200, 20 * TOKEN)
