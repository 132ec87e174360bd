"""``gpurent-indexer``: index the contracts' events into SQLite or PostgreSQL."""

from __future__ import annotations

import click

from gpurent.command import App, log_format_option, max_failures_option, service_group
from gpurent.indexer.defaults import GRAPHQL_HOST, GRAPHQL_PORT
from gpurent.runner import MAX_FAILURES


main = service_group("The gpurent indexer: the contracts' events as a queryable database.")


DB_HELP = "SQLAlchemy URL: sqlite:///PATH (default: the state folder) or postgresql://USER@HOST:PORT/DB"


@main.command("run")
@click.option("--db", "db_url", help=DB_HELP)
@click.option("--confirmations", type=click.IntRange(0), default=0, show_default=True,
              help="Blocks behind the head to treat as final")
@click.option("--batch", type=click.IntRange(1), default=2000, show_default=True, help="Blocks per first read")
@click.option("--poll", type=click.FloatRange(0.05), default=0.5, show_default=True, help="Seconds between looks")
@click.option("--rpc", "rpc_url", help="Read this JSON-RPC URL directly (no Ape connection: a lighter process)")
@click.option("--graphql", default=f"{GRAPHQL_HOST}:{GRAPHQL_PORT}", show_default=True,
              help="HOST:PORT of the GraphQL API (HTTP and WebSocket), or 'off'")
@max_failures_option(MAX_FAILURES)
@log_format_option()
@click.pass_obj
def run(app: App, db_url: str | None, confirmations: int, batch: int, poll: float, rpc_url: str | None,
        graphql: str, max_failures: int) -> None:
    """Backfills from the deployment block, then follows the head until SIGTERM; serves GraphQL."""
    from gpurent.conffile import parse_listen
    from gpurent.errors import ConfigurationError
    from gpurent.indexer.daemon import build_indexer, run_indexer

    listen = None
    if graphql != "off":
        try:
            listen = parse_listen(graphql, "--graphql")
        except ConfigurationError:
            raise click.BadParameter(f"expected HOST:PORT or 'off', got {graphql!r}", param_hint="--graphql") from None
    source = rpc_url or app.sdk()
    run_indexer(build_indexer(source, db_url, confirmations=confirmations, batch=batch), poll, listen, max_failures)


@main.command("status")
@click.option("--db", "db_url", help=DB_HELP)
@click.pass_obj
def status(app: App, db_url: str | None) -> None:
    """The index's cursor, the chain's head, the lag and the rows per table."""
    from gpurent.indexer.db import connect, migrate
    from gpurent.indexer.project import count_rows
    from gpurent.indexer.schema import cursor
    from gpurent.indexer.rpc import JsonRpc

    gp = app.sdk()
    engine = connect(db_url)
    migrate(engine)
    with engine.connect() as db:
        row = db.execute(cursor.select()).mappings().first()
        rows = count_rows(db)
    head = JsonRpc(gp.rpc_url).head()
    at = int(row["block_number"]) if row else None
    app.output.data({"database": engine.url.render_as_string(hide_password=True), "head": head, "indexed_to": at,
                     "lag_blocks": head - at if at is not None else None,
                     **{f"rows.{k}": v for k, v in rows.items() if k not in ("alembic_version",)}}, title="Indexer")
