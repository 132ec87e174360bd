"""Disputes: who may raise them and when, the bond, the three rulings and their payouts, the
clawback of released pay, the timeout."""

from __future__ import annotations

import os

import ape
import pytest

from gpurent.units import TOKEN
from tests.conftest import PRICE, dispute, escrowed, worth

CREATED, ACCEPTED, RUNNING, COMPLETED, CANCELLED, DISPUTED, RESOLVED = range(1, 8)
PROVIDER_FAULT, USER_FAULT, SPLIT = 1, 2, 3
EVIDENCE = "bafkreievidencecid"
BOND = TOKEN  # 10% of the 10-token job


def parties(suite, cast):
    """Renter, provider, treasury: what each owns, counting earnings the marketplace holds."""
    providers = (cast.provider, cast.provider2)
    return (
        suite.token.balanceOf(cast.renter),
        worth(suite, cast.provider),
        worth(suite, cast.treasury, providers),
    )


def dispute_at(suite, cast, running_job, chain, elapsed, who=None):
    job_id, start = running_job
    chain.pending_timestamp = start + elapsed
    return job_id, dispute(suite, job_id, who or cast.renter, "container exited 137")


def test_dispute_by_renter_or_provider_locks_a_bond(suite, cast, running_job, chain):
    escrow_before = escrowed(suite, (cast.provider,))
    job_id, tx = dispute_at(suite, cast, running_job, chain, 60, who=cast.provider)
    (ev,) = tx.events.filter(suite.marketplace.JobDisputed)
    assert (ev.initiator, ev.reason) == (cast.provider.address, "container exited 137")
    (bond,) = tx.events.filter(suite.marketplace.DisputeBondLocked)
    assert (bond.by, bond.amount) == (cast.provider.address, BOND)
    assert suite.marketplace.getJob(job_id).status == DISPUTED
    assert suite.marketplace.disputeOf(job_id) == (cast.provider.address, BOND)
    assert escrowed(suite, (cast.provider,)) - escrow_before == BOND


