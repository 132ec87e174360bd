"""The adversary simulator's short run: every strategy on a few seeds against the session's
deployment, every bound must hold; and the simulator must see a bound break when the oracle's
rule is broken, so this cannot pass vacuously. The full run is ``make bench-adversary``."""

from __future__ import annotations

import pytest

from gpurent.types import DisputeOutcome
from sim import World, run_all
from sim.strategies import all_strategies

SEEDS = [0, 1, 2]


@pytest.fixture
def world(suite, accounts, chain):
    """The simulator over the session's suite; its base snapshot is taken inside the test's
    own isolation, so every run's revert stays within the test."""
    w = World.connect(chain.provider.web3, suite, list(accounts[:10]))
    w.setup()
    return w


def report(summary) -> str:
    return "\n".join(run.describe() for run in summary.failures())


def test_every_strategy_keeps_its_bound(world):
    core = [s for s in all_strategies() if not s.probe]
    assert len(core) >= 15
    summary = run_all(world, seeds=SEEDS, names=[s.name for s in core])
    assert summary.runs == len(core) * len(SEEDS)
    assert summary.violations == 0, report(summary)
    rows = summary.as_json()["rows"]
    assert {r["party"] for r in rows} == {"renter", "provider", "oracle", "admin"}
    assert all(r["held"] for r in rows)


def test_probes_run_to_the_end(world):
    """Probes measure attacks beyond the stated assumptions (their breaks are findings, in the
    benchmark's table); here they must at least play without a broken run."""
    names = [s.name for s in all_strategies() if s.probe]
    summary = run_all(world, seeds=SEEDS[:2], names=names)
    assert not [r for r in summary.failures() if r.error], report(summary)
    # a provider that completes a job it never ran before the renter notices is paid for it
    assert summary.row("provider.fake-then-complete").violations == 2


def always(outcome: DisputeOutcome):
    return lambda evidence, miss_limit: (outcome, f"broken rule: always {outcome.name}")


@pytest.mark.parametrize(("outcome", "names"), [
    (DisputeOutcome.USER_FAULT, ["provider.fake-completion", "provider.go-silent"]),
    (DisputeOutcome.PROVIDER_FAULT, ["renter.dispute-last-second", "renter.grief-disputes"]),
    (DisputeOutcome.SPLIT, ["provider.fake-completion", "renter.grief-disputes"]),
])
def test_a_broken_rule_is_caught(world, outcome, names):
    summary = run_all(world, seeds=SEEDS[:2], names=names, rule=always(outcome))
    for name in names:
        row = summary.row(name)
        assert row.violations == len(row.runs), f"{name} under a broken rule:\n{report(summary)}"
        assert not [r for r in row.runs if r.error], report(summary)
    assert summary.as_json()["violations"] == summary.runs


def test_the_bounds_are_tight(world, monkeypatch):
    """One base unit or one point less in a bound and it breaks: the simulator measures the
    worst case each bound allows, not a comfortable margin."""
    import sim.agents
    import sim.strategies.oracle

    fair_cost = sim.agents.Job.fair_cost
    monkeypatch.setattr(sim.agents.Job, "fair_cost", lambda self: max(0, fair_cost(self) - 1))
    monkeypatch.setattr(sim.strategies.oracle, "MAX_POINTS", 199)
    names = ["provider.never-complete", "oracle.max-penalties"]
    summary = run_all(world, seeds=SEEDS[:2], names=names)
    for name in names:
        assert summary.row(name).violations == 2, report(summary)
