"""`gpurent wallet`: balances and the devnet faucet."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import click

from gpurent.command import App
from gpurent.cli.common import TOKENS, about_address, pass_app
from gpurent.units import for_people

if TYPE_CHECKING:
    from gpurent.sdk.reader import GpurentReader


@click.group("wallet")
def group() -> None:
    """Token balances and the devnet faucet."""


@group.command("balance")
@about_address
def balance(app: App, gp: GpurentReader, who: str) -> None:
    """GPU token balance, allowances and ETH for gas of ADDRESS (default: --account)."""
    from gpurent.units import to_tokens

    wei = gp.eth_balance(who)
    app.output.data({
        "address": who,
        "gpu": gp.balance(who),
        "allowance_marketplace": gp.allowance(who, gp.marketplace.address),
        "allowance_registry": gp.allowance(who, gp.registry.address),
        # exact wei for machines; ETH (18 decimals, like the token) for a person
        **({"eth_wei": wei} if app.output.as_json else {"eth": to_tokens(wei)}),
    })


@group.command("faucet")
@click.option("--amount", type=TOKENS, default=Decimal(1000), show_default=True)
@pass_app
def faucet(app: App, amount: Decimal) -> None:
    """Mints test tokens to --account (local networks only)."""
    gp = app.sdk(needs_account=True)
    from ape import accounts

    from gpurent.local.devnet import on_dev_chain

    if not on_dev_chain():
        raise click.UsageError("the faucet exists only on local networks (gpurent devnet)")
    minter = gp.with_account(accounts.test_accounts[0])
    receipt = minter.mint(gp.address, amount)
    app.output.tx(receipt, f"minted {for_people(amount)} GPU")
    app.output.data({"address": gp.address, "gpu": gp.balance()})
