"""The agent endpoint's front: one asyncio loop that accepts every connection, relays a job's
ports and tunnels itself, and passes every other request to the threaded endpoint.

Accepting here costs the threaded endpoint nothing it had: the front *peeks* at the request line
(``MSG_PEEK``: nothing is consumed) and, unless it names a job's port or tunnel, hands the
socket as it is to :class:`gpurent.http.HttpServer`'s queue of workers, which reads the request
from its first byte with all of its own bounds. A request for a port or a tunnel has its head
read here (at most ``HEAD_MAX`` bytes within ``arrival_s``), is decided by
:meth:`gpurent.agent.ingress.Ingress.decide` (a signature check runs on a thread, a token's is a
hash), and its two connections are relayed by the loop: a pair of asyncio protocols with
back-pressure both ways (a side whose peer does not read is not read), half-closes passed on,
an idle timeout, and a close from any thread when the job ends. Thousands of connections cost
no thread each; a proxied request costs a fraction of a millisecond of the loop.

When ``make setup`` built the compiled relay (:mod:`gpurent.agent.native`), an allowed
connection's two sockets are handed to it instead, with the same semantics; every decision
above stays here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any

from gpurent.agent.ingress import HEAD_MAX, Answer, Ingress, Plan, ingress_route, parse_head, rewrite_response_head
from gpurent.agent.native import Handed, NativePair, NativeRelay, start_relay
from gpurent.agent.netns import CONNECT_TIMEOUT_S, NamespaceDialer, PortUnreachable, unreachable
from gpurent.http import LINGER_BYTES, LINGER_S, HttpServer

log = logging.getLogger("gpurent.provider.front")

PEEK = 8192  # bytes looked at for the request line
ACCEPT_BATCH = 64  # connections accepted per wake-up at most (then the loop's other work)
PEEKING_MAX = 1024  # connections whose request line has not come yet; past it they go to the pool as they are
DEFER_ACCEPT_S = 10  # the kernel holds a connection that has sent nothing this long before accepting it
HIGH_WATER = 256 * 1024  # bytes buffered toward a side before the other side stops being read
_ROUTE_PREFIX = b"/jobs/0x"


class Front:
    """Accepts on ``server``'s socket (its own accept loop never runs) on a loop of its own."""

    def __init__(self, server: HttpServer, ingress: Ingress, arrival_s: float = 20.0):
        self.server, self.ingress, self.arrival_s = server, ingress, arrival_s
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="gpurent-provider-front", daemon=True)
        self._peeking = 0
        self._pairs: set[Pair] = set()
        self.native: NativeRelay | None = None  # the compiled relay, when there is one (gpurent.agent.native)

    def start(self) -> None:
        _room_for(self.ingress.limits.connections)
        self.native = start_relay(self.ingress.limits.idle_s, self._native_ended)
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        listener: socket.socket = self.server.httpd.socket
        listener.setblocking(False)
        # woken for a connection once its first bytes have come (HTTP's client speaks first): a
        # connection costs no peek that finds nothing, and one that sends nothing costs nothing here
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, DEFER_ACCEPT_S)
        self.loop.add_reader(listener.fileno(), self._accept, listener)
        if self.native is not None:
            self.native.attach(self.loop)
        self.loop.create_task(self._reap())
        try:
            self.loop.run_forever()
        finally:
            self.loop.remove_reader(listener.fileno())
            for pair in list(self._pairs):
                pair.close_now()
            if self.native is not None:
                self.native.close()
            pending = asyncio.all_tasks(self.loop)  # the accept loop, the reaper, requests half read
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()

    # ---------------------------------------------------------------- accepting and splitting
    def _accept(self, listener: socket.socket) -> None:
        """Accepts every connection waiting (one wake-up for a burst of them)."""
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # EMFILE and the like: a moment, then on
                log.warning("accept failed: %s", err)
                self.loop.remove_reader(listener.fileno())
                self.loop.call_later(0.1, self.loop.add_reader, listener.fileno(), self._accept, listener)
                return
            sock.setblocking(False)
            if self._peeking >= PEEKING_MAX:
                self._to_pool(sock, address)
                continue
            self.loop.create_task(self._split(sock, address))

    def _to_pool(self, sock: socket.socket, address: Any) -> None:
        sock.setblocking(True)
        self.server.httpd.process_request(sock, address)

    async def _split(self, sock: socket.socket, address: Any) -> None:
        """Peeks at the request line: a port or tunnel stays here, everything else goes to the pool."""
        self._peeking += 1
        try:
            line, seen = await self._peek_line(sock)
        finally:
            self._peeking -= 1
        if line is None:  # closed, too slow or too long before a line: the pool answers as it does
            self._to_pool(sock, address)
            return
        parts = line.split(b" ")
        target = parts[1] if len(parts) == 3 else b""
        if not target.startswith(_ROUTE_PREFIX) or ingress_route(target.decode("latin-1")) is None:
            self._to_pool(sock, address)
            return
        await self._ingress(sock, str(address[0]), seen)

    async def _peek_line(self, sock: socket.socket) -> tuple[bytes | None, bytes]:
        return await self._peek_until(sock, b"\r\n", PEEK)

    async def _peek_until(self, sock: socket.socket, mark: bytes, limit: int) -> tuple[bytes | None, bytes]:
        """What the client sent before ``mark``, looked at and not consumed (None when the client
        closes, sends ``limit`` bytes without it, or takes longer than ``arrival_s``), and all
        that was looked at."""
        deadline = self.loop.time() + self.arrival_s
        while True:
            try:
                data = sock.recv(limit + len(mark), socket.MSG_PEEK)
            except BlockingIOError:
                data = None
            except OSError:
                return None, b""
            if data is not None:
                end = data.find(mark)
                if end >= 0:
                    return data[:end], data
                if not data or len(data) >= limit:
                    return None, data
            left = deadline - self.loop.time()
            if left <= 0 or not await self._readable(sock, left):
                return None, data or b""

    async def _readable(self, sock: socket.socket, timeout: float) -> bool:
        """Whether ``sock`` has something to read (or its end) within ``timeout``."""
        ready: asyncio.Future[bool] = self.loop.create_future()

        def settle(value: bool) -> None:
            if not ready.done():
                ready.set_result(value)

        self.loop.add_reader(sock.fileno(), settle, True)
        timer = self.loop.call_later(timeout, settle, False)
        try:
            return await ready
        finally:
            timer.cancel()
            self.loop.remove_reader(sock.fileno())

    # ---------------------------------------------------------------- a port or a tunnel
    async def _ingress(self, sock: socket.socket, client: str, seen: bytes) -> None:
        head = await self._read_head(sock, seen)
        if head is None:
            await self._answer(sock, Answer(400, f"a request head within {HEAD_MAX} bytes and {self.arrival_s:g} s"))
            return
        try:
            request = parse_head(head, client)
        except ValueError as err:
            await self._answer(sock, Answer(400, str(err)))
            return
        signed = request.headers.get("X-Gpurent-Signature") is not None
        decision = (await self.loop.run_in_executor(None, self.ingress.decide, request) if signed
                    else self.ingress.decide(request))  # a token is a hash; a signature a curve recovery
        if isinstance(decision, Answer):
            await self._answer(sock, decision)
            return
        if self.native is not None and self.native.alive:
            await self._hand(sock, decision, self.native)
            return
        try:
            upstream = await self._dial(decision)
        except PortUnreachable as err:
            self.ingress.release(decision.job_id)
            await self._answer(sock, Answer(502, str(err)))
            return
        pair = Pair(self, decision)
        if not self.ingress.track(decision.job_id, pair):
            self.ingress.release(decision.job_id)
            upstream.close()
            await self._answer(sock, Answer(410, "the job has ended: its ports are closed"))
            return
        self._pairs.add(pair)
        try:
            await pair.start(sock, upstream)
        except OSError:
            pair.close_now()

    async def _hand(self, sock: socket.socket, plan: Plan, native: NativeRelay) -> None:
        """Relays an allowed connection in the compiled relay: the job's socket is made in its
        namespace here and connected there (a rootless helper's comes connected)."""
        try:
            dialer = self.ingress.dialer(plan.job_id)
            if isinstance(dialer, NamespaceDialer):
                upstream, connected = dialer.new_socket(), False
            else:
                upstream, connected = await self.loop.run_in_executor(None, dialer.connect, plan.port), True
        except PortUnreachable as err:
            self.ingress.release(plan.job_id)
            await self._answer(sock, Answer(502, str(err)))
            return
        pair = NativePair(native, plan)
        if not self.ingress.track(plan.job_id, pair):
            self.ingress.release(plan.job_id)
            upstream.close()
            await self._answer(sock, Answer(410, "the job has ended: its ports are closed"))
            return
        handed = native.hand(pair, sock, upstream, connected)
        if handed is Handed.HANDED:
            return
        upstream.close()
        self.ingress.untrack(plan.job_id, pair)
        if handed is Handed.CLOSED:
            await self._answer(sock, Answer(410, "the job has ended: its ports are closed"))
        else:
            await self._answer(sock, Answer(502, "the agent's relay failed: try again"))

    def _native_ended(self, pair: NativePair) -> None:
        self.ingress.untrack(pair.plan.job_id, pair)

    async def _read_head(self, sock: socket.socket, seen: bytes = b"") -> bytes | None:
        """The head's bytes, consumed up to the blank line and not a byte past it (the body, if
        any, stays in the socket for the relay); ``seen``: what a peek has already looked at."""
        end = seen.find(b"\r\n\r\n")
        head = seen[:end] if 0 <= end <= HEAD_MAX else (await self._peek_until(sock, b"\r\n\r\n", HEAD_MAX))[0]
        if head is not None:
            sock.recv(len(head) + 4)  # exactly the head (it is in the socket's buffer)
        return head

    async def _dial(self, plan: Plan) -> socket.socket:
        dialer = self.ingress.dialer(plan.job_id)
        if isinstance(dialer, NamespaceDialer):
            upstream = dialer.new_socket()
            upstream.setblocking(False)
            try:
                if upstream.connect_ex(("127.0.0.1", plan.port)) != 0:  # loopback often connects at once
                    await asyncio.wait_for(self.loop.sock_connect(upstream, ("127.0.0.1", plan.port)),
                                           CONNECT_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError) as err:
                upstream.close()
                why = str(err) or f"no answer within {CONNECT_TIMEOUT_S:g} s"
                raise unreachable(plan.port, getattr(err, "errno", None), why) from None
            return upstream
        upstream = await self.loop.run_in_executor(None, dialer.connect, plan.port)
        upstream.setblocking(False)
        return upstream

    async def _answer(self, sock: socket.socket, answer: Answer) -> None:
        """Sends ``answer`` and closes, draining a little of what the client still sends (as
        the threaded endpoint lingers), so the client reads the answer, not a reset."""
        try:
            await asyncio.wait_for(self.loop.sock_sendall(sock, answer.encode()), 10.0)
            sock.shutdown(socket.SHUT_WR)
            left, deadline = LINGER_BYTES, self.loop.time() + LINGER_S
            while left > 0 and await self._readable(sock, max(0.0, deadline - self.loop.time())):
                chunk = sock.recv(min(left, 1 << 14))
                if not chunk:
                    break
                left -= len(chunk)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            sock.close()

    # ---------------------------------------------------------------- idle connections
    async def _reap(self) -> None:
        idle_s = self.ingress.limits.idle_s
        while True:
            await asyncio.sleep(min(1.0, idle_s / 2))
            now = time.monotonic()
            for pair in [p for p in self._pairs if now - p.last > idle_s]:
                pair.close_now()

    def ended(self, pair: Pair) -> None:
        if pair in self._pairs:
            self._pairs.discard(pair)
            self.ingress.untrack(pair.plan.job_id, pair)


