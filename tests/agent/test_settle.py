"""The agent's periodic settlement on its own (no chain): when it is due, and that no failure
of a partial release ever reaches the job's flow."""

from __future__ import annotations

import logging
import threading

import pytest

from gpurent.agent.settle import Settler, end_time
from gpurent.errors import ContractRevert, InvalidArgument, InvalidJobState, ServiceUnavailable

JOB = "0x" + "ab" * 32


class FakeRent:
    def __init__(self):
        self.calls: list[str] = []
        self.fail: Exception | None = None

    def partial_release(self, job_id: str) -> None:
        self.calls.append(job_id)
        if self.fail is not None:
            raise self.fail


@pytest.fixture
def clock():
    now = [1000.0]
    return now


def settler(gp: FakeRent, now: list[float], interval: float = 10) -> Settler:
    return Settler(gp, interval, lambda: now[0], threading.RLock())


def test_a_release_every_interval_from_the_start(clock):
    gp = FakeRent()
    s = settler(gp, clock)
    assert not s.tick(JOB, None)  # not started on chain yet
    assert not s.tick(JOB, 995)  # 5 s in
    clock[0] = 1005
    assert s.tick(JOB, 995) and gp.calls == [JOB]  # 10 s in
    clock[0] = 1014
    assert not s.tick(JOB, 995)  # 9 s after the last one
    clock[0] = 1015
    assert s.tick(JOB, 995) and len(gp.calls) == 2
    s.forget(JOB)
    assert s.tick(JOB, 995)  # a job seen afresh (after a restart) settles at once


@pytest.mark.parametrize("error, logged", [
    (InvalidArgument("nothing", name="MarketplaceNothingToRelease"), False),
    (InvalidJobState("disputed", name="MarketplaceInvalidJobState"), False),
    (ContractRevert("odd", name="EnforcedPause"), True),
    (ServiceUnavailable("node down"), True),
    (ConnectionError("reset by peer"), True),
    (RuntimeError(""), True),
])
def test_failures_never_reach_the_job_and_are_retried_next_interval(clock, caplog, error, logged):
    gp = FakeRent()
    gp.fail = error
    s = settler(gp, clock)
    with caplog.at_level(logging.DEBUG, logger="gpurent.provider"):
        assert s.tick(JOB, 980) is False  # no exception
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert bool(warnings) is logged
    if logged:
        assert "retrying in 10 s" in warnings[0].getMessage()
    assert not s.tick(JOB, 980)  # not again at once...
    clock[0] += 10
    gp.fail = None
    assert s.tick(JOB, 980) and len(gp.calls) == 2  # ...but at the next interval


# ------------------------------------------------------------------ settling at the container's end


@pytest.mark.parametrize("finished, chain_now, start, host_now, expected", [
    (1000.0, 5000, 4000, 1030.0, 4970),  # ended 30 s ago on the host: 30 s before chain time now
    (1000.0, 5000, 4000, 1030.9, 4970),  # a fraction of a second goes to the provider
    (1000.0, 5000, 4990, 1030.0, 4990),  # "before its start" (clocks apart): at the start
    (1100.0, 5000, 4000, 1030.0, 5000),  # "in the future" (host clock behind): now
    (None, 5000, 4000, 1030.0, None),  # no end recorded
    (1000.0, 5000, 0, 1030.0, None),  # no start known
])
def test_end_time_is_placed_by_its_age_within_the_contracts_bounds(finished, chain_now, start, host_now, expected):
    assert end_time(finished, chain_now, start, host_now) == expected


class FakeMarket(FakeRent):
    def __init__(self, at_fails: Exception | None = None):
        super().__init__()
        self.at_fails = at_fails
        self.completed: list[tuple[str, int | None]] = []

    def complete_job_at(self, job_id: str, ended_at: int) -> None:
        if self.at_fails is not None:
            raise self.at_fails
        self.completed.append((job_id, ended_at))

    def complete_job(self, job_id: str) -> None:
        self.completed.append((job_id, None))


def test_complete_settles_at_the_recorded_end_or_now(clock, monkeypatch):
    monkeypatch.setattr("gpurent.agent.settle.time.time", lambda: 2000.0)
    gp = FakeMarket()
    s = settler(gp, clock)  # chain time 1000
    assert s.complete(JOB, 1990.0, 900) == 990 and gp.completed == [(JOB, 990)]
    assert s.complete(JOB, None, 900) is None and gp.completed[-1] == (JOB, None)  # no end recorded: now


def test_complete_falls_back_to_now_when_the_block_is_earlier_than_the_clock(clock):
    gp = FakeMarket(at_fails=InvalidArgument("future", name="MarketplaceInvalidEndTime"))
    assert settler(gp, clock).complete(JOB, 0.0, 900) is None and gp.completed == [(JOB, None)]
    gp = FakeMarket(at_fails=InvalidJobState("disputed", name="MarketplaceInvalidJobState"))
    with pytest.raises(InvalidJobState):  # anything else is the caller's to see (and retry)
        settler(gp, clock).complete(JOB, 0.0, 900)
    assert gp.completed == []
