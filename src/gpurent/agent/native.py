"""The compiled relay beside the agent: the bytes of the ingress's connections, moved by a small
Go process (``tools/relay``, built by ``make setup`` into ``.tools/bin/gpurent-relay``) instead of
the front's event loop.

The front (:mod:`gpurent.agent.front`) still accepts every connection, reads and decides every
request, and makes the job's socket in its network namespace; only a connection it allows is
handed over: one message on a ``SOCK_SEQPACKET`` socket with the client's connection and the
job's socket (``SCM_RIGHTS``), what to send each first, and whether the job speaks HTTP. The
relay connects the job's socket (a refusal is the same 502), relays with the front's semantics
(back-pressure, half-closes, the response head rewritten, idle timeout) and reports each pair's
end, so the ingress keeps its books as before: bounds, the connections of a job closed the
moment it ends (an abort message), renter-only access decided here.

``$GPURENT_RELAY``: the binary's path, or ``python`` for the front's own relay. Without the
binary (no Go at setup), or once it has failed, the front relays in Python as before.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from gpurent.agent.ingress import HEAD_MAX, Plan
from gpurent.agent.netns import CONNECT_TIMEOUT_S
from gpurent.http import LINGER_BYTES, LINGER_S

log = logging.getLogger("gpurent.provider.relay")

ENV = "GPURENT_RELAY"
NAME = "gpurent-relay"
SEND_S = 5.0  # a message to the relay (it reads them at once; longer means it is stuck)
_HTTP, _DIAL = 1, 2  # the message's flags (tools/relay/main.go)
_ID = struct.Struct("!Q")
_PAIR = struct.Struct("!QBHII")  # a pair in a 'P' message: id, flags, port, len(to_client), len(to_job)
BATCH = 64  # pairs in one message at most (tools/relay's maxBatch)
BATCH_BYTES = 128 * 1024  # bytes of one message at most (a single pair's may be more: its head is bounded)


def relay_binary() -> Path | None:
    """``$GPURENT_RELAY`` (None when it says ``python``), a ``gpurent-relay`` on PATH, or the one
    `make setup` builds; None without any."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "python") else Path(env)
    local = Path(__file__).resolve().parents[3] / ".tools" / "bin" / NAME
    if os.access(local, os.X_OK):
        return local
    found = shutil.which(NAME)
    return Path(found) if found else None


class Handed(Enum):
    HANDED = "handed"  # the relay has both connections (ours are closed)
    CLOSED = "closed"  # the pair was closed before (its job ended): nothing sent
    FAILED = "failed"  # the relay is gone: nothing sent


class NativePair:
    """A connection relayed by the process: what the ingress holds (closed when the job ends)."""

    def __init__(self, relay: NativeRelay, plan: Plan):
        self.relay, self.plan = relay, plan
        self.id = next(relay.ids)
        self.handed = False
        self.closed = False

    def run(self) -> None:  # pragma: no cover - the relay process runs it, never a thread
        raise NotImplementedError

    def close(self) -> None:
        """Aborts both connections (from any thread)."""
        self.relay.abort(self)


