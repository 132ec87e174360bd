"""Attacks that must fail to hurt the honest party."""

from __future__ import annotations

import ape
import pytest

from gpurent.wire.permit import sign_permit
from gpurent.units import TOKEN
from tests.conftest import CID, PRICE, create_job, dispute, register_provider, worth

RUNNING, COMPLETED, CANCELLED, RESOLVED = 3, 4, 5, 7


# ------------------------------------------------------------------ reentrancy


@pytest.fixture
def hooked(project, cast):
    """A Marketplace over a token with receive hooks, and an attacker contract as renter."""
    token = project.ReentrantToken.deploy(sender=cast.admin)
    registry = project.ResourceRegistry.deploy(token, cast.admin, 0, 0, sender=cast.admin)
    market = project.Marketplace.deploy(token, registry, cast.admin, cast.treasury, 200, sender=cast.admin)
    reputation = project.ReputationSystem.deploy(registry, market, cast.admin, 3600, sender=cast.admin)
    registry.setLinks(market, reputation, sender=cast.admin)
    token.transfer(market, 1, sender=cast.admin)
    registry.registerProvider("http://p", 0, sender=cast.provider)
    rid = registry.registerResource("A100", 8, 32, 100, PRICE, sender=cast.provider).events[0].resourceId
    attacker = project.ReentrancyAttacker.deploy(market, sender=cast.admin)
    token.transfer(attacker, 100 * TOKEN, sender=cast.admin)
    attacker.exec(token, token.approve.encode_input(market, 100 * TOKEN), sender=cast.admin)
    attacker.exec(token, token.registerHook.encode_input(), sender=cast.admin)
    tx = attacker.exec(market, market.createJob.encode_input(rid, CID, 3600, 10 * TOKEN), sender=cast.admin)
    job_id = tx.events.filter(market.JobCreated)[0].jobId
    return token, market, attacker, job_id


def test_reentrant_refund_cannot_cancel_twice(hooked, cast):
    token, market, attacker, job_id = hooked
    escrow_before = token.balanceOf(market)
    attacker.arm(market.cancelJob.encode_input(job_id), sender=cast.admin)
    with ape.reverts(market.ReentrancyGuardReentrantCall):
        attacker.exec(market, market.cancelJob.encode_input(job_id), sender=cast.admin)
    assert token.balanceOf(market) == escrow_before  # nothing left escrow
    assert market.getJob(job_id).status == 1  # still Created: the renter can cancel properly
    attacker.arm(b"", sender=cast.admin)  # the revert rolled back its disarming too
    attacker.exec(market, market.cancelJob.encode_input(job_id), sender=cast.admin)
    assert token.balanceOf(market) == escrow_before - 10 * TOKEN
    assert market.getJob(job_id).status == CANCELLED


def test_reentrant_refund_cannot_complete_other_job(hooked, cast, chain):
    token, market, attacker, job_id = hooked
    market.acceptJob(job_id, sender=cast.provider)
    start = market.startJob(job_id, sender=cast.provider).timestamp
    # on its refund the attacker tries to re-enter with a second settlement of the same job
    attacker.arm(market.completeJob.encode_input(job_id), sender=cast.admin)
    chain.pending_timestamp = start + 60
    with ape.reverts(market.ReentrancyGuardReentrantCall):
        attacker.exec(market, market.completeJob.encode_input(job_id), sender=cast.admin)
    assert market.getJob(job_id).status == RUNNING


# ------------------------------------------------------------------ racing providers


def test_two_providers_race_to_accept(suite, cast, resource_id):
    register_provider(suite, cast.provider2)
    job_id, _ = create_job(suite, cast.renter, resource_id)
    with ape.reverts(suite.marketplace.MarketplaceUnauthorized, jobId=job_id, caller=cast.provider2.address):
        suite.marketplace.acceptJob(job_id, sender=cast.provider2)
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    with ape.reverts(suite.marketplace.MarketplaceInvalidJobState):
        suite.marketplace.acceptJob(job_id, sender=cast.provider)
    assert suite.marketplace.getJob(job_id).provider == cast.provider.address


# ------------------------------------------------------------------ permit


def permit_for(suite, owner, value: int, deadline: int):
    return sign_permit(owner, suite.token, suite.marketplace.address, value, deadline)


