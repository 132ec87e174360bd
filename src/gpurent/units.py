"""Token amounts: ``decimal.Decimal`` tokens outside, integer base units on chain. Never floats.

Conversions run in a local decimal context of 100 digits: the default context keeps only 28
significant digits and would round amounts near 2**96 base units.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

DECIMALS = 18
TOKEN = 10**DECIMALS
_PRECISION = 100


def to_base_units(tokens: Decimal | int | str) -> int:
    """Converts a token amount (``Decimal("7.35")``, ``"7.35"`` or ``7``) to base units.

    Raises ``ValueError`` for floats (they cannot hold 0.1 exactly), for amounts with more
    than 18 decimals, and for text that is not a finite number.
    """
    if isinstance(tokens, float):
        raise ValueError("token amounts must be Decimal, int or str, not float")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        try:
            value = Decimal(tokens)
        except InvalidOperation as err:
            raise ValueError(f"not a token amount: {tokens!r}") from err
        if not value.is_finite():
            raise ValueError(f"not a token amount: {tokens!r}")
        units = value.scaleb(DECIMALS)
        if units != units.to_integral_value():
            raise ValueError(f"{tokens} has more than {DECIMALS} decimals")
        return int(units)


def to_tokens(base_units: int) -> Decimal:
    """Converts integer base units to a ``Decimal`` token amount (exact, no exponent: 100, 7.35)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        value = Decimal(int(base_units)).scaleb(-DECIMALS).normalize()
        return value.quantize(Decimal(1)) if value == value.to_integral_value() else value
