"""`ape run indexer`: the indexer as an Ape script (same as `gpurent-indexer run`).

    ape run indexer --network http://127.0.0.1:8545 [--db postgresql://…] [--confirmations N] [--max-failures N] [--log-format json]
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from gpurent.command import log_format_option, max_failures_option
from gpurent.runner import MAX_FAILURES
from gpurent.sdk import Gpurent


@click.command(cls=ConnectedProviderCommand, short_help="Run the gpurent indexer")
@click.option("--db", "db_url", help="sqlite:///PATH (default: the state folder) or postgresql://…")
@click.option("--confirmations", type=click.IntRange(0), default=0, show_default=True)
@max_failures_option(MAX_FAILURES)
@log_format_option()
def cli(ecosystem, network, provider, db_url, confirmations, max_failures):
    from gpurent.indexer.daemon import build_indexer, run_indexer

    run_indexer(build_indexer(Gpurent.connect(), db_url, confirmations=confirmations), max_failures=max_failures)
