"""Where a job's booked time stands, from the job and chain time alone (no chain access).

A job is booked for ``estimated_duration`` seconds at its own price, which the renter may extend
(``extendJob``) before the booked end. :func:`booking` says, at chain time ``now``, when the
booked time ends, how much of it is left, what the job has cost so far (what settling it now
would pay the provider and the platform together, computed in base units exactly as the
Marketplace does) and the most it can still cost; :func:`extension_cost` what booking more
locks. The CLI's ``jobs show`` and ``jobs extend`` use it:

    b = booking(job, gp.chain_time())
    b.seconds_left, b.cost_so_far, b.most_more  # 1740, Decimal("4.9"), Decimal("5.1")
    if b.running_low: ...                       # under 10% or 10 minutes of it left
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gpurent.types import Job, JobStatus
from gpurent.units import to_base_units, to_tokens

HOUR_S = 3600
# a running job is low on time below either of these (the CLI warns, suggesting an extension)
LOW_FRACTION = Decimal("0.1")
LOW_SECONDS = 600
# the states whose booked time can still be billed, and extended (``extendJob``)
OPEN_BOOKING = (JobStatus.CREATED, JobStatus.ACCEPTED, JobStatus.RUNNING)


def cost_units(price_units: int, seconds: int) -> int:
    """What ``seconds`` of a job at ``price_units`` base units per hour cost, in base units:
    ``price * seconds / 3600`` rounded down, the Marketplace's formula for a job's maxCost and
    for what it is billed."""
    return price_units * seconds // HOUR_S


def billed_seconds(price_units: int, cost: int, booked_s: int) -> int | None:
    """The fewest seconds (at most ``booked_s``) that :func:`cost_units` bills ``cost`` for at
    ``price_units``: the seconds a settled job was paid for (unique whenever the price is at
    least 3600 base units an hour). None when no count of seconds bills exactly ``cost``."""
    if cost == 0:
        return 0
    if price_units <= 0:
        return None
    seconds = min(booked_s, -(-cost * HOUR_S // price_units))  # ceil(cost * 3600 / price)
    return seconds if cost_units(price_units, seconds) == cost else None


def extension_cost(job: Job, extra_s: int) -> int:
    """Base units ``extendJob(job, extra_s)`` locks: the maxCost of the longer booking less the
    maxCost of the current one (so the job holds what it would have held had it been booked
    that long from the start; this can be one base unit above ``cost_units(price, extra_s)``)."""
    price = to_base_units(job.price_per_hour)
    return cost_units(price, job.estimated_duration + extra_s) - cost_units(price, job.estimated_duration)


@dataclass(frozen=True)
class Booking:
    """A job's booked time at chain time ``now``. Times are chain time (Unix seconds); amounts
    are tokens, exact."""

    status: JobStatus
    now: int
    booked_s: int  # seconds booked, extensions included
    start: int | None  # when billing started (None before the job runs)
    end: int | None  # the booked end, start + booked_s (None before the job runs)
    seconds_left: int | None  # booked seconds not yet run while it runs (0 once past), else None
    fraction_left: Decimal | None  # seconds_left / booked_s while it runs, else None
    cost_so_far: Decimal  # what settling now pays, provider and fee together (the final cost once ended)
    max_cost: Decimal  # locked in escrow: the most the job can cost
    most_more: Decimal  # the most it can still cost: max_cost - cost_so_far until it runs out or
    # ends; 0 once ended or disputed (billing stopped)

    @property
    def running(self) -> bool:
        return self.status == JobStatus.RUNNING

    @property
    def running_low(self) -> bool:
        """A running job with less than 10% or less than 10 minutes of its booked time left
        (its provider stops it at the booked end)."""
        return (self.running and self.seconds_left is not None and self.fraction_left is not None
                and (self.seconds_left < LOW_SECONDS or self.fraction_left < LOW_FRACTION))


def booking(job: Job, now: int) -> Booking:
    """Where ``job``'s booked time stands at chain time ``now``."""
    price = to_base_units(job.price_per_hour)
    status, booked = job.status, job.estimated_duration
    start = job.start_time or None
    end = start + booked if start is not None else None
    if status == JobStatus.RUNNING and start is not None:
        cost = to_tokens(cost_units(price, min(max(now - start, 0), booked)))
    elif status == JobStatus.DISPUTED and start is not None:  # billing stopped at the dispute
        cost = to_tokens(cost_units(price, min(max(job.updated_at - start, 0), booked)))
    else:  # not started (nothing), or ended (its final cost)
        cost = job.final_cost
    left = fraction = None
    if status == JobStatus.RUNNING and end is not None:
        left = max(end - now, 0)
        fraction = Decimal(left) / Decimal(booked) if booked else Decimal(0)
    return Booking(status=status, now=now, booked_s=booked, start=start, end=end, seconds_left=left,
                   fraction_left=fraction, cost_so_far=cost, max_cost=job.max_cost,
                   most_more=job.max_cost - cost if status in OPEN_BOOKING else Decimal(0))
