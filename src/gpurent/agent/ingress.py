"""A job's ports, reached only through the agent's own endpoint.

    POST /jobs/<id>/access              signed by the renter: a short-lived token (gpurent.agent.tokens)
    ANY  /jobs/<id>/ports/<port>/<path>  HTTP (and WebSocket upgrades) to the job's declared HTTP port
    GET  /jobs/<id>/tunnel/<port>        ``Upgrade: gpurent-tunnel``: raw TCP to any declared port
                                         (what ``gpurent jobs port-forward`` opens)
    GET  /jobs/<id>/exec                 a WebSocket: a command or a terminal (gpurent.agent.shell)

A job's container keeps no network of its own (see :mod:`gpurent.agent.runtime`): each
connection is dialled inside its network namespace (:mod:`gpurent.agent.netns`). Only ports the
job's definition declares are reachable, only while the job runs, and only by its renter (a
signature, or a token issued for one), except an HTTP port the definition marks ``public`` on a
provider that serves public ports. A proxied request goes to the job as ``<path>`` with
``X-Forwarded-Prefix: /jobs/<id>/ports/<port>`` (so an app can build its links),
``X-Forwarded-For`` / ``-Host`` / ``-Proto``, and without the renter's token, signature or access
cookie. When the job stops running, its connections are closed at once.

This module decides (:meth:`Ingress.decide`) and keeps the books: connections at once in all and
per job (beyond them a 429 with ``Retry-After``), each job's dialler, the connections to close
with it. The asynchronous front (:mod:`gpurent.agent.front`) reads ports' and tunnels' requests
and relays them; access and exec stay on the endpoint's threaded workers (a shell holds a thread
of the ingress's own pool, never one of the workers).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from gpurent.agent.config import IngressLimits
from gpurent.agent.netns import Connector, NamespaceDialer, PortUnreachable, dialer
from gpurent.agent.shell import ShellSession, handshake_problem, handshake_response
from gpurent.agent.state import AgentState
from gpurent.agent.tokens import COOKIE, QUERY, Tokens, token_from
from gpurent.http import send_json
from gpurent.relay import BUFFER
from gpurent.types import AgentPhase
from gpurent.wire.access import SIGNATURE_HEADER, TIMESTAMP_HEADER, AccessDenied, verify_access
from gpurent.workload.spec import PortSpec

log = logging.getLogger("gpurent.provider.ingress")

TUNNEL = "gpurent-tunnel"  # the Upgrade token of a raw tunnel
RUNNING_CACHE_S = 2.0  # a running job's renter and ports, remembered between requests
HEAD_MAX = 64 * 1024  # bytes of a job's response head (status line and headers)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "upgrade"})
OURS = frozenset({SIGNATURE_HEADER.lower(), TIMESTAMP_HEADER.lower()})  # never the job's to see
# (Authorization is dropped only when it carries this agent's token: an app's own bearer key passes)
_PATH = re.compile(r"/jobs/(0x[0-9a-fA-F]{64})/(ports|tunnel)/([0-9]{1,5})(/[^?#]*)?(\?[^#]*)?")
_JOB_ROUTE = re.compile(r"/jobs/(0x[0-9a-fA-F]{64})/(access|exec)/?(\?[^#]*)?")


@dataclass(frozen=True)
class Answer:
    """A request the ingress answers itself: a refusal (JSON ``{"error": message}``) or a redirect."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        body = json.dumps({"error": self.message}).encode() if self.message else b""
        lines = [f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}", "Connection: close",
                 f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in self.headers)]
        if body:
            lines.append("Content-Type: application/json")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


@dataclass(frozen=True)
class Plan:
    """A connection to make: dial the job's ``port``, send ``to_client`` to the client and
    ``to_job`` to the job, then relay (``http``: the job's answer is one HTTP response)."""

    job_id: str
    port: int
    to_client: bytes
    to_job: bytes
    http: bool


class RequestHead:
    """A request's line and headers as the front read them (see :func:`parse_head`)."""

    def __init__(self, command: str, target: str, headers: list[tuple[str, str]], client: str):
        self.command, self.target, self.client = command, target, client
        self._items = headers
        self._by_name: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            self._by_name[key] = f"{self._by_name[key]}, {value}" if key in self._by_name else value
        self.headers = self

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._by_name.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


