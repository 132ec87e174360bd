"""Small HTTP helpers shared by gpurent's services and their clients (provider endpoints, the
oracle, IPFS Cluster): one message for a service that does not answer, one way to read an error
body, one way to answer JSON, one way to read a JSON request (strictly: bounded, finite, not too
deep), one server answering on a bounded pool of workers."""

from __future__ import annotations

import json
import logging
import math
import queue
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import requests

from gpurent.errors import InvalidInput, ServiceUnavailable
from gpurent.safejson import DEPTH_MAX, JSONTooLarge, loads_bounded


def call(method: str, url: str, unavailable: str, *, session: requests.Session | None = None,
         **kwargs: Any) -> requests.Response:
    """``requests.request`` (``session.request`` when given: a provider's
    :meth:`~gpurent.wire.endpoint.Target.session`); ServiceUnavailable(``unavailable``) when
    nothing answers."""
    try:
        return (session or requests).request(method, url, **kwargs)
    except requests.RequestException as err:
        raise ServiceUnavailable(unavailable) from err


def error_text(response: requests.Response, key: str) -> str:
    """The ``key`` field of a JSON error body, else the body itself (trimmed)."""
    try:
        body = response.json()
        message = body.get(key, response.text) if isinstance(body, dict) else response.text
    except ValueError:
        message = response.text
    return str(message).strip()[:300] or f"HTTP {response.status_code}"


# ------------------------------------------------------------------------------ the server side
# Everything below answers requests from anyone: each refusal is a JSON 4xx, a route that fails
# anyway is a JSON 500 with one log line, and no client can hold more than its share of the
# server (a fixed pool of workers, a bounded queue before them, an idle timeout on every read).

WORKERS = 32  # requests answered at once (the agent lets log streams hold at most 12 of them)
QUEUE = 128  # connections accepted and waiting for a worker; beyond it a 503 and close
BACKLOG = 128  # connections the kernel holds before the server accepts them (a burst of clients)
IDLE_TIMEOUT_S = 10.0  # a client that sends nothing (or reads nothing) this long is dropped
ARRIVAL_S = 20.0  # ... and one whose request line and headers (then its body) take longer, however slow
BODY_LIMIT = 1 << 20
LINGER_S, LINGER_BYTES = 0.5, 1 << 16  # what of an unread body is drained so the answer arrives
_LENGTH = re.compile(r"[0-9]{1,19}")

log = logging.getLogger("gpurent.http")


class RequestRefused(InvalidInput):
    """Raised when a request is malformed before its route can use it; ``status`` is the HTTP
    status that says why (400 malformed, 411 no length, 413 too large)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def send_json(request: BaseHTTPRequestHandler, code: int, body: dict[str, Any] | list[Any]) -> None:
    """Answers ``request`` (an http.server handler) with ``body`` as JSON (a list: a JSON-RPC batch)."""
    data = json.dumps(body).encode()
    request.send_response(code)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)


def body_length(request: BaseHTTPRequestHandler) -> int | None:
    """The request's ``Content-Length`` (None when it has none): RequestRefused for a chunked
    body (411) or a length that is negative, repeated differently or not a number (400). The
    server checks it before every route, so no route sees a body it cannot bound."""
    if request.headers.get("Transfer-Encoding"):
        raise RequestRefused(411, "chunked bodies are not taken: send the body with a Content-Length")
    lengths = {value.strip() for value in request.headers.get_all("Content-Length") or []}
    if not lengths:
        return None
    text = lengths.pop()
    if lengths or not _LENGTH.fullmatch(text):
        raise RequestRefused(400, "Content-Length must be one non-negative integer")
    return int(text)


def read_body(request: BaseHTTPRequestHandler, limit: int = BODY_LIMIT) -> bytes:
    """The request's body, at most ``limit`` bytes (413 beyond), sent with a Content-Length
    (:func:`body_length`; 411 without one)."""
    length = body_length(request)
    if length is None:
        raise RequestRefused(411, "a body needs a Content-Length")
    if length > limit:
        raise RequestRefused(413, f"body over {limit} bytes")
    setattr(request, "body_read", True)  # noqa: B010 - the handler drains what was never read
    server = getattr(request, "server", None)
    if isinstance(server, _PooledServer):  # the body, too, must arrive in time, not a byte at a time
        server.expect(request.connection)
    data = request.rfile.read(length)
    if isinstance(server, _PooledServer):
        server.arrived(request.connection)
    if len(data) < length:
        raise RequestRefused(400, "the body ended before its Content-Length")
    return data


def parse_json(data: bytes, max_depth: int = DEPTH_MAX) -> Any:
    """Strict JSON from a client: RequestRefused(400) if it is not JSON, nests deeper than
    ``max_depth`` (checked before parsing) or holds ``NaN``, ``Infinity`` or a number too large
    for a float (``1e400``)."""
    try:
        return loads_bounded(data, max_depth, parse_constant=_no_constant, parse_float=_finite)
    except JSONTooLarge as err:
        raise RequestRefused(400, str(err)) from None
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise RequestRefused(400, f"not JSON: {one_line(err)}") from None


def read_json(request: BaseHTTPRequestHandler, limit: int = BODY_LIMIT, max_depth: int = DEPTH_MAX) -> Any:
    """The request's JSON body (:func:`read_body`, then :func:`parse_json`)."""
    return parse_json(read_body(request, limit), max_depth)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value


