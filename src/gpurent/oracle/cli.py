"""``gpurent-oracle``: run the oracle, see what it has counted, write a starter config."""

from __future__ import annotations

import time
from pathlib import Path

import click
import requests

from gpurent.cli.app import App, service_group
from gpurent.errors import ServiceUnavailable
from gpurent.oracle.config import default_path

STARTER = """[oracle]
listen = "127.0.0.1:7300"      # give providers this URL: [oracle] urls in their provider.toml
poll_interval = 1.0

[heartbeats]
interval = 60                  # the providers' heartbeat_interval must match
miss_limit = 3
max_skew = 30

[challenges]
interval = 600
probability = 0.5
expiry = 30
length = 1024

[reports]
period = 3600
dispute_timeout = 20
"""


main = service_group("The gpurent oracle: heartbeats, data-possession challenges, reports and disputes.")


@main.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="oracle.toml (default: state folder)")
@click.pass_obj
def run(app: App, config_path: Path | None) -> None:
    """Watches providers and settles disputes until SIGTERM (needs ORACLE_ROLE)."""
    from gpurent.oracle.config import load_config
    from gpurent.oracle.daemon import build_oracle, run_forever

    config = load_config(config_path)  # a bad config fails before any connection
    run_forever(build_oracle(app.sdk(needs_account=True), config))


@main.command("status")
@click.option("--config", "config_path", type=click.Path(path_type=Path))
@click.pass_obj
def status(app: App, config_path: Path | None) -> None:
    """What the running oracle has counted, per provider."""
    from gpurent.oracle.config import load_config

    config = load_config(config_path)
    try:
        health = requests.get(f"{config.url}/health", timeout=5).json()
        providers = requests.get(f"{config.url}/providers", timeout=5).json()
    except requests.RequestException as err:
        raise ServiceUnavailable(f"no oracle answers at {config.url}: start it with `gpurent-oracle run`") from err
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
    path = default_path()
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists (pass --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER)
    app.output.info(f"[green]✓[/] wrote {path}")
