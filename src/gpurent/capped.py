"""Bounded HTTP reads of what a provider serves: at most ``max_bytes`` of the body and nothing
past a deadline, whatever the provider sends (a body without end, one byte a minute, a gzip
bomb), and JSON parsed only when it nests no deeper than a record could. The oracle reads a
provider's evidence and challenge answers with these, and the renter's SDK the provider's record
of a job: never with an unbounded ``.content``. Pass the provider's
:meth:`~gpurent.wire.endpoint.Target.session` so its address policy holds."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from gpurent.errors import ServiceUnavailable
from gpurent.safejson import loads_bounded as loads_bounded  # re-exported: the JSON a provider serves

CHUNK = 64 * 1024
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CappedBody:
    status: int
    body: bytes  # at most max_bytes
    truncated: bool  # more than max_bytes was on offer; the rest was never read
    timed_out: bool  # the deadline passed (or the connection broke) before the body ended
    error: str = ""  # why the body ended early, when it did


def capped_get(url: str, unavailable: str, *, max_bytes: int, deadline: float,
               headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
               session: requests.Session | None = None) -> CappedBody:
    """GETs ``url`` with :func:`capped_request`."""
    return capped_request("GET", url, unavailable, max_bytes=max_bytes, deadline=deadline, headers=headers,
                          params=params, session=session)


def fetch_whole(url: str, what: str, *, max_bytes: int, timeout_s: float) -> bytes:
    """The whole body of a 200 answer at ``url``: ServiceUnavailable when nothing answers,
    ValueError (one line naming ``what``) for another status, or a body over ``max_bytes`` or
    slower than ``timeout_s``. For small documents read from anyone (a deployment, an
    oracle's parameters)."""
    answer = capped_get(url, f"nothing answers at {url}", max_bytes=max_bytes, deadline=time.monotonic() + timeout_s)
    if answer.status != 200:
        raise ValueError(f"{url} answered HTTP {answer.status} ({what})")
    if answer.truncated or answer.timed_out:
        raise ValueError(f"{url}: more than {max_bytes:,} bytes or slower than {timeout_s:g} s: not {what}")
    return answer.body


def capped_request(method: str, url: str, unavailable: str, *, max_bytes: int, deadline: float,
                   headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                   json_body: Any = None, session: requests.Session | None = None) -> CappedBody:
    """Sends the request and reads at most ``max_bytes`` of the answer's body before
    ``deadline`` (a ``time.monotonic()`` value). ServiceUnavailable(``unavailable``) when
    nothing answers in time; a body cut short by the cap or the deadline comes back with
    ``truncated`` or ``timed_out`` set. Content encodings are refused (``identity``) and never
    decoded, so the bytes read are the bytes received; redirects are not followed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ServiceUnavailable(f"{unavailable} (no time left to ask)")
    cut = getattr(session, "cut_after", None)  # a provider's session: its connections shut at the deadline
    timer = cut(remaining) if cut is not None else None
    try:
        return _capped(method, url, unavailable, max_bytes, deadline, remaining, headers, params, json_body, session)
    finally:
        if timer is not None:
            timer.cancel()


def _capped(method: str, url: str, unavailable: str, max_bytes: int, deadline: float, remaining: float,
            headers: dict[str, str] | None, params: dict[str, Any] | None, json_body: Any,
            session: requests.Session | None) -> CappedBody:
    try:
        response = (session or requests).request(method, url, headers={**(headers or {}), "Accept-Encoding": "identity"},
                                    params=params, json=json_body, stream=True,
                                    timeout=(min(CONNECT_TIMEOUT_S, remaining), remaining), allow_redirects=False)
    except requests.RequestException as err:
        raise ServiceUnavailable(unavailable) from err
    body = bytearray()
    truncated = timed_out = False
    error = ""
    with response:  # closing drops the connection: what was not read is never read
        raw = response.raw
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out, error = True, "the deadline passed before the body ended"
                    break
                set_read_timeout(raw, remaining)
                want = max_bytes + 1 - len(body)  # one byte more than the cap tells "there is more"
                data = raw.read1(min(CHUNK, want), decode_content=False)
                if not data:
                    if time.monotonic() >= deadline:  # cut at the deadline: not the body's end
                        timed_out, error = True, "the deadline passed before the body ended"
                    break
                body += data
                if len(body) > max_bytes:
                    truncated = True
                    break
        except Exception as err:  # noqa: BLE001 - urllib3's and the socket's, all end the body
            timed_out, error = True, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:200]
    return CappedBody(response.status_code, bytes(body[:max_bytes]), truncated, timed_out, error)


def capped_error_text(got: CappedBody) -> str:
    """The ``error`` field of a (capped) JSON error body, else the body itself, trimmed; a
    redirect says where it pointed (never followed)."""
    try:
        body = loads_bounded(got.body)
        message = body.get("error", "") if isinstance(body, dict) else ""
    except ValueError:
        message = ""
    message = str(message or got.body[:300].decode(errors="replace")).strip()[:300]
    if 300 <= got.status < 400:
        message = "a redirect, not followed" + (f": {message}" if message else "")
    return f"HTTP {got.status}: {message}" if message else f"HTTP {got.status}"


def set_read_timeout(raw: Any, seconds: float) -> None:
    """Bounds each further socket read of ``raw``'s connection (urllib3's response) by
    ``seconds`` (best effort: the read timeout given at connect time bounds it otherwise).
    urllib3 2 lets go of the connection's socket once the body is being read: the socket is
    then the one under http.client's buffered reader."""
    for path in (("connection", "sock"), ("_fp", "fp", "raw", "_sock")):
        sock: Any = raw
        for name in path:
            sock = getattr(sock, name, None)
            if sock is None:
                break
        if sock is not None and hasattr(sock, "settimeout"):
            try:
                sock.settimeout(max(0.01, seconds))
                return
            except OSError:  # the socket is closed: the read ends by itself
                return
