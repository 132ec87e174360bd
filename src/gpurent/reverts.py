"""Contract reverts as gpurent exceptions: decoding and translation.

Solidity custom errors arrive from Ape as ``CustomError`` carrying ``.inputs`` (or, from some
nodes, only as raw revert bytes, decoded here with the packaged ABIs); ``translate`` turns each
into the ``ContractRevert`` subclass for it, with a message a person understands, phrased with
the action that was attempted ("cannot cancel job 0x1234abcd…: it is Running"). Every message
is built from the error's inputs: a bound the contract enforces arrives in the error, so it is
never restated here.
"""

from __future__ import annotations

import string
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


def _outcome(value: Any) -> str:
    return DisputeOutcome(int(value)).name.lower().replace("_", "-")


class _Message(string.Formatter):
    """Fills a message template from an error's inputs; a field's format names how a person reads
    the value: ``{jobId:id}`` a shortened id, ``{stake:tok}`` tokens, ``{maxDuration:span}`` a span,
    ``{current:status}`` a job status, ``{outcome:outcome}`` a ruling, ``{parameter:text}`` a
    bytes32 name; ``{a}`` is the attempted action."""

    _READ: dict[str, Callable[[Any], str]] = {
        "id": short, "tok": _tok, "span": _seconds, "text": _text, "outcome": _outcome,
        "status": lambda v: JobStatus(int(v)).label,
    }

    def format_field(self, value: Any, format_spec: str) -> str:
        read = self._READ.get(format_spec)
        return read(value) if read else super().format_field(value, format_spec)


_MESSAGE = _Message()

Formatter = Callable[[dict[str, Any], str], str]


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


def _bond_too_high(i: dict[str, Any], a: str) -> str:
    value, maximum = int(i["bondBps"]), int(i["maxBondBps"])
    if maximum <= BPS:  # the share of the max cost, in bps
        return f"dispute bond {value} bps is above the maximum of {maximum} bps"
    return f"minimum dispute bond {_tok(value)} is above the maximum of {_tok(maximum)}"


def _invalid_outcome(i: dict[str, Any], a: str) -> str:
    rulings = [_outcome(o) for o in DisputeOutcome if o]
    return (f"cannot {a} job {short(i['jobId'])} as {_outcome(i['outcome'])}: a dispute is resolved as "
            f"{', '.join(rulings[:-1])} or {rulings[-1]}")


def _invalid_extension(i: dict[str, Any], a: str) -> str:
    room = int(i["maxExtraSeconds"])
    why = ("it is already booked for the longest a job may run" if room == 0 else
           f"it can be extended by 1 s to {_seconds(room)} ({room} s) more")
    return f"cannot {a} job {short(i['jobId'])} by {i['extraSeconds']} s: {why}"


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


_PARAMETER = "cannot {a}: {parameter:text} {value} is outside its allowed range {minValue} to {maxValue}"

