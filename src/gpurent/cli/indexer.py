"""`gpurent indexer`: gpurent's own indexer and GraphQL API, for the devnet stack."""

from __future__ import annotations

import click

from gpurent.command import App
from gpurent.cli.common import pass_app
from gpurent.indexer import service


@click.group("indexer")
def group() -> None:
    """Run the indexer (events into SQLite or PostgreSQL) and its GraphQL API."""


@group.command("up")
@click.option("--db", help="sqlite:///PATH (default: the state folder) or postgresql://USER@HOST:PORT/DB")
@click.option("--port", type=click.IntRange(1, 65535), default=service.DEFAULT_PORT, show_default=True,
              help="GraphQL port (HTTP and WebSocket, loopback)")
@pass_app
def up(app: App, db: str | None, port: int) -> None:
    """Starts `gpurent-indexer run` in the background against the connected chain."""
    gp = app.sdk()
    with app.output.pending("Starting the indexer…"):
        process = service.start(gp.rpc_url, db, port)
    app.output.info(f"[green]✓[/] indexer up; GraphQL at {process.graphql_url}")
    app.output.data(_status(gp))


@group.command("down")
@pass_app
def down(app: App) -> None:
    """Stops gpurent's indexer (its database stays; the next start resumes)."""
    stopped = service.stop()
    app.output.info("indexer stopped" if stopped else "no indexer was running")
    app.output.data({"running": False})


def _status(gp: object | None) -> dict[str, object]:
    url = service.graphql_url()
    if url is None:
        return {"running": False, "reason": "no indexer: start one with `gpurent indexer up`"}
    try:
        data = service.query(url, "{ indexer { block events rows } }")["indexer"]
    except Exception as err:  # noqa: BLE001 - reported as the status
        return {"running": False, "graphql": url, "reason": str(err).splitlines()[0]}
    process = service.running()
    status: dict[str, object] = {"running": True, "graphql": url, "indexed_to": data["block"], "events": data["events"],
                                 "rows": data["rows"]}
    if gp is not None:
        head = gp.head_block()  # type: ignore[attr-defined]
        status.update({"head": head, "lag_blocks": head - data["block"]})
    if process is not None:
        status.update({"pid": process.pid, "db": process.db})
    return status


@group.command("status")
@pass_app
def status(app: App) -> None:
    """Whether the indexer answers, how far it got, its lag behind the head."""
    try:
        gp = app.sdk()
    except Exception:  # noqa: BLE001 - without a chain, the indexer's own view still helps
        gp = None
    app.output.data(_status(gp), title="Indexer")
