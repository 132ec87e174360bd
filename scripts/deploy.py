"""`ape run deploy`: deploy the whole suite, wire roles and parameters, write the manifest.

Running it again against the same chain is a no-op (the manifest's contracts still have code)
unless --redeploy is given. On a local network the first test account deploys by default.
"""

from __future__ import annotations

from dataclasses import asdict

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand

from gpurent.sdk import resolve_account
from gpurent.deployment import DeploymentParams, deploy_suite
from gpurent.local.devnet import on_dev_chain
from gpurent.errors import GpurentError
from gpurent.manifest import CONTRACTS, Manifest, load_manifest, node_chain_id, save_manifest
from gpurent.units import to_base_units


def _deployed(manifest: Manifest) -> bool:
    return all(chain.provider.get_code(manifest.contracts[name]) for name in CONTRACTS)


@click.command(cls=ConnectedProviderCommand, short_help="Deploy the gpurent contracts")
@click.option("--account", "account_ref", help="Ape account alias (default on local chains: test account 0)")
@click.option("--oracle", help="Address given the oracle role (default: the deployer)")
@click.option("--treasury", help="Address platform fees go to (default: the deployer)")
@click.option("--fee-bps", type=click.IntRange(0, 1000), default=200, show_default=True)
@click.option("--min-stake", default="100", show_default=True, help="Tokens a provider must stake")
@click.option("--timelock-delay", type=click.IntRange(0, 30 * 24 * 3600), default=None,
              help="Seconds governance changes wait on the timelock (default: 2 days; 0 on local dev chains)")
@click.option("--report-period", type=click.IntRange(1, 30 * 24 * 3600), default=3600, show_default=True,
              help="The oracle's report period in seconds (fixed on chain; the oracle's config must match)")
@click.option("--redeploy", is_flag=True, help="Deploy again even if this chain has a deployment")
def cli(ecosystem, network, provider, account_ref, oracle, treasury, fee_bps, min_stake, timelock_delay,
        report_period, redeploy):
    if account_ref is None and not on_dev_chain():
        raise click.UsageError("pass --account ALIAS: the deployer of a non-local chain must be chosen")
    try:
        deployer = resolve_account(account_ref if account_ref is not None else 0)
    except GpurentError as err:
        raise click.UsageError(str(err)) from err
    chain_id = node_chain_id()
    existing = load_manifest(chain_id)
    if existing and not redeploy and _deployed(existing):
        click.echo(f"Already deployed on chain {chain_id} (Marketplace {existing.contracts['Marketplace']});"
                   " pass --redeploy to deploy again.")
        return
    try:
        stake = to_base_units(min_stake)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--min-stake") from err
    if timelock_delay is None:
        timelock_delay = 0 if on_dev_chain() else DeploymentParams.timelock_delay
    params = DeploymentParams(fee_bps=fee_bps, min_stake=stake, timelock_delay=timelock_delay,
                              report_period=report_period)
    block = chain.blocks.height + 1
    suite = deploy_suite(
        project,
        deployer,
        oracle=oracle or deployer.address,
        treasury=treasury or deployer.address,
        params=params,
    )
    manifest = Manifest(
        chain_id=chain_id,
        block=block,
        deployer=deployer.address,
        contracts={name: c.address for name, c in suite.as_dict().items()},
        parameters=asdict(params),
    )
    path = save_manifest(manifest)
    click.echo(f"Deployed on chain {chain_id}; manifest written to {path}")