# Solidity error name -> (exception class, message: a template over its inputs and the attempted
# action `a`, or a function of both where the wording depends on the values)
_ERRORS: dict[str, tuple[type[ContractRevert], str | Formatter]] = {
    "MarketplaceUnknownJob": (UnknownJob, "job {jobId:id} does not exist"),
    "MarketplaceInvalidJobState": (InvalidJobState, "cannot {a} job {jobId:id}: it is {current:status}"),
    "MarketplaceUnauthorized": (NotAuthorized, "{caller} may not {a} job {jobId:id}: not its renter or provider"),
    "MarketplaceDeadlineNotReached": (
        DeadlineNotReached, "cannot {a} job {jobId:id} yet: allowed from timestamp {availableAt}"),
    "MarketplaceInvalidDuration": (InvalidArgument, "invalid duration {duration} s: must be 1 s to {maxDuration:span}"),
    "MarketplaceZeroCost": (InvalidArgument, "the job would cost nothing ({pricePerHour} base units per hour for "
                                             "{duration} s): book a longer duration"),
    "MarketplaceCostAboveLimit": (
        InvalidArgument, "the job now costs {maxCost:tok}, above your limit of {limit:tok} (the price changed)"),
    "MarketplaceInvalidCID": (InvalidArgument, "the image CID must be 1 to {maxLength} characters (it is {length})"),
    "MarketplaceReasonTooLong": (
        InvalidArgument, "the dispute reason must be at most {maxLength} bytes (it is {length})"),
    "MarketplaceFeeTooHigh": (InvalidArgument, "fee {feeBps} bps is above the maximum of {maxFeeBps} bps"),
    "MarketplaceInvalidTimeout": (
        InvalidArgument, "invalid timeout {timeout:span}: each timeout must be 1 s to {maxTimeout:span}"),
    "MarketplaceInvalidTreasury": (InvalidArgument, "the treasury cannot be the zero address"),
    "MarketplaceInvalidOutcome": (InvalidArgument, _invalid_outcome),
    "MarketplaceDisputeWindowClosed": (
        DeadlinePassed, "cannot {a} job {jobId:id}: its dispute window closed at timestamp {closedAt} "
                        "(its booked time plus the completion grace)"),
    "MarketplaceJobExpired": (
        DeadlinePassed, "cannot {a} job {jobId:id}: it expired unaccepted at timestamp {expiredAt} "
                        "(anyone may cancel it, refunding the renter)"),
    "MarketplaceBondTooHigh": (InvalidArgument, _bond_too_high),
    "MarketplaceInvalidEndTime": (
        InvalidArgument, "cannot {a} job {jobId:id} as ended at timestamp {endedAt}: the end must be between its "
                         "start ({startTime}) and the current block ({latest})"),
    "MarketplaceInvalidExtension": (InvalidArgument, _invalid_extension),
    "MarketplaceBookingEnded": (
        DeadlinePassed, "cannot {a} job {jobId:id}: its booked time ended at timestamp {bookedEnd} (its provider "
                        "stops it); book a new job instead"),
    "MarketplaceNothingToWithdraw": (InvalidArgument, "nothing to withdraw: no earnings are held for {provider}"),
    "MarketplaceNothingToRelease": (
        InvalidArgument, "job {jobId:id} has no accrued cost to release (or less than asked)"),
    "MarketplaceReleaseAboveStake": (
        InvalidArgument, "cannot release {amount:tok} of job {jobId:id} early: {releasedOpen:tok} already paid early "
                         "on open jobs, and the stake of {stake:tok} must back all of it (the rest is paid when the "
                         "job ends)"),
    "RegistryUnknownResource": (UnknownResource, "GPU {resourceId:id} does not exist"),
    "RegistryNotResourceProvider": (NotAuthorized, "{caller} is not the provider of GPU {resourceId:id}"),
    "RegistryResourceRetired": (ResourceUnavailable, "GPU {resourceId:id} is retired"),
    "RegistryResourceUnavailable": (ResourceUnavailable, "GPU {resourceId:id} is not available for new jobs"),
    "RegistryProviderNotRegistered": (NotAuthorized, "{provider} is not a registered provider: register first"),
    "RegistryProviderAlreadyRegistered": (StakeError, "{provider} is already registered"),
    "RegistryInsufficientStake": (ResourceUnavailable, "provider {provider} has {stake:tok} staked; {minStake:tok} "
                                                       "are needed"),
    "RegistryActiveResources": (
        StakeError, "retire all {activeResources} active GPU(s) of {provider} before unstaking"),
    "RegistryOpenJobs": (StakeError, "cannot {a}: {provider} has {openJobs} open job(s); its stake stays locked until "
                                     "they are settled or cancelled"),
    "RegistryUptimeTooLarge": (
        InvalidArgument, "cannot {a}: {additionalSeconds} s of uptime for GPU {resourceId:id} is more than the "
                         "{maxSeconds} s since its last credit"),
    "RegistryReputationMismatch": (
        InvalidArgument, "cannot {a}: reputation {reputation} for GPU {resourceId:id} is not its provider's score on "
                         "the ReputationSystem ({score})"),
    "RegistryNotMarketplace": (NotAuthorized, "{caller} may not {a}: only the Marketplace may"),
    "RegistryLinksSet": (InvalidArgument, _links_set),
    "RegistryInvalidLinks": (
        InvalidArgument, "the Marketplace ({marketplace}) and the ReputationSystem ({reputation}) cannot be the zero "
                         "address"),
    "RegistryLinksNotSet": (
        InvalidArgument, "cannot {a}: the registry is not linked to its Marketplace and ReputationSystem yet "
                         "(setLinks)"),
    "RegistryUnstakePending": (StakeError, "an unstake is pending (unlocks at {unlockAt}): cancel it first"),
    "RegistryNoUnstakePending": (StakeError, "no unstake is pending: request one first"),
    "RegistryStakeLocked": (DeadlineNotReached, "the stake is locked until timestamp {unlockAt}"),
    "RegistryNothingStaked": (StakeError, "nothing is staked"),
    "RegistryInvalidGpuModel": (InvalidArgument, "the GPU model must be 1 to {maxLength} characters (it is {length})"),
    "RegistryInvalidGpuModelByte": (
        InvalidArgument, "the GPU model must be printable ASCII (letters, digits, spaces and punctuation): "
                         "byte {position} is 0x{value:02x}"),
    "RegistryInvalidEndpoint": (
        InvalidArgument, "the endpoint URL must be 1 to {maxLength} characters (it is {length})"),
    "RegistryInvalidPrice": (InvalidArgument, "invalid price {price:tok} per hour: must be above 0 and at most "
                                              "{maxPrice:tok}"),
    "RegistryInvalidSpec": (InvalidArgument, "vCPU and memory must be above 0 (got {vcpu} vCPU, {memoryGB} GB)"),
    "RegistryInvalidReputation": (InvalidArgument, "reputation must be 0 to {maxReputation} (got {reputation})"),
    "RegistryInvalidAmount": (InvalidArgument, "invalid amount {amount:tok}"),
    "RegistryInvalidParameter": (InvalidArgument, _PARAMETER),
    "ReputationInvalidBps": (InvalidArgument, "{value} bps is above the maximum of {maxBps} bps"),
    "ReputationInvalidParameter": (InvalidArgument, _PARAMETER),
    "ReputationInvalidReport": (InvalidArgument, _invalid_report),
    "ReputationPeriodNotPast": (
        DeadlineNotReached, "cannot {a} period {period}: it has not ended (the current period is {current})"),
    "ReputationIncidentRecorded": (AlreadyRecorded, "incident {incident:id} was already penalised"),
    "ReputationPeriodReported": (
        AlreadyRecorded, "{provider:id} already has a report for period {lastPeriod}; period {period} cannot be "
                         "reported"),
    "ERC20InsufficientBalance": (InsufficientFunds, "cannot {a}: balance {balance:tok}, needed {needed:tok}"),
    "ERC20InsufficientAllowance": (InsufficientFunds, "cannot {a}: allowance {allowance:tok}, needed {needed:tok}"),
    "AccessControlUnauthorizedAccount": (NotAuthorized, "{account} lacks the role needed to {a}"),
    "TimelockUnexpectedOperationState": (DeadlineNotReached, _timelock_state),
    "TimelockInsufficientDelay": (
        InvalidArgument, "cannot {a}: a delay of {delay} s is below the timelock's minimum of {minDelay} s"),
    "TimelockUnauthorizedCaller": (NotAuthorized, "{caller} may not {a}: only the timelock itself may"),
    "EnforcedPause": (Paused, "cannot {a}: the contract is paused"),
    "ExpectedPause": (InvalidArgument, "the contract is not paused"),
    "ReentrancyGuardReentrantCall": (ContractRevert, "re-entrant call refused"),
}


