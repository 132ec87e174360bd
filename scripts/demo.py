"""`ape run demo`: the main job on a fresh local chain, end to end at the contract level.

Deploys the suite on Anvil, registers a provider and a GPU, lets a renter create a job with a
single permit-signed transaction, has the provider accept and start it, bills 2700 s of a
one-hour booking, settles, and prints the timeline, the cost breakdown (provider, platform,
refund), the gas of each step and the provider's reputation before and after.
"""

from __future__ import annotations

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger
from rich.console import Console
from rich.table import Table

from gpurent.deployment import deploy_suite
from gpurent.permit import sign_permit
from gpurent.units import TOKEN, to_tokens

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
STATUS = ["None", "Created", "Accepted", "Running", "Completed", "Cancelled", "Disputed", "Resolved"]


@click.command(cls=ConnectedProviderCommand, short_help="Run one GPU job end to end on a local chain")
def cli(ecosystem, network, provider):
    console = Console()
    logger.set_level("WARNING")
    if not network.is_local:
        raise click.UsageError("the demo mints and time-travels: run it on a local network")
    admin, oracle, treasury, gpu_owner, renter = (accounts.test_accounts[i] for i in range(5))
    with console.status("Deploying GPUToken, ResourceRegistry, Marketplace, ReputationSystem..."):
        suite = deploy_suite(project, admin, oracle=oracle.address, treasury=treasury.address)
    token, registry, market, reputation = suite.token, suite.registry, suite.marketplace, suite.reputation
    console.print(f"[bold]Deployed[/] on chain {chain.chain_id}: marketplace {market.address}")

    token.transfer(gpu_owner, 1_000 * TOKEN, sender=admin)
    token.transfer(renter, 100 * TOKEN, sender=admin)
    token.approve(registry, registry.minStake(), sender=gpu_owner)
    registry.registerProvider("http://127.0.0.1:8765", registry.minStake(), sender=gpu_owner)
    tx = registry.registerResource("RTX4090", 16, 64, 500, 10 * TOKEN, sender=gpu_owner)
    resource_id = tx.events.filter(registry.ResourceRegistered)[0].resourceId
    console.print(f"Provider staked {to_tokens(registry.minStake())} GPU and listed an RTX4090 at 10 GPU/h")

    score_before = reputation.getScore(gpu_owner)
    balances_before = {who: token.balanceOf(who) for who in (gpu_owner, treasury, renter)}
    gas: list[tuple[str, int]] = []

    max_cost = 10 * TOKEN
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(renter, token, market.address, max_cost, deadline)
    tx = market.createJobWithPermit(resource_id, CID, 3600, max_cost, deadline, v, r, s, sender=renter)
    job_id = tx.events.filter(market.JobCreated)[0].jobId
    gas.append(("createJobWithPermit (permit + escrow lock)", tx.gas_used))
    tx = market.acceptJob(job_id, sender=gpu_owner)
    gas.append(("acceptJob", tx.gas_used))
    start = market.startJob(job_id, sender=gpu_owner)
    gas.append(("startJob (billing starts)", start.gas_used))
    chain.pending_timestamp = start.timestamp + 2700
    tx = market.completeJob(job_id, sender=gpu_owner)
    gas.append(("completeJob (3 payouts)", tx.gas_used))
    # the oracle's hourly report: uptime 99.2%, instant challenge responses (SPEC example)
    reputation.updateReputation(gpu_owner, (9920, 0, 0, 0), sender=oracle)

    job = market.getJob(job_id)
    console.print(f"\nJob [cyan]0x{job_id.hex()}[/]")
    console.print(f"{STATUS[job.status]} after {job.endTime - job.startTime} s of a 3600 s booking")
    breakdown = Table(title="Cost breakdown")
    breakdown.add_column("party")
    breakdown.add_column("GPU", justify="right")
    breakdown.add_row("locked in escrow", str(to_tokens(max_cost)))
    breakdown.add_row("provider (98%)", str(to_tokens(token.balanceOf(gpu_owner) - balances_before[gpu_owner])))
    breakdown.add_row("platform fee (2%)", str(to_tokens(token.balanceOf(treasury) - balances_before[treasury])))
    refund = max_cost - (balances_before[renter] - token.balanceOf(renter))
    breakdown.add_row("refunded to renter", str(to_tokens(refund)))
    console.print(breakdown)

    gas_table = Table(title="Gas per step")
    gas_table.add_column("transaction")
    gas_table.add_column("gas", justify="right")
    for name, used in gas:
        gas_table.add_row(name, f"{used:,}")
    gas_table.add_row("[bold]lifecycle[/]", f"[bold]{sum(g for _, g in gas):,}[/]")
    console.print(gas_table)
    console.print(
        f"Provider reputation: {score_before} (unmeasured) -> {reputation.getScore(gpu_owner)}"
        " after the job and the oracle's report (0-1000)"
    )
