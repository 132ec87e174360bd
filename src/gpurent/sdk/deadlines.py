"""What a job's renter can do next, and from or until when, from the job's own deadlines.

Every non-terminal job has a deadline after which one party alone can end it (see the
Marketplace's Terms): a renter whose provider has gone silent is never stuck, but has to wait for
the right moment. :func:`renter_steps` works it out from the job, its terms and chain time now,
with no chain access (the CLI's ``jobs show``, ``jobs cancel`` and the SDK use it):

    steps = renter_steps(job, terms, now)
    steps.text()  # "the provider has not started it; you can cancel from 19:42 UTC (in 52 min)"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from gpurent.types import Job, JobStatus

DAY_S = 86_400


@dataclass(frozen=True)
class JobTerms:
    """The deadlines a job keeps from its terms version, in seconds."""

    accept_timeout: int  # Created and not accepted: it expires after this
    start_timeout: int  # Accepted and not started: the renter may cancel after this
    completion_grace: int  # past the booked time: disputes close, anyone may settle
    dispute_timeout: int  # Disputed and not ruled: anyone may settle as a split after this

    @classmethod
    def from_chain(cls, raw: Any) -> JobTerms:
        return cls(int(raw.acceptTimeout), int(raw.startTimeout), int(raw.completionGrace), int(raw.disputeTimeout))


@dataclass(frozen=True)
class Window:
    """One thing the renter (or anyone) can do: ``action`` from ``opens_at`` (None: already)
    until ``closes_at`` (None: while the job stays in its state), in chain time."""

    action: str  # cancel | complete | dispute | settle | split
    opens_at: int | None = None
    closes_at: int | None = None
    who: str = "you"  # "you" (the renter) or "anyone"
    note: str = ""

    def is_open(self, now: int) -> bool:
        return (self.opens_at is None or now >= self.opens_at) and (self.closes_at is None or now <= self.closes_at)

    def text(self, now: int) -> str:
        verb = {"cancel": "cancel", "complete": "complete it", "dispute": "dispute it",
                "settle": "settle it at its booked time", "split": "settle it as a split"}[self.action]
        if self.opens_at is not None and now < self.opens_at:
            when = f"from {moment(self.opens_at, now)}"
        elif self.closes_at is not None:
            when = f"until {moment(self.closes_at, now)}" if now <= self.closes_at else "no longer"
        else:
            when = "now"
        return f"{self.who} can {verb} {when}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class NextSteps:
    """Where a job stands for its renter (``state``) at chain time ``now``, and what can be done."""

    state: str
    now: int
    windows: tuple[Window, ...] = ()

    def window(self, action: str) -> Window | None:
        return next((w for w in self.windows if w.action == action), None)

    def text(self) -> str:
        return "; ".join([self.state, *(w.text(self.now) for w in self.windows)])


def renter_steps(job: Job, terms: JobTerms, now: int) -> NextSteps:
    """What ``job``'s renter can do at chain time ``now``, given the job's ``terms``."""
    status = job.status
    if status == JobStatus.CREATED:
        expires = job.updated_at + terms.accept_timeout
        return NextSteps(f"waiting for the provider to accept it (until {moment(expires, now)})", now,
                         (Window("cancel", note="full refund"),))
    if status == JobStatus.ACCEPTED:
        return NextSteps("the provider has not started it", now,
                         (Window("cancel", opens_at=job.updated_at + terms.start_timeout, note="full refund"),))
    if status == JobStatus.RUNNING:
        booked_end = job.start_time + job.estimated_duration
        closes = booked_end + terms.completion_grace
        state = (f"running, billed by the second until it ends (at most until {moment(booked_end, now)})"
                 if now < booked_end else f"its booked time ended at {moment(booked_end, now)}")
        windows = [Window("complete", note="billing stops"), Window("dispute", closes_at=closes)]
        if now >= booked_end:
            windows.append(Window("settle", opens_at=closes, who="anyone"))
        return NextSteps(state, now, tuple(windows))
    if status == JobStatus.DISPUTED:
        return NextSteps("disputed: the oracle rules", now,
                         (Window("split", opens_at=job.updated_at + terms.dispute_timeout, who="anyone",
                                 note="if the oracle has not ruled by then"),))
    return NextSteps(f"{status.label.lower()} at {moment(job.end_time or job.updated_at, now)}", now)


def moment(at: int, now: int) -> str:
    """Chain time ``at`` for a person who reads it at ``now``: "19:42 UTC (in 52 min)", with the
    date when it is not within a day."""
    stamp = datetime.fromtimestamp(int(at), timezone.utc)
    clock = stamp.strftime("%H:%M UTC" if abs(at - now) < DAY_S else "%Y-%m-%d %H:%M UTC")
    delta = at - now
    if delta == 0:
        return f"{clock} (now)"
    return f"{clock} ({'in ' + span(delta) if delta > 0 else span(-delta) + ' ago'})"


def span(seconds: int) -> str:
    """A span the way a person says it, to the unit that matters: 45 s, 52 min, 3 h 5 min, 2 days."""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * DAY_S:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // DAY_S} days"
