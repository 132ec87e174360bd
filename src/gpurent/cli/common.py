"""Shared pieces of the subcommands."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import click

from gpurent.command import pass_app

__all__ = ["TOKENS", "TokenAmount", "job_row", "pass_app", "resource_row"]


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
