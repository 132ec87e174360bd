"""The direct path (issue 18): acceptAndStartJob (Created -> Running in one transaction) and
completeJobWithResult (completeJobAt's settlement plus the ResultCommitted event), and the
providers' published encryption keys (ResourceRegistry.setEncryptionKey)."""

from __future__ import annotations

import ape
import pytest

from gpurent.errors import InvalidInput
from gpurent.units import TOKEN, to_base_units
from tests.conftest import create_job, escrowed, worth

CREATED, ACCEPTED, RUNNING, COMPLETED = 1, 2, 3, 4
RESULT = "bafybeibucywox5gwghnxv7vqtozdjnv6yfl5em2hops2rbutd7npp7bj6u"  # 59 chars, CIDv1


def _balances(suite, cast):
    return {
        "renter": suite.token.balanceOf(cast.renter),
        "provider": worth(suite, cast.provider),
        "treasury": worth(suite, cast.treasury, (cast.provider,)),
        "market": escrowed(suite, (cast.provider,)),
    }


def test_acceptAndStartJob_emits_both_events_and_starts_billing(suite, cast, job_id):
    m = suite.marketplace
    tx = m.acceptAndStartJob(job_id, sender=cast.provider)
    (accepted,) = tx.events.filter(m.JobAccepted)
    (started,) = tx.events.filter(m.JobStarted)
    assert accepted.jobId == job_id and accepted["provider"] == cast.provider.address
    assert started.jobId == job_id and started.startTime == tx.timestamp
    names = [log.event_name for log in tx.events]
    assert names.index("JobAccepted") < names.index("JobStarted")
    job = m.getJob(job_id)
    assert job.status == RUNNING and job.startTime == tx.timestamp and job.updatedAt == tx.timestamp


def test_acceptAndStartJob_refuses_others_and_other_states(suite, cast, job_id):
    m = suite.marketplace
    for who in (cast.renter, cast.outsider, cast.provider2):
        with ape.reverts(m.MarketplaceUnauthorized, jobId=job_id, caller=who.address):
            m.acceptAndStartJob(job_id, sender=who)
    m.acceptJob(job_id, sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=ACCEPTED):
        m.acceptAndStartJob(job_id, sender=cast.provider)
    m.startJob(job_id, sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=RUNNING):
        m.acceptAndStartJob(job_id, sender=cast.provider)
    with ape.reverts(m.MarketplaceUnknownJob):
        m.acceptAndStartJob(b"\x01" * 32, sender=cast.provider)


def test_acceptAndStartJob_after_the_accept_timeout_is_expired(suite, cast, resource_id, chain):
    m = suite.marketplace
    job_id, tx = create_job(suite, cast.renter, resource_id)
    timeout = m.terms(m.getJob(job_id).termsVersion).acceptTimeout
    chain.pending_timestamp = tx.timestamp + timeout + 1
    with ape.reverts(m.MarketplaceJobExpired, jobId=job_id, expiredAt=tx.timestamp + timeout):
        m.acceptAndStartJob(job_id, sender=cast.provider)


def test_acceptAndStartJob_works_while_paused(suite, cast, job_id):
    m = suite.marketplace
    m.pause(sender=cast.admin)
    try:
        m.acceptAndStartJob(job_id, sender=cast.provider)
    finally:
        m.unpause(sender=cast.admin)
    assert m.getJob(job_id).status == RUNNING


