"""`gpurent admin`: governance and the oracle's manual tools."""

from __future__ import annotations

from decimal import Decimal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from gpurent.command import App
from gpurent.cli.common import TOKENS, UINT256, job_row, pass_app
from gpurent.output import when
from gpurent.sdk.admin import CONTRACT_NAMES
from gpurent.types import DisputeOutcome, GovernanceOperation, PenaltyReason, cli_names

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent, Governed


contract_option = click.option(
    "--contract", type=click.Choice(CONTRACT_NAMES),
    help="Only this contract (default: every contract that has the role)")


@click.group("admin")
def group() -> None:
    """Operate the protocol: parameters, pause, roles, disputes, slashing."""


@group.command("params")
@pass_app
def params(app: App) -> None:
    """Current governance parameters: the terms new jobs get (fee, timeouts, dispute bond,
    terms version), the registry's and the timelock's delay."""
    app.output.data(app.sdk().parameters())


def _applied(app: App, result: Governed | Sequence[Governed], message: str) -> list[GovernanceOperation]:
    """Reports what an admin call did (mined now, or scheduled on the timelock); returns the
    operations it left scheduled."""
    app.output.tx(result, message)
    return [r for r in (result if isinstance(result, Sequence) else [result]) if isinstance(r, GovernanceOperation)]


def _operation_row(gp: Gpurent, op: GovernanceOperation) -> dict[str, Any]:
    return {"op_id": op.op_id, "call": gp.call_text(op), "change": gp.describe_operation(op),
            "executable_from": when(op.ready_at), "ready": gp.chain_time() >= op.ready_at}


@group.command("set")
@click.option("--fee-bps", type=UINT256, help="Platform fee for new jobs (max 1000)")
@click.option("--treasury", help="Address fees go to")
@click.option("--timeouts", nargs=4, type=click.IntRange(1, 2**256 - 1), metavar="ACCEPT START GRACE DISPUTE",
              help="Seconds: a Created job expires after ACCEPT; the renter may cancel an accepted job after "
                   "START; disputes close and anyone may settle GRACE after the booked time; an unresolved "
                   "dispute splits after DISPUTE (jobs created from now on)")
@click.option("--dispute-bond", nargs=2, type=(UINT256, TOKENS), metavar="BPS MIN",
              help="A disputer posts max(MIN, max cost x BPS / 10000), at most the max cost (new jobs)")
@click.option("--min-stake", type=TOKENS)
@click.option("--unstake-cooldown", type=UINT256, help="Seconds")
@pass_app
def set_params(app: App, fee_bps: int | None, treasury: str | None, timeouts: tuple[int, int, int, int] | None,
               dispute_bond: tuple[int, Decimal] | None, min_stake: Decimal | None,
               unstake_cooldown: int | None) -> None:
    """Changes governance parameters, through the timelock: at once when its delay is zero,
    else scheduled (see `gpurent admin pending` and `gpurent admin execute`). Fee, timeouts
    and bond apply to jobs created afterwards; open jobs keep their terms."""
    gp = app.sdk(needs_account=True)
    changes = [
        (fee_bps is not None, lambda: gp.set_fee(fee_bps), f"fee set to {fee_bps} bps"),
        (treasury is not None, lambda: gp.set_treasury(treasury), f"treasury set to {treasury}"),
        (bool(timeouts), lambda: gp.set_timeouts(*timeouts), f"timeouts set to {timeouts}"),
        (bool(dispute_bond), lambda: gp.set_dispute_bond(*dispute_bond), f"dispute bond set to {dispute_bond}"),
        (min_stake is not None, lambda: gp.set_min_stake(min_stake), f"minimum stake set to {min_stake}"),
        (unstake_cooldown is not None, lambda: gp.set_unstake_cooldown(unstake_cooldown),
         f"cooldown set to {unstake_cooldown} s"),
    ]
    if not any(given for given, _, _ in changes):
        raise click.UsageError("nothing to set: see `gpurent admin set --help`")
    scheduled: list[GovernanceOperation] = []
    for given, apply, message in changes:
        if given:
            scheduled += _applied(app, apply(), message)
    data = gp.parameters()
    if scheduled:
        data["scheduled"] = [_operation_row(gp, op) for op in scheduled]
    app.output.data(data)


