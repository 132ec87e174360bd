"""Governance parameter changes as data: which setter each parameter is, its values read from
text (a form's, a request's) or typed ones, and an operation scheduled on the timelock told back
in plain words ("platform fee 2% → 3%").

The values' bounds are the contracts' own: a change is run as the timelock would run it (an
``eth_call``) before it is scheduled, so a value the setter would refuse is refused now, in the
SDK's words, not days later when the operation is executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpurent.errors import InvalidInput
from gpurent.sdk.deadlines import span
from gpurent.sdk.inputs import tokens_in
from gpurent.units import to_base_units, to_tokens

MAX_VALUE_TEXT = 100  # characters of one value as text: a uint256 is 78 digits
BPS = 10_000
PLAIN_DECIMAL = re.compile(r"[0-9]{1,60}(\.[0-9]{1,18})?")  # what a form takes as tokens: no exponent, no sign


@dataclass(frozen=True)
class Parameter:
    """One governance setter: its contract (an SDK attribute), method and what each argument
    is: ``bps``, ``seconds``, ``tokens`` (given in tokens, sent in base units) or ``address``."""

    label: str  # in words: "platform fee"
    contract: str  # "marketplace" or "registry"
    method: str
    action: str  # for messages: "set the fee"
    kinds: tuple[str, ...]
    parts: tuple[str, ...]  # each argument in words
    reads: tuple[str, ...]  # the keys of ``parameters()`` holding the current values


PARAMETERS: dict[str, Parameter] = {
    "fee_bps": Parameter("platform fee", "marketplace", "setFee", "set the fee", ("bps",), ("platform fee",),
                         ("fee_bps",)),
    "treasury": Parameter("treasury", "marketplace", "setTreasury", "set the treasury", ("address",), ("treasury",),
                          ("treasury",)),
    "timeouts": Parameter("timeouts", "marketplace", "setTimeouts", "set the timeouts", ("seconds",) * 4,
                          ("accept timeout", "start timeout", "completion grace (dispute window)", "dispute timeout"),
                          ("accept_timeout_s", "start_timeout_s", "completion_grace_s", "dispute_timeout_s")),
    "dispute_bond": Parameter("dispute bond", "marketplace", "setDisputeBond", "set the dispute bond",
                              ("bps", "tokens"), ("dispute bond", "minimum dispute bond"),
                              ("dispute_bond_bps", "dispute_min_bond")),
    "min_stake": Parameter("minimum stake", "registry", "setMinStake", "set the minimum stake", ("tokens",),
                           ("minimum stake",), ("min_stake",)),
    "unstake_cooldown": Parameter("unstake cooldown", "registry", "setUnstakeCooldown", "set the unstake cooldown",
                                  ("seconds",), ("unstake cooldown",), ("unstake_cooldown_s",)),
}
BY_METHOD = {p.method: p for p in PARAMETERS.values()}


def parameter(key: str) -> Parameter:
    found = PARAMETERS.get(key)
    if found is None:
        raise InvalidInput(f"unknown parameter {str(key)[:40]!r}: one of {', '.join(PARAMETERS)}")
    return found


def arguments(param: Parameter, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """``values`` (text or typed) as the setter's arguments; InvalidInput, in one line, otherwise."""
    if len(values) != len(param.kinds):
        raise InvalidInput(f"the {param.label} takes {len(param.kinds)} value(s) ({', '.join(param.parts)}), "
                           f"not {len(values)}")
    return tuple(_argument(kind, what, value) for kind, what, value in zip(param.kinds, param.parts, values))


def _argument(kind: str, what: str, value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_TEXT:
        raise InvalidInput(f"invalid {what}: at most {MAX_VALUE_TEXT} characters")
    if kind == "tokens":
        if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value.strip()):
            raise InvalidInput(f"invalid {what} {value[:40]!r}: a plain decimal number of tokens (2.5)")
        units = tokens_in(value.strip() if isinstance(value, str) else value, what)
        if units >= 2**256:
            raise InvalidInput(f"invalid {what}: more than a uint256 of base units")
        return units
    if kind == "address":
        from eth_utils.address import is_address, to_checksum_address

        if not isinstance(value, str) or not value.startswith("0x") or not is_address(value):
            raise InvalidInput(f"invalid {what}: an address is 0x and 40 hex digits")
        return to_checksum_address(value)
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.isascii() and text.isdigit():
        text = int(text)
    if isinstance(text, bool) or not isinstance(text, int) or not 0 <= text < 2**256:
        unit = "seconds" if kind == "seconds" else "basis points (100 = 1%)"
        raise InvalidInput(f"invalid {what} {str(value)[:40]!r}: a whole number of {unit}")
    return text


def shown(kind: str, value: Any) -> str:
    """A value as a person reads it: 2.5%, 3 h, 100 GPU."""
    if kind == "bps":
        percent = Decimal(int(value)) * 100 / BPS
        return f"{percent.normalize():f}%"
    if kind == "seconds":
        return span(int(value))
    if kind == "tokens":
        return f"{to_tokens(int(value)).normalize():f} GPU"
    return str(value)


def change_text(param: Parameter, current: dict[str, Any], args: tuple[Any, ...]) -> str:
    """What the setter changes, from the ``current`` parameters: "platform fee 2% → 3%" (each
    argument that changes; "… unchanged" when none does)."""
    before = [to_base_units(current[k]) if kind == "tokens" else current[k]
              for kind, k in zip(param.kinds, param.reads)]
    changed = [f"{what} {shown(kind, old)} → {shown(kind, new)}"
               for kind, what, old, new in zip(param.kinds, param.parts, before, args)
               if str(old).lower() != str(new).lower()]
    if changed:
        return "; ".join(changed)
    return f"{param.label} unchanged ({', '.join(shown(k, v) for k, v in zip(param.kinds, args))})"
