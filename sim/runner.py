"""Runs strategies over seeds, aggregates rows, prints the table and the JSON summary."""

from __future__ import annotations

import hashlib
import json
import random
import time
import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gpurent.units import TOKEN
from sim.agents import Play, Verdict
from sim.oracle import HonestOracle, Rule, real_rule
from sim.strategies import Strategy, all_strategies
from sim.world import SimError, World


@dataclass
class Run:
    strategy: str
    seed: int
    verdict: Verdict
    error: str | None = None

    @property
    def held(self) -> bool:
        return self.error is None and self.verdict.held

    def describe(self) -> str:
        v = self.verdict
        lines = [f"{self.strategy} seed {self.seed}: {'held' if self.held else 'BROKE'}, loss "
                 f"{fmt_tokens(v.loss or 0)}" + (f", error {self.error}" if self.error else "")]
        lines += [f"  [{'ok' if ok else 'FAIL'}] {name}" + (f" ({detail})" if detail else "")
                  for name, ok, detail in v.checks]
        lines += [f"  note: {n}" for n in v.notes]
        return "\n".join(lines)


@dataclass
class Row:
    strategy: Strategy
    runs: list[Run] = field(default_factory=list)

    @property
    def worst_loss(self) -> int:
        losses = [r.verdict.loss for r in self.runs if r.verdict.loss is not None]
        return max(losses) if losses else 0

    @property
    def violations(self) -> int:
        return sum(not r.held for r in self.runs)

    @property
    def held(self) -> bool:
        return self.violations == 0

    def as_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy.name, "party": self.strategy.party, "runs": len(self.runs),
                "worst_loss": float(tokens(self.worst_loss)), "bound": self.strategy.bound, "held": self.held,
                "worst_loss_base": self.worst_loss, "violations": self.violations, "probe": self.strategy.probe}


@dataclass
class Summary:
    rows: list[Row]
    seconds: float = 0.0

    @property
    def runs(self) -> int:
        return sum(len(r.runs) for r in self.rows)

    @property
    def violations(self) -> int:
        return sum(r.violations for r in self.rows)

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.strategy.name == name)

    def failures(self) -> list[Run]:
        return [run for row in self.rows for run in row.runs if not run.held]

    def as_json(self) -> dict[str, Any]:
        # probes measure what the README states gpurent cannot prove (that a container ran):
        # their breaks are counted in `violations` and, apart, in `probe_violations`
        probes = sum(r.violations for r in self.rows if r.strategy.probe)
        return {"strategies": len(self.rows), "runs": self.runs, "violations": self.violations,
                "probe_violations": probes, "rows": [r.as_json() for r in self.rows]}

    def json_line(self) -> str:
        return json.dumps(self.as_json(), separators=(",", ":"))

    def print_table(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.table import Table

        console = console or Console(width=200)
        table = Table(title=f"adversary simulator: {len(self.rows)} strategies, {self.runs} runs, "
                            f"{self.violations} violations ({self.seconds:.0f} s)")
        for col, justify in (("strategy", "left"), ("party", "left"), ("runs", "right"),
                             ("worst loss (tokens)", "right"), ("bound", "left"), ("held", "center")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for row in self.rows:
            held = "yes" if row.held else f"[bold red]NO ({row.violations})[/]"
            name = row.strategy.name + (" (probe)" if row.strategy.probe else "")
            table.add_row(name, row.strategy.party, str(len(row.runs)), fmt_tokens(row.worst_loss),
                          row.strategy.bound, held)
        console.print(table)
        for row in self.rows:  # a few broken runs of each row, with how to replay one
            broken = [run for run in row.runs if not run.held]
            for run in broken[:3]:
                what = run.error or "; ".join(run.verdict.failures())
                console.print(f"[red]broke[/] {run.strategy} seed {run.seed}: {what}", markup=True, highlight=False,
                              soft_wrap=True)
            if broken:
                console.print(f"  ({len(broken)} of {len(row.runs)} runs broke; replay one with: python bench/"
                              f"adversary.py --strategy {row.strategy.name} --seed {broken[0].seed} --verbose)",
                              markup=False, highlight=False, soft_wrap=True)


def tokens(base: int) -> Decimal:
    return (Decimal(base) / TOKEN).quantize(Decimal("0.000001"))


def fmt_tokens(base: int) -> str:
    if base == 0:
        return "0"
    if abs(base) < 10**12:
        return f"{base} base units"
    return f"{tokens(base):f}"


def oracle_seed(name: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{name}/{seed}".encode()).digest()[:8], "big")


def play_one(world: World, strat: Strategy, seed: int, rule: Rule) -> Run:
    """One seeded run of ``strat`` from the base state."""
    world.reset()
    oracle = HonestOracle(world, oracle_seed(strat.name, seed), rule)
    play = Play(world, oracle, random.Random(f"{strat.name}/{seed}"))
    error = None
    try:
        strat.play(play)
    except SimError as err:
        error = f"unexpected revert: {err}"
    except Exception as err:  # noqa: BLE001 - a broken run is reported, not hidden
        error = f"{type(err).__name__}: {err} | {traceback.format_exc(limit=3).splitlines()[-3].strip()}"
    return Run(strat.name, seed, play.v, error)


def run_all(world: World, *, seeds: int | list[int] = 3, names: list[str] | None = None, rule: Rule | None = None,
            probes: bool = True, progress: Any = None) -> Summary:
    """Plays every strategy (or those in ``names``; probes too unless ``probes`` is False) on
    every seed; ``rule`` replaces the honest oracle's rule function (default: the project's)."""
    began = time.monotonic()
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    rule = rule or real_rule()
    rows = []
    for strat in all_strategies():
        if (names is not None and strat.name not in names) or (strat.probe and not probes and names is None):
            continue
        row = Row(strat)
        for seed in seed_list:
            row.runs.append(play_one(world, strat, seed, rule))
            if progress is not None:
                progress(row.runs[-1])
        rows.append(row)
    world.reset()
    return Summary(rows, time.monotonic() - began)
