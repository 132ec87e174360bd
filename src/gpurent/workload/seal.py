"""Encryption for workloads, PyNaCl only (libsodium; nothing home-made).

- :func:`seal` / :func:`open_sealed`: a libsodium sealed box (X25519 + XSalsa20-Poly1305 with an
  ephemeral sender key): small documents (a result manifest, one secret).
- :func:`seal_stream` / :func:`open_stream`: big payloads. Layout::

      b"GPRS1\\n"                      magic
      SealedBox(recipient, K)          80 bytes: a random 32-byte stream key K
      secretstream header             24 bytes (crypto_secretstream_xchacha20poly1305)
      { u32 big-endian length, secretstream chunk }*   64 KiB plaintext per chunk, the last TAG_FINAL

  Each chunk is authenticated and ordered by secretstream, so a flipped bit, a reordered, dropped
  or truncated chunk, a missing final tag or bytes after it is a :class:`SealError`.
- Secrets: each value is sealed as the canonical JSON ``{"name", "renter", "value"}`` so the
  agent can refuse one copied into another renter's job or under another name.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from gpurent.safejson import loads_bounded

MAGIC = b"GPRS1\n"
CHUNK = 64 * 1024
SEALED_OVERHEAD = 48  # a sealed box adds an ephemeral public key (32) and a MAC (16)
_SEALED_KEY = 32 + SEALED_OVERHEAD
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_HEADER = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_MAX_FRAME = CHUNK + _ABYTES


class SealError(ValueError):
    """Sealed data that does not open: wrong key, tampered, truncated or with trailing bytes."""


class KeyPair:
    """An X25519 key pair; the private half lives only in memory and in its 0600 file."""

    def __init__(self, private: PrivateKey):
        self._private = private

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> KeyPair:
        try:
            raw = Path(path).read_bytes()
        except OSError as err:
            raise SealError(f"cannot read the key file {path}: {err.strerror}") from None
        try:
            secret = base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SealError(f"the key file {path} is not a gpurent key (base64 of 32 bytes)") from None
        if len(secret) != 32:
            raise SealError(f"the key file {path} is not a gpurent key (base64 of 32 bytes)")
        return cls(PrivateKey(secret))

    def save(self, path: Path) -> None:
        """Writes the private key (base64) atomically, mode 0600, in a folder made 0700."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(bytes(self._private)) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load_or_create(cls, path: Path) -> KeyPair:
        path = Path(path)
        if path.exists():
            return cls.load(path)
        pair = cls.generate()
        pair.save(path)
        return pair

    @property
    def public_bytes(self) -> bytes:
        return bytes(self._private.public_key)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_bytes).decode()

    def box(self) -> SealedBox[PrivateKey]:
        return SealedBox(self._private)

    def __repr__(self) -> str:  # never the private half
        return f"KeyPair(public={self.public_b64})"


def public_key(data: bytes | str) -> bytes:
    """32 raw bytes from raw bytes or base64; SealError otherwise."""
    if isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise SealError("a public key must be base64 of 32 bytes") from None
    if len(data) != 32:
        raise SealError(f"a public key is 32 bytes, not {len(data)}")
    return bytes(data)


def seal(public: bytes, data: bytes) -> bytes:
    return bytes(SealedBox(PublicKey(public_key(public))).encrypt(data))


def open_sealed(keypair: KeyPair, data: bytes) -> bytes:
    try:
        return bytes(keypair.box().decrypt(data))
    except (CryptoError, ValueError, TypeError):
        raise SealError("sealed data does not open with this key (another key, or tampered)") from None


