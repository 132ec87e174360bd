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

__all__ = ["ADDRESS", "GPU_ID", "HOURS", "JOB_ID", "MINUTES", "PROVIDER", "TOKENS", "UINT16", "UINT32", "UINT64", "UINT256", "Quantity", "TokenAmount", "about_address", "job_row",
           "pass_app", "resource_row"]


class IdRef(click.types.StringParamType):
    """A job id, GPU id or provider address, or a unique part of one as people paste it: a
    prefix (``0x9965507d``) or the head and tail the tables print (``0x9965507d…000001``, or
    with ``...``), at least :data:`MIN_DIGITS` hex digits. A part is resolved against the
    chain's events (every id of that kind): one match is used, none or several is one line
    (how many matched). Anything else is passed on as given, as free text is, for the SDK to
    judge (its "malformed id" line)."""

    MIN_DIGITS = 6  # fewer is not taken for a part of an id: it reads as a malformed one

    def __init__(self, what: str, digits: int, candidates: Callable[[GpurentReader], list[str]]):
        self.name, self.what, self.digits, self.candidates = f"{what.lower()}-id", what, digits, candidates

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(super().convert(value, param, ctx)).strip()
        found = _PART.fullmatch(text)
        if found is None or len(text) > 2 + self.digits + 3:
            return text
        head, tail = (found["head"] or "").lower(), (found["tail"] or "").lower()
        if len(head) + len(tail) >= self.digits:
            return text  # a whole id (or too many digits to be a part of one: the SDK says so)
        if len(head) + len(tail) < self.MIN_DIGITS:
            return text
        app = ctx.find_object(App) if ctx is not None else None
        if app is None:
            return text
        matches = [c for c in self.candidates(app.reader()) if _matches(c, head, tail)]
        if len(matches) == 1:
            return matches[0]
        from gpurent.errors import InvalidInput

        if not matches:
            raise InvalidInput(f"no {self.what} matches {safe_text(text)!r}: give the whole id "
                               f"(0x and {self.digits} hex digits) or a part of one that exists")
        raise InvalidInput(f"{safe_text(text)!r} matches {len(matches)} {self.what}s: give more digits")


# "0x9965507d", "9965507d…000001", "0x9965507d...000001": hex head, optional "…" or "...", hex tail
_PART = re.compile(r"(?:0[xX])?(?P<head>[0-9a-fA-F]*)(?:(?:…|\.\.\.)(?P<tail>[0-9a-fA-F]*))?", re.ASCII)


def _matches(candidate: str, head: str, tail: str) -> bool:
    digits = candidate.lower().removeprefix("0x")
    return digits.startswith(head) and digits.endswith(tail)


JOB_ID = IdRef("job", 64, lambda gp: gp.job_ids())
GPU_ID = IdRef("GPU", 64, lambda gp: gp.resource_ids())
PROVIDER = IdRef("provider", 40, lambda gp: gp.providers())
ADDRESS = PROVIDER  # the addresses the chain's events name: providers'


def about_address(command: Callable[[App, GpurentReader, str], None]) -> Callable[..., None]:
    """A command about the optional argument ADDRESS, by default --account's own: called with
    the app, the SDK's reader and that address (an account is needed only when ADDRESS is not given)."""
    @click.argument("address", required=False, type=ADDRESS)
    @pass_app
    @functools.wraps(command)
    def run(app: App, address: str | None) -> None:
        if address is None and app.account is None:  # nothing is signed: only "whose?" is missing
            raise click.UsageError("whose? give an ADDRESS (or a unique prefix of one), or --account ALIAS "
                                   "(or a test-account index)")
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
MINUTES = Quantity("minutes", "a number of minutes", maximum=Decimal(MAX_DURATION) / 60, positive=True, unit=" min")
PERCENT = Quantity("percent", "a percentage", maximum=Decimal(100), unit=" %")
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
