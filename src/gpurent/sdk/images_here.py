"""Where an image is cached already: each provider's agent asked ``GET /images/<cid>``
(gpurent.wire.images), for the marketplace's "image already cached here" (the gateway's
``/api/v1/images/<cid>/cached``) and ``gpurent gpus list --image``.

Nothing on chain or in the index knows what a provider's cache holds, so the agents are asked,
and what they say is their own word, checked like any answer of theirs (the endpoint's address
policy, no redirects, a capped and parsed body). A provider whose agent does not answer in
``timeout_s``, or answers anything else, is ``None`` (unknown), never an error of the request.

One request names at most :data:`MAX_PROVIDERS`; the whole gateway asks at most ``workers``
agents at once; each (endpoint, image) answer is kept ``ttl_s`` (an unknown one
``unknown_ttl_s``), at most ``kept`` of them, so a busy marketplace costs each agent about one
question per image it shows every ``ttl_s``. At most ``asking`` questions are under way or
waiting for a worker: past that a provider is unknown at once and nothing is asked (distinct CIDs
miss every kept answer, and would otherwise queue questions without end).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from gpurent.sdk.provider import ProviderEndpoint

MAX_PROVIDERS = 50  # a marketplace page's providers
TIMEOUT_S = 2.0
WORKERS = 16
TTL_S = 30.0
UNKNOWN_TTL_S = 10.0
KEPT = 20_000
ASKING = 256  # questions under way or queued, the whole gateway: five pages' providers

Ask = Callable[[str, str], "str | None"]  # (endpoint, cid) -> the agent's state, or None
Asked = dict[str, "str | None | Future[str | None]"]  # endpoint -> its answer, or the question under way


def agent_ask(chain_id: int, timeout_s: float = TIMEOUT_S) -> Ask:
    """Asks the agent at ``endpoint`` through the SDK; None when it cannot say."""

    def ask(endpoint: str, cid: str) -> str | None:
        try:
            return ProviderEndpoint(endpoint, None, chain_id, timeout_s=timeout_s).image_state(cid)
        except Exception:  # noqa: BLE001 - refused, silent, malformed, an endpoint out of policy: unknown
            return None

    return ask


class ImageProbe:
    def __init__(self, endpoints: Callable[[list[str]], dict[str, str]], ask: Ask, timeout_s: float = TIMEOUT_S,
                 workers: int = WORKERS, ttl_s: float = TTL_S, unknown_ttl_s: float = UNKNOWN_TTL_S, kept: int = KEPT,
                 asking: int = ASKING, clock: Callable[[], float] = time.monotonic):
        self.endpoints, self.ask, self.timeout_s, self.asking = endpoints, ask, timeout_s, asking
        self.ttl_s, self.unknown_ttl_s, self.kept, self._clock = ttl_s, unknown_ttl_s, kept, clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-probe")
        self._answers: OrderedDict[tuple[str, str], tuple[str | None, float]] = OrderedDict()
        self._asking: dict[tuple[str, str], Future[str | None]] = {}  # one question per (endpoint, cid) at a time
        self._lock = threading.Lock()

    def states(self, cid: str, providers: list[str]) -> dict[str, str | None]:
        """Each provider's state of ``cid`` (lower-case address -> ready / stored / absent, or None
        when its agent cannot say or the index has no endpoint for it). Returns within about
        ``timeout_s``, whatever the agents do."""
        wanted, urls, asked = self._ask_all(cid, providers)
        deadline = self._clock() + self.timeout_s + 0.5
        for url, answer in asked.items():
            if isinstance(answer, Future):
                try:
                    asked[url] = answer.result(timeout=max(0.0, deadline - self._clock()))
                except FutureTimeout:
                    asked[url] = None
        return _by_provider(wanted, urls, asked)

    async def states_async(self, cid: str, providers: list[str]) -> dict[str, str | None]:
        """:meth:`states` for an event loop: it waits without holding a thread (a server's
        thread pool is not spent on agents that do not answer)."""
        import asyncio

        wanted, urls, asked = self._ask_all(cid, providers)
        waiting = {url: asyncio.wrap_future(a) for url, a in asked.items() if isinstance(a, Future)}
        if waiting:
            await asyncio.wait(waiting.values(), timeout=self.timeout_s + 0.5)
        for url, future in waiting.items():
            asked[url] = future.result() if future.done() and not future.cancelled() else None
        return _by_provider(wanted, urls, asked)

    def _ask_all(self, cid: str, providers: list[str]) -> tuple[list[str], dict[str, str], Asked]:
        wanted = sorted({p.lower() for p in providers})[:MAX_PROVIDERS]
        urls = self.endpoints(wanted)
        return wanted, urls, {url: self._question(url, cid) for url in set(urls.values())}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _question(self, url: str, cid: str) -> str | None | Future[str | None]:
        """A kept answer, or the question under way (asked now if it is not); None (unknown, not
        kept) when ``asking`` questions are under way already."""
        key, now = (url, cid), self._clock()
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None and now - kept[1] < (self.ttl_s if kept[0] is not None else self.unknown_ttl_s):
                return kept[0]
            if key in self._asking:
                return self._asking[key]
            if len(self._asking) >= self.asking:
                return None  # the pool is behind: unknown now, asked by a later request
            future = self._pool.submit(self._ask, key)
            self._asking[key] = future
            return future

    def _ask(self, key: tuple[str, str]) -> str | None:
        state: str | None = None
        try:
            state = self.ask(*key)
        finally:  # kept before the question is let go: the next request finds one or the other
            with self._lock:
                self._answers[key] = (state, self._clock())
                self._answers.move_to_end(key)
                while len(self._answers) > self.kept:
                    self._answers.popitem(last=False)
                self._asking.pop(key, None)
        return state


def _by_provider(wanted: list[str], urls: dict[str, str], asked: Asked) -> dict[str, str | None]:
    states: dict[str, str | None] = {}
    for provider in wanted:
        endpoint = urls.get(provider)
        found = asked.get(endpoint) if endpoint is not None else None
        states[provider] = found if isinstance(found, str) else None
    return states
