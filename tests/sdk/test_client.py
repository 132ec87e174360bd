"""The SDK against a real Anvil: typed results, Decimal tokens, event-backed queries, errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from gpurent import errors
from gpurent.client import Gpurent, parse_id
from gpurent.types import DisputeOutcome, Job, JobStatus, Resource

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def test_packaged_abis_match_the_compiled_contracts(project):
    abi_dir = Path(__file__).resolve().parents[2] / "src" / "gpurent" / "abi"
    for name in ("GPUToken", "ResourceRegistry", "Marketplace", "ReputationSystem"):
        shipped = json.loads((abi_dir / f"{name}.json").read_text())["abi"]
        compiled = [a.model_dump(mode="json", by_alias=True) for a in getattr(project, name).contract_type.abi]
        assert sorted(json.dumps(a, sort_keys=True) for a in shipped) == sorted(
            json.dumps(a, sort_keys=True) for a in compiled), f"{name}: run `make compile` to refresh src/gpurent/abi"


def test_not_deployed(tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    with pytest.raises(errors.NotDeployedError, match="no gpurent deployment on chain 31337"):
        Gpurent.connect()


def test_provider_registers_and_lists(gpu, as_provider, rent, cast):
    assert isinstance(gpu, Resource)
    assert (gpu.gpu_model, gpu.vcpu, gpu.price_per_hour, gpu.available) == ("RTX4090", 16, Decimal("10"), True)
    assert gpu.provider == cast.provider.address
    info = rent.provider(cast.provider.address)
    assert info.registered and info.stake == Decimal(100) and info.endpoint == "http://127.0.0.1:8765"
    assert [r.resource_id for r in rent.resources()] == [gpu.resource_id]
    assert [r.resource_id for r in as_provider.provider_resources()] == [gpu.resource_id]
    as_provider.update_pricing(gpu.resource_id, "12.5")
    as_provider.update_availability(gpu.resource_id, False)
    r = rent.resource(gpu.resource_id)
    assert (r.price_per_hour, r.available) == (Decimal("12.5"), False)


def test_renter_lifecycle_with_permit(gpu, as_renter, as_provider, rent, chain, cast):
    assert rent.quote(gpu.resource_id, 3600) == Decimal(10)
    before = as_renter.balance()
    job = as_renter.create_job(gpu.resource_id, CID, 3600)
    assert isinstance(job, Job) and job.status is JobStatus.CREATED
    assert (job.image_cid, job.max_cost, job.user) == (CID, Decimal(10), cast.renter.address)
    assert before - as_renter.balance() == Decimal(10)
    assert rent.job(job.job_id).image_cid == CID  # read back from the JobCreated event

    as_provider.accept_job(job.job_id)
    start = as_provider.start_job(job.job_id).timestamp
    chain.pending_timestamp = start + 2700
    as_provider.complete_job(job.job_id)
    done = rent.job(job.job_id)
    assert done.status is JobStatus.COMPLETED and done.final_cost == Decimal("7.5")
    escrow = rent.escrow(job.job_id)
    assert (escrow.locked, escrow.released, escrow.refunded, escrow.completed) == (
        Decimal(10), Decimal("7.5"), Decimal("2.5"), True)
    assert as_provider.earnings() == Decimal("7.35")
    assert [j.job_id for j in as_renter.jobs_of_user()] == [job.job_id]
    assert [j.job_id for j in as_provider.jobs_of_provider()] == [job.job_id]
    rep = rent.reputation(cast.provider.address)
    assert (rep.total_jobs, rep.successful_jobs, rep.completion) == (1, 1, Decimal(1))


def test_create_job_without_permit_approves_first(gpu, as_renter):
    job = as_renter.create_job(gpu.resource_id, CID, 1800, use_permit=False)
    assert job.max_cost == Decimal(5)


def test_errors_are_human(gpu, as_renter, as_provider, rent, cast):
    job = as_renter.create_job(gpu.resource_id, CID, 3600)
    as_provider.accept_job(job.job_id)
    as_provider.start_job(job.job_id)
    with pytest.raises(errors.InvalidJobState) as err:
        as_renter.cancel_job(job.job_id)
    assert str(err.value) == f"cannot cancel job {job.job_id[:10]}…: it is Running"
    with pytest.raises(errors.NotAuthorized, match="may not dispute job"):
        rent.with_account(cast.outsider).dispute_job(job.job_id, "not mine")
    with pytest.raises(errors.UnknownResource, match="does not exist"):
        as_renter.create_job("0x" + "11" * 32, CID, 60)
    with pytest.raises(errors.InvalidInput, match="malformed GPU id"):
        as_renter.create_job("0x1234", CID, 60)
    with pytest.raises(errors.InvalidInput, match="is not a CID"):
        as_renter.create_job(gpu.resource_id, "", 60)
    with pytest.raises(errors.InvalidInput, match="'bafy-not' is not a CID"):
        as_renter.create_job(gpu.resource_id, "bafy-not", 60)
    with pytest.raises(errors.ConfigurationError, match="needs an account"):
        rent.cancel_job(job.job_id)
    with pytest.raises(errors.UnknownJob):
        rent.job("0x" + "22" * 32)


def test_insufficient_balance_is_caught(gpu, rent, cast, suite):
    poor = rent.with_account(cast.outsider)
    suite.token.transfer(cast.admin, suite.token.balanceOf(cast.outsider), sender=cast.outsider)
    with pytest.raises(errors.InsufficientFunds, match="balance 0 GPU, needed 10 GPU"):
        poor.create_job(gpu.resource_id, CID, 3600)  # the token reverts
    # the same mistake seen by the SDK before sending: same class, same sentence
    with pytest.raises(errors.InsufficientFunds, match="^cannot create a job: balance 0 GPU, needed 10 GPU$"):
        poor.create_job(gpu.resource_id, CID, 3600, use_permit=False)
    with pytest.raises(errors.InsufficientFunds, match="^cannot stake: balance 0 GPU, needed 5 GPU$"):
        poor.stake(5)


def test_dispute_and_resolution(gpu, as_renter, as_provider, rent, cast, chain):
    job = as_renter.create_job(gpu.resource_id, CID, 3600)
    as_provider.accept_job(job.job_id)
    start = as_provider.start_job(job.job_id).timestamp
    chain.pending_timestamp = start + 1800
    as_renter.dispute_job(job.job_id, "stalled")
    assert [j.job_id for j in rent.pending_disputes()] == [job.job_id]
    with pytest.raises(errors.NotAuthorized, match="lacks the role"):
        as_renter.resolve_dispute(job.job_id, "user-fault", "bafy-evidence")
    assert rent.dispute(job.job_id).outcome is None
    rent.with_account(cast.oracle).resolve_dispute(job.job_id, "user-fault", "bafy-evidence")
    assert rent.job(job.job_id).final_cost == Decimal(5)
    assert rent.pending_disputes() == []
    d = rent.dispute(job.job_id)
    assert (d.initiator, d.reason, d.outcome, d.final_cost, d.evidence_cid) == (
        cast.renter.address, "stalled", DisputeOutcome.USER_FAULT, Decimal(5), "bafy-evidence")
    assert rent.dispute(as_renter.create_job(gpu.resource_id, CID, 60).job_id) is None
    with pytest.raises(ValueError, match="unknown dispute outcome"):
        DisputeOutcome.parse("nobody")


def test_governance(rent, cast):
    admin = rent.with_account(cast.admin)
    admin.set_fee(150)
    admin.set_timeouts(60, 60, 60)
    admin.set_min_stake("250.5")
    params = rent.parameters()
    assert (params["fee_bps"], params["start_timeout_s"], params["min_stake"]) == (150, 60, Decimal("250.5"))
    admin.pause()
    assert rent.paused()
    admin.unpause()
    assert not rent.paused()
    admin.grant_role("pauser", cast.outsider.address)
    assert rent.has_role("PAUSER_ROLE", cast.outsider.address) == {"ResourceRegistry": True, "Marketplace": True}
    with pytest.raises(errors.InvalidArgument, match="above the maximum"):
        admin.set_fee(5000)
    with pytest.raises(errors.InvalidInput, match="unknown role"):
        admin.grant_role("king", cast.outsider.address)


def test_oracle_reports(gpu, rent, cast):
    oracle = rent.with_account(cast.oracle)
    oracle.update_reputation(cast.provider.address, "0.992", 0)
    assert rent.reputation(cast.provider.address).score == 996
    oracle.apply_penalty(cast.provider.address, "downtime")
    rep = rent.reputation(cast.provider.address)
    assert (rep.score, rep.penalties, rep.uptime) == (946, 50, Decimal("0.992"))
    with pytest.raises(errors.InvalidInput, match="unknown penalty"):
        oracle.apply_penalty(cast.provider.address, "laziness")


def test_oracle_validation_reports_and_incidents(gpu, rent, cast):
    from gpurent.types import ValidationReport

    oracle = rent.with_account(cast.oracle)
    provider = cast.provider.address
    assert provider in rent.providers()
    assert rent.validation(provider).reports == 0 and rent.validation(provider).last_period is None
    oracle.submit_validation_report(provider, 5, ValidationReport(58, 60, 4, 1, 200))
    v = rent.validation(provider)
    assert (v.heartbeats_kept, v.heartbeats_expected, v.challenges_passed, v.challenges_failed, v.last_period) == (
        58, 60, 4, 1, 5)
    with pytest.raises(errors.AlreadyRecorded, match="already has a report for period 5"):
        oracle.submit_validation_report(provider, 5, ValidationReport(60, 60))
    with pytest.raises(errors.InvalidArgument, match="more heartbeats than expected"):
        oracle.submit_validation_report(provider, 6, ValidationReport(61, 60))
    incident = b"\x42" * 32
    oracle.apply_penalty(provider, "timeout", incident)
    assert rent.incident_recorded(incident)
    with pytest.raises(errors.AlreadyRecorded, match="already penalised"):
        oracle.apply_penalty(provider, "timeout", incident)
    with pytest.raises(errors.InvalidInput, match="32 bytes"):
        oracle.apply_penalty(provider, "timeout", b"short")
    with pytest.raises(errors.NotAuthorized):
        rent.with_account(cast.provider).submit_validation_report(provider, 9, ValidationReport(1, 1))


@pytest.mark.parametrize("bad", ["", "0x", "xyz", "0x" + "00" * 31, b"\x00" * 31])
def test_parse_id_rejects(bad):
    with pytest.raises(errors.InvalidInput):
        parse_id(bad, "job")


def test_calculate_score_and_burn(rent, cast, suite):
    assert rent.calculate_score("0.992", 0, "0.98", "0.01") == 989  # see README on the SPEC's 981
    holder = rent.with_account(cast.outsider)
    supply = suite.token.totalSupply()
    holder.burn("1.5")
    assert supply - suite.token.totalSupply() == 15 * 10**17
    assert holder.last_receipt.gas_used > 0


def test_terms_and_counts(gpu, rent, as_renter, cast):
    assert rent.job_terms(gpu.resource_id) == (cast.provider.address, Decimal(10))
    assert (rent.resource_count(), rent.job_count()) == (1, 0)
    as_renter.create_job(gpu.resource_id, CID, 60)
    assert rent.job_count() == 1
    rent.with_account(cast.provider).update_availability(gpu.resource_id, False)
    with pytest.raises(errors.ResourceUnavailable, match="not available for new jobs"):
        rent.job_terms(gpu.resource_id)


def test_renounce_role(rent, cast):
    admin = rent.with_account(cast.admin)
    admin.grant_role("pauser", cast.outsider.address, contract="marketplace")
    rent.with_account(cast.outsider).renounce_role("pauser", contract="marketplace")
    assert rent.has_role("pauser", cast.outsider.address)["Marketplace"] is False
