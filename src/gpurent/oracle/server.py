"""The oracle's HTTP endpoint (its URL goes in each provider's ``[oracle] urls``).

    POST /heartbeat     a provider's signed heartbeat (gpurent.wire.protocol.Heartbeat)
    GET  /health        who this oracle is, its settings, what it has counted
    GET  /providers     per provider: heartbeat slots kept and expected, current miss streak,
                        challenges passed and failed, last report
    GET  /metrics       Prometheus' text exposition (gpurent.oracle.telemetry)

Malformed requests get a JSON 4xx (see :class:`gpurent.http.HttpServer`), heartbeats of any
wrong shape a 400 (:meth:`gpurent.wire.protocol.Heartbeat.from_json`).
"""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlparse

from gpurent.http import HttpServer, RequestRefused, read_json, send_json
from gpurent.monitoring import Exposition
from gpurent.monitoring.exposition import PATH as METRICS_PATH

HEARTBEAT_LIMIT = 16_384  # bytes of a heartbeat body (one is ~500)

Receiver = Callable[[Any], tuple[int, dict[str, Any]]]


class OracleServer:
    def __init__(self, host: str, port: int, receive: Receiver, views: dict[str, Callable[[], Any]],
                 exposition: Exposition | None = None):
        self.receive, self.views, self.exposition = receive, views, exposition
        self.http = HttpServer(host, port, "gpurent-oracle", self._get, self._post)
        self.start, self.stop = self.http.start, self.http.stop

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        path = urlparse(request.path).path
        if path == METRICS_PATH and self.exposition is not None:
            self.exposition.serve(request)
            return
        view = self.views.get(path.strip("/"))
        if view is None:
            send_json(request, 404, {"error": "not found"})
        else:
            send_json(request, 200, view())

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        if urlparse(request.path).path.strip("/") != "heartbeat":
            send_json(request, 404, {"error": "not found"})
            return
        try:
            body = read_json(request, limit=HEARTBEAT_LIMIT)
        except RequestRefused as err:
            send_json(request, err.status, {"error": f"not a JSON heartbeat: {err}"})
            return
        send_json(request, *self.receive(body))

    @property
    def port(self) -> int:
        return self.http.port
