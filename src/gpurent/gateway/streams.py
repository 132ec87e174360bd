"""A job's logs, metrics and progress over WebSockets, relayed from its provider to its signed-in renter.

A client opens ``/api/v1/instances/<id>/logs`` (or ``/metrics``, ``/progress``) and sends one text message
within 10 s, at most 4 KiB::

    {"token": "<session JWT>", "access": {"timestamp": "<unix s>", "signature": "0x…"}}

``access`` is the renter's own signature of ``gpurent job access`` (:mod:`gpurent.wire.access`),
made by their wallet: the gateway holds no key, so the provider hears the renter themself. The
token must name the job's renter (close 4401 / 4404 otherwise).

One upstream per job and kind, whatever the number of subscribers (a provider serves 2 log
streams of a job at once): its chunks go to every subscriber's queue. Each queue is bounded
(``QUEUE_ITEMS``); a subscriber that falls that far behind is dropped (close 1013, "too slow")
rather than holding up the others or growing the gateway's memory. A late subscriber first gets
the last ``TAIL_BYTES`` of the log (of progress: the latest frame). Logs arrive as binary frames (the log's own bytes), metrics
as one JSON text frame per sample, progress as one JSON text frame (:func:`progress_frames`) each
time the agent's record of the job changes (asked every second); the end as a text frame
``{"end": …}`` or ``{"error": …}``.

The upstream exchanges the renter's signature for the agent's 15-minute token on its first
request (:class:`~gpurent.sdk.provider.DelegatedEndpoint`), so its reconnects and polls go on
past the signature's minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gpurent.errors import GpurentError
from gpurent.gateway.auth import AuthError, Authenticator
from gpurent.gateway.store import Store, StoreUnavailable
from gpurent.logfmt import labels
from gpurent.output import safe_text
from gpurent.safejson import loads_bounded
from gpurent.wire.record import ProviderRecord
from gpurent.wire.access import SIGNATURE_HEADER, TIMESTAMP_HEADER

log = logging.getLogger("gpurent.gateway.streams")

HELLO_MAX = 4096
HELLO_S = 10.0
QUEUE_ITEMS = 256  # chunks (logs: up to 64 KiB each) or samples waiting for one subscriber
TAIL_BYTES = 64 * 1024
FRAME_BYTES = 256 * 1024  # log bytes joined into one frame for a subscriber that is behind
KINDS = ("logs", "metrics", "progress")
TEXT_MAX = 200  # characters of a progress frame's error
LEASE_S = 60.0  # a stream's lease, renewed every 20 s: a replica gone without closing holds it no longer


@dataclass
class _End:
    key: str  # "end" or "error"
    text: str


@dataclass
class Upstream:
    """One provider stream and the subscribers it feeds."""

    kind: str
    job_id: str
    headers: dict[str, str]
    subscribers: set[asyncio.Queue[Any]] = field(default_factory=set)
    tail: deque[bytes] = field(default_factory=deque)
    tail_bytes: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


class Streams:
    def __init__(self, auth: Authenticator, find_job: Callable[[str], dict[str, Any] | None],
                 open_source: Callable[[str, str, str, dict[str, str]], Iterator[Any]], store: Store,
                 per_user: int = 8):
        """``find_job(id)``: the index's job with its provider's endpoint (``endpoint``);
        ``open_source(kind, url, job_id, headers)``: the provider's stream, item by item."""
        self.auth, self.find_job, self.open_source, self.per_user = auth, find_job, open_source, per_user
        self.store = store  # leases on streams: an address's count is shared by the replicas on one store
        self._upstreams: dict[tuple[str, str], Upstream] = {}

    # ------------------------------------------------------------------ one subscriber
    async def serve(self, ws: WebSocket, job_id: str, kind: str) -> None:
        await ws.accept()
        try:
            hello = await asyncio.wait_for(ws.receive_text(), HELLO_S)
        except (asyncio.TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
            await _close(ws, 1008, f"send the token and the signed access within {HELLO_S:g} s")
            return
        try:
            address, headers, job = await asyncio.to_thread(self._admit, hello, job_id)
            key = f"streams:{address}"
            lease = await asyncio.to_thread(self.store.open_lease, key, self.per_user, LEASE_S)
        except _Refused as err:
            await _close(ws, err.code, err.reason)
            return
        except StoreUnavailable as err:  # Redis did not answer: nothing admitted, come back in a moment
            log.warning("could not admit a %s stream: %s", kind, err)
            await _close(ws, 1013, "the gateway could not count this stream just now: try again in a moment")
            return
        if lease is None:
            await _close(ws, 1013, f"at most {self.per_user} streams at once per address")
            return
        keeper = asyncio.ensure_future(self._keep(key, lease))
        try:
            if not job.get("endpoint"):
                await _close(ws, 4404, "the job's provider has no endpoint in the index")
                return
            await self._relay(ws, kind, job_id.lower(), str(job["endpoint"]), headers)
        finally:
            keeper.cancel()
            try:
                await asyncio.to_thread(self.store.close_lease, key, lease)
            except StoreUnavailable as err:  # not given back: it expires with its lease (LEASE_S)
                log.warning("could not give a stream's lease back: %s", err)

    async def _keep(self, key: str, lease: str) -> None:
        """Renews a stream's lease while it is open (a store that fails is logged, and tried again)."""
        while True:
            await asyncio.sleep(LEASE_S / 3)
            try:
                await asyncio.to_thread(self.store.renew_lease, key, lease, LEASE_S)
            except Exception as err:  # noqa: BLE001 - Redis away for a moment: the stream goes on
                log.warning("could not renew a stream's lease: %s", err)

    def _admit(self, hello: str, job_id: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The renter's address, their signed access headers and the job (from the index)."""
        if len(hello) > HELLO_MAX:
            raise _Refused(1009, f"the first message is over {HELLO_MAX} bytes")
        try:
            data = loads_bounded(hello, 4, max_bytes=HELLO_MAX)
            token, access = data["token"], data["access"]
            headers = {TIMESTAMP_HEADER: str(access["timestamp"]), SIGNATURE_HEADER: str(access["signature"])}
            if not isinstance(token, str):
                raise TypeError
        except Exception:  # not JSON, not an object, a field missing or of another type
            raise _Refused(1008, 'expected {"token": …, "access": {"timestamp": …, "signature": …}}') from None
        try:
            session = self.auth.session(token)
        except AuthError as err:
            raise _Refused(4401, str(err)) from None
        job = self.find_job(job_id)
        if job is None or job.get("user") != session.address:
            raise _Refused(4404, f"no job {job_id[:18]}… of yours in the index")
        return session.address, headers, job

    async def _relay(self, ws: WebSocket, kind: str, job_id: str, url: str, headers: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_ITEMS)
        key = (kind, job_id)
        upstream = self._upstreams.get(key)
        if upstream is None:
            upstream = self._upstreams[key] = Upstream(kind, job_id, headers)
            threading.Thread(target=self._pump, args=(loop, upstream, url), name=f"{kind}-{job_id[:10]}",
                             daemon=True).start()
        else:
            upstream.headers.update(headers)  # the freshest signature, for the upstream's next reconnect
            for chunk in upstream.tail:
                queue.put_nowait(chunk)
        upstream.subscribers.add(queue)
        closed = asyncio.ensure_future(_until_closed(ws))
        closed.add_done_callback(lambda _: _put_first(queue, _LEFT))  # no task per message to race the client's end
        try:
            while True:
                for item in _batch(queue, await queue.get()):
                    if item is _LEFT or closed.done():  # the client went: nothing more is sent
                        return
                    if isinstance(item, _End):
                        await ws.send_text(json.dumps({item.key: item.text}))
                        await _close(ws, 1000 if item.key == "end" else 1011, item.text[:120])
                        return
                    if kind == "logs":
                        await ws.send_bytes(item)
                    else:
                        await ws.send_text(json.dumps(item))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        finally:
            closed.cancel()
            upstream.subscribers.discard(queue)
            if not upstream.subscribers and self._upstreams.get(key) is upstream:
                upstream.stop.set()
                del self._upstreams[key]

    # ------------------------------------------------------------------ the upstream, on a thread
    def _pump(self, loop: asyncio.AbstractEventLoop, upstream: Upstream, url: str) -> None:
        end = _End("end", "the stream ended: the job is over or its whole log was sent")
        try:
            for item in self.open_source(upstream.kind, url, upstream.job_id, upstream.headers):
                if upstream.stop.is_set():
                    return
                if item is None:  # a poll that found nothing new: only the stop above is looked at
                    continue
                loop.call_soon_threadsafe(self._fan_out, upstream, item)
        except GpurentError as err:
            end = _End("error", safe_text(str(err).splitlines()[0])[:300])
        except Exception as err:  # noqa: BLE001 - an upstream that fails any other way ends the same
            log.warning("the %s stream of %s failed: %s", upstream.kind, upstream.job_id, err,
                        extra=labels(job=upstream.job_id))
            end = _End("error", f"the provider's stream failed ({type(err).__name__})")
        try:
            loop.call_soon_threadsafe(self._finish, upstream, end)
        except RuntimeError:  # the gateway stopped (its loop closed) while this upstream was open
            pass

    def _fan_out(self, upstream: Upstream, item: Any) -> None:
        if upstream.kind == "progress":  # a late subscriber gets the latest frame first
            upstream.tail.clear()
            upstream.tail.append(item)
        elif upstream.kind == "logs":
            upstream.tail.append(item)
            upstream.tail_bytes += len(item)
            while upstream.tail_bytes > TAIL_BYTES and len(upstream.tail) > 1:
                upstream.tail_bytes -= len(upstream.tail.popleft())
        for queue in list(upstream.subscribers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:  # this subscriber is too slow: it goes, the others go on
                upstream.subscribers.discard(queue)
                _put_last(queue, _End("error", f"too slow: more than {QUEUE_ITEMS} messages behind"))

    def _finish(self, upstream: Upstream, end: _End) -> None:
        for queue in list(upstream.subscribers):
            _put_last(queue, end)  # (a full queue: a subscriber about to be dropped as too slow)
        key = (upstream.kind, upstream.job_id)
        if self._upstreams.get(key) is upstream:
            del self._upstreams[key]


def progress_frames(records: Iterator[ProviderRecord]) -> Iterator[dict[str, Any] | None]:
    """What the renter sees of each record polled (:meth:`ProviderEndpoint.follow_record`, each
    checked by :func:`~gpurent.wire.record.parse_record`): the agent's phase, the image's bytes
    pulled of the total (None while unknown), the exit code and the agent's error (``problem``:
    a frame's keys are never ``end`` or ``error``, the stream's end), cut to ``TEXT_MAX`` and
    stripped of control characters; None for a record that changed none of them."""
    last: dict[str, Any] | None = None
    for record in records:
        total = record["bytes_total"]
        frame = {"phase": record["phase"], "bytesDone": min(record["bytes_done"], total if total is not None else 1 << 63),
                 "bytesTotal": total, "exitCode": record["exit_code"],
                 "problem": safe_text(record["error"].split("\n")[0])[:TEXT_MAX] if record["error"] else None}
        yield None if frame == last else frame
        last = frame


_LEFT = object()  # in a subscriber's queue: the client went


class _Refused(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def _batch(queue: asyncio.Queue[Any], first: Any) -> list[Any]:
    """``first`` and what else waits in ``queue``, log chunks in a row joined into one frame (up
    to ``FRAME_BYTES``): a subscriber that fell behind catches up in a few sends, not one each."""
    batch = [first]
    while not queue.empty():
        item = queue.get_nowait()
        last = batch[-1]
        if isinstance(item, bytes) and isinstance(last, bytes) and len(last) + len(item) <= FRAME_BYTES:
            batch[-1] = last + item
        else:
            batch.append(item)
    return batch


def _put_first(queue: asyncio.Queue[Any], item: Any) -> None:
    """Replaces what waits in ``queue`` with ``item``."""
    _drain(queue)
    queue.put_nowait(item)


def _put_last(queue: asyncio.Queue[Any], item: Any) -> None:
    """Puts ``item`` in ``queue``, making room if it is full: what it ends is all that matters."""
    if queue.full():
        _drain(queue)
    queue.put_nowait(item)


def _drain(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()


async def _until_closed(ws: WebSocket) -> None:
    """Returns when the client goes (what it sends after its first message is ignored)."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    """Closes ``ws`` with ``code``, unless it is closed already: a client gone (its disconnect
    received, or the socket cut under the close) is no failure, and nothing to tell."""
    if WebSocketState.DISCONNECTED in (ws.client_state, ws.application_state):
        return
    try:
        await ws.close(code, safe_text(reason)[:120])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
