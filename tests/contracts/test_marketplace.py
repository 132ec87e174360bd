"""Marketplace: lifecycle, per-second billing, the SPEC's worked example, deadlines, pausing."""

from __future__ import annotations

import ape
import pytest

from gpurent.units import TOKEN, to_base_units
from tests.conftest import CID, PRICE, create_job, dispute, escrowed, govern, register_resource, worth

CREATED, ACCEPTED, RUNNING, COMPLETED, CANCELLED, DISPUTED, RESOLVED = range(1, 8)


def balances(suite, cast):
    """What each party owns, counting the earnings the marketplace holds for the provider."""
    providers = (cast.provider, cast.provider2)
    return {
        "renter": suite.token.balanceOf(cast.renter),
        "provider": worth(suite, cast.provider),
        "treasury": worth(suite, cast.treasury, providers),
        "escrow": escrowed(suite, providers),
    }


def test_worked_example_10_per_hour_2700s(suite, cast, resource_id, chain):
    """SPEC: 10 tokens/h, 3600 s locked, 2700 s run -> 7.35 / 0.15 / refund 2.5."""
    before = balances(suite, cast)
    job_id, _ = create_job(suite, cast.renter, resource_id, duration=3600)
    assert suite.marketplace.getEscrow(job_id).lockedAmount == 10 * TOKEN
    assert suite.token.balanceOf(suite.marketplace) == before["escrow"] + 10 * TOKEN
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    start = suite.marketplace.startJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + 2700
    tx = suite.marketplace.completeJob(job_id, sender=cast.provider)

    after = balances(suite, cast)
    assert after["provider"] - before["provider"] == to_base_units("7.35")
    assert after["treasury"] - before["treasury"] == to_base_units("0.15")
    assert before["renter"] - after["renter"] == to_base_units("7.5")  # 10 locked, 2.5 back
    assert after["escrow"] == before["escrow"]
    job = suite.marketplace.getJob(job_id)
    assert job.status == COMPLETED
    assert job.finalCost == to_base_units("7.5")
    assert job.startTime == start and job.endTime == start + 2700
    (completed,) = tx.events.filter(suite.marketplace.JobCompleted)
    assert completed.finalCost == to_base_units("7.5")
    (released,) = tx.events.filter(suite.marketplace.FundsReleased)
    assert (released.providerAmount, released.fee) == (to_base_units("7.35"), to_base_units("0.15"))
    (refunded,) = tx.events.filter(suite.marketplace.Refunded)
    assert refunded.amount == to_base_units("2.5")


def test_createJob_event_carries_terms_and_cid(suite, cast, resource_id):
    job_id, tx = create_job(suite, cast.renter, resource_id, duration=5400)
    (ev,) = tx.events.filter(suite.marketplace.JobCreated)
    assert ev.user == cast.renter.address and ev.resourceId == resource_id
    assert ev.imageCID == CID and ev.pricePerHour == PRICE and ev.estimatedDuration == 5400
    assert ev.maxCost == 15 * TOKEN
    job = suite.marketplace.getJob(job_id)
    assert job.user == cast.renter.address and job.provider == cast.provider.address
    assert job.resourceId == resource_id and job.status == CREATED and job.feeBps == 200
    assert suite.marketplace.userOf(job_id) == cast.renter.address


def test_createJob_price_fixed_at_creation(suite, cast, resource_id, chain):
    job_id, _ = create_job(suite, cast.renter, resource_id)
    suite.registry.updatePricing(resource_id, 100 * TOKEN, sender=cast.provider)
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    start = suite.marketplace.startJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + 1800
    suite.marketplace.completeJob(job_id, sender=cast.provider)
    assert suite.marketplace.getJob(job_id).finalCost == 5 * TOKEN


def test_createJob_fee_fixed_at_creation(suite, cast, resource_id, chain):
    job_id, _ = create_job(suite, cast.renter, resource_id)
    govern(suite, cast.admin, suite.marketplace.setFee, 1000)
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    start = suite.marketplace.startJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + 3600
    tx = suite.marketplace.completeJob(job_id, sender=cast.provider)
    assert tx.events.filter(suite.marketplace.FundsReleased)[0].fee == to_base_units("0.2")


