"""Token amounts: ``decimal.Decimal`` tokens outside, integer base units on chain. Never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DECIMALS = 18
TOKEN = 10**DECIMALS


def to_base_units(tokens: Decimal | int | str) -> int:
    """Converts a token amount (``Decimal("7.35")``, ``"7.35"`` or ``7``) to base units.

    Raises ``ValueError`` for floats (they cannot hold 0.1 exactly), for amounts with more
    than 18 decimals, and for text that is not a number.
    """
    if isinstance(tokens, float):
        raise ValueError("token amounts must be Decimal, int or str, not float")
    try:
        value = Decimal(tokens)
    except InvalidOperation as err:
        raise ValueError(f"not a token amount: {tokens!r}") from err
    if not value.is_finite():
        raise ValueError(f"not a token amount: {tokens!r}")
    units = value * TOKEN
    if units != units.to_integral_value():
        raise ValueError(f"{tokens} has more than {DECIMALS} decimals")
    return int(units)


def to_tokens(base_units: int) -> Decimal:
    """Converts integer base units to a ``Decimal`` token amount (exact)."""
    return Decimal(int(base_units)).scaleb(-DECIMALS).normalize() if base_units else Decimal(0)