def test_completeJobWithResult_settles_and_commits_the_cid(suite, cast, job_id, chain):
    """10 tokens/h, ended 720 s after the start: 2 tokens (1.96 provider, 0.04 fee), 8 back."""
    m = suite.marketplace
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    before = _balances(suite, cast)
    chain.pending_timestamp = start + 2700
    tx = m.completeJobWithResult(job_id, start + 720, RESULT, sender=cast.provider)
    after = _balances(suite, cast)
    delta = {k: after[k] - before[k] for k in after}
    assert delta == {"provider": to_base_units("1.96"), "treasury": to_base_units("0.04"),
                     "renter": 8 * TOKEN, "market": -10 * TOKEN}  # to the base unit; nothing left
    (committed,) = tx.events.filter(m.ResultCommitted)
    assert committed.jobId == job_id and committed.resultCID == RESULT
    (completed,) = tx.events.filter(m.JobCompleted)
    assert completed.finalCost == 2 * TOKEN
    (released,) = tx.events.filter(m.FundsReleased)
    assert released.providerAmount + released.fee == 2 * TOKEN
    (refund,) = tx.events.filter(m.Refunded)
    assert refund.amount == 8 * TOKEN
    job = m.getJob(job_id)
    assert job.status == COMPLETED and job.finalCost == 2 * TOKEN
    assert m.providerStats(cast.provider).openJobs == 0


def test_completeJobWithResult_refuses_bad_callers_states_and_ends(suite, cast, job_id, chain):
    m = suite.marketplace
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=CREATED):
        m.completeJobWithResult(job_id, 0, RESULT, sender=cast.provider)
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + 100
    for who in (cast.renter, cast.outsider):  # the renter settles with completeJob, not this
        with ape.reverts(m.MarketplaceUnauthorized, jobId=job_id, caller=who.address):
            m.completeJobWithResult(job_id, start + 50, RESULT, sender=who)
    with ape.reverts(m.MarketplaceInvalidEndTime):
        m.completeJobWithResult(job_id, start - 1, RESULT, sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidEndTime):
        m.completeJobWithResult(job_id, start + 10_000, RESULT, sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidCID, length=0, maxLength=128):
        m.completeJobWithResult(job_id, start + 50, "", sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidCID, length=129, maxLength=128):
        m.completeJobWithResult(job_id, start + 50, "b" * 129, sender=cast.provider)
    chain.pending_timestamp = start + 200
    m.completeJobWithResult(job_id, start + 50, "b" * 128, sender=cast.provider)  # the bound itself
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=COMPLETED):
        m.completeJobWithResult(job_id, start + 50, RESULT, sender=cast.provider)


def test_commitResult_delivers_after_someone_else_settled(suite, cast, job_id, chain, as_renter):
    """The renter ended the job first: its provider commits the result on its own, only then,
    only its provider, within the completion grace (15 min); the first commit is the result."""
    m = suite.marketplace
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=CREATED):
        m.commitResult(job_id, RESULT, sender=cast.provider)
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    with ape.reverts(m.MarketplaceInvalidJobState, jobId=job_id, current=RUNNING):
        m.commitResult(job_id, RESULT, sender=cast.provider)  # settling is completeJobWithResult's
    chain.pending_timestamp = start + 600
    ended = m.completeJob(job_id, sender=cast.renter).timestamp
    balances = _balances(suite, cast)
    for who in (cast.renter, cast.outsider):
        with ape.reverts(m.MarketplaceUnauthorized, jobId=job_id, caller=who.address):
            m.commitResult(job_id, RESULT, sender=who)
    with ape.reverts(m.MarketplaceInvalidCID, length=0, maxLength=128):
        m.commitResult(job_id, "", sender=cast.provider)
    with ape.reverts(m.MarketplaceInvalidCID, length=129, maxLength=128):
        m.commitResult(job_id, "b" * 129, sender=cast.provider)
    tx = m.commitResult(job_id, RESULT, sender=cast.provider)
    (committed,) = tx.events.filter(m.ResultCommitted)
    assert committed.jobId == job_id and committed.resultCID == RESULT
    assert _balances(suite, cast) == balances  # moves no money
    m.commitResult(job_id, "bafkreiotherresult", sender=cast.provider)
    assert as_renter.result_cid(job_id) == RESULT  # the first commit stays the result
    chain.pending_timestamp = ended + 15 * 60 + 1
    with ape.reverts(m.MarketplaceJobExpired, jobId=job_id, expiredAt=ended + 15 * 60):
        m.commitResult(job_id, RESULT, sender=cast.provider)