@pytest.mark.parametrize("elapsed,cost", [(0, 0), (1, PRICE // 3600), (3599, PRICE * 3599 // 3600)])
def test_completeJob_bills_by_the_second(suite, cast, running_job, chain, elapsed, cost):
    job_id, start = running_job
    chain.pending_timestamp = start + elapsed
    suite.marketplace.completeJob(job_id, sender=cast.provider)
    assert suite.marketplace.getJob(job_id).finalCost == cost


def test_completeJob_caps_at_max_cost(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 10 * 3600
    suite.marketplace.completeJob(job_id, sender=cast.provider)
    assert suite.marketplace.getJob(job_id).finalCost == 10 * TOKEN


def test_completeJob_by_renter_stops_billing(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 600
    suite.marketplace.completeJob(job_id, sender=cast.renter)
    assert suite.marketplace.getJob(job_id).finalCost == PRICE * 600 // 3600


def test_completeJob_by_outsider_only_after_grace(suite, cast, running_job, chain):
    job_id, start = running_job
    open_at = start + 3600 + 15 * 60
    chain.pending_timestamp = open_at - 1
    with ape.reverts(suite.marketplace.MarketplaceDeadlineNotReached, jobId=job_id, availableAt=open_at):
        suite.marketplace.completeJob(job_id, sender=cast.outsider)
    chain.pending_timestamp = open_at
    suite.marketplace.completeJob(job_id, sender=cast.outsider)
    assert suite.marketplace.getJob(job_id).finalCost == 10 * TOKEN


def test_completeJob_wrong_state(suite, cast, job_id):
    with ape.reverts(suite.marketplace.MarketplaceInvalidJobState, jobId=job_id, current=CREATED):
        suite.marketplace.completeJob(job_id, sender=cast.provider)


def test_unknown_job(suite, cast):
    missing = b"\x01" * 32
    for call in (suite.marketplace.acceptJob, suite.marketplace.startJob, suite.marketplace.completeJob,
                 suite.marketplace.cancelJob):
        with ape.reverts(suite.marketplace.MarketplaceUnknownJob, jobId=missing):
            call(missing, sender=cast.provider)
    with ape.reverts(suite.marketplace.MarketplaceUnknownJob):
        suite.marketplace.getJob(missing)


def test_acceptJob_only_provider(suite, cast, job_id):
    for who in (cast.renter, cast.provider2, cast.outsider):
        with ape.reverts(suite.marketplace.MarketplaceUnauthorized, jobId=job_id, caller=who.address):
            suite.marketplace.acceptJob(job_id, sender=who)
    tx = suite.marketplace.acceptJob(job_id, sender=cast.provider)
    assert tx.events.filter(suite.marketplace.JobAccepted)[0]["provider"] == cast.provider.address
    with ape.reverts(suite.marketplace.MarketplaceInvalidJobState, jobId=job_id, current=ACCEPTED):
        suite.marketplace.acceptJob(job_id, sender=cast.provider)


def test_startJob_only_provider_of_accepted(suite, cast, job_id):
    with ape.reverts(suite.marketplace.MarketplaceInvalidJobState, jobId=job_id, current=CREATED):
        suite.marketplace.startJob(job_id, sender=cast.provider)
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    with ape.reverts(suite.marketplace.MarketplaceUnauthorized, jobId=job_id, caller=cast.renter.address):
        suite.marketplace.startJob(job_id, sender=cast.renter)
    tx = suite.marketplace.startJob(job_id, sender=cast.provider)
    assert tx.events.filter(suite.marketplace.JobStarted)[0].startTime == tx.timestamp
    assert suite.marketplace.getJob(job_id).status == RUNNING


def test_createJob_validation(suite, cast, resource_id):
    m = suite.marketplace
    suite.token.approve(m, 1000 * TOKEN, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidCID):
        m.createJob(resource_id, "", 3600, 10**30, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidCID, length=129, maxLength=128):
        m.createJob(resource_id, "x" * 129, 3600, 10**30, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidDuration, duration=0):
        m.createJob(resource_id, CID, 0, 10**30, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidDuration, duration=90 * 86400 + 1, maxDuration=90 * 86400):
        m.createJob(resource_id, CID, 90 * 86400 + 1, 10**30, sender=cast.renter)
    with ape.reverts(suite.registry.RegistryUnknownResource):
        m.createJob(b"\x02" * 32, CID, 3600, 10**30, sender=cast.renter)


def test_createJob_zero_cost(suite, cast):
    from tests.conftest import register_provider

    register_provider(suite, cast.provider)
    cheap = register_resource(suite, cast.provider, price=3599)
    with ape.reverts(suite.marketplace.MarketplaceZeroCost, pricePerHour=3599, duration=1):
        suite.marketplace.createJob(cheap, CID, 1, 10**30, sender=cast.renter)


def test_createJob_needs_allowance_and_balance(suite, cast, resource_id):
    with ape.reverts(suite.token.ERC20InsufficientAllowance):
        suite.marketplace.createJob(resource_id, CID, 3600, 10 * TOKEN, sender=cast.renter)
    poor = cast.outsider
    suite.token.transfer(cast.admin, suite.token.balanceOf(poor), sender=poor)
    suite.token.approve(suite.marketplace, 10 * TOKEN, sender=poor)
    with ape.reverts(suite.token.ERC20InsufficientBalance):
        suite.marketplace.createJob(resource_id, CID, 3600, 10 * TOKEN, sender=poor)


def test_createJob_unavailable_or_retired_resource(suite, cast, resource_id):
    suite.token.approve(suite.marketplace, 100 * TOKEN, sender=cast.renter)
    suite.registry.updateAvailability(resource_id, False, sender=cast.provider)
    with ape.reverts(suite.registry.RegistryResourceUnavailable, resourceId=resource_id):
        suite.marketplace.createJob(resource_id, CID, 3600, 10 * TOKEN, sender=cast.renter)
    suite.registry.retireResource(resource_id, sender=cast.provider)
    with ape.reverts(suite.registry.RegistryResourceRetired, resourceId=resource_id):
        suite.marketplace.createJob(resource_id, CID, 3600, 10 * TOKEN, sender=cast.renter)


def test_job_ids_are_unique_and_carry_the_renter(suite, cast, resource_id):
    a, _ = create_job(suite, cast.renter, resource_id)
    b, _ = create_job(suite, cast.renter, resource_id)
    c, _ = create_job(suite, cast.renter2, resource_id)
    assert len({a, b, c}) == 3
    assert suite.marketplace.userOf(c) == cast.renter2.address
    assert suite.marketplace.jobCount() == 3


# ------------------------------------------------------------------ cancel and deadlines


def test_cancel_created_by_renter_refunds_in_full(suite, cast, job_id):
    before = suite.token.balanceOf(cast.renter)
    tx = suite.marketplace.cancelJob(job_id, sender=cast.renter)
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN
    assert tx.events.filter(suite.marketplace.JobCancelled)[0].by == cast.renter.address
    assert suite.marketplace.getJob(job_id).status == CANCELLED
    assert suite.reputation.getReputation(cast.provider).totalJobs == 0  # declining is free


def test_cancel_created_by_provider_declines(suite, cast, job_id):
    before = suite.token.balanceOf(cast.renter)
    suite.marketplace.cancelJob(job_id, sender=cast.provider)
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN


def test_cancel_created_by_outsider_refused(suite, cast, job_id):
    with ape.reverts(suite.marketplace.MarketplaceUnauthorized):
        suite.marketplace.cancelJob(job_id, sender=cast.outsider)


def test_cancel_accepted_by_renter_after_start_timeout(suite, cast, job_id, chain):
    accepted_at = suite.marketplace.acceptJob(job_id, sender=cast.provider).timestamp
    open_at = accepted_at + 3600
    with ape.reverts(suite.marketplace.MarketplaceDeadlineNotReached, jobId=job_id, availableAt=open_at):
        suite.marketplace.cancelJob(job_id, sender=cast.renter)
    chain.pending_timestamp = open_at
    before = suite.token.balanceOf(cast.renter)
    suite.marketplace.cancelJob(job_id, sender=cast.renter)
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN
    rep = suite.reputation.getReputation(cast.provider)
    assert (rep.totalJobs, rep.successfulJobs) == (1, 0)


def test_cancel_accepted_by_provider_abandons(suite, cast, job_id):
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    suite.marketplace.cancelJob(job_id, sender=cast.provider)
    assert suite.marketplace.getJob(job_id).status == CANCELLED
    assert suite.reputation.getReputation(cast.provider).completionBps == 0


def test_cancel_running_refused(suite, cast, running_job):
    job_id, _ = running_job
    with ape.reverts(suite.marketplace.MarketplaceInvalidJobState, jobId=job_id, current=RUNNING):
        suite.marketplace.cancelJob(job_id, sender=cast.renter)


def test_terminal_states_are_final(suite, cast, running_job):
    job_id, _ = running_job
    suite.marketplace.completeJob(job_id, sender=cast.provider)
    m = suite.marketplace
    for call, who in ((m.acceptJob, cast.provider), (m.startJob, cast.provider), (m.completeJob, cast.provider),
                      (m.cancelJob, cast.renter)):
        with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=COMPLETED):
            call(job_id, sender=who)
    suite.token.approve(m, m.disputeBond(job_id), sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidJobState):
        m.disputeJob(job_id, "late", sender=cast.renter)


# ------------------------------------------------------------------ partial release


def test_partialRelease_pays_accrued_then_completion_pays_the_rest(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    provider0 = suite.token.balanceOf(cast.provider)
    chain.pending_timestamp = start + 1800
    m.partialRelease(job_id, 2**256 - 1, sender=cast.provider)
    assert suite.token.balanceOf(cast.provider) - provider0 == to_base_units("4.9")  # paid out at once
    assert m.earningsOf(cast.provider) == (0, 0)
    assert m.getEscrow(job_id).releasedAmount == 5 * TOKEN
    chain.pending_timestamp = start + 1836  # 36 s more: 0.1 token accrued since the release
    with ape.reverts(m.MarketplaceNothingToRelease, jobId=job_id):
        m.partialRelease(job_id, TOKEN // 10 + 1, sender=cast.provider)
    chain.pending_timestamp = start + 2700
    m.completeJob(job_id, sender=cast.provider)
    assert worth(suite, cast.provider) - provider0 == to_base_units("7.35")
    escrow = m.getEscrow(job_id)
    assert escrow.completed and escrow.releasedAmount == to_base_units("7.5")
    assert escrow.refundedAmount == to_base_units("2.5")


def test_partialRelease_checks(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 360
    with ape.reverts(suite.marketplace.MarketplaceUnauthorized):
        suite.marketplace.partialRelease(job_id, 1, sender=cast.renter)
    chain.pending_timestamp = start + 361
    with ape.reverts(suite.marketplace.MarketplaceNothingToRelease):
        suite.marketplace.partialRelease(job_id, TOKEN * 2, sender=cast.provider)  # accrued ~1.0


# ------------------------------------------------------------------ pause


def test_pause_stops_new_jobs_but_never_exits(suite, cast, resource_id, chain):
    m = suite.marketplace
    running, _ = create_job(suite, cast.renter, resource_id)
    created, _ = create_job(suite, cast.renter, resource_id)
    m.acceptJob(running, sender=cast.provider)
    start = m.startJob(running, sender=cast.provider).timestamp
    m.pause(sender=cast.admin)
    suite.token.approve(m, 10 * TOKEN, sender=cast.renter)
    with ape.reverts(m.EnforcedPause):
        m.createJob(resource_id, CID, 3600, 10**30, sender=cast.renter)
    with ape.reverts(m.EnforcedPause):
        m.createJobWithPermit(resource_id, CID, 3600, 10 * TOKEN, 2**64, 27, b"\x00" * 32, b"\x00" * 32,
                              sender=cast.renter)
    m.acceptJob(created, sender=cast.provider)  # jobs already paid for go on
    m.cancelJob(created, sender=cast.provider)
    chain.pending_timestamp = start + 100
    m.completeJob(running, sender=cast.provider)
    assert m.getJob(running).status == COMPLETED
    m.unpause(sender=cast.admin)
    create_job(suite, cast.renter, resource_id)


def test_pause_roles(suite, cast):
    with ape.reverts(suite.marketplace.AccessControlUnauthorizedAccount):
        suite.marketplace.pause(sender=cast.outsider)


# ------------------------------------------------------------------ governance


def test_admin_is_the_timelock(suite, cast):
    """Finding: the admin could grant itself the slasher role (or change any parameter) at once.
    Every DEFAULT_ADMIN_ROLE is the timelock's; the deployer holds none."""
    admin_role = suite.marketplace.DEFAULT_ADMIN_ROLE()
    for c in (suite.token, suite.registry, suite.marketplace, suite.reputation):
        assert c.hasRole(admin_role, suite.timelock) and not c.hasRole(admin_role, cast.admin)
    with ape.reverts(suite.marketplace.AccessControlUnauthorizedAccount):
        suite.marketplace.setFee(100, sender=cast.admin)
    with ape.reverts(suite.registry.AccessControlUnauthorizedAccount):
        suite.registry.grantRole(suite.registry.SLASHER_ROLE(), cast.admin, sender=cast.admin)
    assert not suite.registry.hasRole(suite.registry.SLASHER_ROLE(), cast.oracle)  # only the ReputationSystem


def test_timelock_delays_role_changes(project, suite, cast, chain):
    """With a real delay, a role grant is visible on chain for the whole delay before it works."""
    tl = project.GpurentTimelock.deploy(3600, [cast.admin.address], [cast.admin.address], sender=cast.admin)
    r = project.ResourceRegistry.deploy(suite.token, tl, 0, 0, sender=cast.admin)
    data = r.grantRole.encode_input(r.SLASHER_ROLE(), cast.admin.address)
    salt = b"\x01" * 32
    tx = tl.schedule(r.address, 0, data, bytes(32), salt, 3600, sender=cast.admin)
    assert tx.events.filter(tl.CallScheduled)[0].delay == 3600
    with ape.reverts(tl.TimelockUnexpectedOperationState):
        tl.execute(r.address, 0, data, bytes(32), salt, sender=cast.admin)
    with ape.reverts(tl.TimelockInsufficientDelay):
        tl.schedule(r.address, 0, data, bytes(32), b"\x02" * 32, 60, sender=cast.admin)
    chain.pending_timestamp = tx.timestamp + 3600
    tl.execute(r.address, 0, data, bytes(32), salt, sender=cast.admin)
    assert r.hasRole(r.SLASHER_ROLE(), cast.admin)


def test_setFee_bounded(suite, cast):
    m = suite.marketplace
    with ape.reverts(m.MarketplaceFeeTooHigh, feeBps=1001, maxFeeBps=1000):
        govern(suite, cast.admin, m.setFee, 1001)
    with ape.reverts(m.AccessControlUnauthorizedAccount):
        m.setFee(100, sender=cast.outsider)
    tx = govern(suite, cast.admin, m.setFee, 0)
    assert tx.events.filter(m.FeeUpdated)[0].feeBps == 0 and m.feeBps() == 0


def test_setTreasury_and_timeouts(suite, cast):
    m = suite.marketplace
    with ape.reverts(m.MarketplaceInvalidTreasury):
        govern(suite, cast.admin, m.setTreasury, "0x0000000000000000000000000000000000000000")
    tx = govern(suite, cast.admin, m.setTreasury, cast.outsider)
    assert m.treasury() == cast.outsider.address
    assert tx.events.filter(m.TreasuryUpdated)[0].treasury == cast.outsider.address
    with ape.reverts(m.MarketplaceInvalidTimeout):
        govern(suite, cast.admin, m.setTimeouts, 1, 0, 1, 1)
    with ape.reverts(m.MarketplaceInvalidTimeout, timeout=31 * 86400, maxTimeout=30 * 86400):
        govern(suite, cast.admin, m.setTimeouts, 1, 1, 1, 31 * 86400)
    with ape.reverts(m.AccessControlUnauthorizedAccount):
        m.setTimeouts(1, 1, 1, 1, sender=cast.outsider)
    govern(suite, cast.admin, m.setTimeouts, 30, 60, 120, 180)
    assert m.timeouts() == (30, 60, 120, 180)
    with ape.reverts(m.MarketplaceBondTooHigh):
        govern(suite, cast.admin, m.setDisputeBond, 5001, 0)


def test_parameter_changes_never_touch_open_jobs(suite, cast, resource_id, chain):
    """Finding: setTimeouts applied to jobs already open (a renter who agreed to a 1-hour start
    timeout could not cancel after the admin set 30 days). Terms are fixed per job."""
    m = suite.marketplace
    job_id, _ = create_job(suite, cast.renter, resource_id)
    accepted = m.acceptJob(job_id, sender=cast.provider).timestamp
    version = m.getJob(job_id).termsVersion
    govern(suite, cast.admin, m.setTimeouts, 30 * 86400, 30 * 86400, 30 * 86400, 30 * 86400)
    govern(suite, cast.admin, m.setFee, 1000)
    govern(suite, cast.admin, m.setDisputeBond, 5000, 0)
    assert m.termsVersion() > version and m.getJob(job_id).termsVersion == version
    assert m.getJob(job_id).feeBps == 200 and m.disputeBond(job_id) == TOKEN
    chain.pending_timestamp = accepted + 3600  # the job's own 1-hour start timeout
    m.cancelJob(job_id, sender=cast.renter)
    assert m.getJob(job_id).status == CANCELLED


def test_accepted_jobs_must_start_within_the_start_timeout(suite, cast, job_id, chain):
    """Found in review: an accepted job could be started weeks later and billed."""
    m = suite.marketplace
    accepted = m.acceptJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = accepted + 3600 + 1
    with ape.reverts(m.MarketplaceJobExpired, jobId=job_id, expiredAt=accepted + 3600):
        m.startJob(job_id, sender=cast.provider)
    m.cancelJob(job_id, sender=cast.renter)


def test_an_abandoned_booking_weighs_only_the_wait(suite, cast, resource_id):
    """Found in review: an abandoned job weighed its whole maxCost, so a competitor booking 30
    days and making the provider give up dropped its completion rate for free. It weighs the
    price for at most the start timeout."""
    m = suite.marketplace
    job_id, _ = create_job(suite, cast.renter, resource_id, duration=30 * 86400)
    m.acceptJob(job_id, sender=cast.provider)
    m.cancelJob(job_id, sender=cast.provider)
    assert m.providerStats(cast.provider).valueFailed == PRICE * 3600 // 3600 // m.VALUE_UNIT()


def test_created_jobs_expire(suite, cast, resource_id, chain):
    """Finding: Created jobs never expired (accepted and billed 180 days later at the old price)."""
    m = suite.marketplace
    job_id, tx = create_job(suite, cast.renter, resource_id)
    expires = tx.timestamp + 86400
    chain.pending_timestamp = expires + 1
    with ape.reverts(m.MarketplaceJobExpired, jobId=job_id, expiredAt=expires):
        m.acceptJob(job_id, sender=cast.provider)
    before = suite.token.balanceOf(cast.renter)
    m.cancelJob(job_id, sender=cast.outsider)  # anyone may clear it; the refund is the renter's
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN


def test_open_jobs_are_counted(suite, cast, resource_id, chain):
    m = suite.marketplace
    a, _ = create_job(suite, cast.renter, resource_id)
    b, _ = create_job(suite, cast.renter, resource_id)
    assert m.providerStats(cast.provider).openJobs == 2
    m.cancelJob(a, sender=cast.renter)
    m.acceptJob(b, sender=cast.provider)
    start = m.startJob(b, sender=cast.provider).timestamp
    assert m.providerStats(cast.provider).openJobs == 1
    chain.pending_timestamp = start + 60
    m.completeJob(b, sender=cast.renter)
    assert m.providerStats(cast.provider).openJobs == 0


def test_accruedCost_follows_the_clock_and_freezes(suite, cast, job_id, chain):
    m = suite.marketplace
    assert m.accruedCost(job_id) == 0  # Created
    m.acceptJob(job_id, sender=cast.provider)
    start = m.startJob(job_id, sender=cast.provider).timestamp
    chain.mine(timestamp=start + 360)
    assert m.accruedCost(job_id) == TOKEN  # 360 s at 10/h, Running
    chain.pending_timestamp = start + 720
    dispute(suite, job_id, cast.renter)
    chain.mine(timestamp=start + 5000)
    assert m.accruedCost(job_id) == 2 * TOKEN  # frozen at the dispute
    m.resolveDispute(job_id, 2, "bafy", sender=cast.oracle)
    assert m.accruedCost(job_id) == 2 * TOKEN == m.getJob(job_id).finalCost  # terminal


def test_views_name_the_wiring(suite):
    m = suite.marketplace
    assert m.token() == suite.token.address and m.registry() == suite.registry.address
    assert suite.reputation.marketplace() == m.address
    assert suite.registry.token() == suite.token.address
