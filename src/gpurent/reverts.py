"""Contract reverts as gpurent exceptions: decoding and translation.

Solidity custom errors arrive from Ape as ``CustomError`` carrying ``.inputs`` (or, from some
nodes, only as raw revert bytes, decoded here with the packaged ABIs); ``translate`` turns each
into the ``ContractRevert`` subclass for it, with a message a person understands, phrased with
the action that was attempted ("cannot cancel job 0x1234abcd…: it is Running"). Every message
is built from the error's inputs: a bound the contract enforces arrives in the error, so it is
never restated here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, cast

from gpurent.errors import (
    AlreadyRecorded,
    ContractRevert,
    DeadlineNotReached,
    DeadlinePassed,
    GpurentError,
    InsufficientFunds,
    InvalidArgument,
    InvalidJobState,
    NotAuthorized,
    Paused,
    ResourceUnavailable,
    StakeError,
    UnknownJob,
    UnknownResource,
)
from gpurent.limits import BPS, DAY
from gpurent.types import DisputeOutcome, JobStatus, hex_id
from gpurent.units import to_tokens


def short(value: Any) -> str:
    """A 0x-id shortened for messages: 0x1234abcd…"""
    text = hex_id(value)
    return text if len(text) <= 12 else text[:10] + "…"


def _tok(value: Any) -> str:
    return f"{to_tokens(int(value))} GPU"


def _seconds(value: Any) -> str:
    """A span the way a person says it: "90 days", "1 day", "3600 s"."""
    n = int(value)
    if n and n % DAY == 0:
        return f"{n // DAY} day{'' if n == DAY else 's'}"
    return f"{n} s"


def _text(value: Any) -> str:
    """A bytes32 that holds a short name ("minStake"), as text."""
    raw = bytes.fromhex(value[2:]) if isinstance(value, str) and value.startswith("0x") else value
    return bytes(raw).rstrip(b"\0").decode(errors="replace") if isinstance(raw, (bytes, bytearray)) else str(raw)


Formatter = Callable[[dict[str, Any], str], str]


def _length(what: str, *, least: int, unit: str = "characters") -> Formatter:
    """The message of a `(length, maxLength)` error: a string empty or too long."""
    def fmt(i: dict[str, Any], a: str) -> str:
        span = f"at most {i['maxLength']}" if least == 0 else f"{least} to {i['maxLength']}"
        return f"{what} must be {span} {unit} (it is {i['length']})"
    return fmt


def _parameter(i: dict[str, Any], a: str) -> str:
    """The message of a `(parameter, value, minValue, maxValue)` error."""
    return (f"cannot {a}: {_text(i['parameter'])} {i['value']} is outside its allowed range "
            f"{i['minValue']} to {i['maxValue']}")


def _invalid_report(i: dict[str, Any], a: str) -> str:
    kept, expected, period = int(i["heartbeatsKept"]), int(i["heartbeatsExpected"]), int(i["periodLength"])
    if kept > expected:
        return f"a report cannot keep more heartbeats than expected ({kept} kept, {expected} expected)"
    if expected > period:
        return (f"a report cannot expect more heartbeats than its period has seconds ({expected} expected, "
                f"a period of {period} s)")
    return (f"a report cannot count more challenges than its period has seconds ({i['challenges']} challenges, "
            f"a period of {period} s)")


def _links_set(i: dict[str, Any], a: str) -> str:
    message = "the registry's Marketplace and ReputationSystem links are already set (once only)"
    if "marketplace" in i:
        message += f": Marketplace {i['marketplace']}, ReputationSystem {i['reputation']}"
    return message


def _bond_too_high(value: int, maximum: int) -> str:
    if maximum <= BPS:  # the share of the max cost, in bps
        return f"dispute bond {value} bps is above the maximum of {maximum} bps"
    return f"minimum dispute bond {_tok(value)} is above the maximum of {_tok(maximum)}"


# OpenZeppelin TimelockController.OperationState, as bits of `expectedStates`
_TIMELOCK_STATES = ("unset", "waiting", "ready", "done")


def _timelock_state(inputs: dict[str, Any], action: str) -> str:
    op = short(inputs["operationId"])
    bits = inputs["expectedStates"]  # a bytes32 bitmap
    bits = int.from_bytes(bytes(bits), "big") if isinstance(bits, (bytes, bytearray)) else int(bits)
    expected = [name for bit, name in enumerate(_TIMELOCK_STATES) if bits >> bit & 1]
    if expected == ["ready"]:
        return (f"cannot {action}: timelock operation {op} is not ready (its delay has not passed, or it was "
                "executed or cancelled): see `gpurent admin pending`")
    if expected == ["unset"]:
        return f"cannot {action}: timelock operation {op} is already scheduled"
    return f"cannot {action}: timelock operation {op} is not {' or '.join(expected) or 'in the expected state'}"


def _one_of(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1]


def _outcome(value: Any) -> str:
    return DisputeOutcome(int(value)).name.lower().replace("_", "-")


# Solidity error name -> (exception class, message from its inputs and the attempted action)
_ERRORS: dict[str, tuple[type[ContractRevert], Formatter]] = {
    "MarketplaceUnknownJob": (UnknownJob, lambda i, a: f"job {short(i['jobId'])} does not exist"),
    "MarketplaceInvalidJobState": (
        InvalidJobState,
        lambda i, a: f"cannot {a} job {short(i['jobId'])}: it is {JobStatus(int(i['current'])).label}",
    ),
    "MarketplaceUnauthorized": (
        NotAuthorized,
        lambda i, a: f"{i['caller']} may not {a} job {short(i['jobId'])}: not its renter or provider",
    ),
    "MarketplaceDeadlineNotReached": (
        DeadlineNotReached,
        lambda i, a: f"cannot {a} job {short(i['jobId'])} yet: allowed from timestamp {i['availableAt']}",
    ),
    "MarketplaceInvalidDuration": (
        InvalidArgument,
        lambda i, a: f"invalid duration {i['duration']} s: must be 1 s to {_seconds(i['maxDuration'])}",
    ),
    "MarketplaceZeroCost": (InvalidArgument, lambda i, a: (
        f"the job would cost nothing ({i['pricePerHour']} base units per hour for {i['duration']} s): "
        "book a longer duration")),
    "MarketplaceCostAboveLimit": (
        InvalidArgument,
        lambda i, a: f"the job now costs {_tok(i['maxCost'])}, above your limit of {_tok(i['limit'])} "
        "(the price changed)",
    ),
    "MarketplaceInvalidCID": (InvalidArgument, _length("the image CID", least=1)),
    "MarketplaceReasonTooLong": (InvalidArgument, _length("the dispute reason", least=0, unit="bytes")),
    "MarketplaceFeeTooHigh": (
        InvalidArgument,
        lambda i, a: f"fee {i['feeBps']} bps is above the maximum of {i['maxFeeBps']} bps",
    ),
    "MarketplaceInvalidTimeout": (InvalidArgument, lambda i, a: (
        f"invalid timeout {_seconds(i['timeout'])}: each timeout must be 1 s to {_seconds(i['maxTimeout'])}")),
    "MarketplaceInvalidTreasury": (InvalidArgument, lambda i, a: "the treasury cannot be the zero address"),
    "MarketplaceInvalidOutcome": (InvalidArgument, lambda i, a: (
        f"cannot {a} job {short(i['jobId'])} as {_outcome(i['outcome'])}: a dispute is resolved as "
        f"{_one_of([_outcome(o) for o in DisputeOutcome if o])}")),
    "MarketplaceDisputeWindowClosed": (
        DeadlinePassed,
        lambda i, a: f"cannot {a} job {short(i['jobId'])}: its dispute window closed at timestamp {i['closedAt']} "
        "(its booked time plus the completion grace)",
    ),
    "MarketplaceJobExpired": (
        DeadlinePassed,
        lambda i, a: f"cannot {a} job {short(i['jobId'])}: it expired unaccepted at timestamp {i['expiredAt']} "
        "(anyone may cancel it, refunding the renter)",
    ),
    "MarketplaceBondTooHigh": (InvalidArgument, lambda i, a: _bond_too_high(int(i["bondBps"]), int(i["maxBondBps"]))),
    "MarketplaceNothingToRelease": (
        InvalidArgument,
        lambda i, a: f"job {short(i['jobId'])} has no accrued cost to release (or less than asked)",
    ),
    "MarketplaceReleaseAboveStake": (
        InvalidArgument,
        lambda i, a: f"cannot release {to_tokens(int(i['amount']))} GPU of job {short(i['jobId'])} early: "
        f"{to_tokens(int(i['releasedOpen']))} GPU already paid early on open jobs, and the stake of "
        f"{to_tokens(int(i['stake']))} GPU must back all of it (the rest is paid when the job ends)",
    ),
    "RegistryUnknownResource": (UnknownResource, lambda i, a: f"GPU {short(i['resourceId'])} does not exist"),
    "RegistryNotResourceProvider": (
        NotAuthorized,
        lambda i, a: f"{i['caller']} is not the provider of GPU {short(i['resourceId'])}",
    ),
    "RegistryResourceRetired": (ResourceUnavailable, lambda i, a: f"GPU {short(i['resourceId'])} is retired"),
    "RegistryResourceUnavailable": (
        ResourceUnavailable,
        lambda i, a: f"GPU {short(i['resourceId'])} is not available for new jobs",
    ),
    "RegistryProviderNotRegistered": (
        NotAuthorized,
        lambda i, a: f"{i['provider']} is not a registered provider: register first",
    ),
    "RegistryProviderAlreadyRegistered": (StakeError, lambda i, a: f"{i['provider']} is already registered"),
    "RegistryInsufficientStake": (
        ResourceUnavailable,
        lambda i, a: f"provider {i['provider']} has {_tok(i['stake'])} staked; {_tok(i['minStake'])} are needed",
    ),
    "RegistryActiveResources": (
        StakeError,
        lambda i, a: f"retire all {i['activeResources']} active GPU(s) of {i['provider']} before unstaking",
    ),
    "RegistryOpenJobs": (
        StakeError,
        lambda i, a: f"cannot {a}: {i['provider']} has {i['openJobs']} open job(s); its stake stays locked "
        "until they are settled or cancelled",
    ),
    "RegistryUptimeTooLarge": (
        InvalidArgument,
        lambda i, a: f"cannot {a}: {i['additionalSeconds']} s of uptime for GPU {short(i['resourceId'])} is more "
        f"than the {i['maxSeconds']} s since its last credit",
    ),
    "RegistryReputationMismatch": (
        InvalidArgument,
        lambda i, a: f"cannot {a}: reputation {i['reputation']} for GPU {short(i['resourceId'])} is not its "
        f"provider's score on the ReputationSystem ({i['score']})",
    ),
    "RegistryNotMarketplace": (NotAuthorized, lambda i, a: f"{i['caller']} may not {a}: only the Marketplace may"),
    "RegistryLinksSet": (InvalidArgument, _links_set),
    "RegistryInvalidLinks": (InvalidArgument, lambda i, a: (
        f"the Marketplace ({i['marketplace']}) and the ReputationSystem ({i['reputation']}) cannot be "
        "the zero address")),
    "RegistryLinksNotSet": (InvalidArgument, lambda i, a: (
        f"cannot {a}: the registry is not linked to its Marketplace and ReputationSystem yet (setLinks)")),
    "RegistryUnstakePending": (
        StakeError,
        lambda i, a: f"an unstake is pending (unlocks at {i['unlockAt']}): cancel it first",
    ),
    "RegistryNoUnstakePending": (StakeError, lambda i, a: "no unstake is pending: request one first"),
    "RegistryStakeLocked": (DeadlineNotReached, lambda i, a: f"the stake is locked until timestamp {i['unlockAt']}"),
    "RegistryNothingStaked": (StakeError, lambda i, a: "nothing is staked"),
    "RegistryInvalidGpuModel": (InvalidArgument, _length("the GPU model", least=1)),
    "RegistryInvalidEndpoint": (InvalidArgument, _length("the endpoint URL", least=1)),
    "RegistryInvalidPrice": (InvalidArgument, lambda i, a: (
        f"invalid price {_tok(i['price'])} per hour: must be above 0 and at most {_tok(i['maxPrice'])}")),
    "RegistryInvalidSpec": (InvalidArgument, lambda i, a: (
        f"vCPU and memory must be above 0 (got {i['vcpu']} vCPU, {i['memoryGB']} GB)")),
    "RegistryInvalidReputation": (InvalidArgument, lambda i, a: (
        f"reputation must be 0 to {i['maxReputation']} (got {i['reputation']})")),
    "RegistryInvalidAmount": (InvalidArgument, lambda i, a: f"invalid amount {_tok(i['amount'])}"),
    "RegistryInvalidParameter": (InvalidArgument, _parameter),
    "ReputationInvalidBps": (InvalidArgument, lambda i, a: f"{i['value']} bps is above the maximum of {i['maxBps']} bps"),
    "ReputationInvalidParameter": (InvalidArgument, _parameter),
    "ReputationInvalidReport": (InvalidArgument, _invalid_report),
    "ReputationPeriodNotPast": (DeadlineNotReached, lambda i, a: (
        f"cannot {a} period {i['period']}: it has not ended (the current period is {i['current']})")),
    "ReputationIncidentRecorded": (AlreadyRecorded, lambda i, a: f"incident {short(i['incident'])} was already penalised"),
    "ReputationPeriodReported": (AlreadyRecorded, lambda i, a: (
        f"{short(i['provider'])} already has a report for period {i['lastPeriod']}; "
        f"period {i['period']} cannot be reported")),
    "ERC20InsufficientBalance": (
        InsufficientFunds,
        lambda i, a: f"cannot {a}: balance {_tok(i['balance'])}, needed {_tok(i['needed'])}",
    ),
    "ERC20InsufficientAllowance": (
        InsufficientFunds,
        lambda i, a: f"cannot {a}: allowance {_tok(i['allowance'])}, needed {_tok(i['needed'])}",
    ),
    "AccessControlUnauthorizedAccount": (NotAuthorized, lambda i, a: f"{i['account']} lacks the role needed to {a}"),
    "TimelockUnexpectedOperationState": (DeadlineNotReached, _timelock_state),
    "TimelockInsufficientDelay": (
        InvalidArgument,
        lambda i, a: f"cannot {a}: a delay of {i['delay']} s is below the timelock's minimum of {i['minDelay']} s",
    ),
    "TimelockUnauthorizedCaller": (
        NotAuthorized,
        lambda i, a: f"{i['caller']} may not {a}: only the timelock itself may",
    ),
    "EnforcedPause": (Paused, lambda i, a: f"cannot {a}: the contract is paused"),
    "ExpectedPause": (InvalidArgument, lambda i, a: "the contract is not paused"),
    "ReentrancyGuardReentrantCall": (ContractRevert, lambda i, a: "re-entrant call refused"),
}


def known_errors() -> frozenset[str]:
    """The names of the contract errors that have a message here."""
    return frozenset(_ERRORS)


def contract_error(name: str, inputs: dict[str, Any], action: str) -> ContractRevert:
    """The exception the contract's error ``name`` with ``inputs`` becomes (for a check made
    before sending, so that it reads exactly as the revert would)."""
    cls, fmt = _ERRORS[name]
    return cls(fmt(inputs, action), name=name, inputs=inputs)


def insufficient_balance(action: str, balance: int, needed: int) -> InsufficientFunds:
    """The error for a balance too small, whether the SDK sees it before sending or the token
    reverts with ERC20InsufficientBalance: one class, one message."""
    return cast(InsufficientFunds,
                contract_error("ERC20InsufficientBalance", {"balance": balance, "needed": needed}, action))


@cache
def _abi_errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector -> (name, input names, input types) of every error in the packaged ABIs."""
    from eth_utils import keccak

    from gpurent.artifacts import contract_type
    from gpurent.manifest import CONTRACTS

    known: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in CONTRACTS:
        for entry in contract_type(name).abi:
            if entry.type == "error":
                known[keccak(text=entry.selector)[:4]] = (
                    entry.name, [i.name for i in entry.inputs], [i.canonical_type for i in entry.inputs])
    return known


