"""The oracle's HTTP endpoint (its URL goes in each provider's ``[oracle] urls``).

    POST /heartbeat     a provider's signed heartbeat (gpurent.wire.protocol.Heartbeat)
    GET  /health        who this oracle is, its settings, what it has counted
    GET  /providers     per provider: heartbeat slots kept and expected, current miss streak,
                        challenges passed and failed, last report
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from gpurent.http import read_json, send_json

Receiver = Callable[[Any], tuple[int, dict[str, Any]]]


class OracleServer:
    def __init__(self, host: str, port: int, receive: Receiver, views: dict[str, Callable[[], Any]]):
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "gpurent-oracle"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                view = views.get(urlparse(self.path).path.strip("/"))
                if view is None:
                    send_json(self, 404, {"error": "not found"})
                else:
                    send_json(self, 200, view())

            def do_POST(self) -> None:  # noqa: N802
                if urlparse(self.path).path.strip("/") != "heartbeat":
                    send_json(self, 404, {"error": "not found"})
                    return
                try:
                    body = read_json(self, limit=16_384)
                except ValueError as err:
                    send_json(self, 400, {"error": f"not a JSON heartbeat: {err}"})
                    return
                send_json(self, *server.receive(body))

        self.receive = receive
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="oracle-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never ran otherwise
            self.httpd.shutdown()
        self.httpd.server_close()
