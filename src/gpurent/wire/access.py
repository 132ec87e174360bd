"""Signed requests for a job's phase and logs: only the job's renter (and, for dispute
evidence, an oracle) may read them.

The renter signs (EIP-191) a short text naming the purpose, the chain, the job and the time; the
provider's endpoint recovers the signer, compares it with the job's renter, and refuses stale
or future timestamps (more than ``MAX_SKEW_S`` away from its clock) so a captured signature
cannot be replayed later.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from gpurent.errors import GpurentError

MAX_SKEW_S = 60
TIMESTAMP_HEADER = "X-Gpurent-Timestamp"
SIGNATURE_HEADER = "X-Gpurent-Signature"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # unix seconds (12 digits reach the year 33658)
_SIGNATURE = re.compile(r"(0x)?[0-9a-fA-F]{130}")  # r, s, v


class AccessDenied(GpurentError):
    """Raised when a signed request is stale, malformed (any shape of header) or not from the
    job's renter."""


def access_text(chain_id: int, job_id: str, timestamp: int) -> str:
    return f"gpurent job access\nchain: {chain_id}\njob: {job_id.lower()}\ntime: {timestamp}"


def sign_bytes(account: Any, signable: Any) -> bytes:
    """``account``'s 65-byte (r, s, v) signature of a SignableMessage: an Ape account (keys stay
    in Ape), an eth_account LocalAccount, or any signer returning the bytes."""
    signature = account.sign_message(signable)
    if hasattr(signature, "encode_rsv"):  # an Ape account
        return bytes(signature.encode_rsv())
    if isinstance(signature, bytes | bytearray):  # a signer that returns the bytes themselves
        return bytes(signature)
    return bytes(signature.signature)  # an eth_account LocalAccount


def sign_access(account: Any, chain_id: int, job_id: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers proving ``account`` asks now."""
    from eth_account.messages import encode_defunct

    ts = int(time.time()) if timestamp is None else timestamp
    raw = sign_bytes(account, encode_defunct(text=access_text(chain_id, job_id, ts)))
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: "0x" + raw.hex()}


def verify_access(headers: Any, chain_id: int, job_id: str, renter: str, now: float | None = None,
                  also: Callable[[str], bool] | None = None) -> str:
    """The signer, if the headers carry a fresh signature for ``job_id`` by ``renter`` (or by an
    address ``also`` accepts: the oracle gathering dispute evidence); AccessDenied otherwise."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    ts_text, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not ts_text or not signature:
        raise AccessDenied("a signed request is needed: only the job's renter may read it")
    if not (isinstance(ts_text, str) and isinstance(signature, str) and _TIMESTAMP.fullmatch(ts_text)
            and _SIGNATURE.fullmatch(signature)):
        raise AccessDenied(f"malformed signature: {TIMESTAMP_HEADER} must be unix seconds and "
                           f"{SIGNATURE_HEADER} 65 bytes of hex")
    ts = int(ts_text)
    try:
        signer = Account.recover_message(encode_defunct(text=access_text(chain_id, job_id, ts)),
                                         signature=bytes.fromhex(signature.removeprefix("0x")))
    except Exception as err:  # noqa: BLE001 - eth_keys' BadSignature, eth_utils' ValidationError, ... for junk
        raise AccessDenied("malformed signature: it recovers to no account") from err
    clock = time.time() if now is None else now
    if abs(clock - ts) > MAX_SKEW_S:
        raise AccessDenied(f"stale request: signed at {ts}, more than {MAX_SKEW_S} s from now")
    if signer.lower() != renter.lower() and not (also is not None and also(signer)):
        raise AccessDenied("only the job's renter (or an oracle) may read it")
    return str(signer)