class NativeRelay:
    """One relay process; ``ended(pair)`` is called on ``loop``'s thread when a pair is done."""

    def __init__(self, binary: Path, idle_s: float, ended: Callable[[NativePair], None]):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        args = [str(binary), str(theirs.fileno()), str(round(idle_s * 1000)), str(round(CONNECT_TIMEOUT_S * 1000)),
                str(LINGER_BYTES), str(round(LINGER_S * 1000)), str(HEAD_MAX)]
        try:
            self.process = subprocess.Popen(args, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.settimeout(SEND_S)  # sends wait a moment for room; reads (on the loop) never wait:
        self.control, self.reader = ours, ours.dup()
        self.reader.setblocking(False)
        self.ids = itertools.count(1)
        self.ended = ended
        self.alive = True
        self._lock = threading.Lock()
        self._pairs: dict[int, NativePair] = {}
        self._queue: list[tuple[NativePair, bytes, socket.socket, socket.socket]] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Runs on ``loop`` (from its thread): reads the relay's reports there."""
        self.loop = loop
        loop.add_reader(self.reader.fileno(), self._readable)

    def _readable(self) -> None:
        if self.readable():
            assert self.loop is not None
            self.loop.remove_reader(self.reader.fileno())

    def hand(self, pair: NativePair, client: socket.socket, job: socket.socket, connected: bool) -> Handed:
        """Queues ``client`` and ``job`` (connected, or to be connected to the plan's port) for the
        relay: they go in one message with the others queued on this turn of the loop
        (:meth:`flush`, scheduled here), then close here."""
        plan = pair.plan
        flags = (_HTTP if plan.http else 0) | (0 if connected else _DIAL)
        record = _PAIR.pack(pair.id, flags, plan.port, len(plan.to_client), len(plan.to_job)) + plan.to_client + plan.to_job
        with self._lock:
            if pair.closed:
                return Handed.CLOSED
            if not self.alive:
                return Handed.FAILED
            pair.handed = True
            self._pairs[pair.id] = pair
            self._queue.append((pair, record, client, job))
            if len(self._queue) == 1:
                assert self.loop is not None, "attach() first"
                self.loop.call_soon(self.flush)
        return Handed.HANDED

    def flush(self) -> None:
        """Sends what :meth:`hand` queued, BATCH pairs or BATCH_BYTES a message at most."""
        with self._lock:
            queue, self._queue = self._queue, []
            while queue and self.alive:
                size, count = 0, 0
                while count < len(queue) and count < BATCH and (count == 0 or size + len(queue[count][1]) <= BATCH_BYTES):
                    size += len(queue[count][1])
                    count += 1
                batch, queue = queue[:count], queue[count:]
                fds = [fd for _, _, client, job in batch for fd in (client.fileno(), job.fileno())]
                try:
                    socket.send_fds(self.control, [b"P" + b"".join(record for _, record, _, _ in batch)], fds)
                except OSError as err:
                    self._fail(f"the compiled relay stopped taking connections ({err})")
                    queue = batch + queue
                for _, _, client, job in batch:
                    client.close()
                    job.close()
        for _, _, client, job in queue:  # the relay failed: these connections end unanswered
            client.close()
            job.close()  # (their pairs end when the relay's exit is read, see readable)

    def abort(self, pair: NativePair) -> None:
        with self._lock:
            pair.closed = True
            if not pair.handed or not self.alive:
                return
            try:
                self.control.send(b"X" + pair.id.to_bytes(8, "big"))
            except OSError as err:
                self._fail(f"the compiled relay stopped taking messages ({err})")

    def readable(self) -> bool:
        """Reads what the relay reported (on the loop's thread, when :attr:`reader` is readable);
        True once the relay has exited (every pair it held has ended)."""
        while True:
            try:
                message = self.reader.recv(1 + 8 * 4096)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                message = b""
            if not message:
                with self._lock:
                    self._fail("the compiled relay has exited")
                self._end_all()
                return True
            if message[:1] == b"E":
                with self._lock:
                    ids = message[1:len(message) - (len(message) - 1) % 8]
                    ended = [self._pairs.pop(pair_id, None) for (pair_id,) in _ID.iter_unpack(ids)]
                for pair in ended:
                    if pair is not None:
                        self.ended(pair)

    def _fail(self, why: str) -> None:
        """The relay is given up (under the lock): its pairs' connections close with it."""
        if self.alive:
            self.alive = False
            log.warning("%s: the ingress relays in Python from now on", why)
            self.process.kill()

    def _end_all(self) -> None:
        with self._lock:
            pairs = list(self._pairs.values())
            self._pairs.clear()
        for pair in pairs:
            self.ended(pair)

    def close(self) -> None:
        """Ends the process (which closes every connection it holds); their pairs end here too
        (on the loop's thread, after its last turn)."""
        if self.loop is not None and self.reader.fileno() >= 0:
            self.loop.remove_reader(self.reader.fileno())
        with self._lock:
            self.alive = False
            self.control.close()
            self.reader.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=2)
        self._end_all()


def start_relay(idle_s: float, ended: Callable[[NativePair], None]) -> NativeRelay | None:
    """The compiled relay, if there is one and it starts; None otherwise (the Python relay)."""
    binary = relay_binary()
    if binary is None:
        return None
    try:
        return NativeRelay(binary, idle_s, ended)
    except OSError as err:
        log.warning("the compiled relay %s did not start (%s): the ingress relays in Python", binary, err)
        return None
