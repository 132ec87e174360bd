"""Token amounts: ``decimal.Decimal`` tokens outside, integer base units on chain. Never floats.

Conversions run in a local decimal context of 100 digits: the default context keeps only 28
significant digits and would round amounts near 2**96 base units.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext

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
        try:
            units = value.scaleb(DECIMALS)
        except ArithmeticError as err:  # decimal.Overflow: an exponent past the context's ("1e999999999")
            raise ValueError(f"not a token amount: {str(tokens)[:40]!r}") from err
        if units != units.to_integral_value():
            raise ValueError(f"{tokens} has more than {DECIMALS} decimals")
        return int(units)


def to_tokens(base_units: int) -> Decimal:
    """Converts integer base units to a ``Decimal`` token amount (exact, no exponent: 100, 7.35)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        value = Decimal(int(base_units)).scaleb(-DECIMALS).normalize()
        return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


SIGNIFICANT = 4  # significant digits a person sees of an amount below 1 (0.004167)
PLACES = 4  # decimals a person sees of an amount of 1 or more (7.3333, 1,234.5)


def for_people(amount: Decimal | int) -> str:
    """``amount`` rounded for a person to read: at most 4 decimals (1 or more), 4 significant
    digits (below 1), thousands separated, trailing zeros dropped: 0.004166666666666666 →
    "0.004167", 1234.56789 → "1,234.5679", 100 → "100". Exact values are for machines (--json)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        value = Decimal(amount)
        if not value.is_finite() or value == value.to_integral_value():
            return f"{value:,f}" if value.is_finite() else str(value)
        if abs(value) >= 1:
            places = PLACES
        else:
            places = SIGNIFICANT - 1 - value.adjusted()  # adjusted(): the exponent of the first digit
        rounded = value.quantize(Decimal(1).scaleb(-places))
        text = f"{rounded:,f}"
        return text.rstrip("0").rstrip(".") if "." in text else text


def percent_to_bps(percent: Decimal | int | str) -> int:
    """A percentage (0-100, any decimals: ``"99.2"``) as the least whole basis points at or above
    it (99.2 -> 9920, 99.255 -> 9926): a "minimum" filter in percent keeps what it says."""
    if isinstance(percent, float):
        raise ValueError("percentages must be Decimal, int or str, not float")
    try:
        value = Decimal(percent)
    except InvalidOperation as err:
        raise ValueError(f"not a percentage: {percent!r}") from err
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(f"a percentage is between 0 and 100, got {percent}")
    return int((value * 100).to_integral_value(rounding=ROUND_CEILING))
