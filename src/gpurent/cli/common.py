"""Shared pieces of the subcommands."""

from __future__ import annotations

import functools
from collections.abc import Callable
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from gpurent.command import App, pass_app
from gpurent.limits import MAX_DURATION
from gpurent.output import safe_text
from gpurent.units import DECIMALS

if TYPE_CHECKING:
    from gpurent.sdk.reader import GpurentReader

__all__ = ["HOURS", "TOKENS", "UINT16", "UINT32", "UINT64", "UINT256", "Quantity", "TokenAmount", "about_address", "job_row",
           "pass_app", "resource_row"]


def about_address(command: Callable[[App, GpurentReader, str], None]) -> Callable[..., None]:
    """A command about the optional argument ADDRESS, by default --account's own: called with
    the app, the SDK's reader and that address (an account is needed only when ADDRESS is not
    given)."""
    @click.argument("address", required=False)
    @pass_app
    @functools.wraps(command)
    def run(app: App, address: str | None) -> None:
        if address is None:
            gp = app.sdk(needs_account=True)
            command(app, gp, gp.address)
        else:
            command(app, app.reader(), address)

    return run


# a plain decimal in ASCII: "7.35", "100", ".5", "1e3"; no signs, spaces, "_", NaN, Infinity or
# other scripts' digits (Decimal itself reads "٣" as 3 and "1_0" as 10)
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_MAX_TEXT = 100  # longest number the command line reads, in characters


class Quantity(click.ParamType):
    """A decimal quantity on the command line ("7.35", "100", "1e3"), parsed as a Decimal (never
    a float): finite, 0 or more (above 0, with ``positive``), at most ``maximum``, with at most
    ``places`` decimals. Anything else is one usage line that names the bound."""

    def __init__(self, name: str, what: str, *, maximum: Decimal, positive: bool = False,
                 places: int | None = None, unit: str = ""):
        self.name, self.what, self.maximum, self.positive, self.places = name, what, maximum, positive, places
        self.unit = unit

    def convert(self, value: Any, param: Any, ctx: Any) -> Decimal:
        if isinstance(value, Decimal) and value.is_finite():
            amount = value
        else:
            text = str(value)
            if len(text) > _MAX_TEXT or not _DECIMAL.fullmatch(text):
                # quoted by repr: each unprintable character shows as its escape (\x1b), none is sent
                self.fail(f"{text[:_MAX_TEXT]!r} is not {self.what}", param, ctx)
            amount = Decimal(text)
        bound = (f"{self.maximum:,}" if self.maximum < 10**12 else f"{self.maximum:.3e}") + self.unit
        if amount > self.maximum:
            self.fail(f"{safe_text(value)!r} is too large for {self.what} (at most {bound})", param, ctx)
        if self.positive and amount == 0:
            self.fail(f"{safe_text(value)!r}: {self.what} must be above 0", param, ctx)
        if self.places is not None and _decimals(amount) > self.places:
            self.fail(f"{safe_text(value)!r} has more than {self.places} decimals", param, ctx)
        return amount


def _decimals(amount: Decimal) -> int:
    """How many decimals ``amount`` has, trailing zeros not counted (exact: no context rounding)."""
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0")) if any(digits) else len(digits)
    return max(0, -(exponent + zeros))


class TokenAmount(Quantity):
    """A token amount on the command line: "7.35", "100"; never a float. At most 18 decimals,
    and small enough that its base units fit a uint256."""

    def __init__(self) -> None:
        super().__init__("tokens", "a token amount", maximum=MAX_TOKENS, places=DECIMALS)


MAX_TOKENS = Decimal((2**256 - 1) // 10**DECIMALS)  # whole tokens whose base units fit a uint256
TOKENS = TokenAmount()
# hours booked: the Marketplace's longest job (MAX_DURATION), in hours
HOURS = Quantity("hours", "a number of hours", maximum=Decimal(MAX_DURATION) / 3600, positive=True, unit=" h")
# the chain's integer fields, so that no value reaches a query or a transaction it cannot fit
UINT16 = click.IntRange(0, 2**16 - 1)
UINT32 = click.IntRange(0, 2**32 - 1)
UINT64 = click.IntRange(0, 2**64 - 1)
UINT256 = click.IntRange(0, 2**256 - 1)


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