def seal_stream(public: bytes, src: BinaryIO, dst: BinaryIO) -> int:
    """Seals everything ``src`` yields to ``public`` into ``dst``; returns the bytes written."""
    key = sodium.crypto_secretstream_xchacha20poly1305_keygen()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    written = 0
    for part in (MAGIC, seal(public, key), header):
        dst.write(part)
        written += len(part)
    block = src.read(CHUNK)
    while True:
        following = src.read(CHUNK) if len(block) == CHUNK else b""
        tag = _TAG_MESSAGE if following else _TAG_FINAL
        frame = sodium.crypto_secretstream_xchacha20poly1305_push(state, block, None, tag)
        dst.write(len(frame).to_bytes(4, "big"))
        dst.write(frame)
        written += 4 + len(frame)
        if tag == _TAG_FINAL:
            return written
        block = following


def _exact(src: BinaryIO, n: int, what: str) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise SealError(f"sealed stream truncated ({what})")
    return data


def open_stream(keypair: KeyPair, src: BinaryIO, dst: BinaryIO) -> int:
    """Opens a :func:`seal_stream` stream into ``dst``; returns the plaintext bytes written.
    SealError on a wrong key, a flipped bit, truncation, a missing final tag or trailing bytes
    (``dst`` then holds unverified bytes: write it to a temporary file and discard it)."""
    written = 0
    for block in open_chunks(keypair, src):
        dst.write(block)
        written += len(block)
    return written


def open_chunks(keypair: KeyPair, src: BinaryIO) -> Iterator[bytes]:
    """The plaintext of a :func:`seal_stream` stream, chunk by chunk, each authenticated before
    it is yielded; SealError (raised by the iteration) as :func:`open_stream`. Only a stream
    iterated to its end was whole: a consumer that stops early has checked nothing after."""
    if _exact(src, len(MAGIC), "magic") != MAGIC:
        raise SealError("not a gpurent sealed stream (bad magic)")
    key = open_sealed(keypair, _exact(src, _SEALED_KEY, "key"))
    header = _exact(src, _HEADER, "header")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    except (CryptoError, ValueError) as err:
        raise SealError("sealed stream header is invalid") from err
    while True:
        length = int.from_bytes(_exact(src, 4, "frame length"), "big")
        if not _ABYTES <= length <= _MAX_FRAME:
            raise SealError(f"sealed stream frame of {length} bytes is out of bounds")
        frame = _exact(src, length, "frame")
        try:
            block, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, frame, None)
        except (CryptoError, ValueError, RuntimeError):
            raise SealError("sealed stream chunk fails authentication (tampered or another key)") from None
        if tag not in (_TAG_FINAL, _TAG_MESSAGE):
            raise SealError("sealed stream chunk has an unexpected tag")
        if tag == _TAG_FINAL and src.read(1):
            raise SealError("sealed stream has bytes after its final chunk")
        yield block
        if tag == _TAG_FINAL:
            return


def secret_plaintext(name: str, renter: str, value: str) -> bytes:
    """What is sealed per secret: canonical JSON binding the value to its name and renter."""
    return json.dumps({"name": name, "renter": renter.lower(), "value": value}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal_secret(public: bytes, name: str, renter: str, value: str) -> str:
    """One secret sealed to a provider's key, base64."""
    return base64.b64encode(seal(public, secret_plaintext(name, renter, value))).decode()


def open_secret(keypair: KeyPair, sealed_b64: str, name: str, renter: str) -> str:
    """The value of one sealed secret; SealError unless it opens and names ``name`` and ``renter``
    (a sealed value copied from another renter's job, or under another name, is refused)."""
    try:
        raw = base64.b64decode(sealed_b64, validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"secret {name}: not valid base64") from None
    try:
        doc = loads_bounded(open_sealed(keypair, raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, SealError):
            raise SealError(f"secret {name}: {err}") from None
        raise SealError(f"secret {name}: not a gpurent secret") from None
    if not isinstance(doc, dict) or set(doc) != {"name", "renter", "value"} or not isinstance(doc["value"], str):
        raise SealError(f"secret {name}: not a gpurent secret")
    if doc["name"] != name:
        raise SealError(f"secret {name}: sealed under another name")
    if not isinstance(doc["renter"], str) or doc["renter"].lower() != renter.lower():
        raise SealError(f"secret {name}: sealed for another renter")
    return doc["value"]