def test_createJobWithPermit_one_transaction(suite, cast, resource_id, chain):
    assert suite.token.allowance(cast.renter, suite.marketplace) == 0
    deadline = chain.pending_timestamp + 600
    v, r, s = permit_for(suite, cast.renter, 10 * TOKEN, deadline)
    before = suite.token.balanceOf(cast.renter)
    tx = suite.marketplace.createJobWithPermit(resource_id, CID, 3600, 10 * TOKEN, deadline, v, r, s, sender=cast.renter)
    assert tx.events.filter(suite.marketplace.JobCreated)[0].maxCost == 10 * TOKEN
    assert before - suite.token.balanceOf(cast.renter) == 10 * TOKEN
    assert suite.token.allowance(cast.renter, suite.marketplace) == 0


def test_permit_replay_fails(suite, cast, resource_id, chain):
    deadline = chain.pending_timestamp + 600
    v, r, s = permit_for(suite, cast.renter, 10 * TOKEN, deadline)
    suite.marketplace.createJobWithPermit(resource_id, CID, 3600, 10 * TOKEN, deadline, v, r, s, sender=cast.renter)
    # the same signature again: the permit fails (nonce used) and there is no allowance left
    with ape.reverts(suite.token.ERC20InsufficientAllowance):
        suite.marketplace.createJobWithPermit(resource_id, CID, 3600, 10 * TOKEN, deadline, v, r, s, sender=cast.renter)
    # nor can anyone replay it straight on the token
    with ape.reverts(suite.token.ERC2612InvalidSigner):
        suite.token.permit(cast.renter, suite.marketplace, 10 * TOKEN, deadline, v, r, s, sender=cast.outsider)


def test_frontrun_permit_does_not_block_the_job(suite, cast, resource_id, chain):
    deadline = chain.pending_timestamp + 600
    v, r, s = permit_for(suite, cast.renter, 10 * TOKEN, deadline)
    suite.token.permit(cast.renter, suite.marketplace, 10 * TOKEN, deadline, v, r, s, sender=cast.outsider)
    tx = suite.marketplace.createJobWithPermit(resource_id, CID, 3600, 10 * TOKEN, deadline, v, r, s, sender=cast.renter)
    assert tx.events.filter(suite.marketplace.JobCreated)[0].user == cast.renter.address


def test_price_raised_before_permit_job_is_mined(suite, cast, resource_id, chain):
    deadline = chain.pending_timestamp + 600
    v, r, s = permit_for(suite, cast.renter, 10 * TOKEN, deadline)
    suite.registry.updatePricing(resource_id, 50 * TOKEN, sender=cast.provider)  # front-run
    with ape.reverts(suite.marketplace.MarketplaceCostAboveLimit, maxCost=50 * TOKEN, limit=10 * TOKEN):
        suite.marketplace.createJobWithPermit(resource_id, CID, 3600, 10 * TOKEN, deadline, v, r, s, sender=cast.renter)


# ------------------------------------------------------------------ griefing


def test_renter_griefing_dispute_costs_the_renter_its_bond(suite, cast, running_job, chain):
    """A renter disputes a healthy job to dodge paying: the oracle rules UserFault, the provider
    is paid for the time run and gets the renter's bond too."""
    job_id, start = running_job
    m = suite.marketplace
    bond = m.disputeBond(job_id)
    assert bond == 10 * TOKEN // 10  # 10% of maxCost
    chain.pending_timestamp = start + 1800
    renter_before = suite.token.balanceOf(cast.renter)
    dispute(suite, job_id, cast.renter, "I do not want to pay")
    provider_before = worth(suite, cast.provider)
    m.resolveDispute(job_id, 2, "bafy-evidence", sender=cast.oracle)  # UserFault
    assert worth(suite, cast.provider) - provider_before == 5 * TOKEN * 98 // 100 + bond
    assert renter_before - suite.token.balanceOf(cast.renter) == bond - 5 * TOKEN  # refund 5, bond lost
    rep = suite.reputation.getReputation(cast.provider)
    assert (rep.totalJobs, rep.successfulJobs, rep.disputes, rep.penalties) == (1, 1, 0, 0)


