"""Adversary simulator: every single-adversary strategy against the real contracts on Anvil,
with honest counterparts, many seeds each; the honest party's worst loss against the bound.

Run as ``.venv/bin/python bench/adversary.py`` from the project root (``make bench-adversary``
does). Deploys the suite on an Anvil that Ape starts (no timelock delay, so governance calls go
through the timelock at once), then plays each strategy of :mod:`sim.strategies` on ``--seeds``
seeds (seeded job sizes, prices, durations and timing of the adversary's move), each run from
the same chain snapshot. The honest oracle rules disputes with
:func:`gpurent.oracle.evidence.decide` on the evidence it would have observed; the simulator
keeps the ground truth (the seconds each container really ran) and checks each bound in base
units, exactly.

Prints a table (strategy, party, runs, worst loss of the honest party in tokens, the bound,
held), the runs that broke a bound (reproduce one with ``--strategy NAME --seed N``), then as
its last line one JSON object: ``{"strategies", "runs", "violations", "rows": [{"strategy",
"party", "runs", "worst_loss", "bound", "held", ...}]}``. Exit status 1 when a core strategy
(not a probe) broke a bound.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the sim package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per strategy")
    parser.add_argument("--seed", type=int, action="append", help="play only these seeds (repeatable)")
    parser.add_argument("--strategy", action="append", help="play only these strategies (repeatable)")
    parser.add_argument("--no-probes", action="store_true", help="skip the probe strategies")
    parser.add_argument("--list", action="store_true", help="list the strategies and exit")
    parser.add_argument("--verbose", action="store_true", help="print every run's checks and notes")
    args = parser.parse_args()

    from sim.strategies import all_strategies

    if args.list:
        for s in all_strategies():
            print(f"{s.name:32} {s.party:9} {'probe ' if s.probe else ''}{s.bound}")
        return 0

    from ape import accounts, chain, networks, project
    from ape.logging import logger
    from rich.console import Console

    logger.set_level("ERROR")  # Ape logs to stdout; the last line must be the JSON object

    from gpurent.deployment import DeploymentParams, deploy_suite
    from sim import World, run_all

    console = Console(width=200, stderr=False)
    with networks.parse_network_choice("ethereum:local:foundry"):
        test_accounts = accounts.test_accounts
        admin, oracle, treasury = test_accounts[0], test_accounts[1], test_accounts[2]
        suite = deploy_suite(project, admin, oracle=oracle.address, treasury=treasury.address,
                             params=DeploymentParams(timelock_delay=0))
        world = World.connect(chain.provider.web3, suite, [test_accounts[i] for i in range(10)])
        world.setup()
        summary = run_all(world, seeds=args.seed or args.seeds, names=args.strategy, probes=not args.no_probes,
                          progress=(lambda run: console.print(run.describe(), highlight=False, markup=False))
                          if args.verbose else None)
    summary.print_table(console)
    print(summary.json_line())
    core_broken = sum(r.violations for r in summary.rows if not r.strategy.probe)
    return 1 if core_broken else 0


if __name__ == "__main__":
    sys.exit(main())
