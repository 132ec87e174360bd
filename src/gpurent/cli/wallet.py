"""`gpurent wallet`: balances and the devnet faucet."""

from __future__ import annotations

from decimal import Decimal

import click

from gpurent.cli.app import App
from gpurent.cli.common import TOKENS, pass_app


@click.group("wallet")
def group() -> None:
    """Token balances and the devnet faucet."""


@group.command("balance")
@click.argument("address", required=False)
@pass_app
def balance(app: App, address: str | None) -> None:
    """GPU token balance, allowances and ETH for gas of ADDRESS (default: --account)."""
    rent = app.rent(needs_account=address is None)
    who = address or rent.address
    from ape import chain

    app.output.data({
        "address": who,
        "gpu": rent.balance(who),
        "allowance_marketplace": rent.allowance(who, rent.marketplace.address),
        "allowance_registry": rent.allowance(who, rent.registry.address),
        "eth_wei": int(chain.provider.get_balance(who)),
    })


@group.command("faucet")
@click.option("--amount", type=TOKENS, default=Decimal(1000), show_default=True)
@pass_app
def faucet(app: App, amount: Decimal) -> None:
    """Mints test tokens to --account (local networks only)."""
    rent = app.rent(needs_account=True)
    from ape import accounts

    from gpurent.devnet import on_dev_chain

    if not on_dev_chain():
        raise click.UsageError("the faucet exists only on local networks (gpurent devnet)")
    minter = rent.with_account(accounts.test_accounts[0])
    receipt = minter.mint(rent.address, amount)
    app.output.tx(receipt, f"minted {amount} GPU")
    app.output.data({"address": rent.address, "gpu": rent.balance()})
