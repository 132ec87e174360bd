"""A renter's way into a running job through its provider's agent: access tokens, raw tunnels to
the job's ports (``gpurent jobs port-forward``) and exec / shell sessions (``gpurent jobs exec``,
``gpurent jobs shell``). See :mod:`gpurent.agent.ingress` and :mod:`gpurent.agent.shell` for the
agent's side.

The provider is untrusted as everywhere: its endpoint goes through the same address checks as
every request to it (:meth:`gpurent.wire.endpoint.Target.connect`), an answer's head is read to
at most ``HEAD_MAX`` bytes within ``timeout_s``, a token answer must have its shape, and an
exec message is at most ``MESSAGE_MAX`` bytes.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from gpurent.capped import capped_error_text
from gpurent.errors import GpurentError, JobNotKnown, ServiceUnavailable
from gpurent.safejson import loads_bounded

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from gpurent.sdk.provider import ProviderEndpoint

TUNNEL = "gpurent-tunnel"
EXEC_PROTOCOL = "gpurent.exec.v1"
HEAD_MAX = 8192
TOKEN_MAX = 4096
MESSAGE_MAX = 1 << 20
REFRESH_S = 60  # a token with less than this left is renewed first
_TOKEN = re.compile(r"gpr1\.[0-9a-zA-Z._-]{1,250}")


class JobEnded(GpurentError):
    """Raised when the agent says the job no longer runs (its ports and shell are closed)."""


class JobAccess:
    """One job's ports and shell, as its renter (``endpoint`` signs as the renter)."""

    def __init__(self, endpoint: ProviderEndpoint, job_id: str, timeout_s: float = 10.0):
        self.endpoint, self.job_id, self.timeout_s = endpoint, job_id.lower(), timeout_s
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- tokens
    def token(self) -> str:
        """A token for the job's ports and shell, renewed when it has under ``REFRESH_S`` left."""
        with self._lock:
            if self._token is None or self._token[1] - time.time() < REFRESH_S:
                self._token = self._new_token()
            return self._token[0]

    def _new_token(self) -> tuple[str, float]:
        return issue_token(self.endpoint, self.job_id, self.endpoint.signed(self.job_id), self.timeout_s)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def port_url(self, port: int) -> str:
        """Where the job's HTTP ``port`` answers on the provider's endpoint (with a token or a
        signature; a browser: append ``?gpurent_token=<token>`` once)."""
        return self.endpoint.target.url("jobs", self.job_id, "ports", str(port)) + "/"

    # ---------------------------------------------------------------- tunnels
    def tunnel(self, port: int) -> tuple[socket.socket, bytes]:
        """A raw connection to the job's ``port`` through the agent, and any bytes of the job's
        that came with the agent's answer (send them on first)."""
        target = self.endpoint.target
        sock = self._connect(tls=True)
        try:
            host = target.endpoint.host if ":" not in target.endpoint.host else f"[{target.endpoint.host}]"
            path = target.endpoint.path + f"/jobs/{self.job_id}/tunnel/{port}"
            head = (f"GET {path} HTTP/1.1\r\nHost: {host}:{target.endpoint.port}\r\nUpgrade: {TUNNEL}\r\n"
                    f"Connection: Upgrade\r\nAuthorization: Bearer {self.token()}\r\nOrigin: null\r\n\r\n")
            sock.settimeout(self.timeout_s)
            sock.sendall(head.encode())
            status, body, rest = _read_head(sock, self.timeout_s)
            if status != 101:
                _raise_refusal(status, _error_of(body))
            sock.settimeout(None)
            return sock, rest
        except BaseException:
            sock.close()
            raise

    # ---------------------------------------------------------------- exec
    def exec(self, cmd: list[str], tty: bool, rows: int = 24, cols: int = 80) -> ClientConnection:
        """A session running ``cmd`` in the job's container (see :mod:`gpurent.agent.shell` for
        its messages); the request is sent already."""
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        target = self.endpoint.target
        scheme = "wss" if target.endpoint.scheme == "https" else "ws"
        uri = f"{scheme}://{target.endpoint.base.split('://', 1)[1]}/jobs/{self.job_id}/exec"
        sock = self._connect(tls=False)  # websockets wraps it for wss
        try:
            ws = connect(uri, sock=sock, additional_headers=self.headers(), subprotocols=[EXEC_PROTOCOL],  # type: ignore[list-item]
                         compression=None, proxy=None, max_size=MESSAGE_MAX, open_timeout=self.timeout_s,
                         origin=None, user_agent_header="gpurent", ping_interval=20, ping_timeout=60)
        except InvalidStatus as err:
            sock.close()
            response = err.response
            _raise_refusal(response.status_code, _error_of(bytes(response.body or b"")))
        except (WebSocketException, OSError, TimeoutError) as err:
            sock.close()
            raise ServiceUnavailable(f"{self.endpoint.unavailable}: {err}") from None
        ws.send(json.dumps({"cmd": cmd, "tty": tty, "rows": rows, "cols": cols}))
        return ws

    def _connect(self, tls: bool) -> socket.socket:
        try:
            return self.endpoint.target.connect(self.timeout_s, tls=tls)
        except OSError as err:
            raise ServiceUnavailable(f"{self.endpoint.unavailable} ({err})") from None


