"""``gpurent-oracle``: run the oracle, see what it has counted, write a starter config."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gpurent.command import App, config_option, daemon_views, run_command, service_group, write_starter
from gpurent.oracle.config import OracleConfig, default_path, load_config

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

main = service_group("The gpurent oracle: heartbeats, data-possession challenges, reports and disputes.")


def _run(gp: Gpurent, config: OracleConfig, max_failures: int | None) -> None:
    from gpurent.oracle.daemon import run_oracle

    run_oracle(gp, config, max_failures=max_failures)


run_command(main, "oracle.toml", "Watches providers and settles disputes until SIGTERM (needs ORACLE_ROLE).",
            load_config, _run)


@main.command("status")
@config_option("oracle.toml")
@click.pass_obj
def status(app: App, config_path: Path | None) -> None:
    """What the running oracle has counted, per provider."""
    health, providers = daemon_views(load_config(config_path).url, "oracle", "gpurent-oracle", "health",
                                     "providers")
    if app.output.as_json:
        app.output.data({"health": health, "providers": providers})
        return
    app.output.data(health, title="Oracle")
    if providers:
        now = time.time()
        app.output.data([{
            "provider": f"{p[:8]}…{p[-4:]}", "kept": f"{row['kept']}/{row['expected']}", "streak": row["streak"],
            "challenges": f"{row['challenges_passed']} ok, {row['challenges_failed']} failed",
            "reported": row["reported_period"],
            "heartbeat": f"{now - row['last_heartbeat']:.1f} s ago" if row["last_heartbeat"] else "never",
        } for p, row in providers.items()], title="Providers")


@main.command("init")
@click.option("--force", is_flag=True)
@click.pass_obj
def init(app: App, force: bool) -> None:
    """Writes a starter oracle.toml in the state folder."""
    from gpurent.oracle.config import render

    write_starter(app, default_path(), render(), force)
