"""Wallet sign-in and the gateway's sessions: an EIP-4361 challenge, its checks, a short JWT.

1. ``challenge(address)``: a fresh nonce (128 bits, single use, 5 minutes) and the message the
   wallet signs, with this gateway's domain, URI and chain id and an expiry.
2. ``sign_in(message, signature)``: the message must be well formed (``siwe.parse``), name this
   gateway's domain, URI origin and chain, carry a nonce this gateway issued and nobody has
   spent (spent here, whichever replica issued it, when the store is shared), be within its
   times, and be signed by its address. Then a JWT (RFC 8725): HS256 pinned on both sides,
   ``iss``/``aud``/``sub``/``iat``/``exp`` required, 15 minutes at most. A session is renewed by
   signing in again (no refresh token to steal).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import jwt

from gpurent.gateway import siwe
from gpurent.gateway.store import Store

NONCE_TTL_S = 300.0
SESSION_MAX_S = 900
CLOCK_SKEW_S = 60.0
ALGORITHM = "HS256"
STATEMENT = "Sign in to gpurent. This signature moves no funds and costs no gas."


class AuthError(ValueError):
    """A sign-in or a token refused, in one line (what the gateway answers with 401)."""


@dataclass(frozen=True)
class Session:
    address: str  # lower case
    expires: int  # unix seconds


class Authenticator:
    def __init__(self, store: Store, secret: bytes, domain: str, uri: str, chain_id: int,
                 session_s: int = SESSION_MAX_S, issuer: str = "gpurent-gateway"):
        if len(secret) < 32:
            raise ValueError("the session key must be at least 32 bytes")
        if not 60 <= session_s <= SESSION_MAX_S:
            raise ValueError(f"a session lasts 60 to {SESSION_MAX_S} seconds, got {session_s}")
        self.store, self._secret, self.domain, self.uri, self.chain_id = store, secret, domain, uri, chain_id
        self.session_s, self.issuer = session_s, issuer
        self.audience = _origin(uri)

    # ------------------------------------------------------------------ sign-in
    def challenge(self, address: str) -> siwe.SiweMessage:
        from eth_utils.address import is_address, to_checksum_address

        if not is_address(address):
            raise AuthError(f"{address[:60]!r} is not an address")
        nonce = secrets.token_hex(16)  # 128 bits
        self.store.put_nonce(nonce, NONCE_TTL_S)
        now = datetime.now(timezone.utc)
        return siwe.SiweMessage(domain=self.domain, address=to_checksum_address(address), uri=self.uri,
                                chain_id=self.chain_id, nonce=nonce, issued_at=now, statement=STATEMENT,
                                expiration_time=now + timedelta(seconds=NONCE_TTL_S))

    def sign_in(self, text: str, signature: str) -> tuple[str, Session]:
        try:
            message = siwe.parse(text)
        except siwe.SiweError as err:
            raise AuthError(f"the sign-in message: {err}") from None
        self._check_fields(message)
        try:
            signer = siwe.signer(text, signature)
        except siwe.SiweError as err:
            raise AuthError(str(err)) from None
        if signer != message.address:
            raise AuthError("the signature is not the message's address's")
        if not self.store.take_nonce(message.nonce):  # last: a bad signature does not burn a nonce
            raise AuthError("the nonce was not issued here, has expired or was used already: ask for a new one")
        return self._token(message.address.lower())

    def _check_fields(self, message: siwe.SiweMessage) -> None:
        if message.domain != self.domain:
            raise AuthError(f"the message is for {message.domain!r}, not this gateway ({self.domain})")
        if _origin(message.uri) != self.audience:
            raise AuthError(f"the message's URI is not on {self.audience}")
        if message.chain_id != self.chain_id:
            raise AuthError(f"the message is for chain {message.chain_id}, this gateway serves chain {self.chain_id}")
        now = datetime.now(timezone.utc)
        skew = timedelta(seconds=CLOCK_SKEW_S)
        if message.issued_at > now + skew:
            raise AuthError("the message was issued in the future")
        if now - message.issued_at > timedelta(seconds=NONCE_TTL_S) + skew:
            raise AuthError("the message is too old: ask for a new one")
        if message.expiration_time is not None and message.expiration_time <= now:
            raise AuthError("the message has expired")
        if message.not_before is not None and message.not_before > now + skew:
            raise AuthError("the message is not valid yet")

    # ------------------------------------------------------------------ sessions
    def _token(self, address: str) -> tuple[str, Session]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": address, "iat": now, "nbf": now,
                  "exp": now + self.session_s, "jti": secrets.token_hex(8)}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), Session(address, now + self.session_s)

    def session(self, token: str) -> Session:
        if len(token) > 2048:
            raise AuthError("the token is too long")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
                options={"require": ["iss", "aud", "sub", "iat", "exp"]}, leeway=5)
        except jwt.ExpiredSignatureError:
            raise AuthError("the session has expired: sign in again") from None
        except jwt.PyJWTError as err:
            raise AuthError(f"the token is not valid ({type(err).__name__})") from None
        if int(claims["exp"]) - int(claims["iat"]) > SESSION_MAX_S:
            raise AuthError("the token outlives what this gateway issues")
        sub = claims["sub"]
        if not isinstance(sub, str) or len(sub) != 42 or not sub.startswith("0x"):
            raise AuthError("the token names no address")
        return Session(sub, int(claims["exp"]))


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}".lower()
