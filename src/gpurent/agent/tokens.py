"""Short-lived access tokens for a job's ports, tunnels and shell, derived from the renter's
signed access (:mod:`gpurent.wire.access`).

A signature is checked once (``POST /jobs/<id>/access``); the agent answers with a token naming
the job, the signer and an expiry, authenticated with HMAC-SHA256 under a key that lives only in
this agent process's memory (a restart voids every token). A browser, ``curl`` or the renter's
``port-forward`` then sends the token instead of signing every request: checking it costs a
hash, not a public-key recovery. A token is good for one job only, for ``TTL_S`` at most.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time

from gpurent.wire.access import AccessDenied

PREFIX = "gpr1"
TTL_S = 900  # 15 minutes
HEADER = "Authorization"  # "Bearer <token>"
COOKIE = "gpurent_access"
QUERY = "gpurent_token"  # for links opened in a browser: answered with the cookie and a redirect
_TOKEN = re.compile(r"gpr1\.(0x[0-9a-f]{64})\.(0x[0-9a-f]{40})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


class Tokens:
    """Issues and checks tokens under one random key (per agent process)."""

    def __init__(self, key: bytes | None = None, ttl_s: int = TTL_S):
        self._key = key or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, job_id: str, signer: str, now: float | None = None) -> tuple[str, int]:
        """A token for ``signer`` on ``job_id`` and the Unix time it expires."""
        expires = int(time.time() if now is None else now) + self.ttl_s
        body = f"{PREFIX}.{job_id.lower()}.{signer.lower()}.{expires}"
        return f"{body}.{self._mac(body)}", expires

    def check(self, token: str, job_id: str, now: float | None = None) -> str:
        """The signer ``token`` was issued to, if it is this agent's, for ``job_id`` and not
        expired; AccessDenied otherwise."""
        match = _TOKEN.fullmatch(token) if isinstance(token, str) and len(token) < 256 else None
        if match is None:
            raise AccessDenied("malformed access token")
        token_job, signer, expires, mac = match.groups()
        if not hmac.compare_digest(mac, self._mac(token.rsplit(".", 1)[0])):
            raise AccessDenied("access token not issued by this agent (or issued before it restarted)")
        if token_job != job_id.lower():
            raise AccessDenied("access token is for another job")
        if (time.time() if now is None else now) >= int(expires):
            raise AccessDenied("access token expired: ask for a new one")
        return signer


def token_from(headers: object, cookies: str | None = None) -> str | None:
    """The token a request carries: ``Authorization: Bearer <token>`` or the access cookie."""
    value = headers.get(HEADER) if hasattr(headers, "get") else None
    if isinstance(value, str) and value[:7].lower() == "bearer " and value[7:].strip().startswith(PREFIX + "."):
        return value[7:].strip()
    for part in (cookies or "").split(";"):
        name, _, text = part.strip().partition("=")
        if name == COOKIE and text:
            return text
    return None
