"""A job's ports, reached only through the agent's own endpoint.

    POST /jobs/<id>/access              signed by the renter: a short-lived token (gpurent.agent.tokens)
    ANY  /jobs/<id>/ports/<port>/<path>  HTTP (and WebSocket upgrades) to the job's declared HTTP port
    GET  /jobs/<id>/tunnel/<port>        ``Upgrade: gpurent-tunnel``: raw TCP to any declared port
                                         (what ``gpurent jobs port-forward`` opens)

A job's container keeps no network of its own (see :mod:`gpurent.agent.runtime`): each
connection is dialled inside its network namespace (:mod:`gpurent.agent.netns`) and relayed
(:mod:`gpurent.relay`). Only ports the job's definition declares are reachable, only while the
job runs, and only by its renter (a signature, or a token issued for one), except an HTTP port
the definition marks ``public`` on a provider that serves public ports. A proxied request goes
to the job as ``<path>`` with ``X-Forwarded-Prefix: /jobs/<id>/ports/<port>`` (so an app can
build its links), ``X-Forwarded-For`` / ``-Host`` / ``-Proto``, and without the renter's token,
signature or access cookie. When the job stops running, its connections are closed at once.

Bounds (``[ingress]`` of provider.toml): connections at once in all and per job (beyond them a
429 with ``Retry-After``), an idle timeout per connection, a response head of at most
``HEAD_MAX`` bytes. Every connection holds a thread of its own, never one of the endpoint's
workers, so a job's traffic cannot starve the oracle's challenges or another renter's logs.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from gpurent.agent.config import IngressLimits
from gpurent.agent.netns import Connector, NamespaceDialer, PortUnreachable, dialer
from gpurent.agent.shell import ShellSession, handshake_problem, handshake_response
from gpurent.agent.state import AgentState
from gpurent.agent.tokens import COOKIE, QUERY, Tokens, token_from
from gpurent.http import send_json
from gpurent.relay import BUFFER, Relay
from gpurent.types import AgentPhase
from gpurent.wire.access import SIGNATURE_HEADER, TIMESTAMP_HEADER, AccessDenied, verify_access
from gpurent.workload.spec import PortSpec

log = logging.getLogger("gpurent.provider.ingress")

TUNNEL = "gpurent-tunnel"  # the Upgrade token of a raw tunnel
HEAD_MAX = 64 * 1024  # bytes of a job's response head (status line and headers)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "upgrade"})
OURS = frozenset({"authorization", SIGNATURE_HEADER.lower(), TIMESTAMP_HEADER.lower()})
_PATH = re.compile(r"/jobs/(0x[0-9a-fA-F]{64})/(ports|tunnel)/([0-9]{1,5})(/[^?#]*)?(\?[^#]*)?")
_JOB_ROUTE = re.compile(r"/jobs/(0x[0-9a-fA-F]{64})/(access|exec)/?(\?[^#]*)?")


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


class HttpRelay(Relay):
    """A relay whose first bytes from the job (``b``) are an HTTP response head, rewritten to
    ``Connection: close`` (the proxy closes after one response) unless it switches protocols."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._head: bytearray | None = bytearray()

    def _read(self, sock: socket.socket) -> None:
        if sock is self.a or self._head is None:
            super()._read(sock)
            return
        data = sock.recv(HEAD_MAX)
        if not data:
            self._eof[sock] = True
            self._out[self.a] += self._head
            self._head = None
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > HEAD_MAX:
                raise OSError("the job's response head is too large")
            return
        head, rest = bytes(self._head[:end]), bytes(self._head[end + 4:])
        self._head = None
        self._out[self.a] += rewrite_response_head(head) + rest


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
        # a thread per connection, kept for the next: as many as connections may be open
        self._pool = ThreadPoolExecutor(limits.connections, thread_name_prefix="ingress")

    # ---------------------------------------------------------------- access
    def authorize(self, request: BaseHTTPRequestHandler, job_id: str, renter: str) -> str:
        """The renter's address, if the request carries their token or fresh signature;
        AccessDenied otherwise (an oracle's signature reads logs, never a port or a shell)."""
        token = token_from(request.headers, request.headers.get("Cookie"))
        if token is not None:
            signer = self.tokens.check(token, job_id)
            if signer != renter.lower():
                raise AccessDenied("access token is not the renter's")
            return signer
        return verify_access(request.headers, self.chain_id, job_id, renter)

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

    def dial(self, job_id: str, port: int) -> socket.socket:
        """A connection to ``port`` inside the job (PortUnreachable when nothing listens)."""
        with self._lock:
            if job_id in self._closed:
                raise PortUnreachable("the job has ended: its ports are closed")
            connector = self._connectors.get(job_id)
            if connector is not None and not connector.alive:
                connector.close()
                connector = None
            if connector is None:
                pid = self.pid_of(job_id)
                if not pid:
                    raise PortUnreachable("the job's container is not running")
                connector = self._connectors[job_id] = dialer(pid)
        return connector.connect(port)

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
        """Answers ``request`` if ``path`` is an ingress route (True), else leaves it (False)."""
        other = _JOB_ROUTE.fullmatch(path)
        if other is not None:
            return self._job_route(request, other.group(1).lower(), other.group(2))
        route = ingress_route(path)
        if route is None:
            return False
        request.close_connection = True
        job_id, kind, port, rest, query = route
        declared = self._declared(request, job_id, port)
        if declared is None:
            return True
        spec, renter = declared
        if kind == "tunnel":
            if request.command != "GET" or (request.headers.get("Upgrade") or "").lower() != TUNNEL:
                send_json(request, 400, {"error": f"a tunnel is a GET with Upgrade: {TUNNEL}"})
                return True
        public = kind == "ports" and spec.public and self.limits.public_ports
        if kind == "ports" and spec.protocol != "http":
            send_json(request, 404, {"error": f"port {port} is tcp: reach it with `gpurent jobs port-forward`"})
            return True
        if not public:
            token = dict(parse_qsl(query, keep_blank_values=True, max_num_fields=64)).get(QUERY) if query else None
            if token is not None and kind == "ports":
                self._cookie_redirect(request, job_id, port, rest, query, token, renter)
                return True
            try:
                self.authorize(request, job_id, renter)
            except AccessDenied as err:
                send_json(request, 403, {"error": str(err)})
                return True
        refused = self.reserve(job_id)
        if refused:
            request.send_response(429)
            request.send_header("Retry-After", "1")
            request.send_header("Content-Type", "application/json")
            request.end_headers()
            request.wfile.write(b'{"error": "%s: try again shortly"}' % refused.encode())
            return True
        try:
            upstream = self.dial(job_id, port)
        except PortUnreachable as err:
            self.release(job_id)
            send_json(request, 502, {"error": str(err)})
            return True
        if kind == "tunnel":
            request.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + TUNNEL.encode()
                                + b"\r\nConnection: Upgrade\r\n\r\n")
            request.wfile.flush()
            relay: Relay = Relay(self._detach(request), upstream, self.limits.idle_s, take_buffered(request))
        else:
            head = self._request_head(request, job_id, port, rest, query)
            relay = HttpRelay(self._detach(request), upstream, self.limits.idle_s, head + take_buffered(request))
        self.run(job_id, relay)
        return True

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
            who = self.authorize(request, job_id, job.renter)
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

    def _declared(self, request: BaseHTTPRequestHandler, job_id: str, port: int) -> tuple[PortSpec, str] | None:
        """The job's declared ``port`` and its renter, when the job runs here; else answers why."""
        job = self.state.job(job_id)
        if job is None:
            send_json(request, 404, {"error": f"job {job_id} is not known to this provider"})
            return None
        if job.phase != AgentPhase.RUNNING or job_id in self._closed:
            send_json(request, 410 if job.phase in (AgentPhase.EXITED, AgentPhase.COMPLETING) or job.phase.final
                      else 409, {"error": f"the job is {job.phase}: its ports are open only while it runs"})
            return None
        ports = self.ports_of(job_id) or ()
        spec = next((p for p in ports if p.port == port), None)
        if spec is None:
            send_json(request, 404, {"error": f"the job's definition declares no port {port}"})
            return None
        return spec, job.renter

    def _cookie_redirect(self, request: BaseHTTPRequestHandler, job_id: str, port: int, rest: str, query: str,
                         token: str, renter: str) -> None:
        """``?gpurent_token=``: a browser's first visit. The token is checked, set as a cookie for
        this job's paths only, and the browser sent to the same URL without it."""
        try:
            if self.tokens.check(token, job_id) != renter.lower():
                raise AccessDenied("access token is not the renter's")
        except AccessDenied as err:
            send_json(request, 403, {"error": str(err)})
            return
        kept = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != QUERY])
        request.send_response(303)
        request.send_header("Location", f"/jobs/{job_id}/ports/{port}{rest}" + (f"?{kept}" if kept else ""))
        request.send_header("Set-Cookie", f"{COOKIE}={token}; Path=/jobs/{job_id}/; Max-Age={self.tokens.ttl_s}; "
                                          "HttpOnly; SameSite=Lax")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _request_head(self, request: BaseHTTPRequestHandler, job_id: str, port: int, rest: str, query: str) -> bytes:
        """The request as the job sees it: its own path, our credentials and hop-by-hop headers
        removed, forwarding headers added, ``Connection: close`` (or the upgrade it asks)."""
        upgrade = (request.headers.get("Upgrade") or "").strip()
        connection = {t.strip().lower() for t in (request.headers.get("Connection") or "").split(",")}
        upgrading = bool(upgrade) and "upgrade" in connection
        dropped = HOP_BY_HOP | OURS | connection
        lines = [f"{request.command} {rest}{'?' + query if query else ''} HTTP/1.1"]
        for name, value in request.headers.items():
            lower = name.lower()
            if lower in dropped or lower.startswith("x-forwarded-"):
                continue
            if lower == "cookie":
                value = "; ".join(p.strip() for p in value.split(";") if p.strip().partition("=")[0] != COOKIE)
                if not value:
                    continue
            lines.append(f"{name}: {value}")
        client = request.client_address[0]
        lines += [f"X-Forwarded-For: {client}", f"X-Forwarded-Prefix: /jobs/{job_id}/ports/{port}",
                  f"X-Forwarded-Proto: {'https' if request.headers.get('X-Forwarded-Proto') == 'https' else 'http'}"]
        if host := request.headers.get("Host"):
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