@group.command("pending")
@pass_app
def pending(app: App) -> None:
    """Governance calls scheduled on the timelock and not yet executed."""
    gp = app.sdk()
    ops = gp.pending_operations()
    app.output.data([_operation_row(gp, op) for op in ops], title=f"{len(ops)} pending operation(s)")


@group.command("execute")
@click.argument("op_id")
@pass_app
def execute(app: App, op_id: str) -> None:
    """Executes a scheduled governance call once its delay has passed (timelock executor)."""
    gp = app.sdk(needs_account=True)
    op = next((o for o in gp.pending_operations() if o.op_id.lower() == op_id.lower()), None)
    call = gp.call_text(op) if op is not None else op_id
    with app.output.pending("Executing…"):
        receipt = gp.execute_operation(op_id)
    app.output.tx(receipt, f"executed {call}")
    app.output.data(gp.parameters())


@group.command("pause")
@pass_app
def pause(app: App) -> None:
    """Stops new jobs and registrations (settlement and refunds go on)."""
    app.output.tx(app.sdk(needs_account=True).pause(), "paused")


@group.command("unpause")
@pass_app
def unpause(app: App) -> None:
    """Lifts a pause."""
    app.output.tx(app.sdk(needs_account=True).unpause(), "unpaused")


def _role_change(app: App, result: list[Governed], message: str) -> None:
    gp = app.sdk()
    scheduled = _applied(app, result, message)
    if scheduled and app.output.as_json:
        app.output.data({"scheduled": [_operation_row(gp, op) for op in scheduled]})


def _role_command(name: str, help_text: str, method: str, done: str) -> click.Command:
    @group.command(name, help=help_text)
    @click.argument("role")
    @click.argument("address")
    @contract_option
    @pass_app
    def command(app: App, role: str, address: str, contract: str | None) -> None:
        _role_change(app, getattr(app.sdk(needs_account=True), method)(role, address, contract), f"{done} {role}")

    return command


_role_command("grant", "Grants ROLE (admin, oracle, pauser, slasher, minter) to ADDRESS (through the timelock).",
              "grant_role", "granted")
_role_command("revoke", "Revokes ROLE from ADDRESS (through the timelock).", "revoke_role", "revoked")


@group.command("disputes")
@pass_app
def disputes(app: App) -> None:
    """Jobs waiting for the oracle's ruling."""
    app.output.data([job_row(j) for j in app.sdk().pending_disputes()])


@group.command("resolve")
@click.argument("job_id")
@click.argument("outcome", type=click.Choice(cli_names(DisputeOutcome)))
@click.option("--evidence", "evidence_cid", required=True, help="IPFS CID of the evidence")
@pass_app
def resolve(app: App, job_id: str, outcome: str, evidence_cid: str) -> None:
    """Rules on a dispute (ORACLE_ROLE)."""
    gp = app.sdk(needs_account=True)
    app.output.tx(gp.resolve_dispute(job_id, outcome, evidence_cid), f"resolved: {outcome}")
    app.output.data(job_row(gp.job(job_id)))


@group.command("slash")
@click.argument("provider")
@click.argument("amount", type=TOKENS)
@click.option("--reason", required=True)
@pass_app
def slash(app: App, provider: str, amount: Decimal, reason: str) -> None:
    """Burns up to AMOUNT of PROVIDER's stake (SLASHER_ROLE), within the registry's cap (a
    share of the stake, once per interval)."""
    gp = app.sdk(needs_account=True)
    before = gp.provider(provider).stake
    receipt = gp.slash(provider, amount, reason)
    after = gp.provider(provider)
    app.output.tx(receipt, f"slashed {provider}: {before - after.stake} GPU burnt")
    if before - after.stake < amount:
        cap = Decimal(int(gp.registry.MAX_SLASH_BPS())) / 100
        app.output.info(f"a slash burns at most {cap}% of the stake, and nothing within "
                        f"{int(gp.registry.SLASH_INTERVAL())} s of the last one")
    app.output.data(after)


@group.command("penalise")
@click.argument("provider")
@click.argument("reason", type=click.Choice(cli_names(PenaltyReason)))
@pass_app
def penalise(app: App, provider: str, reason: str) -> None:
    """Applies a reputation penalty (ORACLE_ROLE); data-fraud also slashes stake."""
    gp = app.sdk(needs_account=True)
    app.output.tx(gp.apply_penalty(provider, reason), f"penalised for {reason}")
    app.output.data(gp.reputation(provider))
