"""`gpurent provider`: register, list GPUs, stake and earn."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import click

from gpurent.command import App
from gpurent.units import for_people
from gpurent.cli.common import GPU_ID, TOKENS, UINT32, about_address, job_row, pass_app, resource_row

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent


@click.group("provider")
def group() -> None:
    """Provide GPUs: registration, GPUs, stake, earnings."""


@group.command("register")
@click.option("--endpoint", required=True, help="URL of your provider agent, e.g. http://203.0.113.5:8765")
@click.option("--stake", type=TOKENS, default=None, help="Tokens to stake now (default: the minimum)")
@pass_app
def register(app: App, endpoint: str, stake: Decimal | None) -> None:
    """Registers --account as a provider with its agent endpoint and stake."""
    gp = app.sdk(needs_account=True)
    amount = stake if stake is not None else gp.parameters()["min_stake"]
    with app.output.pending("Registering…"):
        receipt = gp.register_provider(endpoint, amount)
    app.output.tx(receipt, f"registered, {for_people(amount)} GPU staked")
    app.output.data(gp.provider())


@group.command("add-gpu")
@click.option("--model", required=True, help='GPU model, e.g. "RTX4090"')
@click.option("--vcpu", type=click.IntRange(1, 65535), required=True)
@click.option("--memory", "memory_gb", type=click.IntRange(1, 2**32 - 1), required=True, help="GiB of host memory")
@click.option("--storage", "storage_gb", type=UINT32, default=0, help="GiB of scratch storage")
@click.option("--price", type=TOKENS, required=True, help="Tokens per hour")
@pass_app
def add_gpu(app: App, model: str, vcpu: int, memory_gb: int, storage_gb: int, price: Decimal) -> None:
    """Lists a GPU for rent."""
    gp = app.sdk(needs_account=True)
    with app.output.pending("Registering the GPU…"):
        listed = gp.register_resource(model, vcpu, memory_gb, storage_gb, price)
    resource = listed.value
    app.output.tx(listed, "GPU listed")
    app.output.data(resource_row(resource), title=f"GPU {resource.resource_id}")


@group.command("update")
@click.argument("gpu_id", type=GPU_ID)
@click.option("--price", type=TOKENS, help="New price per hour (open jobs keep theirs)")
@click.option("--available/--unavailable", default=None, help="Take new jobs or not")
@pass_app
def update(app: App, gpu_id: str, price: Decimal | None, available: bool | None) -> None:
    """Changes a GPU's price or availability."""
    if price is None and available is None:
        raise click.UsageError("give --price and/or --available/--unavailable")
    gp = app.sdk(needs_account=True)
    if price is not None:
        app.output.tx(gp.update_pricing(gpu_id, price), f"price set to {for_people(price)} GPU/h")
    if available is not None:
        app.output.tx(gp.update_availability(gpu_id, available), "available" if available else "unavailable")
    app.output.data(resource_row(gp.resource(gpu_id)))


@group.command("retire")
@click.argument("gpu_id", type=GPU_ID)
@pass_app
def retire(app: App, gpu_id: str) -> None:
    """Retires a GPU for good (its open jobs still settle)."""
    gp = app.sdk(needs_account=True)
    app.output.tx(gp.retire_resource(gpu_id), "retired")


@group.command("stake")
@click.argument("amount", type=TOKENS)
@pass_app
def stake(app: App, amount: Decimal) -> None:
    """Adds AMOUNT tokens to the stake."""
    gp = app.sdk(needs_account=True)
    app.output.tx(gp.stake(amount), f"staked {for_people(amount)} GPU")
    app.output.data(gp.provider())


@group.command("unstake")
@click.option("--cancel", is_flag=True, help="Cancel a pending unstake")
@pass_app
def unstake(app: App, cancel: bool) -> None:
    """Starts the cooldown; run again after it to withdraw the whole stake."""
    gp = app.sdk(needs_account=True)
    info = gp.provider()
    if cancel:
        app.output.tx(gp.cancel_unstake(), "unstake cancelled")
    elif info.unlock_at == 0:
        app.output.tx(gp.request_unstake(), "unstake requested")
    else:
        app.output.tx(gp.withdraw_stake(), f"withdrew {for_people(info.stake)} GPU")
    app.output.data(gp.provider())


@group.command("info")
@about_address
def info(app: App, gp: Gpurent, who: str) -> None:
    """Registration, stake, GPUs and reputation of a provider (default: --account)."""
    rep = gp.reputation(who)
    data = {"provider": gp.provider(who), "reputation": rep,
            "gpus": [resource_row(r) for r in gp.provider_resources(who)]}
    app.output.data(data)


@group.command("earnings")
@pass_app
def earnings(app: App) -> None:
    """What --account has earned, what the marketplace still holds for it, and its jobs."""
    gp = app.sdk(needs_account=True)
    jobs = gp.jobs_of_provider()
    held = gp.held_earnings()
    app.output.data({"earned": gp.earnings(), "to_withdraw": held.amount, "fee_held": held.fee,
                     "jobs": len(jobs), "open_jobs": sum(1 for j in jobs if not j.status.terminal)})
    if not app.output.as_json and jobs:
        app.output.data([job_row(j) for j in jobs])


@group.command("withdraw")
@pass_app
def withdraw(app: App) -> None:
    """Pays out what --account earned and has not withdrawn (one transfer for any number of
    jobs; the agent also does this on its own past [billing] withdraw_min)."""
    gp = app.sdk(needs_account=True)
    tx = gp.withdraw_earnings()
    app.output.tx(tx, f"withdrew {for_people(tx.value.amount)} GPU")
    app.output.data({"withdrawn": tx.value.amount, "fee_to_treasury": tx.value.fee, "gpu": gp.balance()})