MAX_HEADERS = 100
_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_head(data: bytes, client: str) -> RequestHead:
    """A request head (the bytes before the blank line); ValueError naming what is malformed."""
    lines = data.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN_CHARS.fullmatch(parts[0]) or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise ValueError("malformed request line")
    if len(lines) - 1 > MAX_HEADERS:
        raise ValueError(f"more than {MAX_HEADERS} headers")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN_CHARS.fullmatch(name) or any(c in value for c in "\r\n\0"):
            raise ValueError("malformed header line")
        headers.append((name, value.strip(" \t")))
    return RequestHead(parts[0], parts[1], headers, client)


class Connection(Protocol):
    """What the ingress holds for a job: a relay or a shell session."""

    def run(self) -> None: ...

    def close(self) -> None: ...


def ingress_route(path: str) -> tuple[str, str, int, str, str] | None:
    """``(job id, "ports" | "tunnel", port, rest of the path, query)`` of an ingress URL, or None."""
    match = _PATH.fullmatch(path)
    if match is None:
        return None
    job_id, kind, port, rest, query = match.groups()
    return job_id.lower(), kind, int(port), rest or "/", (query or "")[1:]


def take_buffered(request: BaseHTTPRequestHandler) -> bytes:
    """What the handler read past the request's head (a body's start), without waiting for more."""
    sock = request.connection
    sock.setblocking(False)
    try:
        return request.rfile.read1(BUFFER) or b""
    except (BlockingIOError, InterruptedError):
        return b""
    finally:
        sock.setblocking(True)


