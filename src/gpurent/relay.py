"""Bytes both ways between two sockets until both sides are done: the agent's ingress (client ↔
a job's port) and the renter's ``port-forward`` (local client ↔ the agent's tunnel) both use it.

One thread per pair, non-blocking sockets and a bounded buffer per direction: a side that does
not read stops the other side being read (back-pressure), never an unbounded buffer, and a
full-duplex stream (both sides writing at once) cannot deadlock. A side that closes its half
(EOF) has that half closed on the other side too, so a request body's end and a response's end
travel through. The relay ends when both halves are closed, when either side fails, when
nothing moves for ``idle_s``, or when :meth:`Relay.close` is called (from any thread).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time

CHUNK = 64 * 1024
BUFFER = 256 * 1024  # bytes held per direction before its source stops being read


class Relay:
    """Relays ``a`` ↔ ``b``; ``pending_a`` / ``pending_b``: bytes already read from ``a`` (for
    ``b``) and from ``b`` (for ``a``), sent first. Both sockets are closed when it ends."""

    def __init__(self, a: socket.socket, b: socket.socket, idle_s: float, pending_a: bytes = b"",
                 pending_b: bytes = b""):
        self.a, self.b, self.idle_s = a, b, idle_s
        self._out = {a: bytearray(pending_b), b: bytearray(pending_a)}  # what waits to be sent to each
        self._eof = {a: False, b: False}  # each side's read half ended
        self._shut = {a: False, b: False}  # each side's write half closed (its peer's EOF passed on)
        self._closing = threading.Event()
        self.sent = {a: 0, b: 0}

    def close(self) -> None:
        """Ends the relay at once: both sockets are shut down (which wakes the relay's thread),
        then closed by it."""
        self._closing.set()
        for sock in (self.a, self.b):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        try:
            for sock in (self.a, self.b):
                sock.setblocking(False)
            self._loop(selector)
        finally:
            selector.close()
            for sock in (self.a, self.b):
                try:
                    sock.close()
                except OSError:
                    pass

    def _peer(self, sock: socket.socket) -> socket.socket:
        return self.b if sock is self.a else self.a

    def _interest(self, sock: socket.socket) -> int:
        events = 0
        if not self._eof[sock] and len(self._out[self._peer(sock)]) < BUFFER:
            events |= selectors.EVENT_READ
        if self._out[sock] and not self._shut[sock]:
            events |= selectors.EVENT_WRITE
        return events

    def _loop(self, selector: selectors.BaseSelector) -> None:
        last = time.monotonic()
        registered: dict[socket.socket, int] = {}
        while not self._closing.is_set():
            for sock in (self.a, self.b):
                self._pass_eof(sock)
            if all(self._shut.values()):
                return  # both halves done
            for sock in (self.a, self.b):
                events = self._interest(sock)
                if events != registered.get(sock, 0):
                    if sock in registered and events:
                        selector.modify(sock, events)
                    elif events:
                        selector.register(sock, events)
                    else:
                        selector.unregister(sock)
                    if events:
                        registered[sock] = events
                    else:
                        registered.pop(sock, None)
            if not registered:
                return  # nothing can move any more
            ready = selector.select(timeout=max(0.0, last + self.idle_s - time.monotonic()))
            if not ready:
                if time.monotonic() - last >= self.idle_s:
                    return  # idle
                continue
            for key, events in ready:
                sock = self.a if key.fileobj is self.a else self.b
                try:
                    if events & selectors.EVENT_READ:
                        self._read(sock)
                    if events & selectors.EVENT_WRITE:
                        self._write(sock)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    return  # reset, broken pipe: the pair is done
            last = time.monotonic()

    def _read(self, sock: socket.socket) -> None:
        data = sock.recv(CHUNK)
        if data:
            self._out[self._peer(sock)] += data
        else:
            self._eof[sock] = True

    def _write(self, sock: socket.socket) -> None:
        buffer = self._out[sock]
        sent = sock.send(buffer[:CHUNK * 4])
        self.sent[sock] += sent
        del buffer[:sent]

    def _pass_eof(self, sock: socket.socket) -> None:
        """Once ``sock`` has ended and all it sent is delivered, closes its peer's write half."""
        peer = self._peer(sock)
        if self._eof[sock] and not self._out[peer] and not self._shut[peer]:
            self._shut[peer] = True
            try:
                peer.shutdown(socket.SHUT_WR)
            except OSError:
                self._shut[sock] = True  # the peer is gone as a whole


def relay(a: socket.socket, b: socket.socket, idle_s: float, pending_a: bytes = b"", pending_b: bytes = b"") -> None:
    """Runs a :class:`Relay` on the calling thread until it ends."""
    Relay(a, b, idle_s, pending_a, pending_b).run()
