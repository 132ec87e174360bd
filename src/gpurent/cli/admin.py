"""`gpurent admin`: governance and the oracle's manual tools."""

from __future__ import annotations

from decimal import Decimal

import click

from gpurent.cli.app import App
from gpurent.cli.common import TOKENS, job_row, pass_app


contract_option = click.option(
    "--contract", type=click.Choice(["token", "registry", "marketplace", "reputation"]),
    help="Only this contract (default: every contract that has the role)")


@click.group("admin")
def group() -> None:
    """Operate the protocol: parameters, pause, roles, disputes, slashing."""


@group.command("params")
@pass_app
def params(app: App) -> None:
    """Current governance parameters."""
    app.output.data(app.rent().parameters())


@group.command("set")
@click.option("--fee-bps", type=click.IntRange(0), help="Platform fee for new jobs (max 1000)")
@click.option("--treasury", help="Address fees go to")
@click.option("--timeouts", nargs=3, type=click.IntRange(1), help="START GRACE DISPUTE, seconds")
@click.option("--min-stake", type=TOKENS)
@click.option("--unstake-cooldown", type=click.IntRange(0), help="Seconds")
@pass_app
def set_params(app: App, fee_bps: int | None, treasury: str | None, timeouts: tuple[int, int, int] | None,
               min_stake: Decimal | None, unstake_cooldown: int | None) -> None:
    """Changes governance parameters (DEFAULT_ADMIN_ROLE)."""
    rent = app.rent(needs_account=True)
    changes = [
        (fee_bps is not None, lambda: rent.set_fee(fee_bps), f"fee set to {fee_bps} bps"),
        (treasury is not None, lambda: rent.set_treasury(treasury), f"treasury set to {treasury}"),
        (bool(timeouts), lambda: rent.set_timeouts(*timeouts), f"timeouts set to {timeouts}"),
        (min_stake is not None, lambda: rent.set_min_stake(min_stake), f"minimum stake set to {min_stake}"),
        (unstake_cooldown is not None, lambda: rent.set_unstake_cooldown(unstake_cooldown),
         f"cooldown set to {unstake_cooldown} s"),
    ]
    if not any(given for given, _, _ in changes):
        raise click.UsageError("nothing to set: see `gpurent admin set --help`")
    for given, apply, message in changes:
        if given:
            app.output.tx(apply(), message)
    app.output.data(rent.parameters())


@group.command("pause")
@pass_app
def pause(app: App) -> None:
    """Stops new jobs and registrations (settlement and refunds go on)."""
    app.output.tx(app.rent(needs_account=True).pause(), "paused")


@group.command("unpause")
@pass_app
def unpause(app: App) -> None:
    """Lifts a pause."""
    app.output.tx(app.rent(needs_account=True).unpause(), "unpaused")


@group.command("grant")
@click.argument("role")
@click.argument("address")
@contract_option
@pass_app
def grant(app: App, role: str, address: str, contract: str | None) -> None:
    """Grants ROLE (admin, oracle, pauser, slasher, minter) to ADDRESS."""
    app.output.tx(app.rent(needs_account=True).grant_role(role, address, contract), f"granted {role}")


@group.command("revoke")
@click.argument("role")
@click.argument("address")
@contract_option
@pass_app
def revoke(app: App, role: str, address: str, contract: str | None) -> None:
    """Revokes ROLE from ADDRESS."""
    app.output.tx(app.rent(needs_account=True).revoke_role(role, address, contract), f"revoked {role}")


@group.command("disputes")
@pass_app
def disputes(app: App) -> None:
    """Jobs waiting for the oracle's ruling."""
    app.output.data([job_row(j) for j in app.rent().pending_disputes()])


@group.command("resolve")
@click.argument("job_id")
@click.argument("outcome", type=click.Choice(["provider-fault", "user-fault", "split"]))
@click.option("--evidence", "evidence_cid", required=True, help="IPFS CID of the evidence")
@pass_app
def resolve(app: App, job_id: str, outcome: str, evidence_cid: str) -> None:
    """Rules on a dispute (ORACLE_ROLE)."""
    rent = app.rent(needs_account=True)
    app.output.tx(rent.resolve_dispute(job_id, outcome, evidence_cid), f"resolved: {outcome}")
    app.output.data(job_row(rent.job(job_id)))


@group.command("slash")
@click.argument("provider")
@click.argument("amount", type=TOKENS)
@click.option("--reason", required=True)
@pass_app
def slash(app: App, provider: str, amount: Decimal, reason: str) -> None:
    """Burns up to AMOUNT of PROVIDER's stake (SLASHER_ROLE)."""
    rent = app.rent(needs_account=True)
    app.output.tx(rent.slash(provider, amount, reason), f"slashed {provider}")
    app.output.data(rent.provider(provider))


@group.command("penalise")
@click.argument("provider")
@click.argument("reason", type=click.Choice(["downtime", "data-fraud", "timeout", "invalid-signature",
                                             "lost-dispute"]))
@pass_app
def penalise(app: App, provider: str, reason: str) -> None:
    """Applies a reputation penalty (ORACLE_ROLE); data-fraud also slashes stake."""
    rent = app.rent(needs_account=True)
    app.output.tx(rent.apply_penalty(provider, reason), f"penalised for {reason}")
    app.output.data(rent.reputation(provider))
