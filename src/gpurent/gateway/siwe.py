"""Sign-In with Ethereum (EIP-4361): the message, rendered and parsed exactly, and its signer.

A small module of our own on eth-account (the ``siwe`` package pins an old ``abnf``). The
grammar is the EIP's::

    ${domain} wants you to sign in with your Ethereum account:
    ${address}

    ${statement}            (optional, then one blank line)

    URI: ${uri}
    Version: 1
    Chain ID: ${chain-id}
    Nonce: ${nonce}
    Issued At: ${issued-at}
    Expiration Time: ${expiration-time}    (optional, as the three below)
    Not Before: ${not-before}
    Request ID: ${request-id}
    Resources:
    - ${uri}

``parse`` accepts only what ``render`` would write for the same fields (so one message has one
meaning), the address in its EIP-55 checksum, every field bounded in size. What the server then
demands of the fields (its domain, its chain, its nonce, the times) is ``auth.py``'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_checksum_address

MAX_MESSAGE = 4096  # bytes: a sign-in message is a few hundred
MAX_RESOURCES = 16
HEADER = " wants you to sign in with your Ethereum account:"
_NONCE = re.compile(r"[A-Za-z0-9]{8,64}")
_DOMAIN = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]{1,512}")
_STATEMENT = re.compile(r"[\x20-\x7e]{0,512}")  # printable ASCII: no line separator of any kind


class SiweError(ValueError):
    """A message that is not a well-formed EIP-4361 message, or a signature that is not its signer's."""


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str  # EIP-55
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default=())

    def render(self) -> str:
        lines = [f"{self.domain}{HEADER}", self.address, ""]
        if self.statement is not None:
            lines += [self.statement, ""]
        else:
            lines += [""]
        lines += [f"URI: {self.uri}", "Version: 1", f"Chain ID: {self.chain_id}", f"Nonce: {self.nonce}",
                  f"Issued At: {stamp(self.issued_at)}"]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {stamp(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {stamp(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines += ["Resources:", *(f"- {r}" for r in self.resources)]
        return "\n".join(lines)


def stamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the millisecond (what wallets and the EIP's examples show)."""
    text = moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(f"{name} {text[:40]!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise SiweError(f"{name} must carry a time zone")
    return moment


def parse(text: str) -> SiweMessage:
    """The message's fields; SiweError (one line) for anything else."""
    if len(text.encode()) > MAX_MESSAGE:
        raise SiweError(f"the message is over {MAX_MESSAGE} bytes")
    lines = text.split("\n")
    if len(lines) < 9 or not lines[0].endswith(HEADER):
        raise SiweError("not a Sign-In with Ethereum message (EIP-4361)")
    domain = lines[0][: -len(HEADER)]
    if not _DOMAIN.fullmatch(domain):
        raise SiweError(f"the domain {domain[:60]!r} is not a host[:port]")
    address = lines[1]
    if not is_checksum_address(address):
        raise SiweError("the address must be a checksummed (EIP-55) address")
    if lines[2] != "":
        raise SiweError("a blank line must follow the address")
    at = 3
    statement: str | None = None
    if lines[at] != "":
        statement = lines[at]
        if not _STATEMENT.fullmatch(statement):
            raise SiweError("the statement must be one line of at most 512 characters")
        at += 1
    if lines[at] != "":
        raise SiweError("a blank line must follow the statement")
    at += 1
    fields: dict[str, str] = {}
    order = ["URI", "Version", "Chain ID", "Nonce", "Issued At"]
    for name in order:
        if at >= len(lines) or not lines[at].startswith(f"{name}: "):
            raise SiweError(f"expected the {name!r} field")
        fields[name] = lines[at][len(name) + 2:]
        at += 1
    optional: dict[str, str] = {}
    for name in ("Expiration Time", "Not Before", "Request ID"):
        if at < len(lines) and lines[at].startswith(f"{name}: "):
            optional[name] = lines[at][len(name) + 2:]
            at += 1
    resources: list[str] = []
    if at < len(lines) and lines[at] == "Resources:":
        at += 1
        while at < len(lines) and lines[at].startswith("- "):
            resources.append(lines[at][2:])
            at += 1
        if len(resources) > MAX_RESOURCES:
            raise SiweError(f"at most {MAX_RESOURCES} resources")
    if at != len(lines):
        raise SiweError(f"unexpected line {at + 1}: {lines[at][:60]!r}")
    if not _URI.fullmatch(fields["URI"]) or any(not _URI.fullmatch(r) for r in resources):
        raise SiweError("the URI and each resource must be an RFC 3986 URI")
    if fields["Version"] != "1":
        raise SiweError(f"version {fields['Version'][:10]!r}: only version 1 exists")
    if not re.fullmatch(r"[0-9]{1,20}", fields["Chain ID"]):  # ASCII digits ("²".isdigit() is true)
        raise SiweError("the chain id must be a number")
    if not _NONCE.fullmatch(fields["Nonce"]):
        raise SiweError("the nonce must be 8 to 64 letters and digits")
    request_id = optional.get("Request ID")
    if request_id is not None and not _STATEMENT.fullmatch(request_id):
        raise SiweError("the request id must be one line")
    message = SiweMessage(
        domain=domain, address=address, uri=fields["URI"], chain_id=int(fields["Chain ID"]), nonce=fields["Nonce"],
        issued_at=_time(fields["Issued At"], "Issued At"), statement=statement,
        expiration_time=_time(optional["Expiration Time"], "Expiration Time") if "Expiration Time" in optional else None,
        not_before=_time(optional["Not Before"], "Not Before") if "Not Before" in optional else None,
        request_id=request_id, resources=tuple(resources))
    if message.render() != text:  # one message, one meaning: only what render would write
        raise SiweError("the message is not in its canonical form (EIP-4361)")
    return message


def signer(text: str, signature: str) -> str:
    """The checksummed address whose EIP-191 ``personal_sign`` of ``text`` is ``signature``."""
    raw = signature[2:] if signature.startswith("0x") else signature
    if not re.fullmatch(r"[0-9a-fA-F]{130}", raw):
        raise SiweError("the signature must be 65 bytes of hex")
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=bytes.fromhex(raw)))
    except Exception:  # a malformed v or s: eth-keys raises several kinds
        raise SiweError("the signature does not recover to an address") from None
