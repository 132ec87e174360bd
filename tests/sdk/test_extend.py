"""Gpurent.extend_job against a real Anvil: the permit and the approve paths, the job it returns,
and the refusals made before anything is signed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpurent import errors
from gpurent.types import JobStatus

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.mark.parametrize("use_permit", [True, False])
def test_extend_job_locks_the_extra_cost_and_returns_the_longer_job(gpu, as_renter, as_provider, use_permit):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.accept_and_start_job(job.job_id)
    before = as_renter.balance()
    tx = as_renter.extend_job(job.job_id, 1800, use_permit=use_permit)
    extended = tx.value
    assert (extended.estimated_duration, extended.max_cost, extended.status) == (5400, Decimal(15), JobStatus.RUNNING)
    assert extended.image_cid == CID and tx.gas_used > 0
    assert before - as_renter.balance() == Decimal(5)
    assert as_renter.escrow(job.job_id).locked == Decimal(15)


def test_extend_job_refuses_before_signing(gpu, as_renter, as_provider, gp, cast, chain):
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    nonce = chain.provider.get_nonce(cast.renter.address)
    for bad in (0, -5, True, 1.5, "60"):
        with pytest.raises(errors.InvalidInput, match="a whole number of seconds above 0"):
            as_renter.extend_job(job.job_id, bad)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument, match="it can be extended by 1 s to"):
        as_renter.extend_job(job.job_id, 90 * 86400)
    with pytest.raises(errors.NotAuthorized, match="may not extend job"):
        gp.with_account(cast.outsider).extend_job(job.job_id, 60)
    assert chain.provider.get_nonce(cast.renter.address) == nonce
    start = as_provider.accept_and_start_job(job.job_id).timestamp
    chain.pending_timestamp = start + 3600
    with pytest.raises(errors.DeadlinePassed, match="its booked time ended at timestamp"):
        as_renter.extend_job(job.job_id, 60)
    as_renter.complete_job(job.job_id)
    with pytest.raises(errors.InvalidJobState, match="it is Completed"):
        as_renter.extend_job(job.job_id, 60)
