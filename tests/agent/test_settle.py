"""The agent's periodic settlement on its own (no chain): when it is due, and that no failure
of a partial release ever reaches the job's flow."""

from __future__ import annotations

import logging
import threading

import pytest

from gpurent.agent.settle import Settler
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
