"""The little shared state a gateway keeps: sign-in nonces (single use, with a lifetime),
request counts for rate limits and leases on streams (the WebSockets an address holds open).

In memory by default (one replica). Replicas that share nonces and limits point at one Redis
(``RedisStore``, the ``redis`` client): a nonce issued by one replica is spent once whichever
replica sees it, and a client's requests and streams count once across all of them. A lease
lasts ``ttl_s`` unless renewed: a replica that dies without closing its streams holds them no
longer than that.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol


class StoreFull(Exception):
    """Too many sign-in nonces outstanding: refused until the oldest expires (503)."""

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreUnavailable(Exception):
    """The shared store did not answer (Redis down, or slower than its timeout): the request is
    answered 503 with Retry-After, a WebSocket closed 1013 ("try again later"); nothing is half done."""


class Store(Protocol):
    def put_nonce(self, nonce: str, ttl_s: float) -> None:
        """Issues ``nonce`` for ``ttl_s`` seconds; raises ``StoreFull`` when the store holds as
        many as it may."""
        ...

    def take_nonce(self, nonce: str) -> bool:
        """True once for a nonce issued and not yet expired; False for any other, atomically."""
        ...

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        """Counts one request for ``key``; None when within ``limit`` a window, else the seconds
        until the window ends (what Retry-After says)."""
        ...

    def open_lease(self, key: str, limit: int, ttl_s: float) -> str | None:
        """A new lease under ``key`` for ``ttl_s`` seconds; None when ``limit`` are held already."""
        ...

    def renew_lease(self, key: str, lease: str, ttl_s: float) -> None:
        """Extends ``lease`` by ``ttl_s`` seconds from now."""
        ...

    def close_lease(self, key: str, lease: str) -> None:
        """Gives ``lease`` back (nothing if it expired already)."""
        ...


class _Expiring:
    """Keys with an expiry and a value, their expiries in a heap: what has expired goes at the
    next write, each key popped once (O(log n) a write, no scan of the keys). A key rewritten or
    removed leaves its old heap entry behind, skipped when it comes up, and the heap is rebuilt
    once it holds twice the keys (amortised O(1) an operation)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[float, Any]] = {}
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: str, now: float) -> Any:
        found = self.items.get(key)
        return found[1] if found is not None and found[0] > now else None

    def put(self, key: str, expires: float, value: Any) -> None:
        old = self.items.get(key)
        self.items[key] = (expires, value)
        if old is None or old[0] != expires:
            heapq.heappush(self._heap, (expires, key))
            if len(self._heap) > 2 * len(self.items) + 64:
                self._heap = [(e, k) for k, (e, _) in self.items.items()]
                heapq.heapify(self._heap)

    def pop(self, key: str) -> tuple[float, Any] | None:
        return self.items.pop(key, None)

    def expire(self, now: float) -> None:
        """Drops every key expired by ``now``."""
        while self._settle() and self._heap[0][0] <= now:
            del self.items[heapq.heappop(self._heap)[1]]

    def oldest(self) -> tuple[str, float] | None:
        """The key that expires first, and when."""
        return (self._heap[0][1], self._heap[0][0]) if self._settle() else None

    def _settle(self) -> bool:
        """Pops the stale entries off the heap's top; whether a live one is left there."""
        heap = self._heap
        while heap and self.items.get(heap[0][1], (None,))[0] != heap[0][0]:
            heapq.heappop(heap)
        return bool(heap)