def _room_for(connections: int) -> None:
    """Raises this process's open-file limit toward its hard limit so that ``connections``
    relayed connections (two descriptors each) and the rest of the agent fit (best effort)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * connections + 1024
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
        except (ValueError, OSError):
            log.warning("open files limited to %d: fewer than %d ingress connections may fit", soft, connections)


class Side(asyncio.Protocol):
    """One connection of a pair: what it receives goes to the other side."""

    def __init__(self, pair: Pair, name: str):
        self.pair, self.name = pair, name
        self.transport: asyncio.Transport | None = None
        self.eof = False  # this side has sent its end
        self._early: list[bytes] = []  # what came for this side before its transport was made
        self._early_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH_WATER)
        for data in self._early:
            transport.write(data)
        self._early.clear()
        if self._early_eof and transport.can_write_eof():
            transport.write_eof()

    def send(self, data: bytes) -> None:
        """Writes ``data`` toward this side (kept until its transport is made)."""
        if self.transport is None:
            self._early.append(data)
        elif not self.transport.is_closing():
            self.transport.write(data)

    def send_eof(self) -> None:
        if self.transport is None:
            self._early_eof = True
        elif not self.transport.is_closing() and self.transport.can_write_eof():
            self.transport.write_eof()

    def data_received(self, data: bytes) -> None:
        self.pair.received(self, data)

    def eof_received(self) -> bool:
        self.eof = True
        self.pair.half_closed(self)
        return True  # keep the other half open until the pair is done

    def connection_lost(self, exc: Exception | None) -> None:
        self.pair.lost(self)

    def pause_writing(self) -> None:  # our peer reads slower than the other side sends
        other = self.pair.other(self)
        if other.transport is not None:
            other.transport.pause_reading()

    def resume_writing(self) -> None:
        other = self.pair.other(self)
        if other.transport is not None and not other.eof:
            other.transport.resume_reading()


class Pair:
    """A client's connection and the job's, relayed by the loop."""

    def __init__(self, front: Front, plan: Plan):
        self.front, self.plan = front, plan
        self.client, self.job = Side(self, "client"), Side(self, "job")
        self.last = time.monotonic()
        self._head: bytearray | None = bytearray() if plan.http else None  # the job's answer's head, until whole
        self._done = False

    async def start(self, client: socket.socket, job: socket.socket) -> None:
        loop = self.front.loop
        if self.plan.to_job:
            self.job.send(self.plan.to_job)
        if self.plan.to_client:
            self.client.send(self.plan.to_client)
        await loop.connect_accepted_socket(lambda: self.job, job)
        await loop.connect_accepted_socket(lambda: self.client, client)

    def other(self, side: Side) -> Side:
        return self.job if side is self.client else self.client

    def received(self, side: Side, data: bytes) -> None:
        self.last = time.monotonic()
        if side is self.job and self._head is not None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > HEAD_MAX:
                    self.close_now()
                return
            data = rewrite_response_head(bytes(self._head[:end])) + bytes(self._head[end + 4:])
            self._head = None
        self.other(side).send(data)

    def half_closed(self, side: Side) -> None:
        other = self.other(side)
        if side is self.job and self.plan.http and self._head is None:
            self.close_now()  # one whole response, the client told Connection: close: done (what is
            return  # buffered toward the client is still sent before its connection closes)
        if side is self.job and self._head:  # the job closed mid-head: pass on what came
            head = bytes(self._head)
            self._head = None
            other.send(head)
        other.send_eof()
        if self.client.eof and self.job.eof:
            self.close_now()

    def lost(self, side: Side) -> None:
        self.close_now()

    def close_now(self) -> None:
        """Closes both connections (on the loop's thread)."""
        if self._done:
            return
        self._done = True
        for side in (self.client, self.job):
            if side.transport is not None:
                side.transport.close()  # what is buffered toward it is still sent
        self.front.ended(self)

    # the ingress's Connection protocol: a pair is closed from any thread when its job ends
    def run(self) -> None:  # pragma: no cover - a pair runs on the loop, never on a thread
        raise NotImplementedError

    def close(self) -> None:
        self.front.loop.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        if not self._done:
            for side in (self.client, self.job):
                if side.transport is not None:
                    side.transport.abort()
        self.close_now()