def rewrite_response_head(head: bytes) -> bytes:
    """The job's response head with its connection headers replaced by ``Connection: close``
    (a 101 Switching Protocols kept as it is)."""
    lines = head.split(b"\r\n")
    if lines[0][9:12] == b"101":
        return head + b"\r\n\r\n"
    kept = [line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive")]
    return b"\r\n".join([lines[0], *kept, b"Connection: close"]) + b"\r\n\r\n"


def _one_less(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 1) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


class Ingress:
    """The ingress of one agent: ``ports_of(job_id)`` gives a running job's declared ports
    (None when the agent has not its definition); ``pid_of(job_id)`` its container's process."""

    def __init__(self, state: AgentState, limits: IngressLimits, chain_id: int, tokens: Tokens,
                 ports_of: Callable[[str], tuple[PortSpec, ...] | None], pid_of: Callable[[str], int | None],
                 engine: Any = None):
        self.state, self.limits, self.chain_id, self.tokens = state, limits, chain_id, tokens
        self.ports_of, self.pid_of, self.engine = ports_of, pid_of, engine
        self._lock = threading.Lock()
        self._live: dict[str, set[Connection]] = {}  # job id -> its open connections
        self._shells: dict[str, int] = {}  # job id -> its exec / shell sessions open
        self._reserved: dict[str, int] = {}  # job id -> connections being set up or open
        self._connectors: dict[str, NamespaceDialer | Connector] = {}
        self._closed: set[str] = set()  # jobs whose ingress has closed (never reopened)
        self._running: dict[str, tuple[str, tuple[PortSpec, ...], float]] = {}  # renter, ports, when read
        # a thread per connection, kept for the next: as many as connections may be open
        self._pool = ThreadPoolExecutor(limits.connections, thread_name_prefix="ingress")

    # ---------------------------------------------------------------- access
    def authorize(self, headers: Any, job_id: str, renter: str) -> str:
        """The renter's address, if ``headers`` carry their token or fresh signature;
        AccessDenied otherwise (an oracle's signature reads logs, never a port or a shell)."""
        token = token_from(headers, headers.get("Cookie"))
        if token is not None:
            signer = self.tokens.check(token, job_id)
            if signer != renter.lower():
                raise AccessDenied("access token is not the renter's")
            return signer
        return verify_access(headers, self.chain_id, job_id, renter)

    def issue(self, request: BaseHTTPRequestHandler, job_id: str, renter: str) -> None:
        """``POST /jobs/<id>/access``: a token for the renter's signed request."""
        try:
            signer = verify_access(request.headers, self.chain_id, job_id, renter)
        except AccessDenied as err:
            send_json(request, 403, {"error": str(err)})
            return
        token, expires = self.tokens.issue(job_id, signer)
        send_json(request, 200, {"token": token, "expires_at": expires, "ttl_s": self.tokens.ttl_s})

    # ---------------------------------------------------------------- connections
    def reserve(self, job_id: str) -> str | None:
        """Holds one connection of ``job_id``; why not when the bounds are reached."""
        with self._lock:
            if sum(self._reserved.values()) >= self.limits.connections:
                return f"this provider holds {self.limits.connections} connections to jobs already"
            if self._reserved.get(job_id, 0) >= self.limits.per_job:
                return f"this job has {self.limits.per_job} connections open already"
            self._reserved[job_id] = self._reserved.get(job_id, 0) + 1
        return None

    def release(self, job_id: str) -> None:
        with self._lock:
            _one_less(self._reserved, job_id)

    def dialer(self, job_id: str) -> NamespaceDialer | Connector:
        """The way into the job's network namespace (made at its first connection)."""
        with self._lock:
            if job_id in self._closed:
                raise PortUnreachable("the job has ended: its ports are closed")
            found = self._connectors.get(job_id)
            if found is not None and found.alive:
                return found
        pid = self.pid_of(job_id)
        if not pid:
            raise PortUnreachable("the job's container is not running")
        made = dialer(pid)
        with self._lock:
            if job_id in self._closed:
                made.close()
                raise PortUnreachable("the job has ended: its ports are closed")
            old = self._connectors.get(job_id)
            if old is not None and old.alive:
                made.close()
                return old
            self._connectors[job_id] = made
        if old is not None:
            old.close()
        return made

    def track(self, job_id: str, connection: Connection) -> bool:
        """Registers ``connection`` under the job, closed with it; False if the job has ended."""
        with self._lock:
            if job_id in self._closed:
                return False
            self._live.setdefault(job_id, set()).add(connection)
        return True

    def untrack(self, job_id: str, connection: Connection) -> None:
        """``connection`` has ended: unregistered, and the connection it held released."""
        with self._lock:
            self._live.get(job_id, set()).discard(connection)
            _one_less(self._reserved, job_id)

    def run(self, job_id: str, relay: Connection, after: Callable[[], None] | None = None) -> None:
        """Runs ``relay`` (a relay or a shell session) on a thread of its own, registered under
        the job (closed with it); the connection it holds is released at its end, then ``after``."""
        with self._lock:
            if job_id in self._closed:
                relay.close()
            self._live.setdefault(job_id, set()).add(relay)

        def go() -> None:
            try:
                relay.run()
            finally:
                with self._lock:
                    self._live.get(job_id, set()).discard(relay)
                self.release(job_id)
                if after is not None:
                    after()

        self._pool.submit(go)

    def open_count(self, job_id: str | None = None) -> int:
        with self._lock:
            return self._reserved.get(job_id, 0) if job_id else sum(self._reserved.values())

    def close_job(self, job_id: str) -> None:
        """Closes every connection to the job and its port helper; no new one is let in."""
        job_id = job_id.lower()
        with self._lock:
            self._closed.add(job_id)
            self._running.pop(job_id, None)
            relays = list(self._live.pop(job_id, ()))
            connector = self._connectors.pop(job_id, None)
        for relay in relays:
            relay.close()
        if connector is not None:
            connector.close()

    def close(self) -> None:
        with self._lock:
            jobs = set(self._live) | set(self._connectors)
        for job_id in jobs:
            self.close_job(job_id)
        self._pool.shutdown(wait=False)

    # ---------------------------------------------------------------- routes
    def handle(self, request: BaseHTTPRequestHandler, path: str) -> bool:
        """Answers ``request`` if ``path`` is a route of the threaded endpoint kept here
        (``access``, ``exec``; True), else leaves it (False). Ports and tunnels are the
        asynchronous front's (:mod:`gpurent.agent.front`)."""
        other = _JOB_ROUTE.fullmatch(path)
        if other is not None:
            return self._job_route(request, other.group(1).lower(), other.group(2))
        if ingress_route(path) is not None:  # the front passed it on: it was too slow, or the front is full
            request.close_connection = True
            send_json(request, 503, {"error": "the provider's ingress is busy: try again shortly"})
            return True
        return False

    def decide(self, head: RequestHead) -> Answer | Plan:
        """What to do with a request for a job's port or tunnel: an answer that refuses (or
        redirects), or the plan of a connection (one held for the job: :meth:`release` it)."""
        route = ingress_route(head.target)
        assert route is not None
        job_id, kind, port, rest, query = route
        declared = self._declared(job_id, port)
        if isinstance(declared, Answer):
            return declared
        spec, renter = declared
        if kind == "tunnel" and (head.command != "GET" or (head.headers.get("Upgrade") or "").lower() != TUNNEL):
            return Answer(400, f"a tunnel is a GET with Upgrade: {TUNNEL}")
        if kind == "ports" and spec.protocol != "http":
            return Answer(404, f"port {port} is tcp: reach it with `gpurent jobs port-forward`")
        if not (kind == "ports" and spec.public and self.limits.public_ports):
            token = dict(parse_qsl(query, keep_blank_values=True, max_num_fields=64)).get(QUERY) if query else None
            try:
                if token is not None and kind == "ports":
                    return self._cookie_redirect(job_id, port, rest, query, token, renter)
                self.authorize(head.headers, job_id, renter)
            except AccessDenied as err:
                return Answer(403, str(err))
        refused = self.reserve(job_id)
        if refused:
            return Answer(429, f"{refused}: try again shortly", (("Retry-After", "1"),))
        if kind == "tunnel":
            return Plan(job_id, port, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + TUNNEL.encode()
                        + b"\r\nConnection: Upgrade\r\n\r\n", b"", http=False)
        return Plan(job_id, port, b"", self._request_head(head, job_id, port, rest, query), http=True)

    def _job_route(self, request: BaseHTTPRequestHandler, job_id: str, what: str) -> bool:
        """``POST /jobs/<id>/access`` and ``GET /jobs/<id>/exec``; other methods there are left
        to the endpoint (a 405)."""
        if (what, request.command) not in (("access", "POST"), ("exec", "GET")):
            return False
        request.close_connection = True
        job = self.state.job(job_id)
        if job is None:
            send_json(request, 404, {"error": f"job {job_id} is not known to this provider"})
            return True
        if what == "access":
            self.issue(request, job_id, job.renter)
            return True
        if job.phase != AgentPhase.RUNNING or job_id in self._closed or not job.container_id or self.engine is None:
            send_json(request, 409, {"error": f"the job is {job.phase}: exec and shell work only while it runs"})
            return True
        problem = handshake_problem(request.headers)
        if problem:
            send_json(request, 400, {"error": problem})
            return True
        try:
            who = self.authorize(request.headers, job_id, job.renter)
        except AccessDenied as err:
            send_json(request, 403, {"error": str(err)})
            return True
        with self._lock:
            shells = self._shells.get(job_id, 0)
            if shells < self.limits.shells:
                self._shells[job_id] = shells + 1
        if shells >= self.limits.shells:
            send_json(request, 429, {"error": f"this job has {self.limits.shells} sessions open already"})
            return True
        refused = self.reserve(job_id)
        if refused:
            self._shell_ended(job_id)
            send_json(request, 429, {"error": f"{refused}: try again shortly"})
            return True
        request.wfile.write(handshake_response(request.headers["Sec-WebSocket-Key"]))
        request.wfile.flush()
        pending = take_buffered(request)
        session = ShellSession(self._detach(request), self.engine, job.container_id, self.state, job_id, who,
                               self.limits.idle_s, pending)
        self.run(job_id, session, after=lambda: self._shell_ended(job_id))
        return True

    def _shell_ended(self, job_id: str) -> None:
        with self._lock:
            _one_less(self._shells, job_id)

    def describe(self, job_id: str) -> list[dict[str, Any]]:
        """The job's ports as its ``/jobs/<id>`` record lists them (paths on this endpoint)."""
        return [{**p.to_json(), "public": p.public and self.limits.public_ports,
                 "path": f"/jobs/{job_id.lower()}/ports/{p.port}/" if p.protocol == "http" else None}
                for p in self.ports_of(job_id) or ()]

    def _declared(self, job_id: str, port: int) -> tuple[PortSpec, str] | Answer:
        """The job's declared ``port`` and its renter, when the job runs here; else why not. A
        running job's renter and ports are remembered for ``RUNNING_CACHE_S`` (every way out of
        Running closes the job here first, see :meth:`close_job`, so none is served after)."""
        if job_id in self._closed:
            return Answer(410, "the job has ended: its ports are closed")
        known = self._running.get(job_id)
        if known is None or time.monotonic() - known[2] > RUNNING_CACHE_S:
            job = self.state.job(job_id)
            if job is None:
                return Answer(404, f"job {job_id} is not known to this provider")
            if job.phase != AgentPhase.RUNNING:
                ended = job.phase in (AgentPhase.EXITED, AgentPhase.COMPLETING) or job.phase.final
                return Answer(410 if ended else 409, f"the job is {job.phase}: its ports are open only while it runs")
            known = (job.renter, self.ports_of(job_id) or (), time.monotonic())
            with self._lock:
                if job_id in self._closed:
                    return Answer(410, "the job has ended: its ports are closed")
                self._running[job_id] = known
        renter, ports, _ = known
        spec = next((p for p in ports if p.port == port), None)
        if spec is None:
            return Answer(404, f"the job's definition declares no port {port}")
        return spec, renter

    def _cookie_redirect(self, job_id: str, port: int, rest: str, query: str, token: str, renter: str) -> Answer:
        """``?gpurent_token=``: a browser's first visit. The token is checked, set as a cookie for
        this job's paths only, and the browser sent to the same URL without it."""
        if self.tokens.check(token, job_id) != renter.lower():
            raise AccessDenied("access token is not the renter's")
        kept = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != QUERY])
        return Answer(303, "", (("Location", f"/jobs/{job_id}/ports/{port}{rest}" + (f"?{kept}" if kept else "")),
                                ("Set-Cookie", f"{COOKIE}={token}; Path=/jobs/{job_id}/; Max-Age={self.tokens.ttl_s}; "
                                               "HttpOnly; SameSite=Lax")))

    @staticmethod
    def _request_head(head: RequestHead, job_id: str, port: int, rest: str, query: str) -> bytes:
        """The request as the job sees it: its own path, our credentials and hop-by-hop headers
        removed, forwarding headers added, ``Connection: close`` (or the upgrade it asks)."""
        upgrade = (head.headers.get("Upgrade") or "").strip()
        connection = {t.strip().lower() for t in (head.headers.get("Connection") or "").split(",")}
        upgrading = bool(upgrade) and "upgrade" in connection
        dropped = HOP_BY_HOP | OURS | connection
        lines = [f"{head.command} {rest}{'?' + query if query else ''} HTTP/1.1"]
        for name, value in head.headers.items():
            lower = name.lower()
            if lower in dropped or lower.startswith("x-forwarded-"):
                continue
            if lower == "authorization" and token_from({"Authorization": value}) is not None:
                continue  # the renter's access token, not the app's credentials
            if lower == "cookie":
                value = "; ".join(p.strip() for p in value.split(";") if p.strip().partition("=")[0] != COOKIE)
                if not value:
                    continue
            lines.append(f"{name}: {value}")
        lines += [f"X-Forwarded-For: {head.client}", f"X-Forwarded-Prefix: /jobs/{job_id}/ports/{port}",
                  f"X-Forwarded-Proto: {'https' if head.headers.get('X-Forwarded-Proto') == 'https' else 'http'}"]
        if host := head.headers.get("Host"):
            lines.append(f"X-Forwarded-Host: {host}")
        lines += [f"Upgrade: {upgrade}", "Connection: Upgrade"] if upgrading else ["Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    @staticmethod
    def _detach(request: BaseHTTPRequestHandler) -> socket.socket:
        """The request's connection, taken from the endpoint's worker (which no longer closes it)."""
        server = request.server
        detach = getattr(server, "detach", None)
        if detach is not None:
            detach(request.connection)
        connection: socket.socket = request.connection
        return connection
