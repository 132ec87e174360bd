"""What providers and oracles sign to each other, shared by the agent and the oracle.

Heartbeats and challenge answers are EIP-712 typed data under one domain that names the chain
and the ReputationSystem contract, so a signature made for one deployment is worthless on
another. Time is cut into heartbeat *slots* (``floor(unix time / interval)``) and report
*periods* (``floor(unix time / period)``), the same for every oracle instance.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any

from gpurent.wire.access import sign_bytes
from gpurent.errors import GpurentError

DOMAIN_NAME = "gpurent oracle"
DOMAIN_VERSION = "1"
CHALLENGE_LENGTH = 1024
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


def _sign(account: Any, signable: Any) -> str:
    return "0x" + sign_bytes(account, signable).hex()


def _recover(signable: Any, signature: str) -> str:
    from eth_account import Account

    try:
        return str(Account.recover_message(signable, signature=bytes.fromhex(signature.removeprefix("0x"))))
    except Exception as err:  # noqa: BLE001 - eth_account raises several kinds for junk
        raise SignatureError(f"malformed signature: {err}") from err


def _hex32(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        raise SignatureError(f"{what} is not hex") from None
    if len(raw) != 32:
        raise SignatureError(f"{what} must be 32 bytes")
    return raw


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
        signature = _sign(account, _typed(domain, "Heartbeat", HEARTBEAT_TYPE, self._message()))
        return Heartbeat(**{**self.__dict__, "signature": signature})

    def signer(self, domain: Domain) -> str:
        return _recover(_typed(domain, "Heartbeat", HEARTBEAT_TYPE, self._message()), self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "timestamp": self.timestamp, "nonce": "0x" + self.nonce.hex(),
                "jobs_running": self.jobs_running, "gpu_util_bps": self.gpu_util_bps, "uptime_s": self.uptime_s,
                "signature": self.signature}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Heartbeat:
        try:
            beat = cls(provider=str(body["provider"]), timestamp=int(body["timestamp"]),
                       nonce=_hex32(body["nonce"], "nonce"), jobs_running=int(body["jobs_running"]),
                       gpu_util_bps=int(body["gpu_util_bps"]), uptime_s=int(body["uptime_s"]),
                       signature=str(body["signature"]))
        except KeyError as err:
            raise SignatureError(f"a heartbeat needs {err.args[0]}") from None
        except (TypeError, ValueError) as err:
            raise SignatureError(f"malformed heartbeat: {err}") from None
        if not (0 <= beat.gpu_util_bps <= 10_000 and beat.jobs_running >= 0 and beat.uptime_s >= 0):
            raise SignatureError("heartbeat fields out of range")
        return beat


def new_heartbeat(provider: str, jobs_running: int, gpu_util: float, uptime_s: float,
                  now: float | None = None) -> Heartbeat:
    return Heartbeat(provider=provider, timestamp=int(now if now is not None else time.time()), nonce=os.urandom(32),
                     jobs_running=jobs_running, gpu_util_bps=max(0, min(10_000, round(gpu_util * 10_000))),
                     uptime_s=int(uptime_s))


# ------------------------------------------------------------------------------ challenges
@dataclass(frozen=True)
class Challenge:
    """Asks for ``length`` bytes at ``offset`` of a job image's ``image.tar``, by ``expiry``."""

    job_id: str
    cid: str
    offset: int
    length: int
    nonce: bytes
    expiry: float

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "cid": self.cid, "offset": self.offset, "length": self.length,
                "nonce": "0x" + self.nonce.hex(), "expiry": self.expiry}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Challenge:
        length = int(body["length"])
        if not 0 < length <= 64 * CHALLENGE_LENGTH or int(body["offset"]) < 0:
            raise ValueError("offset or length out of range")
        return cls(job_id=str(body.get("job_id", "")), cid=str(body["cid"]), offset=int(body["offset"]),
                   length=length, nonce=_hex32(body["nonce"], "nonce"), expiry=float(body["expiry"]))


def data_hash(data: bytes) -> bytes:
    from eth_utils.crypto import keccak

    return bytes(keccak(data))


def _response_message(provider: str, challenge: Challenge, data: bytes) -> dict[str, Any]:
    return {"provider": provider, "cid": challenge.cid, "offset": challenge.offset, "length": challenge.length,
            "nonce": challenge.nonce, "dataHash": data_hash(data)}


def sign_response(account: Any, domain: Domain, challenge: Challenge, data: bytes) -> str:
    """The provider's signature over (CID, offset, length, nonce, keccak(bytes))."""
    return _sign(account, _typed(domain, "ChallengeResponse", RESPONSE_TYPE,
                                 _response_message(str(account.address), challenge, data)))


def response_signer(domain: Domain, provider: str, challenge: Challenge, data: bytes, signature: str) -> str:
    return _recover(_typed(domain, "ChallengeResponse", RESPONSE_TYPE,
                           _response_message(provider, challenge, data)), signature)


# ------------------------------------------------------------------------------ time and names
def slot_of(timestamp: float, interval_s: float) -> int:
    return int(timestamp // interval_s)


def incident(kind: str, chain_id: int, provider: str, key: int | bytes) -> bytes:
    """The on-chain name of a penalised event; every oracle instance derives the same one."""
    tail = key.hex() if isinstance(key, bytes) else str(key)
    return hashlib.sha256(f"gpurent/{kind}/{chain_id}/{provider.lower()}/{tail}".encode()).digest()