class RevertData(Exception):
    """Carries raw revert bytes fetched again from the node (see Gpurent._call)."""

    def __init__(self, data: bytes):
        self.data = data
        super().__init__(hex_id(data))


def _revert_data(err: Exception) -> bytes | None:
    """The raw revert data of an error, wherever Ape or web3 left it."""
    for candidate in (err, getattr(err, "base_err", None)):
        data = getattr(candidate, "data", None)
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                continue
        if isinstance(data, (bytes, bytearray)) and len(data) >= 4:
            return bytes(data)
    message = getattr(err, "revert_message", None)
    if isinstance(message, str) and message.startswith("0x") and len(message) >= 10:
        try:
            return bytes.fromhex(message[2:])
        except ValueError:
            return None
    return None


def decode_revert(err: Exception) -> tuple[str, dict[str, Any]] | None:
    """(error name, inputs) decoded from the raw revert data with the packaged ABIs."""
    data = _revert_data(err)
    if data is None or data[:4] not in _abi_errors():
        return None
    from eth_abi import decode

    name, names, types = _abi_errors()[data[:4]]
    try:
        values = decode(types, data[4:])
    except Exception:  # malformed data: leave it undecoded
        return None
    return name, dict(zip(names, values))


def translate(err: Exception, action: str) -> GpurentError:
    """Turns an Ape contract error into the gpurent exception for it.

    ``action`` names what was attempted, in the infinitive ("cancel", "create a job on").
    """
    if isinstance(err, GpurentError):
        return err
    name = getattr(err, "name", None) or type(err).__name__
    inputs = dict(getattr(err, "inputs", None) or {})
    if name not in _ERRORS and (decoded := decode_revert(err)) is not None:
        name, inputs = decoded
    if name in _ERRORS:
        try:
            return contract_error(name, inputs, action)
        except (KeyError, IndexError, ValueError):
            pass
    detail = str(err).strip().splitlines()[0] if str(err).strip() else name
    return ContractRevert(f"cannot {action}: {detail}", name=name, inputs=inputs)