class NoTokenRoute(GpurentError):
    """Raised when the agent gives no token: it has no ``POST /jobs/<id>/access`` (404 not
    found, 405, 501: an agent older than its tokens, or one without an ingress), or answers
    there with something that is not one. Its signed routes may still answer."""


def issue_token(endpoint: ProviderEndpoint, job_id: str, signed: dict[str, str], timeout_s: float) -> tuple[str, float]:
    """A token of the agent's for ``job_id`` and the Unix time it expires, in exchange for the
    renter's ``signed`` access headers; NoTokenRoute when the agent gives none (no such route,
    or an answer that is no token), GpurentError when it refuses."""
    from gpurent.capped import capped_request

    target = endpoint.target
    got = capped_request("POST", target.url("jobs", job_id, "access"), endpoint.unavailable,
                         max_bytes=TOKEN_MAX, deadline=time.monotonic() + timeout_s, headers=signed,
                         session=target.session())
    if got.status in (405, 501) or (got.status == 404 and capped_error_text(got) == "HTTP 404: not found"):
        # no such route, or no POST there (the job, not the route, unknown is a refusal)
        raise NoTokenRoute(f"the provider refused: {capped_error_text(got)}")
    if got.status >= 300:
        _raise_refusal(got.status, capped_error_text(got))
    try:
        doc = loads_bounded(got.body)
    except ValueError:
        doc = None
    token, expires = (doc.get("token"), doc.get("expires_at")) if isinstance(doc, dict) else (None, None)
    if not (isinstance(token, str) and _TOKEN.fullmatch(token) and isinstance(expires, int)
            and not isinstance(expires, bool)):
        raise NoTokenRoute("the provider's access answer is malformed (no token)")
    return token, float(expires)


def _read_head(sock: socket.socket, timeout_s: float) -> tuple[int, bytes, bytes]:
    """(status, a little of the body, the bytes past the head) of an HTTP answer."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > HEAD_MAX or time.monotonic() > deadline:
            raise GpurentError("the provider's answer to a tunnel is malformed (no head within bounds)")
        chunk = sock.recv(4096)
        if not chunk:
            raise ServiceUnavailable("the provider closed the tunnel before answering")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    match = re.fullmatch(rb"HTTP/1\.[01] ([0-9]{3})( .*)?", status_line)
    if match is None:
        raise GpurentError("the provider's answer to a tunnel is malformed (no status line)")
    return int(match.group(1)), rest[:TOKEN_MAX], rest


def _error_of(body: bytes) -> str:
    try:
        doc = loads_bounded(body[:TOKEN_MAX])
    except ValueError:
        doc = None
    text = doc.get("error") if isinstance(doc, dict) else None
    return str(text)[:300] if text else body[:200].decode("utf-8", "replace")


def _raise_refusal(status: int, message: Any) -> None:
    from gpurent.output import safe_text

    text = safe_text(str(message)) or f"HTTP {status}"
    if status in (409, 410):
        raise JobEnded(f"the provider says: {text}")
    raise (JobNotKnown if status == 404 else GpurentError)(f"the provider refused: {text}")