def _message(name: str, inputs: dict[str, Any], action: str) -> str:
    message = _ERRORS[name][1]
    return message(inputs, action) if callable(message) else _MESSAGE.format(message, a=action, **inputs)


def known_errors() -> frozenset[str]:
    """The names of the contract errors that have a message here."""
    return frozenset(_ERRORS)


def contract_error(name: str, inputs: dict[str, Any], action: str) -> ContractRevert:
    """The exception the contract's error ``name`` with ``inputs`` becomes (for a check made
    before sending, so that it reads exactly as the revert would)."""
    return _ERRORS[name][0](_message(name, inputs, action), name=name, inputs=inputs)


def insufficient_balance(action: str, balance: int, needed: int) -> InsufficientFunds:
    """The error for a balance too small, whether the SDK sees it before sending or the token
    reverts with ERC20InsufficientBalance: one class, one message."""
    return cast(InsufficientFunds,
                contract_error("ERC20InsufficientBalance", {"balance": balance, "needed": needed}, action))


@cache
def _abi_errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector -> (name, input names, input types) of every error in the packaged ABIs."""
    from eth_utils.crypto import keccak

    from gpurent.artifacts import abi, abi_signature, abi_type
    from gpurent.manifest import CONTRACTS

    known: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in CONTRACTS:
        for entry in abi(name):  # plain JSON: an error read over JSON-RPC loads no pydantic models
            if entry["type"] == "error":
                known[keccak(text=abi_signature(entry))[:4]] = (
                    entry["name"], [i["name"] for i in entry["inputs"]], [abi_type(i) for i in entry["inputs"]])
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
    from eth_abi.abi import decode

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
