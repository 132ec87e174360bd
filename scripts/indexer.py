"""`ape run indexer`: the indexer as an Ape script (same as `gpurent-indexer run`).

    ape run indexer --network http://127.0.0.1:8545 [--db postgresql://…] [--confirmations N]
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from gpurent.sdk import Gpurent


@click.command(cls=ConnectedProviderCommand, short_help="Run the gpurent indexer")
@click.option("--db", "db_url", help="sqlite:///PATH (default: the state folder) or postgresql://…")
@click.option("--confirmations", type=click.IntRange(0), default=0, show_default=True)
def cli(ecosystem, network, provider, db_url, confirmations):
    from gpurent.indexer.daemon import build_indexer, run_forever

    run_forever(build_indexer(Gpurent.connect(), db_url, confirmations=confirmations))
