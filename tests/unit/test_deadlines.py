"""What a renter can do next and when (gpurent.sdk.deadlines), from a job, its terms and a time."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from gpurent.sdk.deadlines import JobTerms, moment, renter_steps, span
from gpurent.types import Job, JobStatus

TERMS = JobTerms(accept_timeout=86_400, start_timeout=3600, completion_grace=900, dispute_timeout=3 * 86_400)
T0 = int(datetime(2026, 12, 1, 18, 50, tzinfo=timezone.utc).timestamp())


def job(status: JobStatus, *, updated_at: int = T0, start: int = 0, duration: int = 7200, end: int = 0) -> Job:
    return Job(job_id="0x" + "ab" * 32, user="0x" + "11" * 20, provider="0x" + "22" * 20,
               resource_id="0x" + "cd" * 32, image_cid=None, estimated_duration=duration,
               price_per_hour=Decimal(10), max_cost=Decimal(20), fee_bps=200, start_time=start, end_time=end,
               updated_at=updated_at, status=status, final_cost=Decimal(0), terms_version=1)


def test_an_accepted_job_says_when_the_renter_can_cancel():
    steps = renter_steps(job(JobStatus.ACCEPTED), TERMS, T0 + 8 * 60)
    cancel = steps.window("cancel")
    assert cancel is not None and cancel.opens_at == T0 + 3600 and not cancel.is_open(T0 + 8 * 60)
    assert steps.text() == ("the provider has not started it; you can cancel from 19:50 UTC (in 52 min) "
                            "(full refund)")
    later = renter_steps(job(JobStatus.ACCEPTED), TERMS, T0 + 3600)
    assert later.window("cancel").is_open(T0 + 3600)  # the contract's `<`: open at the second itself
    assert later.text() == "the provider has not started it; you can cancel now (full refund)"


def test_a_created_job_can_be_cancelled_now_and_says_when_it_expires():
    steps = renter_steps(job(JobStatus.CREATED), TERMS, T0)
    assert steps.window("cancel").is_open(T0)
    assert steps.text() == ("waiting for the provider to accept it (until 2026-12-02 18:50 UTC (in 24 h)); "
                            "you can cancel now (full refund)")


def test_a_running_job_says_until_when_it_can_be_disputed():
    start = T0
    steps = renter_steps(job(JobStatus.RUNNING, start=start), TERMS, start + 600)
    assert steps.window("dispute").closes_at == start + 7200 + 900
    assert steps.window("settle") is None  # within its booked time only the parties settle
    assert steps.text() == ("running, billed by the second until it ends (at most until 20:50 UTC (in 1 h 50 min)); "
                            "you can complete it now (billing stops); you can dispute it until 21:05 UTC "
                            "(in 2 h 5 min)")


def test_a_running_job_past_its_booked_time():
    start = T0
    now = start + 7200 + 1000  # past the grace too
    steps = renter_steps(job(JobStatus.RUNNING, start=start), TERMS, now)
    assert not steps.window("dispute").is_open(now)
    assert steps.window("settle").is_open(now) and steps.window("settle").who == "anyone"
    assert "you can dispute it no longer" in steps.text()
    assert "anyone can settle it at its booked time now" in steps.text()


def test_a_disputed_job_says_when_anyone_can_split_it():
    steps = renter_steps(job(JobStatus.DISPUTED, updated_at=T0), TERMS, T0 + 60)
    assert steps.window("split").opens_at == T0 + 3 * 86_400
    assert "anyone can settle it as a split from 2026-12-04 18:50 UTC (in 2 days)" in steps.text()


@pytest.mark.parametrize("status", [JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.RESOLVED])
def test_an_ended_job_offers_nothing(status):
    steps = renter_steps(job(status, updated_at=T0, end=T0), TERMS, T0 + 120)
    assert steps.windows == () and steps.text() == f"{status.label.lower()} at 18:50 UTC (2 min ago)"


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"),
                                           (3600, "1 h"), (3660, "1 h 1 min"), (2 * 86_400, "2 days")])
def test_spans_read_like_a_person_says_them(seconds, text):
    assert span(seconds) == text


def test_moments_are_utc_with_how_far_off():
    assert moment(T0, T0) == "18:50 UTC (now)"
    assert moment(T0 + 45, T0) == "18:50 UTC (in 45 s)"
    assert moment(T0 - 3 * 86_400, T0) == "2026-11-28 18:50 UTC (3 days ago)"