def test_dispute_needs_the_bond(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    suite.token.approve(m, BOND - 1, sender=cast.renter)
    with ape.reverts(suite.token.ERC20InsufficientAllowance):
        m.disputeJob(job_id, "x", sender=cast.renter)


def test_dispute_checks(suite, cast, job_id, chain):
    m = suite.marketplace
    suite.token.approve(m, BOND, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=CREATED):
        m.disputeJob(job_id, "x", sender=cast.renter)
    m.acceptJob(job_id, sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=ACCEPTED):
        m.disputeJob(job_id, "x", sender=cast.renter)  # nothing billed yet: cancel instead
    m.startJob(job_id, sender=cast.provider)
    with ape.reverts(m.MarketplaceUnauthorized, jobId=job_id, caller=cast.outsider.address):
        m.disputeJob(job_id, "x", sender=cast.outsider)
    with ape.reverts(m.MarketplaceReasonTooLong, length=1025, maxLength=1024):
        m.disputeJob(job_id, "x" * 1025, sender=cast.renter)


def test_dispute_window_closes_with_the_booked_time_plus_grace(suite, cast, running_job, chain):
    job_id, start = running_job
    m = suite.marketplace
    closes = start + 3600 + 15 * 60
    chain.pending_timestamp = closes
    dispute(suite, job_id, cast.renter)  # the last second of the window still works
    assert m.getJob(job_id).status == DISPUTED


def test_provider_fault_refunds_renter_and_penalises(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1800)
    before = parties(suite, cast)
    tx = suite.marketplace.resolveDispute(job_id, PROVIDER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    # everything back, the renter's bond included
    assert after[0] - before[0] == 10 * TOKEN + BOND and after[1] == before[1] and after[2] == before[2]
    (ev,) = tx.events.filter(suite.marketplace.DisputeResolved)
    assert (ev.outcome, ev.finalCost, ev.resolver, ev.evidenceCID) == (PROVIDER_FAULT, 0, cast.oracle.address, EVIDENCE)
    (paid,) = tx.events.filter(suite.marketplace.DisputeBondPaid)
    assert (paid.to, paid.amount, paid.forfeited) == (cast.renter.address, BOND, False)
    rep = suite.reputation.getReputation(cast.provider)
    assert (rep.totalJobs, rep.successfulJobs, rep.disputes, rep.penalties) == (1, 0, 1, 100)
    assert rep.disputeRateBps == 10_000
    job = suite.marketplace.getJob(job_id)
    assert job.status == RESOLVED and job.finalCost == 0


def test_provider_fault_claws_back_partial_releases_from_stake(suite, cast, running_job, chain):
    """Finding: a ProviderFault ruling could not claw back what partialRelease had paid."""
    job_id, start = running_job
    chain.pending_timestamp = start + 1800
    suite.marketplace.partialRelease(job_id, 2**256 - 1, sender=cast.provider)
    stake_before = suite.registry.getProvider(cast.provider).stake
    chain.pending_timestamp = start + 2000
    dispute(suite, job_id, cast.renter, "stalled")
    before = parties(suite, cast)
    tx = suite.marketplace.resolveDispute(job_id, PROVIDER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    # the unreleased 5, the released 5 out of the stake, and the bond: the renter paid nothing
    assert after[0] - before[0] == 10 * TOKEN + BOND
    (claw,) = tx.events.filter(suite.marketplace.ReleaseClawedBack)
    assert claw.amount == 5 * TOKEN
    assert stake_before - suite.registry.getProvider(cast.provider).stake == 5 * TOKEN
    escrow = suite.marketplace.getEscrow(job_id)
    assert escrow.releasedAmount + escrow.refundedAmount == escrow.lockedAmount


def test_early_pay_is_backed_by_stake_so_every_clawback_is_whole(suite, cast, chain):
    """Found by the adversary simulator: three faked jobs released 172 tokens against a
    100-token stake, and a data-fraud slash burnt part of it first, so two renters were not made
    whole. Pay released early on open jobs may not exceed the stake, and slashing never burns
    the part of the stake that backs it."""
    from tests.conftest import create_job, register_provider, register_resource

    m, r, rep = suite.marketplace, suite.registry, suite.reputation
    register_provider(suite, cast.provider2)  # 100 staked
    rid = register_resource(suite, cast.provider2, price=1000 * TOKEN)
    jobs = []
    for renter in (cast.renter, cast.renter2):
        job_id = create_job(suite, renter, rid, duration=3600)[0]
        m.acceptJob(job_id, sender=cast.provider2)
        jobs.append((job_id, renter, m.startJob(job_id, sender=cast.provider2).timestamp))
    chain.pending_timestamp = jobs[1][2] + 216  # 60 tokens accrued on each
    m.partialRelease(jobs[0][0], 60 * TOKEN, sender=cast.provider2)
    with ape.reverts(m.MarketplaceReleaseAboveStake, jobId=jobs[1][0], releasedOpen=60 * TOKEN,
                     amount=60 * TOKEN, stake=100 * TOKEN):
        m.partialRelease(jobs[1][0], 60 * TOKEN, sender=cast.provider2)
    m.partialRelease(jobs[1][0], 40 * TOKEN, sender=cast.provider2)
    assert m.providerStats(cast.provider2).releasedOpen == 100 * TOKEN
    # a data-fraud slash finds no stake free of backing: it burns nothing now, it is owed
    tx = rep.applyPenalty(cast.provider2, 1, os.urandom(32), sender=cast.oracle)
    assert tx.events.filter(r.SlashDeferred)[0].amount == 20 * TOKEN
    assert (r.getProvider(cast.provider2).stake, r.getProvider(cast.provider2).slashDebt) == (100 * TOKEN, 20 * TOKEN)
    for job_id, renter, _ in jobs:
        before = suite.token.balanceOf(renter)
        dispute(suite, job_id, renter)
        m.resolveDispute(job_id, PROVIDER_FAULT, EVIDENCE, sender=cast.oracle)
        bond = m.disputeOf(job_id)[1]
        assert suite.token.balanceOf(renter) - before == 1000 * TOKEN  # locked back, early pay clawed back
        assert bond > 0
    assert r.getProvider(cast.provider2).stake == 0 and m.providerStats(cast.provider2).releasedOpen == 0
    assert r.getProvider(cast.provider2).slashDebt == 0  # renters came first


def test_backing_early_pay_does_not_escape_a_slash(suite, cast, chain, params):
    """Found in review: a provider renting its own GPU could release its whole stake as early
    pay, so every slash burnt nothing, then withdraw. The slash is owed and burnt on withdrawal,
    and a debt counts against the stake that books new jobs."""
    from tests.conftest import create_job, register_provider, register_resource

    m, r, rep, t = suite.marketplace, suite.registry, suite.reputation, suite.token
    register_provider(suite, cast.provider2)  # 100 staked
    rid = register_resource(suite, cast.provider2, price=1000 * TOKEN)
    job_id = create_job(suite, cast.provider2, rid, duration=3600)[0]  # its own GPU
    m.acceptJob(job_id, sender=cast.provider2)
    start = m.startJob(job_id, sender=cast.provider2).timestamp
    chain.pending_timestamp = start + 360
    m.partialRelease(job_id, 100 * TOKEN, sender=cast.provider2)  # all of the stake backs early pay
    rep.applyPenalty(cast.provider2, 1, os.urandom(32), sender=cast.oracle)  # data fraud: 20 owed
    assert r.getProvider(cast.provider2).slashDebt == 20 * TOKEN
    suite.token.approve(m, 10**30, sender=cast.renter)
    with ape.reverts(r.RegistryInsufficientStake, provider=cast.provider2.address, stake=80 * TOKEN,
                     minStake=100 * TOKEN):
        m.createJob(rid, "bafy", 60, 10**30, sender=cast.renter)
    m.completeJob(job_id, sender=cast.provider2)
    r.retireResource(rid, sender=cast.provider2)
    unlock = r.requestUnstake(sender=cast.provider2).timestamp + params.unstake_cooldown
    chain.pending_timestamp = unlock
    supply, before = t.totalSupply(), t.balanceOf(cast.provider2)
    r.withdrawStake(sender=cast.provider2)
    assert t.balanceOf(cast.provider2) - before == 80 * TOKEN and supply - t.totalSupply() == 20 * TOKEN


def test_user_fault_pays_provider_cost_so_far_and_the_renters_bond(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1800)
    chain.pending_timestamp = chain.pending_timestamp + 7200  # time after the dispute is not billed
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, USER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    assert after[1] - before[1] == 5 * TOKEN * 98 // 100 + BOND
    assert after[2] - before[2] == 5 * TOKEN * 2 // 100
    assert after[0] - before[0] == 5 * TOKEN
    assert suite.marketplace.getJob(job_id).finalCost == 5 * TOKEN


def test_user_fault_on_a_providers_dispute_returns_its_bond(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1800, who=cast.provider)
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, USER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    assert after[1] - before[1] == 5 * TOKEN * 98 // 100 + BOND and after[0] - before[0] == 5 * TOKEN


def test_provider_fault_on_a_providers_dispute_forfeits_its_bond(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1800, who=cast.provider)
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, PROVIDER_FAULT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    assert after[0] - before[0] == 10 * TOKEN + BOND and after[1] == before[1]


def test_split_is_no_fault_paid_to_the_dispute_bonds_back(suite, cast, running_job, chain):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 2700)
    before = parties(suite, cast)
    suite.marketplace.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.oracle)
    after = parties(suite, cast)
    cost = PRICE * 2700 // 3600
    assert after[1] - before[1] + after[2] - before[2] == cost
    assert after[0] - before[0] == 10 * TOKEN - cost + BOND
    rep = suite.reputation.getReputation(cast.provider)
    assert (rep.totalJobs, rep.successfulJobs, rep.disputes) == (1, 0, 0)
    assert rep.completionBps == 10_000  # paid work counts as done


def test_resolve_only_oracle_and_only_disputed(suite, cast, running_job, chain):
    job_id, _ = running_job
    m = suite.marketplace
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=RUNNING):
        m.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.oracle)
    dispute(suite, job_id, cast.renter)
    with ape.reverts(m.AccessControlUnauthorizedAccount):
        m.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.renter)
    with ape.reverts(m.MarketplaceInvalidOutcome, jobId=job_id, outcome=0):
        m.resolveDispute(job_id, 0, EVIDENCE, sender=cast.oracle)
    m.resolveDispute(job_id, SPLIT, EVIDENCE, sender=cast.oracle)
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=RESOLVED):
        m.resolveDispute(job_id, USER_FAULT, EVIDENCE, sender=cast.oracle)


