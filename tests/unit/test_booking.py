"""Where a job's booked time stands (gpurent.sdk.booking), from a job and chain time, computed as
the Marketplace does: the booked end, the time left, the cost so far and what an extension locks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpurent.sdk.booking import billed_seconds, booking, cost_units, extension_cost
from gpurent.types import Job, JobStatus
from gpurent.units import to_tokens

T0 = 1_764_000_000


def job(status: JobStatus, *, price: Decimal = Decimal(10), duration: int = 3600, start: int = 0,
        updated_at: int = T0, final_cost: Decimal = Decimal(0)) -> Job:
    return Job(job_id="0x" + "ab" * 32, user="0x" + "11" * 20, provider="0x" + "22" * 20,
               resource_id="0x" + "cd" * 32, image_cid=None, estimated_duration=duration, price_per_hour=price,
               max_cost=to_tokens(cost_units(int(price * 10**18), duration)), fee_bps=200, start_time=start,
               end_time=0, updated_at=updated_at, status=status, final_cost=final_cost, terms_version=1)


def test_a_running_job_says_its_end_time_left_and_cost_so_far():
    b = booking(job(JobStatus.RUNNING, start=T0), T0 + 2700)
    assert (b.start, b.end, b.seconds_left, b.booked_s) == (T0, T0 + 3600, 900, 3600)
    assert b.fraction_left == Decimal("0.25")
    assert (b.cost_so_far, b.max_cost, b.most_more) == (Decimal("7.5"), Decimal(10), Decimal("2.5"))
    assert not b.running_low


def test_past_its_end_a_running_job_costs_its_cap_and_has_nothing_left():
    b = booking(job(JobStatus.RUNNING, start=T0), T0 + 5000)
    assert (b.seconds_left, b.fraction_left, b.cost_so_far, b.most_more) == (0, 0, Decimal(10), 0)
    assert b.running_low


@pytest.mark.parametrize(("duration", "left", "low"), [
    (3600, 601, False),  # 16.7% and 10 min 1 s left
    (3600, 599, True),  # under 10 minutes
    (36_000, 3599, True),  # 59 min left, but under 10% of 10 h
    (36_000, 3600, False),  # exactly 10%: not under it
    (300, 299, True),  # a short job is always under 10 minutes
])
def test_running_low_under_10_percent_or_10_minutes(duration, left, low):
    b = booking(job(JobStatus.RUNNING, start=T0, duration=duration), T0 + duration - left)
    assert b.seconds_left == left and b.running_low is low


def test_the_cost_so_far_rounds_down_as_the_contract():
    """7001 base units per hour, 1500 s run: 2917.08… base units, billed 2917."""
    b = booking(job(JobStatus.RUNNING, price=to_tokens(7001), duration=2000, start=T0), T0 + 1500)
    assert b.cost_so_far == to_tokens(2917)
    assert b.most_more == to_tokens(7001 * 2000 // 3600 - 2917)


def test_before_the_start_nothing_is_billed_and_nothing_is_running_low():
    for status in (JobStatus.CREATED, JobStatus.ACCEPTED):
        b = booking(job(status), T0 + 10)
        assert (b.start, b.end, b.seconds_left, b.fraction_left) == (None, None, None, None)
        assert (b.cost_so_far, b.most_more, b.running_low) == (0, Decimal(10), False)


def test_a_disputed_job_stopped_billing_at_the_dispute():
    b = booking(job(JobStatus.DISPUTED, start=T0, updated_at=T0 + 900), T0 + 3000)
    assert (b.cost_so_far, b.most_more, b.seconds_left) == (Decimal("2.5"), 0, None)


def test_an_ended_job_costs_its_final_cost():
    b = booking(job(JobStatus.COMPLETED, start=T0, final_cost=Decimal("7.35")), T0 + 99_999)
    assert (b.cost_so_far, b.most_more, b.running_low) == (Decimal("7.35"), 0, False)


def test_an_extension_locks_what_the_longer_booking_adds():
    assert extension_cost(job(JobStatus.RUNNING), 1800) == 5 * 10**18
    # 7001 base units/h: 1000 s lock 1944; 1000 s more lock 1945 (3889 in all), one above 1000 s alone
    odd = job(JobStatus.CREATED, price=to_tokens(7001), duration=1000)
    assert odd.max_cost == to_tokens(1944)
    assert extension_cost(odd, 1000) == 1945 == cost_units(7001, 2000) - cost_units(7001, 1000)
    assert cost_units(7001, 1000) == 1944


@pytest.mark.parametrize("price", [10 * 10**18, 3 * 10**18 + 7, 3600, 10**6 * 10**18 + 1])
def test_billed_seconds_are_the_fewest_that_bill_the_cost(price):
    for seconds in (0, 1, 59, 900, 3599, 3600, 5399):
        assert billed_seconds(price, cost_units(price, seconds), 5400) == seconds
    assert billed_seconds(price, cost_units(price, 5400), 5400) == 5400


def test_billed_seconds_say_none_for_a_cost_no_count_of_seconds_bills():
    price = 10 * 10**18
    assert billed_seconds(price, cost_units(price, 900) + 1, 5400) is None  # between two seconds' costs
    assert billed_seconds(price, cost_units(price, 5401), 5400) is None  # past the booking
    assert billed_seconds(0, 5, 60) is None and billed_seconds(0, 0, 60) == 0
    assert billed_seconds(1, 0, 60) == 0  # a price under 3600 base units an hour: seconds cost nothing
