"""What providers and oracles sign to each other, shared by the agent and the oracle.

Heartbeats and challenge answers are EIP-712 typed data under one domain that names the chain
and the ReputationSystem contract, so a signature made for one deployment is worthless on
another. Time is cut into heartbeat *slots* (``floor(unix time / interval)``) and report
*periods* (``floor(unix time / period)``), the same for every oracle instance.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from gpurent.wire.access import sign_bytes
from gpurent.errors import GpurentError

DOMAIN_NAME = "gpurent oracle"
DOMAIN_VERSION = "1"
CHALLENGE_LENGTH = 1024
CHALLENGE_MAX_EXPIRY_S = 120  # an oracle gives a provider at most this long to answer ...
CHALLENGE_CLOCK_SKEW_S = 10  # ... and a provider takes expiries this much further (clocks differ)
_HEX32 = re.compile(r"(0x)?[0-9a-fA-F]{64}")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")  # an address as JSON and JSON-RPC write it
_CID = re.compile(r"[A-Za-z0-9]{1,128}")  # base32 / base58: never a path, a query or a space
_SIGNATURE = re.compile(r"(0x)?[0-9a-fA-F]{0,260}")
ORACLE_HOST, ORACLE_PORT = "127.0.0.1", 7300  # where an oracle listens unless told otherwise
ORACLE_URL = f"http://{ORACLE_HOST}:{ORACLE_PORT}"  # ... so where a new provider sends heartbeats

HEARTBEAT_TYPE = [
    {"name": "provider", "type": "address"},
    {"name": "timestamp", "type": "uint64"},
    {"name": "nonce", "type": "bytes32"},
    {"name": "jobsRunning", "type": "uint32"},
    {"name": "gpuUtilBps", "type": "uint16"},
    {"name": "uptimeSeconds", "type": "uint64"},
]
CHALLENGE_TYPE = [  # what the oracle signs: a provider answers only an oracle's challenges
    {"name": "jobId", "type": "bytes32"},
    {"name": "cid", "type": "string"},
    {"name": "offset", "type": "uint64"},
    {"name": "length", "type": "uint32"},
    {"name": "nonce", "type": "bytes32"},
    {"name": "expiryMs", "type": "uint64"},
]
RESPONSE_TYPE = [
    {"name": "provider", "type": "address"},
    {"name": "cid", "type": "string"},
    {"name": "offset", "type": "uint64"},
    {"name": "length", "type": "uint32"},
    {"name": "nonce", "type": "bytes32"},
    {"name": "dataHash", "type": "bytes32"},
]


class SignatureError(GpurentError):
    """A message whose signature is malformed or not the claimed signer's."""


class MalformedMessage(SignatureError, ValueError):
    """Raised when a message's fields are missing, of the wrong type or out of range: nothing
    about it is signed or looked up."""


class ChallengeRefused(GpurentError):
    """Raised when a provider will not answer a challenge: not signed by an oracle, not for a
    job it runs, expired or expiring too far ahead."""


@dataclass(frozen=True)
class Domain:
    chain_id: int
    contract: str  # the ReputationSystem address

    def as_dict(self) -> dict[str, Any]:
        return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id,
                "verifyingContract": self.contract}


def _typed(domain: Domain, primary: str, fields: list[dict[str, str]], message: dict[str, Any]) -> Any:
    from eth_account.messages import encode_typed_data

    return encode_typed_data(full_message={
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"},
                                   {"name": "verifyingContract", "type": "address"}],
                  primary: fields},
        "primaryType": primary, "domain": domain.as_dict(), "message": message})


def _sign(account: Any, domain: Domain, primary: str, fields: list[dict[str, str]], message: dict[str, Any]) -> str:
    return "0x" + sign_bytes(account, _typed(domain, primary, fields, message)).hex()


def _recover(domain: Domain, primary: str, fields: list[dict[str, str]], message: dict[str, Any],
             signature: str) -> str:
    from eth_account import Account

    try:
        signable = _typed(domain, primary, fields, message)
        return str(Account.recover_message(signable, signature=bytes.fromhex(signature.removeprefix("0x"))))
    except Exception as err:  # noqa: BLE001 - eth_account and eth_abi raise several kinds for junk
        raise SignatureError(f"malformed signature: {str(err).splitlines()[0] if str(err) else err!r}"[:300]) from err


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise MalformedMessage(f"{what} must be 32 bytes of hex")
    return bytes.fromhex(value.removeprefix("0x"))


def _field(body: Any, key: str, what: str) -> Any:
    if not isinstance(body, dict):
        raise MalformedMessage(f"a {what} is a JSON object")
    if key not in body:
        raise MalformedMessage(f"a {what} needs {key}")
    return body[key]


def _uint(body: Any, key: str, what: str, bits: int, low: int = 0, high: int | None = None) -> int:
    """``body[key]``, a JSON integer (not a bool, a float or a string) in [low, high]
    (by default what a ``uint<bits>`` holds)."""
    value = _field(body, key, what)
    top = 2**bits - 1 if high is None else high
    if type(value) is not int or not low <= value <= top:
        raise MalformedMessage(f"{what} {key} must be an integer from {low} to {top}")
    return value


def _text(body: Any, key: str, what: str, pattern: re.Pattern[str], shape: str) -> str:
    value = _field(body, key, what)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise MalformedMessage(f"{what} {key} must be {shape}")
    return value


