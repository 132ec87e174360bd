"""`ape run oracle`: the oracle as an Ape script (same as `gpurent-oracle run`).

    ape run oracle --network http://127.0.0.1:8545 --account 1 [--config oracle.toml]
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from gpurent.sdk import Gpurent, resolve_account


@click.command(cls=ConnectedProviderCommand, short_help="Run the gpurent oracle")
@click.option("--account", "account_ref", required=True, help="An Ape account alias (or test index) with ORACLE_ROLE")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="oracle.toml (default: state folder)")
def cli(ecosystem, network, provider, account_ref, config_path):
    from gpurent.oracle.daemon import build_oracle, run_forever

    gp = Gpurent.connect(account=resolve_account(account_ref))
    run_forever(build_oracle(gp, config_path=config_path))
