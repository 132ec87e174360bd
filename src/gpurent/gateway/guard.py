"""What every request to the gateway passes before a route sees it (an ASGI middleware):

- a rate limit per client IP (429 with Retry-After), a tighter one on the sign-in routes;
- a body of at most ``max_body`` bytes: refused (413) when announced larger, and when one that
  announces no length (chunked) grows past it, before the route reads any of it;
- the security headers on every answer, errors included (the web app's pages with a CSP of
  their own: this origin's scripts, styles and requests only);
- an exception a route lets escape answered as ``{"error": "one line"}`` with status 500 (and
  the security headers, and CORS's when the origin is allowed: the Guard answers inside CORS),
  logged with its traceback here, never in the answer; a WebSocket's ends quietly (a client
  that went is no failure) or is closed 1011;
- the shared store (Redis) not answering: 503 with Retry-After 1 (a WebSocket closed 1013), for
  the limits here and for a route's nonces, counts and leases alike; nothing passes uncounted.

Limits per signed-in address are counted where the address is known (``app.session``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocketDisconnect

from gpurent.gateway.store import Store, StoreUnavailable
from gpurent.gateway.web import WEB_CSP, is_api_path

log = logging.getLogger("gpurent.gateway")

SECURITY_HEADERS = [  # the API's; the web app's pages get WEB_HEADERS (its own CSP)
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-site"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
]

WEB_HEADERS = [h for h in SECURITY_HEADERS if h[0] != b"content-security-policy"] + [
    (b"content-security-policy", WEB_CSP.encode())]


@dataclass(frozen=True)
class Limits:
    per_ip: int = 1200  # requests a window from one IP
    per_address: int = 600  # requests a window for one signed-in address
    sign_in_per_ip: int = 30  # challenges and logins a window from one IP
    window_s: float = 60.0
    max_body: int = 64 * 1024  # bytes of a JSON body (uploads have their own bound)
    streams_per_address: int = 8  # log and metrics WebSockets open at once for one address (a replica)


UNAVAILABLE = "the gateway's shared store did not answer: try again in a moment"

UNBOUNDED = {"/api/v1/images/upload", "/api/v1/data/upload"}  # bodies bounded by their route (its size limit)


class Guard:
    def __init__(self, app: Any, store: Store, limits: Limits):
        self.app, self.store, self.limits = app, store, limits

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        path: str = scope.get("path", "")
        try:
            wait = self.store.hit(f"ip:{client}", self.limits.per_ip, self.limits.window_s)
            if wait is None and path.startswith("/api/v1/auth/"):
                wait = self.store.hit(f"signin:{client}", self.limits.sign_in_per_ip, self.limits.window_s)
        except StoreUnavailable as err:  # limits not counted: nothing passes uncounted
            log.warning("the limits' store did not answer for %s: %s", path[:80], err)
            if scope["type"] == "websocket":
                return await _refuse_socket(receive, send, UNAVAILABLE)
            return await _answer(send, 503, UNAVAILABLE, [(b"retry-after", b"1")])
        if scope["type"] == "websocket":
            if wait is not None:
                return await _refuse_socket(receive, send, "too many requests: try again in a moment")
            await _socket(self.app, scope, receive, send)
            return
        if wait is not None:
            return await _answer(send, 429, f"too many requests from {client}", [(b"retry-after", retry_after(wait).encode())])
        if path in UNBOUNDED:
            await _contained(self.app, scope, receive, self._secured(send, path))
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limits.max_body):
            status = 413 if length.isdigit() else 400
            return await _answer(send, status, f"the body is over {self.limits.max_body:,} bytes" if status == 413
                                 else "Content-Length is not a byte count")
        receive_next = receive
        if length is None and any(k == b"transfer-encoding" for k, _ in scope.get("headers") or []):
            body = await _read_bounded(receive, self.limits.max_body)  # at most max_body bytes held
            if body is None:
                return await _answer(send, 413, f"the body is over {self.limits.max_body:,} bytes")
            receive_next = _replay(body, receive)

        await _contained(self.app, scope, receive_next, self._secured(send, path))

    @staticmethod
    def _secured(send: Any, path: str) -> Any:
        async def guarded_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                api = path.startswith("/api/")
                ours = _OURS_API if api else _OURS  # the web app's files keep their own caching
                headers = [h for h in message.get("headers", []) if h[0].lower() not in ours]
                headers += SECURITY_HEADERS if is_api_path(path) else WEB_HEADERS
                if api:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        return guarded_send


def retry_after(wait_s: float) -> str:
    """A Retry-After header's whole seconds for a wait of ``wait_s`` (at least 1)."""
    return str(max(1, round(wait_s + 0.5)))


_OURS = {name for name, _ in SECURITY_HEADERS}
_OURS_API = _OURS | {b"cache-control"}


async def _contained(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``app`` answering; an exception it lets escape before it answered, a JSON 500 (one
    escaping after, when the answer is under way, goes on to the server: it cuts the answer)."""
    started = False

    async def watched_send(message: dict[str, Any]) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, watched_send)
    except StoreUnavailable as err:  # a route's nonce, session count or lease: the same 503 as above
        if started:
            raise
        log.warning("the gateway's store did not answer %s %s: %s", scope.get("method", "?"), scope.get("path", "?"), err)
        await _answer(send, 503, UNAVAILABLE, [(b"retry-after", b"1")])
    except Exception as err:
        if started:
            raise
        log.exception("an unexpected error answering %s %s", scope.get("method", "?"), scope.get("path", "?"))
        await _answer(send, 500, f"the gateway failed ({type(err).__name__}); it is logged")


async def _socket(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A WebSocket's ``app``: a client gone (the socket closed under it) ends it quietly; an
    exception of its own is logged and the socket closed 1011, if it still can be."""
    try:
        await app(scope, receive, send)
    except WebSocketDisconnect:
        return
    except Exception as err:
        unavailable = isinstance(err, StoreUnavailable)
        if unavailable:
            log.warning("the gateway's store did not answer the WebSocket %s: %s", scope.get("path", "?"), err)
        else:
            log.exception("an unexpected error serving the WebSocket %s", scope.get("path", "?"))
        try:
            await send({"type": "websocket.close", "code": 1013 if unavailable else 1011,
                        "reason": UNAVAILABLE if unavailable else "the gateway failed; it is logged"})
        except Exception:  # noqa: BLE001 - the socket is gone too: nothing more to tell
            pass


async def _refuse_socket(receive: Any, send: Any, reason: str) -> None:
    """A WebSocket accepted and closed at once with 1013 ("try again later") and ``reason``: a
    browser's ``onclose`` sees the code (one refused before the accept sees only a failed upgrade)."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1013, "reason": reason})


async def _answer(send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or []), *SECURITY_HEADERS, (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


async def _read_bounded(receive: Any, limit: int) -> bytes | None:
    """A body that announced no length, read whole if it stays within ``limit`` bytes; None once
    it grows past (the rest is never read)."""
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if sent:
            return await receive()  # a disconnect, when it comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
