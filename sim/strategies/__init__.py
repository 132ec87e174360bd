"""The strategies: one adversary each, against honest counterparts.

A strategy is a function ``(play) -> None`` that plays one seeded run on :class:`sim.agents.Play`
and records its checks in ``play.v``; it is registered with the party that plays it and the
bound it must keep (as the README states it). Probes (``probe=True``) are single-adversary
attacks outside the stated threat model's assumptions that the simulator plays to measure them:
they are reported in their own rows and counted like the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.agents import Play


@dataclass(frozen=True)
class Strategy:
    name: str
    party: str  # the adversary: renter, provider, oracle, admin
    bound: str  # the bound the honest party keeps
    play: Callable[[Play], None]
    probe: bool = False


STRATEGIES: list[Strategy] = []


Move = Callable[[Play], None]


def strategy(name: str, party: str, bound: str, *, probe: bool = False) -> Callable[[Move], Move]:
    """Registers a strategy (its module is imported by :func:`all_strategies`)."""

    def register(fn: Move) -> Move:
        if any(s.name == name for s in STRATEGIES):
            raise ValueError(f"strategy {name} registered twice")
        STRATEGIES.append(Strategy(name, party, bound, fn, probe))
        return fn

    return register


def all_strategies() -> list[Strategy]:
    from sim.strategies import admin, oracle, probes, provider, renter  # noqa: F401 (they register)

    return list(STRATEGIES)
