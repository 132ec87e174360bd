"""`gpurent indexer`: gpurent's own indexer and GraphQL API, for the devnet stack."""

from __future__ import annotations

import click

from gpurent.cli.common import pass_app
from gpurent.cli.service import down_and_status, start_and_show
from gpurent.command import App
from gpurent.local import indexer as indexer_mod


@click.group("indexer")
def group() -> None:
    """Run the indexer (events into SQLite or PostgreSQL) and its GraphQL API."""


@group.command("up")
@click.option("--db", help="sqlite:///PATH (default: the state folder) or postgresql://USER@HOST:PORT/DB")
@click.option("--port", type=click.IntRange(1, 65535), default=indexer_mod.DEFAULT_PORT, show_default=True,
              help="GraphQL port (HTTP and WebSocket, loopback)")
@pass_app
def up(app: App, db: str | None, port: int) -> None:
    """Starts `gpurent-indexer run` in the background against the connected chain."""
    start_and_show(app, indexer_mod.LocalIndexer(app.sdk().rpc_url, db, port), "Starting the indexer…",
                   lambda process: f"indexer up; GraphQL at {process.graphql_url}")


down_and_status(group, indexer_mod.LocalIndexer, "indexer",
                "Stops gpurent's indexer (its database stays; the next start resumes).",
                "Whether the indexer answers, how far it got, its lag behind the head.", title="Indexer")
