"""Revert translation: each contract error becomes its gpurent exception, with a message built
from the error's own inputs (the bound included), never from a bound restated in Python."""

import pytest

from gpurent import errors, reverts
from gpurent.artifacts import contract_type
from gpurent.manifest import CONTRACTS


class Reverted(Exception):
    """What Ape raises for a custom error: a name and its inputs."""

    def __init__(self, name, inputs):
        super().__init__("raw")
        self.name, self.inputs = name, inputs


@pytest.mark.parametrize("name, inputs, cls, text", [
    ("MarketplaceInvalidCID", {"length": 129, "maxLength": 128}, errors.InvalidArgument,
     "the image CID must be 1 to 128 characters (it is 129)"),
    ("MarketplaceReasonTooLong", {"length": 2000, "maxLength": 1024}, errors.InvalidArgument,
     "the dispute reason must be at most 1024 bytes (it is 2000)"),
    ("MarketplaceInvalidDuration", {"duration": 0, "maxDuration": 90 * 86400}, errors.InvalidArgument,
     "invalid duration 0 s: must be 1 s to 90 days"),
    ("MarketplaceInvalidTimeout", {"timeout": 31 * 86400, "maxTimeout": 30 * 86400}, errors.InvalidArgument,
     "invalid timeout 31 days: each timeout must be 1 s to 30 days"),
    ("MarketplaceZeroCost", {"pricePerHour": 3599, "duration": 1}, errors.InvalidArgument,
     "the job would cost nothing (3599 base units per hour for 1 s): book a longer duration"),
    ("MarketplaceInvalidExtension", {"jobId": b"\x01" * 32, "extraSeconds": 0, "maxExtraSeconds": 86400},
     errors.InvalidArgument, "cannot dispute job 0x01010101… by 0 s: it can be extended by 1 s to 1 day (86400 s) more"),
    ("MarketplaceInvalidExtension", {"jobId": b"\x01" * 32, "extraSeconds": 1, "maxExtraSeconds": 0},
     errors.InvalidArgument, "by 1 s: it is already booked for the longest a job may run"),
    ("MarketplaceBookingEnded", {"jobId": b"\x01" * 32, "bookedEnd": 1764000000}, errors.DeadlinePassed,
     "cannot dispute job 0x01010101…: its booked time ended at timestamp 1764000000 (its provider stops it)"),
    ("MarketplaceInvalidOutcome", {"jobId": b"\x01" * 32, "outcome": 0}, errors.InvalidArgument,
     "cannot dispute job 0x01010101… as none: a dispute is resolved as provider-fault, user-fault or split"),
    ("MarketplaceInvalidTreasury", {"treasury": "0x" + "00" * 20}, errors.InvalidArgument,
     "the treasury cannot be the zero address"),
    ("RegistryInvalidGpuModel", {"length": 32, "maxLength": 31}, errors.InvalidArgument,
     "the GPU model must be 1 to 31 characters (it is 32)"),
    ("RegistryInvalidGpuModelByte", {"position": 4, "value": 0x1B}, errors.InvalidArgument,
     "the GPU model must be printable ASCII (letters, digits, spaces and punctuation): byte 4 is 0x1b"),
    ("RegistryInvalidEndpoint", {"length": 0, "maxLength": 256}, errors.InvalidArgument,
     "the endpoint URL must be 1 to 256 characters (it is 0)"),
    ("RegistryInvalidSpec", {"vcpu": 0, "memoryGB": 8}, errors.InvalidArgument,
     "vCPU and memory must be above 0 (got 0 vCPU, 8 GB)"),
    ("RegistryInvalidReputation", {"reputation": 1001, "maxReputation": 1000}, errors.InvalidArgument,
     "reputation must be 0 to 1000 (got 1001)"),
    ("RegistryInvalidPrice", {"price": 0, "maxPrice": 2 * 10**18}, errors.InvalidArgument,
     "invalid price 0 GPU per hour: must be above 0 and at most 2 GPU"),
    ("RegistryInvalidParameter", {"parameter": b"unstakeCooldown".ljust(32, b"\0"), "value": 91,
                                  "minValue": 0, "maxValue": 90}, errors.InvalidArgument,
     "cannot dispute: unstakeCooldown 91 is outside its allowed range 0 to 90"),
    ("ReputationInvalidParameter", {"parameter": "0x" + b"periodLength".ljust(32, b"\0").hex(), "value": 0,
                                    "minValue": 1, "maxValue": 2592000}, errors.InvalidArgument,
     "periodLength 0 is outside its allowed range 1 to 2592000"),
    ("ReputationInvalidBps", {"value": 2001, "maxBps": 2000}, errors.InvalidArgument,
     "2001 bps is above the maximum of 2000 bps"),
    ("ReputationInvalidReport", {"heartbeatsKept": 61, "heartbeatsExpected": 60, "challenges": 0,
                                 "periodLength": 3600}, errors.InvalidArgument,
     "more heartbeats than expected (61 kept, 60 expected)"),
    ("ReputationInvalidReport", {"heartbeatsKept": 1, "heartbeatsExpected": 3601, "challenges": 0,
                                 "periodLength": 3600}, errors.InvalidArgument,
     "expect more heartbeats than its period has seconds"),
    ("ReputationInvalidReport", {"heartbeatsKept": 1, "heartbeatsExpected": 1, "challenges": 3601,
                                 "periodLength": 3600}, errors.InvalidArgument,
     "count more challenges than its period has seconds (3601 challenges, a period of 3600 s)"),
    ("RegistryLinksSet", {"marketplace": "0xabc", "reputation": "0xdef"}, errors.InvalidArgument,
     "already set (once only): Marketplace 0xabc, ReputationSystem 0xdef"),
    ("RegistryInvalidLinks", {"marketplace": "0x0", "reputation": "0xdef"}, errors.InvalidArgument,
     "cannot be the zero address"),
    ("RegistryLinksNotSet", {}, errors.InvalidArgument, "cannot dispute: the registry is not linked"),
])
def test_contract_errors_read_with_their_context(name, inputs, cls, text):
    translated = reverts.translate(Reverted(name, inputs), "dispute")
    assert type(translated) is cls and text in str(translated)
    assert translated.name == name and translated.inputs == inputs


def test_every_gpurent_error_has_a_translation():
    """A new error of our contracts without an entry would read as a bare name: none may."""
    ours = {entry.name for c in CONTRACTS for entry in contract_type(c).abi
            if entry.type == "error" and entry.name.startswith(("Marketplace", "Registry", "Reputation"))}
    assert ours and ours <= reverts.known_errors()


def test_a_gpurent_error_passes_through_and_an_unknown_one_keeps_its_text():
    own = errors.InvalidInput("bad")
    assert reverts.translate(own, "x") is own
    other = reverts.translate(ValueError("node said no"), "stake")
    assert type(other) is errors.ContractRevert and str(other) == "cannot stake: node said no"


def test_insufficient_balance_reads_as_the_token_revert():
    err = reverts.insufficient_balance("stake", 0, 5 * 10**18)
    assert isinstance(err, errors.InsufficientFunds) and str(err) == "cannot stake: balance 0 GPU, needed 5 GPU"
