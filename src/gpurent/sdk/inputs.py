"""What a caller hands the SDK, checked before anything is sent: ids and token amounts."""

from __future__ import annotations

from decimal import Decimal

from gpurent.errors import InvalidInput
from gpurent.units import to_base_units

Tokens = Decimal | int | str  # a token amount as a caller writes it: Decimal("7.35"), 100, "0.5"


def parse_id(value: str | bytes, what: str) -> bytes:
    """A 32-byte id from 0x-hex (job and resource ids); InvalidInput otherwise."""
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        text = str(value).strip()
        try:
            raw = bytes.fromhex(text[2:] if text.lower().startswith("0x") else text)
        except ValueError as err:
            raise InvalidInput(f"malformed {what} id {text!r}: expected 32 bytes of hex") from err
    if len(raw) != 32:
        raise InvalidInput(f"malformed {what} id {value!r}: expected 32 bytes, got {len(raw)}")
    return raw


def tokens_in(amount: Tokens, what: str) -> int:
    """``amount`` tokens in base units; InvalidInput for a malformed or negative amount."""
    try:
        units = to_base_units(amount)
    except ValueError as err:
        raise InvalidInput(f"invalid {what}: {err}") from err
    if units < 0:
        raise InvalidInput(f"invalid {what}: must not be negative")
    return units
