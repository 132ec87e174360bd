"""The little shared state a gateway keeps: sign-in nonces (single use, with a lifetime) and
request counts for rate limits.

In memory by default (one replica). Replicas that share nonces and limits point at one Redis
(``RedisStore``, the ``redis`` client): a nonce issued by one replica is spent once whichever
replica sees it, and a client's requests count once across all of them.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Protocol


class Store(Protocol):
    def put_nonce(self, nonce: str, ttl_s: float) -> None: ...

    def take_nonce(self, nonce: str) -> bool:
        """True once for a nonce issued and not yet expired; False for any other, atomically."""
        ...

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        """Counts one request for ``key``; None when within ``limit`` a window, else the seconds
        until the window ends (what Retry-After says)."""
        ...


class MemoryStore:
    MAX_NONCES = 100_000  # outstanding at once: past it, the oldest go (an attacker's flood evicts itself)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nonces: dict[str, float] = {}
        self._windows: dict[str, tuple[float, int]] = {}

    def put_nonce(self, nonce: str, ttl_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._nonces) >= self.MAX_NONCES:
                self._nonces = {n: t for n, t in self._nonces.items() if t > now}
                while len(self._nonces) >= self.MAX_NONCES:
                    self._nonces.pop(next(iter(self._nonces)))
            self._nonces[nonce] = now + ttl_s

    def take_nonce(self, nonce: str) -> bool:
        with self._lock:
            expires = self._nonces.pop(nonce, None)
        return expires is not None and expires > time.monotonic()

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        now = time.monotonic()
        with self._lock:
            started, count = self._windows.get(key, (now, 0))
            if now - started >= window_s:
                started, count = now, 0
            count += 1
            self._windows[key] = (started, count)
            if len(self._windows) > 200_000:  # old windows of clients long gone
                self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window_s}
        return None if count <= limit else max(0.001, window_s - (now - started))


class RedisStore:
    """The same on Redis: ``SET NX EX`` nonces spent by ``GETDEL``, fixed windows by ``INCR`` +
    ``EXPIRE`` in one transaction."""

    def __init__(self, url: str, prefix: str = "gpurent:gateway:"):
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix

    def ping(self) -> None:
        self._redis.ping()

    def put_nonce(self, nonce: str, ttl_s: float) -> None:
        self._redis.set(f"{self._prefix}nonce:{nonce}", b"1", px=max(1, int(ttl_s * 1000)), nx=True)

    def take_nonce(self, nonce: str) -> bool:
        return self._redis.getdel(f"{self._prefix}nonce:{nonce}") is not None

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        name = f"{self._prefix}rate:{key}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.pexpire(name, max(1, int(window_s * 1000)), nx=True)
        pipe.pttl(name)
        count, _, ttl_ms = pipe.execute()
        if int(count) <= limit:
            return None
        return max(0.001, (int(ttl_ms) if int(ttl_ms) > 0 else math.ceil(window_s * 1000)) / 1000)
