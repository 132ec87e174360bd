"""The SDK against a real Anvil: typed results, Decimal tokens, event-backed queries, errors."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from gpurent import errors, reverts
from gpurent.sdk import Gpurent, Tx, parse_id
from gpurent.types import DisputeOutcome, Job, JobStatus, Resource, hex_id
from gpurent.units import TOKEN, to_tokens

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def test_packaged_abis_match_the_compiled_contracts(project):
    abi_dir = Path(__file__).resolve().parents[2] / "src" / "gpurent" / "abi"
    for name in ("GPUToken", "ResourceRegistry", "Marketplace", "ReputationSystem", "GpurentTimelock"):
        shipped = json.loads((abi_dir / f"{name}.json").read_text())["abi"]
        compiled = [a.model_dump(mode="json", by_alias=True) for a in getattr(project, name).contract_type.abi]
        assert sorted(json.dumps(a, sort_keys=True) for a in shipped) == sorted(
            json.dumps(a, sort_keys=True) for a in compiled), f"{name}: run `make compile` to refresh src/gpurent/abi"


def test_not_deployed(tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    with pytest.raises(errors.NotDeployedError, match="no gpurent deployment on chain 31337"):
        Gpurent.connect()


def test_provider_registers_and_lists(gpu, as_provider, gp, cast):
    assert isinstance(gpu, Resource)
    assert (gpu.gpu_model, gpu.vcpu, gpu.price_per_hour, gpu.available) == ("RTX4090", 16, Decimal("10"), True)
    assert gpu.provider == cast.provider.address
    info = gp.provider(cast.provider.address)
    assert info.registered and info.stake == Decimal(100) and info.endpoint == "http://127.0.0.1:8765"
    assert [r.resource_id for r in gp.resources()] == [gpu.resource_id]
    assert [r.resource_id for r in as_provider.provider_resources()] == [gpu.resource_id]
    as_provider.update_pricing(gpu.resource_id, "12.5")
    as_provider.update_availability(gpu.resource_id, False)
    r = gp.resource(gpu.resource_id)
    assert (r.price_per_hour, r.available) == (Decimal("12.5"), False)


def test_renter_lifecycle_with_permit(gpu, as_renter, as_provider, gp, chain, cast):
    assert gp.quote(gpu.resource_id, 3600) == Decimal(10)
    before = as_renter.balance()
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    assert isinstance(job, Job) and job.status is JobStatus.CREATED
    assert (job.image_cid, job.max_cost, job.user) == (CID, Decimal(10), cast.renter.address)
    assert before - as_renter.balance() == Decimal(10)
    assert gp.job(job.job_id).image_cid == CID  # read back from the JobCreated event

    as_provider.accept_job(job.job_id)
    start = as_provider.start_job(job.job_id).timestamp
    chain.pending_timestamp = start + 2700
    as_provider.complete_job(job.job_id)
    done = gp.job(job.job_id)
    assert done.status is JobStatus.COMPLETED and done.final_cost == Decimal("7.5")
    escrow = gp.escrow(job.job_id)
    assert (escrow.locked, escrow.released, escrow.refunded, escrow.completed) == (
        Decimal(10), Decimal("7.5"), Decimal("2.5"), True)
    assert as_provider.earnings() == Decimal("7.35")
    assert [j.job_id for j in as_renter.jobs_of_user()] == [job.job_id]
    assert [j.job_id for j in as_provider.jobs_of_provider()] == [job.job_id]
    rep = gp.reputation(cast.provider.address)
    assert (rep.total_jobs, rep.successful_jobs, rep.completion) == (1, 1, Decimal(1))


def test_create_job_without_permit_approves_first(gpu, as_renter):
    job = as_renter.create_job(gpu.resource_id, CID, 1800, use_permit=False).value
    assert job.max_cost == Decimal(5)


def test_errors_are_human(gpu, as_renter, as_provider, gp, cast):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.accept_job(job.job_id)
    as_provider.start_job(job.job_id)
    with pytest.raises(errors.InvalidJobState) as err:
        as_renter.cancel_job(job.job_id)
    assert str(err.value) == f"cannot cancel job {job.job_id[:10]}…: it is Running"
    with pytest.raises(errors.NotAuthorized, match="may not dispute job"):
        gp.with_account(cast.outsider).dispute_job(job.job_id, "not mine")
    with pytest.raises(errors.UnknownResource, match="does not exist"):
        as_renter.create_job("0x" + "11" * 32, CID, 60)
    with pytest.raises(errors.InvalidInput, match="malformed GPU id"):
        as_renter.create_job("0x1234", CID, 60)
    with pytest.raises(errors.InvalidInput, match="is not a CID"):
        as_renter.create_job(gpu.resource_id, "", 60)
    with pytest.raises(errors.InvalidInput, match="'bafy-not' is not a CID"):
        as_renter.create_job(gpu.resource_id, "bafy-not", 60)
    with pytest.raises(errors.ConfigurationError, match="needs an account"):
        gp.cancel_job(job.job_id)
    with pytest.raises(errors.UnknownJob):
        gp.job("0x" + "22" * 32)


def test_insufficient_balance_is_caught(gpu, gp, cast, suite):
    poor = gp.with_account(cast.outsider)
    suite.token.transfer(cast.admin, suite.token.balanceOf(cast.outsider), sender=cast.outsider)
    with pytest.raises(errors.InsufficientFunds, match="balance 0 GPU, needed 10 GPU"):
        poor.create_job(gpu.resource_id, CID, 3600)  # the token reverts
    # the same mistake seen by the SDK before sending: same class, same sentence
    with pytest.raises(errors.InsufficientFunds, match="^cannot create a job: balance 0 GPU, needed 10 GPU$"):
        poor.create_job(gpu.resource_id, CID, 3600, use_permit=False)
    with pytest.raises(errors.InsufficientFunds, match="^cannot stake: balance 0 GPU, needed 5 GPU$"):
        poor.stake(5)


def test_dispute_and_resolution(gpu, as_renter, as_provider, gp, cast, chain):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.accept_job(job.job_id)
    start = as_provider.start_job(job.job_id).timestamp
    chain.pending_timestamp = start + 1800
    assert gp.dispute_bond(job.job_id) == Decimal(1)  # 10% of the 10 GPU max cost
    before = as_renter.balance()
    disputed = as_renter.dispute_job(job.job_id, "stalled")  # approves the bond and posts it
    assert before - as_renter.balance() == Decimal(1)
    # the approval is its own transaction: the dispute lands at start + 1800, or a second later
    # when the wall clock ticked between the two; billing stops at the dispute either way
    elapsed = disputed.timestamp - start
    assert elapsed in (1800, 1801)
    billed = to_tokens(10 * TOKEN * elapsed // 3600)
    assert [j.job_id for j in gp.pending_disputes()] == [job.job_id]
    with pytest.raises(errors.NotAuthorized, match="lacks the role"):
        as_renter.resolve_dispute(job.job_id, "user-fault", "bafy-evidence")
    assert gp.dispute(job.job_id).outcome is None
    provider_before = as_provider.balance()
    held_before = as_provider.held_earnings()
    gp.with_account(cast.oracle).resolve_dispute(job.job_id, "user-fault", "bafy-evidence")
    assert gp.job(job.job_id).final_cost == billed  # 5 GPU for the half hour run
    # the renter disputed and lost: its bond goes to the provider at once, and the 98% of the
    # 5 GPU billed to its earnings (the 2% fee beside them), both withdrawn in one transfer
    fee = to_tokens(10 * TOKEN * elapsed // 3600 * 200 // 10_000)
    assert as_provider.balance() - provider_before == Decimal(1)
    held = as_provider.held_earnings()
    assert (held.amount - held_before.amount, held.fee - held_before.fee) == (billed - fee, fee)
    paid = as_provider.withdraw_earnings().value
    assert paid == held and as_provider.held_earnings().empty
    assert as_provider.balance() - provider_before == Decimal(1) + held.amount
    assert as_renter.balance() == before - Decimal(1) + (Decimal(10) - billed)  # the unbilled half came back
    assert gp.pending_disputes() == []
    d = gp.dispute(job.job_id)
    assert (d.initiator, d.reason, d.outcome, d.final_cost, d.evidence_cid) == (
        cast.renter.address, "stalled", DisputeOutcome.USER_FAULT, billed, "bafy-evidence")
    assert gp.dispute(as_renter.create_job(gpu.resource_id, CID, 60).value.job_id) is None
    with pytest.raises(ValueError, match="unknown dispute outcome"):
        DisputeOutcome.parse("nobody")


def test_governance(gp, cast):
    admin = gp.with_account(cast.admin)  # the timelock's proposer and executor (its delay is 0 here)
    admin.set_fee(150)
    admin.set_timeouts(30, 60, 70, 80)
    admin.set_dispute_bond(500, "0.5")
    admin.set_min_stake("250.5")
    params = gp.parameters()
    assert (params["fee_bps"], params["start_timeout_s"], params["min_stake"]) == (150, 60, Decimal("250.5"))
    assert (params["accept_timeout_s"], params["completion_grace_s"], params["dispute_timeout_s"]) == (30, 70, 80)
    assert (params["dispute_bond_bps"], params["dispute_min_bond"], params["timelock_delay_s"]) == (
        500, Decimal("0.5"), 0)
    assert params["terms_version"] >= 3  # fee, timeouts and bond each made a new terms version
    admin.pause()
    assert gp.paused()
    admin.unpause()
    assert not gp.paused()
    admin.grant_role("pauser", cast.outsider.address)
    assert gp.has_role("PAUSER_ROLE", cast.outsider.address) == {"ResourceRegistry": True, "Marketplace": True}
    with pytest.raises(errors.InvalidArgument, match="above the maximum"):
        admin.set_fee(5000)
    with pytest.raises(errors.InvalidArgument, match="dispute bond 6000 bps is above the maximum of 5000 bps"):
        admin.set_dispute_bond(6000, 0)
    with pytest.raises(errors.InvalidInput, match="unknown role"):
        admin.grant_role("king", cast.outsider.address)
    with pytest.raises(errors.NotAuthorized, match="lacks the role needed to schedule"):
        gp.with_account(cast.outsider).set_fee(1)  # not a proposer of the timelock


def test_reputation_parameters_are_governed(gp, cast, suite, chain):
    """The ReputationSystem's four setters go through the timelock like the others and take
    effect on chain; a value past its bound is refused with the bound."""
    from gpurent.types import PenaltyReason

    admin = gp.with_account(cast.admin)
    start = chain.blocks.height + 1
    admin.set_fraud_slash_bps(1500)
    admin.set_max_response_time(4000)
    params = gp.parameters()
    assert (params["fraud_slash_bps"], params["max_response_time_ms"]) == (1500, 4000)
    admin.set_priors(12, 3)
    (priors,) = suite.reputation.PriorsUpdated.range(start, chain.blocks.height + 1)
    assert (priors.heartbeatPrior, priors.challengePrior) == (12, 3)
    admin.set_penalty_points(PenaltyReason.TIMEOUT, 7)
    (points,) = suite.reputation.PenaltyPointsUpdated.range(start, chain.blocks.height + 1)
    assert (points.reason, points.points) == (int(PenaltyReason.TIMEOUT), 7)
    with pytest.raises(errors.InvalidArgument):
        admin.set_fraud_slash_bps(9000)


def test_governance_with_a_delay_is_scheduled_then_executed(gp, cast, suite, chain):
    from gpurent.types import GovernanceOperation
    from tests.conftest import govern

    govern(suite, cast.admin, suite.timelock.updateDelay, 3600)
    admin = gp.with_account(cast.admin)
    op = admin.set_fee(150)
    assert isinstance(op, GovernanceOperation) and op.ready_at >= gp.chain_time() + 3599
    assert [p.op_id for p in gp.pending_operations()] == [op.op_id]
    with pytest.raises(errors.DeadlineNotReached, match="is not ready"):
        admin.execute_operation(op.op_id)
    assert gp.parameters()["fee_bps"] == 200
    chain.pending_timestamp += 3601
    admin.execute_operation(op.op_id)
    assert gp.parameters()["fee_bps"] == 150 and gp.pending_operations() == []
    with pytest.raises(errors.InvalidInput, match="no pending timelock operation"):
        admin.execute_operation(op.op_id)


def test_a_scheduled_change_is_checked_first_and_told_in_words(gp, cast, suite, chain):
    from tests.conftest import govern

    govern(suite, cast.admin, suite.timelock.updateDelay, 3600)
    admin = gp.with_account(cast.admin)
    with pytest.raises(errors.InvalidArgument, match="fee 5000 bps is above the maximum of 1000 bps"):
        admin.set_fee(5000)  # refused as the timelock would run it, not days later at execution
    with pytest.raises(errors.InvalidInput, match="unknown parameter 'gas': one of fee_bps, treasury"):
        admin.set_parameter("gas", 1)
    with pytest.raises(errors.InvalidInput, match="takes 2 value"):
        admin.set_parameter("dispute_bond", "500")
    assert gp.pending_operations() == []
    fee, stake, cooldown = admin.set_fee(250), admin.set_parameter("min_stake", "150.5"), admin.set_unstake_cooldown(3600)
    (granted,) = admin.grant_role("oracle", cast.outsider.address, "marketplace")
    delay = admin._govern("update the delay", suite.timelock, "updateDelay", 7200)
    current = gp.parameters()
    words = [gp.describe_operation(op, current) for op in (fee, stake, cooldown, granted, delay)]
    assert words[:3] == ["platform fee 2% → 2.5%", "minimum stake 100 GPU → 150.5 GPU",
                         f"unstake cooldown {current['unstake_cooldown_s'] // 86400} days → 1 h"]
    assert words[3] == f"grant ORACLE_ROLE to {cast.outsider.address} on Marketplace"
    assert words[4] == "timelock delay 1 h → 2 h"
    with pytest.raises(errors.DeadlineNotReached, match=r"is not ready \(its delay has not passed\): executable from "
                                                        r"\d\d:\d\d UTC \(in (59 min|1 h)\)"):
        gp.ready_operation(fee.op_id)


def test_reputation_overrides_are_governance_only(gpu, gp, cast):
    with pytest.raises(errors.NotAuthorized, match="lacks the role"):
        gp.with_account(cast.oracle).update_reputation(cast.provider.address, "0.992", 0)
    gp.with_account(cast.admin).update_reputation(cast.provider.address, "0.992", 0)  # through the timelock
    assert gp.reputation(cast.provider.address).score == 996
    oracle = gp.with_account(cast.oracle)
    oracle.apply_penalty(cast.provider.address, "downtime")
    rep = gp.reputation(cast.provider.address)
    assert (rep.score, rep.penalties, rep.uptime) == (946, 50, Decimal("0.992"))
    with pytest.raises(errors.InvalidInput, match="unknown penalty"):
        oracle.apply_penalty(cast.provider.address, "laziness")


def test_oracle_validation_reports_and_incidents(gpu, gp, cast):
    from gpurent.types import ValidationReport

    oracle = gp.with_account(cast.oracle)
    provider = cast.provider.address
    assert provider in gp.providers()
    assert gp.validation(provider).reports == 0 and gp.validation(provider).last_period is None
    # the session's report period is 4 s: at most 4 heartbeats and 4 challenges a period
    oracle.submit_validation_report(provider, 5, ValidationReport(3, 4, 2, 1, 200))
    v = gp.validation(provider)
    assert (v.heartbeats_kept, v.heartbeats_expected, v.challenges_passed, v.challenges_failed, v.last_period) == (
        3, 4, 2, 1, 5)
    with pytest.raises(errors.AlreadyRecorded, match="already has a report for period 5"):
        oracle.submit_validation_report(provider, 5, ValidationReport(4, 4))
    with pytest.raises(errors.InvalidArgument, match="more heartbeats than expected"):
        oracle.submit_validation_report(provider, 6, ValidationReport(5, 4))
    with pytest.raises(errors.InvalidArgument, match="than its period has seconds"):
        oracle.submit_validation_report(provider, 6, ValidationReport(5, 5))
    current = gp.chain_time() // 4
    with pytest.raises(errors.DeadlineNotReached, match=f"period {current + 10}: it has not ended"):
        oracle.submit_validation_report(provider, current + 10, ValidationReport(4, 4))
    incident = b"\x42" * 32
    oracle.apply_penalty(provider, "timeout", incident)
    assert gp.incident_recorded(provider, incident)
    assert not gp.incident_recorded(cast.provider2.address, incident)  # incidents are per provider
    with pytest.raises(errors.AlreadyRecorded, match="already penalised"):
        oracle.apply_penalty(provider, "timeout", incident)
    with pytest.raises(errors.InvalidInput, match="32 bytes"):
        oracle.apply_penalty(provider, "timeout", b"short")
    with pytest.raises(errors.NotAuthorized):
        gp.with_account(cast.provider).submit_validation_report(provider, 9, ValidationReport(1, 1))


def test_disputes_need_a_running_job_inside_its_window(gpu, as_renter, as_provider, gp, chain):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.accept_job(job.job_id)
    with pytest.raises(errors.InvalidJobState, match="it is Accepted"):
        as_renter.dispute_job(job.job_id, "not started")
    start = as_provider.start_job(job.job_id).timestamp
    chain.pending_timestamp = start + 3600 + 15 * 60 + 1
    with pytest.raises(errors.DeadlinePassed, match=f"dispute window closed at timestamp {start + 3600 + 900}"):
        as_provider.dispute_job(job.job_id, "too late")
    as_renter.complete_job(job.job_id)  # still settles, at the booked hour
    assert gp.job(job.job_id).final_cost == Decimal(10)


def test_the_stake_stays_while_jobs_are_open_and_created_jobs_expire(gpu, as_renter, as_provider, gp, chain,
                                                                    cast):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.retire_resource(gpu.resource_id)
    as_provider.request_unstake()
    chain.pending_timestamp += 7 * 24 * 3600 + 1  # the cooldown passed, and the job's accept timeout
    with pytest.raises(errors.StakeError, match=r"has 1 open job\(s\); its stake stays locked"):
        as_provider.withdraw_stake()
    with pytest.raises(errors.DeadlinePassed, match="expired unaccepted"):
        as_provider.accept_job(job.job_id)
    before = as_renter.balance()
    gp.with_account(cast.outsider).cancel_job(job.job_id)  # anyone may once it expired; the renter is refunded
    assert as_renter.balance() == before + Decimal(10)
    stake_before = as_provider.balance()
    as_provider.withdraw_stake()
    assert as_provider.balance() - stake_before == Decimal(100)


@pytest.mark.parametrize("name, inputs, cls, text", [
    ("MarketplaceDisputeWindowClosed", {"jobId": b"\x01" * 32, "closedAt": 7}, errors.DeadlinePassed,
     "cannot dispute job 0x01010101…: its dispute window closed at timestamp 7"),
    ("MarketplaceJobExpired", {"jobId": b"\x01" * 32, "expiredAt": 9}, errors.DeadlinePassed,
     "it expired unaccepted at timestamp 9"),
    ("MarketplaceBondTooHigh", {"bondBps": 6000, "maxBondBps": 5000}, errors.InvalidArgument,
     "dispute bond 6000 bps is above the maximum of 5000 bps"),
    ("RegistryOpenJobs", {"provider": "0xabc", "openJobs": 2}, errors.StakeError, "0xabc has 2 open job(s)"),
    ("RegistryUptimeTooLarge", {"resourceId": b"\x02" * 32, "additionalSeconds": 99, "maxSeconds": 10},
     errors.InvalidArgument, "99 s of uptime for GPU 0x02020202… is more than the 10 s since its last credit"),
    ("RegistryReputationMismatch", {"resourceId": b"\x02" * 32, "reputation": 900, "score": 700},
     errors.InvalidArgument, "reputation 900 for GPU 0x02020202… is not its provider's score"),
    ("ReputationPeriodNotPast", {"period": 12, "current": 10}, errors.DeadlineNotReached,
     "period 12: it has not ended (the current period is 10)"),
    ("RegistryNotMarketplace", {"caller": "0xabc"}, errors.NotAuthorized, "only the Marketplace may"),
    ("RegistryLinksSet", {}, errors.InvalidArgument, "already set"),
    ("TimelockUnexpectedOperationState", {"operationId": b"\x03" * 32, "expectedStates": (4).to_bytes(32, "big")},
     errors.DeadlineNotReached, "timelock operation 0x03030303… is not ready"),
])
def test_new_contract_errors_read_as_sentences(name, inputs, cls, text):
    class Reverted(Exception):
        pass

    raw = Reverted("raw")
    raw.name, raw.inputs = name, inputs
    translated = reverts.translate(raw, "dispute")
    assert type(translated) is cls and text in str(translated) and translated.name == name


@pytest.mark.parametrize("bad", ["", "0x", "xyz", "0x" + "00" * 31, b"\x00" * 31])
def test_parse_id_rejects(bad):
    with pytest.raises(errors.InvalidInput):
        parse_id(bad, "job")


def test_calculate_score_and_burn(gp, cast, suite):
    assert gp.calculate_score("0.992", 0, "0.98", "0.01") == 989  # see README on the SPEC's 981
    holder = gp.with_account(cast.outsider)
    supply = suite.token.totalSupply()
    burnt = holder.burn("1.5")
    assert supply - suite.token.totalSupply() == 15 * 10**17
    assert burnt.gas_used > 0


def test_terms_and_counts(gpu, gp, as_renter, cast):
    assert gp.job_terms(gpu.resource_id) == (cast.provider.address, Decimal(10))
    assert (gp.resource_count(), gp.job_count()) == (1, 0)
    as_renter.create_job(gpu.resource_id, CID, 60)
    assert gp.job_count() == 1
    gp.with_account(cast.provider).update_availability(gpu.resource_id, False)
    with pytest.raises(errors.ResourceUnavailable, match="not available for new jobs"):
        gp.job_terms(gpu.resource_id)


def test_renounce_role(gp, cast):
    admin = gp.with_account(cast.admin)
    admin.grant_role("pauser", cast.outsider.address, contract="marketplace")
    gp.with_account(cast.outsider).renounce_role("pauser", contract="marketplace")
    assert gp.has_role("pauser", cast.outsider.address)["Marketplace"] is False


def test_a_transaction_returns_its_value_with_its_receipt(gpu, as_renter, gp):
    created = as_renter.create_job(gpu.resource_id, CID, 3600)
    assert isinstance(created, Tx) and isinstance(created.value, Job)
    receipt = created.receipt
    assert (created.txn_hash, created.gas_used, created.block_number, created.timestamp) == (
        receipt.txn_hash, receipt.gas_used, receipt.block_number, receipt.timestamp)
    (event,) = created.events.filter(gp.marketplace.JobCreated)
    assert hex_id(event.jobId) == created.value.job_id
    with pytest.raises(dataclasses.FrozenInstanceError):
        created.value = None  # type: ignore[misc]


def test_token_approve_and_transfer(gp, cast):
    holder = gp.with_account(cast.outsider)
    approved = holder.approve(cast.renter.address, "2.5")
    assert approved.value is None and approved.gas_used > 0
    assert gp.allowance(cast.outsider.address, cast.renter.address) == Decimal("2.5")
    before = gp.balance(cast.renter2.address)
    holder.transfer(cast.renter2.address, "0.75")
    assert gp.balance(cast.renter2.address) - before == Decimal("0.75")
    with pytest.raises(errors.InvalidInput, match="must not be negative"):
        holder.transfer(cast.renter2.address, -1)


def test_oracle_reward_is_capped_per_period(gpu, gp, cast):
    provider = cast.provider.address
    gp.with_account(cast.admin).update_reputation(provider, "0.9", 0)
    before = gp.reputation(provider).score
    rewarded = gp.with_account(cast.oracle).reward(provider, 500)
    assert rewarded.events.filter(gp.reputation_system.RewardIssued)[0].bonus == 10
    assert gp.reputation(provider).score == before + 10
    with pytest.raises(errors.NotAuthorized):
        gp.with_account(cast.outsider).reward(provider, 1)


def test_releasable_is_what_a_partial_release_pays(gpu, as_renter, as_provider, gp, chain):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.accept_job(job.job_id)
    assert gp.dispute_closes_at(job.job_id) == 0  # not started yet
    start = as_provider.start_job(job.job_id).timestamp
    assert gp.dispute_closes_at(job.job_id) == start + 3600 + 15 * 60  # booked hour + completion grace
    chain.mine(timestamp=start + 1800)
    assert gp.releasable(job.job_id) == Decimal(5)  # half the booked hour, at 10 GPU/h
    before = as_provider.balance()
    as_provider.partial_release(job.job_id)  # what releasable said, read again before sending
    assert gp.escrow(job.job_id).released == Decimal(5)
    assert as_provider.balance() - before == Decimal("4.9")  # less the 2% fee


def test_an_expired_dispute_is_split_by_anyone(gpu, as_renter, as_provider, gp, cast, chain):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.accept_job(job.job_id)
    start = as_provider.start_job(job.job_id).timestamp
    chain.pending_timestamp = start + 1800
    raised = as_renter.dispute_job(job.job_id, "silence")
    outsider = gp.with_account(cast.outsider)
    with pytest.raises(errors.DeadlineNotReached):
        outsider.resolve_expired_dispute(job.job_id)
    chain.pending_timestamp = raised.timestamp + 3 * 86400  # the dispute timeout
    outsider.resolve_expired_dispute(job.job_id)
    d = gp.dispute(job.job_id)
    assert (d.outcome, d.evidence_cid) == (DisputeOutcome.SPLIT, "")
