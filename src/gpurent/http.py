"""Small HTTP helpers shared by gpurent's services and their clients (provider endpoints, the
oracle, IPFS Cluster): one message for a service that does not answer, one way to read an error
body, one way to answer JSON, one way to read a JSON request, one threaded server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from gpurent.errors import ServiceUnavailable


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


def send_json(request: BaseHTTPRequestHandler, code: int, body: dict[str, Any]) -> None:
    """Answers ``request`` (an http.server handler) with ``body`` as JSON."""
    data = json.dumps(body).encode()
    request.send_response(code)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)


def read_json(request: BaseHTTPRequestHandler, limit: int = 1 << 20) -> Any:
    """The request's JSON body (ValueError if it is not JSON or longer than ``limit``)."""
    length = int(request.headers.get("Content-Length") or 0)
    if length > limit:
        raise ValueError(f"body over {limit} bytes")
    return json.loads(request.rfile.read(length) or b"{}")



Route = Callable[[BaseHTTPRequestHandler], None]  # answers one request


class HttpServer:
    """A quiet ThreadingHTTPServer on a daemon thread of its own, ``get`` and ``post`` answering
    its requests: ``start``, ``stop``, and the bound ``port`` (ask for 0 and read it back)."""

    def __init__(self, host: str, port: int, name: str, get: Route, post: Route):
        class Handler(BaseHTTPRequestHandler):
            server_version = name

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                get(self)

            def do_POST(self) -> None:  # noqa: N802
                post(self)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never ran otherwise
            self.httpd.shutdown()
        self.httpd.server_close()
