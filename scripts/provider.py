"""`ape run provider`: the provider agent as an Ape script (same as `gpurent-provider run`).

    ape run provider --network http://127.0.0.1:8545 --account 3 [--config provider.toml]
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from gpurent.sdk import Gpurent, resolve_account


@click.command(cls=ConnectedProviderCommand, short_help="Run the gpurent provider agent")
@click.option("--account", "account_ref", required=True, help="The provider's Ape account alias (or test index)")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="provider.toml (default: state folder)")
def cli(ecosystem, network, provider, account_ref, config_path):
    from gpurent.agent.daemon import build_agent, run_forever

    gp = Gpurent.connect(account=resolve_account(account_ref))
    run_forever(build_agent(gp, config_path=config_path))