def test_renter_dispute_at_the_last_second_with_a_silent_oracle_gains_nothing(suite, cast, running_job, chain):
    """Finding: a 10-hour job disputed 1 s before its end paid the provider half. Now a dispute
    nobody rules on settles as if completed then: the provider gets every second up to it."""
    job_id, start = running_job
    m = suite.marketplace
    chain.pending_timestamp = start + 3599
    renter_before = suite.token.balanceOf(cast.renter)
    disputed_at = dispute(suite, job_id, cast.renter, "grief").timestamp
    assert disputed_at == start + 3599
    with ape.reverts(m.MarketplaceDeadlineNotReached):
        m.resolveExpiredDispute(job_id, sender=cast.provider)
    chain.pending_timestamp = disputed_at + 3 * 86400
    provider_before = worth(suite, cast.provider)
    m.resolveExpiredDispute(job_id, sender=cast.outsider)
    cost = PRICE * 3599 // 3600
    assert worth(suite, cast.provider) - provider_before == cost - cost * 200 // 10_000
    assert suite.token.balanceOf(cast.renter) - renter_before == 10 * TOKEN - cost  # bond back, pays what ran
    assert m.getJob(job_id).status == RESOLVED


def test_dispute_after_the_booked_time_is_refused(suite, cast, running_job, chain):
    """Finding: a renter could dispute a Running job days after its booked time ended."""
    job_id, start = running_job
    m = suite.marketplace
    closes = start + 3600 + 15 * 60
    chain.pending_timestamp = closes + 1
    suite.token.approve(m, m.disputeBond(job_id), sender=cast.renter)
    with ape.reverts(m.MarketplaceDisputeWindowClosed, jobId=job_id, closedAt=closes):
        m.disputeJob(job_id, "late", sender=cast.renter)
    m.completeJob(job_id, sender=cast.outsider)  # anyone settles it, at the booked time
    assert m.getJob(job_id).finalCost == PRICE


def test_accepted_job_cannot_be_disputed_to_stretch_the_renters_exit(suite, cast, job_id, chain):
    """Finding: a provider disputing an Accepted job stretched the renter's 1-hour exit to the
    3-day dispute timeout. Unstarted jobs cannot be disputed."""
    m = suite.marketplace
    accepted = m.acceptJob(job_id, sender=cast.provider).timestamp
    suite.token.approve(m, m.disputeBond(job_id), sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidJobState):
        m.disputeJob(job_id, "stall", sender=cast.provider)
    chain.pending_timestamp = accepted + 3600
    before = suite.token.balanceOf(cast.renter)
    m.cancelJob(job_id, sender=cast.renter)
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN


def test_price_front_run_reverts_instead_of_overcharging(suite, cast, resource_id):
    """Finding: createJob had no cost limit; a provider raising its price just before the
    renter's transaction made it lock 1000x."""
    m = suite.marketplace
    suite.token.approve(m, 100_000 * TOKEN, sender=cast.renter)  # a generous allowance
    suite.registry.updatePricing(resource_id, PRICE * 1000, sender=cast.provider)  # mined first
    before = suite.token.balanceOf(cast.renter)
    with ape.reverts(m.MarketplaceCostAboveLimit, maxCost=PRICE * 1000, limit=10 * TOKEN):
        m.createJob(resource_id, CID, 3600, 10 * TOKEN, sender=cast.renter)
    assert suite.token.balanceOf(cast.renter) == before


def test_provider_never_completing_cannot_hold_funds(suite, cast, running_job, chain):
    job_id, start = running_job
    chain.pending_timestamp = start + 900
    before = suite.token.balanceOf(cast.renter)
    suite.marketplace.completeJob(job_id, sender=cast.renter)  # the renter settles itself
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN - PRICE * 900 // 3600


def test_provider_never_starting_cannot_hold_funds(suite, cast, job_id, chain):
    accepted = suite.marketplace.acceptJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = accepted + 3600
    before = suite.token.balanceOf(cast.renter)
    suite.marketplace.cancelJob(job_id, sender=cast.renter)
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN


def test_provider_cannot_dodge_a_dispute_by_retiring(suite, cast, running_job, chain, resource_id):
    job_id, start = running_job
    suite.registry.retireResource(resource_id, sender=cast.provider)
    chain.pending_timestamp = start + 60
    dispute(suite, job_id, cast.renter, "container died")
    before = suite.token.balanceOf(cast.renter)
    suite.marketplace.resolveDispute(job_id, 1, "bafy-evidence", sender=cast.oracle)  # ProviderFault
    assert suite.token.balanceOf(cast.renter) - before == 10 * TOKEN + suite.marketplace.disputeBond(job_id)
