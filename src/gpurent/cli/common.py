"""Shared pieces of the subcommands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import click

from gpurent.command import App, pass_app

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

__all__ = ["TOKENS", "TokenAmount", "about_address", "job_row", "pass_app", "resource_row"]


def about_address(command: Callable[[App, Gpurent, str], None]) -> Callable[..., None]:
    """A command about the optional argument ADDRESS, by default --account's own: called with
    the app, the SDK and that address (an account is needed only when ADDRESS is not given)."""
    @click.argument("address", required=False)
    @pass_app
    @functools.wraps(command)
    def run(app: App, address: str | None) -> None:
        gp = app.sdk(needs_account=address is None)
        command(app, gp, address or gp.address)

    return run


class TokenAmount(click.ParamType):
    """A token amount on the command line: "7.35", "100"; never a float."""

    name = "tokens"

    def convert(self, value: Any, param: Any, ctx: Any) -> Decimal:
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.fail(f"{value!r} is not a token amount", param, ctx)
        if not amount.is_finite() or amount < 0:
            self.fail(f"{value!r} is not a token amount", param, ctx)
        return amount


TOKENS = TokenAmount()


def resource_row(resource: Any, score: int | None = None) -> dict[str, Any]:
    row = {
        "id": resource.resource_id,
        "model": resource.gpu_model,
        "vcpu": resource.vcpu,
        "memory_gb": resource.memory_gb,
        "storage_gb": resource.storage_gb,
        "price_per_hour": resource.price_per_hour,
        "available": resource.available and not resource.retired,
        "provider": resource.provider,
    }
    if score is not None:
        row["reputation"] = score
    return row


def job_row(job: Any) -> dict[str, Any]:
    return {
        "id": job.job_id,
        "status": job.status.label,
        "gpu": job.resource_id,
        "image": job.image_cid or "",
        "hours": Decimal(job.estimated_duration) / 3600,
        "max_cost": job.max_cost,
        "cost": job.final_cost,
    }