def one_line(err: BaseException) -> str:
    """An exception as one short line (its type when it says nothing)."""
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]


Route = Callable[[BaseHTTPRequestHandler], None]  # answers one request
_AS_CLIENT_ERROR: dict[int, int] = {HTTPStatus.NOT_IMPLEMENTED: HTTPStatus.METHOD_NOT_ALLOWED,  # an unknown method
                                    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: HTTPStatus.BAD_REQUEST}
_QUIET = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)  # the client left


class _PooledServer(HTTPServer):
    """An HTTPServer whose requests are answered by ``workers`` threads fed through a queue of
    ``queue_size`` accepted connections; a connection finding the queue full gets a 503."""

    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], name: str,
                 workers: int, queue_size: int, arrival_s: float):
        super().__init__(address, handler)
        self.name, self.arrival_s = name, arrival_s
        self.waiting: queue.Queue[tuple[socket.socket, Any] | None] = queue.Queue(maxsize=queue_size)
        self.workers = [threading.Thread(target=self._work, name=f"{name}-worker", daemon=True)
                        for _ in range(workers)]
        self.reaper = threading.Thread(target=self._reap, name=f"{name}-reaper", daemon=True)
        self._deadlines: dict[socket.socket, float] = {}
        self._deadlines_lock = threading.Lock()
        self._closed = threading.Event()
        self._detached: set[socket.socket] = set()

    def detach(self, connection: socket.socket) -> None:
        """``connection`` now belongs to whoever took it (a relay, a shell): its worker ends
        without closing it."""
        with self._deadlines_lock:
            self._detached.add(connection)
            self._deadlines.pop(connection, None)

    def expect(self, connection: socket.socket) -> None:
        """``connection`` must deliver what is read next within ``arrival_s``."""
        with self._deadlines_lock:
            self._deadlines[connection] = time.monotonic() + self.arrival_s

    def arrived(self, connection: socket.socket) -> None:
        with self._deadlines_lock:
            self._deadlines.pop(connection, None)

    def _reap(self) -> None:
        """Drops each connection whose request (or body) is late: the idle timeout bounds each
        read, this bounds a client sending one byte every few seconds."""
        while not self._closed.wait(0.25):
            now = time.monotonic()
            with self._deadlines_lock:
                late = [c for c, at in self._deadlines.items() if at < now]
                for connection in late:
                    del self._deadlines[connection]
            for connection in late:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            self.waiting.put_nowait((request, client_address))
        except queue.Full:
            self._busy(request)

    def _busy(self, request: socket.socket) -> None:
        body = json.dumps({"error": f"{self.name} is busy: try again shortly"}).encode()
        try:
            request.settimeout(1.0)
            request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                            b"Retry-After: 1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        self.shutdown_request(request)

    def _work(self) -> None:
        while (item := self.waiting.get()) is not None:
            request, client_address = item
            self.expect(request)  # the request line and headers; the handler says when they came
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - one line, and the worker goes on
                self.handle_error(request, client_address)
            finally:
                self.arrived(request)
                with self._deadlines_lock:
                    detached = request in self._detached
                    self._detached.discard(request)
                if not detached:
                    self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line, never the traceback socketserver prints by default."""
        err = sys.exc_info()[1]
        if err is not None and not isinstance(err, _QUIET):
            log.warning("%s: a connection from %s failed: %s", self.name, client_address[0], one_line(err))

    def server_close(self) -> None:
        super().server_close()
        self._closed.set()
        while True:
            try:
                item = self.waiting.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.shutdown_request(item[0])
        for _ in self.workers:
            try:
                self.waiting.put_nowait(None)
            except queue.Full:
                break


class HttpServer:
    """A quiet HTTP server on a daemon thread of its own, ``get`` and ``post`` answering its
    requests on a fixed pool of ``workers``: ``start``, ``stop``, and the bound ``port`` (ask for
    0 and read it back). Every answer is JSON: other methods get 405, what http.server itself
    refuses (a garbled request line, headers too long) its 4xx, a route that raises a 500 and
    one log line; a client idle for ``idle_timeout_s`` is dropped, and so is one whose request
    head (then body) has not arrived ``arrival_s`` after a worker took it."""

    def __init__(self, host: str, port: int, name: str, get: Route, post: Route, workers: int = WORKERS,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, queue_size: int = QUEUE, arrival_s: float = ARRIVAL_S,
                 intercept: Callable[[BaseHTTPRequestHandler], bool] | None = None):
        class Handler(BaseHTTPRequestHandler):
            server_version = name
            default_request_version = "HTTP/1.0"  # a garbled request line still gets a status line
            timeout = idle_timeout_s  # every read and write of the connection
            answered = body_read = False

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
                pass

            def parse_request(self) -> bool:
                parsed = super().parse_request()  # reads the headers
                server.arrived(self.connection)  # the request line and headers are in
                return parsed

            def send_response(self, code: int, message: str | None = None) -> None:
                self.answered = True
                super().send_response(code, message)

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                """http.server's own refusals, as JSON 4xx (an unknown method is a 405 here, an
                unknown HTTP version a 400)."""
                self.close_connection = True
                code = _AS_CLIENT_ERROR.get(code, code)
                if not self.answered:
                    send_json(self, code, {"error": message or HTTPStatus(code).phrase})

            def _route(self, route: Route) -> None:
                try:
                    body_length(self)  # a malformed framing header is refused on every route
                    route(self)
                except RequestRefused as err:  # ... and a body a route read and did not catch
                    self.close_connection = True
                    if not self.answered:
                        send_json(self, err.status, {"error": str(err)})
                except _QUIET:
                    self.close_connection = True
                except Exception as err:  # noqa: BLE001 - the last resort: a 500 and one line
                    self.close_connection = True
                    log.warning("%s: %s %s failed: %s: %s", name, self.command, self.path[:120],
                                type(err).__name__, one_line(err))
                    if not self.answered:
                        send_json(self, 500, {"error": "internal error"})
                self._linger()

            def _linger(self) -> None:
                """Drains a little of a body the route never read, so the client reads the
                answer rather than a reset connection."""
                if self.body_read or not (self.headers.get("Content-Length", "0").strip() not in ("", "0")
                                          or self.headers.get("Transfer-Encoding")):
                    return
                try:
                    self.connection.shutdown(socket.SHUT_WR)
                    self.connection.settimeout(LINGER_S)
                    left = LINGER_BYTES
                    while left > 0 and (chunk := self.connection.recv(min(left, 1 << 14))):
                        left -= len(chunk)
                except OSError:
                    pass

            def _intercepted(self) -> bool:
                """Whether ``intercept`` took the request (any method, any body framing: a
                proxy passes them on); a failure there is a 500 as on any route."""
                if intercept is None:
                    return False
                try:
                    return intercept(self)
                except _QUIET:
                    self.close_connection = True
                    return True
                except Exception as err:  # noqa: BLE001 - as _route's last resort
                    self.close_connection = True
                    log.warning("%s: %s %s failed: %s: %s", name, self.command, self.path[:120],
                                type(err).__name__, one_line(err))
                    if not self.answered:
                        send_json(self, 500, {"error": "internal error"})
                    return True

            def _refuse_method(self) -> None:
                if not self._intercepted():
                    self._route(lambda request: send_json(request, 405, {"error": f"{self.command} is not allowed here"}))

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if not self._intercepted():
                    self._route(get)

            def do_POST(self) -> None:  # noqa: N802
                if not self._intercepted():
                    self._route(post)

            do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method  # noqa: N815

        self.httpd = server = _PooledServer((host, port), Handler, name, workers, queue_size, arrival_s)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self, accept: bool = True) -> None:
        """Starts the workers and, unless ``accept`` is False (a front of its own accepts on
        ``httpd.socket`` and queues connections with ``httpd.process_request``), the accept loop."""
        for worker in self.httpd.workers:
            worker.start()
        self.httpd.reaper.start()
        if accept:
            self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never ran otherwise
            self.httpd.shutdown()
        self.httpd.server_close()