class MemoryStore:
    """Nonces and rate-limit windows in this process. Each bounded: at most ``max_nonces``
    nonces outstanding (past it, ``put_nonce`` raises ``StoreFull``, the challenge answers 503
    with Retry-After: a flood is refused, never evicting the nonces of those signing in), at
    most ``max_windows`` rate-limit windows (past it, the window closest to its end goes: its
    client starts a fresh count early, rather than a new client being refused)."""

    MAX_NONCES = 100_000
    MAX_WINDOWS = 500_000

    def __init__(self, max_nonces: int = MAX_NONCES, max_windows: int = MAX_WINDOWS) -> None:
        self.max_nonces, self.max_windows = max_nonces, max_windows
        self._lock = threading.Lock()
        self._nonces = _Expiring()
        self._windows = _Expiring()  # key -> [window start, count], expiring at the window's end
        self._leases: dict[str, dict[str, float]] = {}  # key -> lease -> expiry (as many as streams open)

    def sizes(self) -> tuple[int, int]:
        """(nonces, windows) held now, expired ones included until the next write."""
        return len(self._nonces), len(self._windows)

    def put_nonce(self, nonce: str, ttl_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._nonces.expire(now)
            oldest = self._nonces.oldest()
            if len(self._nonces) >= self.max_nonces and oldest is not None:
                raise StoreFull(f"{self.max_nonces:,} sign-ins are waiting to be signed: try again later",
                                oldest[1] - now)
            self._nonces.put(nonce, now + ttl_s, True)

    def take_nonce(self, nonce: str) -> bool:
        with self._lock:
            found = self._nonces.pop(nonce)
        return found is not None and found[0] > time.monotonic()

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        now = time.monotonic()
        with self._lock:
            window = self._windows.get(key, now)
            if window is None:
                self._windows.expire(now)
                while len(self._windows) >= self.max_windows and (oldest := self._windows.oldest()) is not None:
                    self._windows.pop(oldest[0])
                window = [now, 0]
                self._windows.put(key, now + window_s, window)
            window[1] += 1
            started, count = window
        return None if count <= limit else max(0.001, window_s - (now - started))

    def open_lease(self, key: str, limit: int, ttl_s: float) -> str | None:
        now = time.monotonic()
        with self._lock:
            held = {lease: end for lease, end in self._leases.get(key, {}).items() if end > now}
            if len(held) >= limit:
                self._leases[key] = held
                return None
            lease = secrets.token_hex(8)
            held[lease] = now + ttl_s
            self._leases[key] = held
        return lease

    def renew_lease(self, key: str, lease: str, ttl_s: float) -> None:
        with self._lock:
            held = self._leases.get(key)
            if held is not None and lease in held:
                held[lease] = time.monotonic() + ttl_s

    def close_lease(self, key: str, lease: str) -> None:
        with self._lock:
            held = self._leases.get(key, {})
            held.pop(lease, None)
            if not held:
                self._leases.pop(key, None)


class RedisStore:
    """The same on Redis: ``SET NX EX`` nonces spent by ``GETDEL``, fixed windows by ``INCR`` +
    ``EXPIRE`` in one transaction, leases as a sorted set by expiry (the expired dropped, the new
    one added and the set counted in one transaction; over the limit, the new one is taken out
    again: two replicas racing for the last place may both refuse, never both admit)."""

    def __init__(self, url: str, prefix: str = "gpurent:gateway:"):
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        """Redis's failures (refused, reset, timed out) as ``StoreUnavailable``."""
        import redis

        try:
            yield
        except redis.RedisError as err:
            raise StoreUnavailable(f"Redis did not answer: {type(err).__name__}") from err

    def ping(self) -> None:
        with self._answering():
            self._redis.ping()

    def put_nonce(self, nonce: str, ttl_s: float) -> None:
        with self._answering():
            self._redis.set(f"{self._prefix}nonce:{nonce}", b"1", px=max(1, int(ttl_s * 1000)), nx=True)

    def take_nonce(self, nonce: str) -> bool:
        with self._answering():
            return self._redis.getdel(f"{self._prefix}nonce:{nonce}") is not None

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        with self._answering():
            name = f"{self._prefix}rate:{key}"
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(name)
            pipe.pexpire(name, max(1, int(window_s * 1000)), nx=True)
            pipe.pttl(name)
            count, _, ttl_ms = pipe.execute()
            if int(count) <= limit:
                return None
            return max(0.001, (int(ttl_ms) if int(ttl_ms) > 0 else math.ceil(window_s * 1000)) / 1000)

    def open_lease(self, key: str, limit: int, ttl_s: float) -> str | None:
        with self._answering():
            name, lease, now = f"{self._prefix}lease:{key}", secrets.token_hex(8), _ms(time.time())
            pipe = self._redis.pipeline(transaction=True)
            pipe.zremrangebyscore(name, "-inf", now)
            pipe.zadd(name, {lease: now + _ms(ttl_s)})
            pipe.zcard(name)
            pipe.pexpire(name, _ms(ttl_s))
            held = int(pipe.execute()[2])
            if held > limit:
                self._redis.zrem(name, lease)
                return None
            return lease

    def renew_lease(self, key: str, lease: str, ttl_s: float) -> None:
        with self._answering():
            name = f"{self._prefix}lease:{key}"
            pipe = self._redis.pipeline(transaction=True)
            pipe.zadd(name, {lease: _ms(time.time()) + _ms(ttl_s)}, xx=True)
            pipe.pexpire(name, _ms(ttl_s), gt=True)
            pipe.execute()

    def close_lease(self, key: str, lease: str) -> None:
        with self._answering():
            self._redis.zrem(f"{self._prefix}lease:{key}", lease)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