def test_completeJobWithResult_never_below_what_was_paid_early(suite, cast, job_id, chain):
    m = suite.marketplace
    start = m.acceptAndStartJob(job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + 1800
    m.partialRelease(job_id, 2**256 - 1, sender=cast.provider)  # 5 tokens
    chain.pending_timestamp = start + 2000
    renter0 = suite.token.balanceOf(cast.renter)
    m.completeJobWithResult(job_id, start + 600, RESULT, sender=cast.provider)
    assert m.getJob(job_id).finalCost == 5 * TOKEN
    assert suite.token.balanceOf(cast.renter) - renter0 == 5 * TOKEN


def test_sdk_direct_path_and_result_cid(as_provider, as_renter, gpu, chain):
    job = as_renter.create_job(gpu.resource_id, RESULT, 3600).value
    assert as_renter.result_cid(job.job_id) is None
    start = as_provider.accept_and_start_job(job.job_id)
    assert as_renter.job(job.job_id).status.name == "RUNNING"
    with pytest.raises(InvalidInput):
        as_provider.complete_job_with_result(job.job_id, 0, "not a cid")
    with pytest.raises(InvalidInput):
        as_provider.complete_job_with_result(job.job_id, 0, "/ipfs/" + RESULT)
    ended = as_renter.job(job.job_id).start_time + 10
    chain.pending_timestamp = ended + 5
    as_provider.complete_job_with_result(job.job_id, ended, RESULT)
    assert as_renter.result_cid(job.job_id) == RESULT
    assert start is not None


def test_sdk_result_cid_refuses_a_committed_non_cid(as_provider, as_renter, gpu, suite, cast, chain):
    """The event is the provider's word: a non-CID is reported, escaped, never returned."""
    job = as_renter.create_job(gpu.resource_id, RESULT, 3600).value
    m = suite.marketplace
    start = m.acceptAndStartJob(job.job_id, sender=cast.provider).timestamp
    chain.pending_timestamp = start + 5
    m.completeJobWithResult(job.job_id, start + 1, "\x1b[2Jevil", sender=cast.provider)
    with pytest.raises(InvalidInput) as err:
        as_renter.result_cid(job.job_id)
    assert "\x1b" not in str(err.value) and "\\x1b" in str(err.value)


def test_setEncryptionKey_registered_providers_only(suite, cast):
    r = suite.registry
    key = bytes(range(32))
    with ape.reverts(r.RegistryProviderNotRegistered, provider=cast.outsider.address):
        r.setEncryptionKey(key, sender=cast.outsider)
    suite.token.approve(r, r.minStake(), sender=cast.provider)
    r.registerProvider("http://127.0.0.1:8765", r.minStake(), sender=cast.provider)
    tx = r.setEncryptionKey(key, sender=cast.provider)
    (ev,) = tx.events.filter(r.EncryptionKeySet)
    assert ev["provider"] == cast.provider.address and bytes(ev.key) == key
    assert bytes(r.encryptionKeyOf(cast.provider)) == key
    r.pause(sender=cast.admin)
    try:  # rotating away from a leaked key never waits for an unpause
        r.setEncryptionKey(b"\x07" * 32, sender=cast.provider)
    finally:
        r.unpause(sender=cast.admin)
    assert bytes(r.encryptionKeyOf(cast.provider)) == b"\x07" * 32
    r.setEncryptionKey(bytes(32), sender=cast.provider)
    assert bytes(r.encryptionKeyOf(cast.provider)) == bytes(32)
    assert bytes(r.encryptionKeyOf(cast.outsider)) == bytes(32)


def test_sdk_encryption_key(as_provider, gp, cast):
    as_provider.register_provider("http://127.0.0.1:8765", stake=100)
    assert gp.encryption_key_of(cast.provider.address) is None
    with pytest.raises(InvalidInput):
        as_provider.set_encryption_key(b"short")
    as_provider.set_encryption_key(b"\x42" * 32)
    assert gp.encryption_key_of(cast.provider.address) == b"\x42" * 32
    as_provider.set_encryption_key(None)
    assert as_provider.encryption_key_of() is None