def test_expired_dispute_pays_the_time_run_and_returns_the_bond(suite, cast, running_job, chain):
    job_id, tx = dispute_at(suite, cast, running_job, chain, 3600)
    open_at = tx.timestamp + 3 * 86400
    chain.pending_timestamp = open_at - 1
    with ape.reverts(suite.marketplace.MarketplaceDeadlineNotReached, jobId=job_id, availableAt=open_at):
        suite.marketplace.resolveExpiredDispute(job_id, sender=cast.outsider)
    chain.pending_timestamp = open_at
    before = parties(suite, cast)
    tx = suite.marketplace.resolveExpiredDispute(job_id, sender=cast.outsider)
    (ev,) = tx.events.filter(suite.marketplace.DisputeResolved)
    assert (ev.outcome, ev.finalCost, ev.evidenceCID) == (SPLIT, 10 * TOKEN, "")
    assert parties(suite, cast)[0] - before[0] == BOND


@pytest.mark.parametrize("outcome", [PROVIDER_FAULT, USER_FAULT, SPLIT])
def test_every_ruling_settles_the_escrow_exactly(suite, cast, running_job, chain, outcome):
    job_id, _ = dispute_at(suite, cast, running_job, chain, 1234)
    escrow_before = escrowed(suite, (cast.provider,))
    suite.marketplace.resolveDispute(job_id, outcome, EVIDENCE, sender=cast.oracle)
    e = suite.marketplace.getEscrow(job_id)
    assert e.completed and e.releasedAmount + e.refundedAmount == e.lockedAmount == 10 * TOKEN
    assert escrow_before - escrowed(suite, (cast.provider,)) == 10 * TOKEN + BOND
