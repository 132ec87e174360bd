"""Earnings (pull payment): settling a job credits the provider's pay and the platform fee in
the marketplace instead of two transfers; the provider withdraws them in one transfer for any
number of jobs, the treasury's fee going with it, and anyone may sweep the fees a provider
leaves. Also the header slot's pause flag and reentrancy lock (OpenZeppelin's checks, one slot)."""

from __future__ import annotations

import ape

from gpurent.units import TOKEN, to_base_units
from tests.conftest import create_job, govern

RESULT = "bafybeibucywox5gwghnxv7vqtozdjnv6yfl5em2hops2rbutd7npp7bj6u"


def _settle(suite, cast, resource_id, chain, seconds: int) -> None:
    """One job on the 10 tokens/h GPU, run `seconds` and settled by its provider."""
    m = suite.marketplace
    job_id, _ = create_job(suite, cast.renter, resource_id)
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + seconds
    m.completeJobWithResult(job_id, start + seconds, RESULT, sender=cast.provider)


def test_settlement_credits_earnings_and_one_withdrawal_pays_every_job(suite, cast, resource_id, chain):
    m, t = suite.marketplace, suite.token
    provider0, treasury0, escrow0 = t.balanceOf(cast.provider), t.balanceOf(cast.treasury), t.balanceOf(m)
    _settle(suite, cast, resource_id, chain, 720)  # 2 tokens: 1.96 + 0.04
    _settle(suite, cast, resource_id, chain, 1800)  # 5 tokens: 4.9 + 0.1
    # nothing moved to the provider or the treasury yet: the marketplace holds it, to the base unit
    assert (t.balanceOf(cast.provider), t.balanceOf(cast.treasury)) == (provider0, treasury0)
    assert m.earningsOf(cast.provider) == (to_base_units("6.86"), to_base_units("0.14"))
    assert t.balanceOf(m) - escrow0 == 7 * TOKEN

    tx = m.withdrawEarnings(sender=cast.provider)
    assert t.balanceOf(cast.provider) - provider0 == to_base_units("6.86")
    assert t.balanceOf(cast.treasury) - treasury0 == to_base_units("0.14")
    assert t.balanceOf(m) == escrow0 and m.earningsOf(cast.provider) == (0, 0)
    (paid,) = tx.events.filter(m.EarningsWithdrawn)
    assert (paid.event_arguments["provider"], paid.amount, paid.fee, paid.treasury) == (
        cast.provider.address, to_base_units("6.86"), to_base_units("0.14"), cast.treasury.address)
    # two transfers for the two jobs: the provider's and the treasury's
    assert len(tx.events.filter(t.Transfer)) == 2

    with ape.reverts(m.MarketplaceNothingToWithdraw, provider=cast.provider.address):
        m.withdrawEarnings(sender=cast.provider)
    with ape.reverts(m.MarketplaceNothingToWithdraw, provider=cast.outsider.address):
        m.withdrawEarnings(sender=cast.outsider)


def test_anyone_may_sweep_fees_to_the_treasury_and_only_the_fees(suite, cast, resource_id, chain):
    m, t = suite.marketplace, suite.token
    _settle(suite, cast, resource_id, chain, 1800)
    treasury0, outsider0 = t.balanceOf(cast.treasury), t.balanceOf(cast.outsider)
    # listed twice, with a provider holding nothing: each fee is paid once, nothing else moves
    tx = m.collectFees([cast.provider, cast.provider, cast.provider2], sender=cast.outsider)
    assert t.balanceOf(cast.treasury) - treasury0 == to_base_units("0.1")
    assert t.balanceOf(cast.outsider) == outsider0
    assert m.earningsOf(cast.provider) == (to_base_units("4.9"), 0)  # the provider's own share stays its
    (collected,) = tx.events.filter(m.FeesCollected)
    assert (collected.event_arguments["provider"], collected.fee, collected.treasury) == (
        cast.provider.address, to_base_units("0.1"), cast.treasury.address)
    tx = m.withdrawEarnings(sender=cast.provider)  # the rest: the provider's share alone
    (paid,) = tx.events.filter(m.EarningsWithdrawn)
    assert (paid.amount, paid.fee) == (to_base_units("4.9"), 0)
    assert len(tx.events.filter(t.Transfer)) == 1


def test_earnings_can_be_withdrawn_while_paused_and_go_to_the_current_treasury(suite, cast, resource_id, chain):
    m, t = suite.marketplace, suite.token
    _settle(suite, cast, resource_id, chain, 720)
    m.pause(sender=cast.admin)
    assert m.paused()
    govern(suite, cast.admin, m.setTreasury, cast.outsider)
    outsider0 = t.balanceOf(cast.outsider)
    m.withdrawEarnings(sender=cast.provider)  # a pause stops new jobs, never a provider's exit
    assert t.balanceOf(cast.outsider) - outsider0 == to_base_units("0.04")


def test_partial_release_pays_out_at_once_with_what_was_held(suite, cast, resource_id, chain):
    m, t = suite.marketplace, suite.token
    _settle(suite, cast, resource_id, chain, 720)  # 1.96 held
    job_id, _ = create_job(suite, cast.renter, resource_id)
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    provider0 = t.balanceOf(cast.provider)
    chain.pending_timestamp = start + 1800
    m.partialRelease(job_id, 2**256 - 1, sender=cast.provider)  # 4.9 released now
    assert t.balanceOf(cast.provider) - provider0 == to_base_units("6.86")
    assert m.earningsOf(cast.provider) == (0, 0)


def test_the_header_slot_keeps_openzeppelins_pause_and_lock_checks(suite, cast, resource_id, chain):
    m = suite.marketplace
    with ape.reverts(m.ExpectedPause):
        m.unpause(sender=cast.admin)
    tx = m.pause(sender=cast.admin)
    assert [e.account for e in tx.events.filter(m.Paused)] == [cast.admin.address]
    with ape.reverts(m.EnforcedPause):
        m.pause(sender=cast.admin)
    with ape.reverts(m.EnforcedPause):
        create_job(suite, cast.renter, resource_id)
    tx = m.unpause(sender=cast.admin)
    assert [e.account for e in tx.events.filter(m.Unpaused)] == [cast.admin.address]
    before = m.jobCount()
    create_job(suite, cast.renter, resource_id)  # the lock was released: the next call goes through
    create_job(suite, cast.renter, resource_id)
    assert m.jobCount() == before + 2 and not m.paused()