# ------------------------------------------------------------------------------ heartbeats
@dataclass(frozen=True)
class Heartbeat:
    provider: str
    timestamp: int
    nonce: bytes
    jobs_running: int
    gpu_util_bps: int
    uptime_s: int
    signature: str = ""

    def _message(self) -> dict[str, Any]:
        return {"provider": self.provider, "timestamp": self.timestamp, "nonce": self.nonce,
                "jobsRunning": self.jobs_running, "gpuUtilBps": self.gpu_util_bps, "uptimeSeconds": self.uptime_s}

    def signed(self, account: Any, domain: Domain) -> Heartbeat:
        signature = _sign(account, domain, "Heartbeat", HEARTBEAT_TYPE, self._message())
        return Heartbeat(**{**self.__dict__, "signature": signature})

    def signer(self, domain: Domain) -> str:
        return _recover(domain, "Heartbeat", HEARTBEAT_TYPE, self._message(), self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "timestamp": self.timestamp, "nonce": "0x" + self.nonce.hex(),
                "jobs_running": self.jobs_running, "gpu_util_bps": self.gpu_util_bps, "uptime_s": self.uptime_s,
                "signature": self.signature}

    @classmethod
    def from_json(cls, body: Any) -> Heartbeat:
        """MalformedMessage unless every field has its type and the range its EIP-712 type holds."""
        what = "heartbeat"
        return cls(provider=_text(body, "provider", what, ADDRESS, "an address (0x and 40 hex digits)"),
                   timestamp=_uint(body, "timestamp", what, 64), nonce=_hex32(_field(body, "nonce", what), "nonce"),
                   jobs_running=_uint(body, "jobs_running", what, 32),
                   gpu_util_bps=_uint(body, "gpu_util_bps", what, 16, high=10_000),
                   uptime_s=_uint(body, "uptime_s", what, 64),
                   signature=_text(body, "signature", what, _SIGNATURE, "hex"))


def new_heartbeat(provider: str, jobs_running: int, gpu_util: float, uptime_s: float,
                  now: float | None = None) -> Heartbeat:
    return Heartbeat(provider=provider, timestamp=int(now if now is not None else time.time()), nonce=os.urandom(32),
                     jobs_running=jobs_running, gpu_util_bps=max(0, min(10_000, round(gpu_util * 10_000))),
                     uptime_s=int(uptime_s))


# ------------------------------------------------------------------------------ challenges
@dataclass(frozen=True)
class Challenge:
    """Asks for ``length`` bytes at ``offset`` of job ``job_id``'s image (``cid``, its
    ``image.tar``) by ``expiry`` (unix seconds), signed by the oracle asking."""

    job_id: str
    cid: str
    offset: int
    length: int
    nonce: bytes
    expiry: float
    signature: str = ""

    def _message(self) -> dict[str, Any]:
        return {"jobId": _hex32(self.job_id, "job_id"), "cid": self.cid, "offset": self.offset,
                "length": self.length, "nonce": self.nonce, "expiryMs": round(self.expiry * 1000)}

    def signed(self, account: Any, domain: Domain) -> Challenge:
        """The challenge signed by ``account`` (the oracle) over all its fields."""
        signature = _sign(account, domain, "Challenge", CHALLENGE_TYPE, self._message())
        return Challenge(**{**self.__dict__, "signature": signature})

    def signer(self, domain: Domain) -> str:
        return _recover(domain, "Challenge", CHALLENGE_TYPE, self._message(), self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "cid": self.cid, "offset": self.offset, "length": self.length,
                "nonce": "0x" + self.nonce.hex(), "expiry": self.expiry, "signature": self.signature}

    @classmethod
    def from_json(cls, body: Any) -> Challenge:
        """MalformedMessage (a ValueError) unless every field has its type and range; a missing
        signature reads as "" (which no provider answers)."""
        what = "challenge"
        expiry = _field(body, "expiry", what)
        if type(expiry) not in (int, float) or not (math.isfinite(expiry) and 0 <= expiry < 2**40):
            raise MalformedMessage("challenge expiry must be unix seconds (a finite number)")
        job_id = _text(body, "job_id", what, _HEX32, "a job id (32 bytes of hex)").lower()
        return cls(job_id="0x" + job_id.removeprefix("0x"),
                   cid=_text(body, "cid", what, _CID, "a CID (letters and digits)"),
                   offset=_uint(body, "offset", what, 63), length=_uint(body, "length", what, 32, 1, 64 * CHALLENGE_LENGTH),
                   nonce=_hex32(_field(body, "nonce", what), "nonce"), expiry=float(expiry),
                   signature=_text({"signature": "", **body}, "signature", what, _SIGNATURE, "hex"))


def data_hash(data: bytes) -> bytes:
    from eth_utils.crypto import keccak

    return bytes(keccak(data))


def _response_message(provider: str, challenge: Challenge, data: bytes) -> dict[str, Any]:
    return {"provider": provider, "cid": challenge.cid, "offset": challenge.offset, "length": challenge.length,
            "nonce": challenge.nonce, "dataHash": data_hash(data)}


def sign_response(account: Any, domain: Domain, challenge: Challenge, data: bytes) -> str:
    """The provider's signature over (CID, offset, length, nonce, keccak(bytes))."""
    return _sign(account, domain, "ChallengeResponse", RESPONSE_TYPE,
                 _response_message(str(account.address), challenge, data))


def response_signer(domain: Domain, provider: str, challenge: Challenge, data: bytes, signature: str) -> str:
    return _recover(domain, "ChallengeResponse", RESPONSE_TYPE, _response_message(provider, challenge, data),
                    signature)


# ------------------------------------------------------------------------------ time and names
def slot_of(timestamp: float, interval_s: float) -> int:
    return int(timestamp // interval_s)


def incident(kind: str, chain_id: int, provider: str, key: int | bytes) -> bytes:
    """The on-chain name of a penalised event; every oracle instance derives the same one."""
    tail = key.hex() if isinstance(key, bytes) else str(key)
    return hashlib.sha256(f"gpurent/{kind}/{chain_id}/{provider.lower()}/{tail}".encode()).digest()
