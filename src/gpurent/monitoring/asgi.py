"""HTTP request metrics of an ASGI app (the gateway, the indexer's GraphQL API), and its
``/metrics`` answer.

Requests are counted by method, route *template* (``/api/v1/gpus/{gpu_id}``, never the path a
client chose: the label set stays bounded) and exact status code (``503``, not ``5xx``, so a
rule can match ``code=~"5.."``), with a latency histogram per method and route whose buckets
reach 10 s. A request no route took is ``(unmatched)``; the web app's files are ``(web)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from gpurent.monitoring.exposition import CONTENT_TYPE, LATENCY_BUCKETS, PATH, Exposition

Asgi = Callable[..., Any]


class HttpMetrics:
    """The request metrics of one service (``prefix``: ``gpurent_gateway``, ``gpurent_indexer``)."""

    def __init__(self, exposition: Exposition, prefix: str):
        registry = exposition.registry
        self.requests = Counter(f"{prefix}_http_requests", "HTTP requests answered, by route template and status code",
                                ["method", "route", "code"], registry=registry)
        self.latency = Histogram(f"{prefix}_http_request_duration_seconds",
                                 "Time to answer an HTTP request (until its last byte was sent)",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=registry)
        self.in_flight = Gauge(f"{prefix}_http_requests_in_flight", "HTTP requests being answered",
                               registry=registry)


def route_of(scope: dict[str, Any], is_web: Callable[[str], bool] | None = None) -> str:
    """The template of the route that answered ``scope`` (set by Starlette's router)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    if is_web is not None and is_web(scope.get("path", "")):
        return "(web)"
    return "(unmatched)"


class Instrumented:
    """An ASGI middleware measuring every HTTP request into ``metrics`` (labelled by ``route``)
    and, with ``serve``, answering ``GET /metrics`` itself (before ``app``) with ``exposition``.
    Put it outermost, so what an inner middleware refuses (a 429, a 413) is counted with its
    code."""

    def __init__(self, app: Asgi, exposition: Exposition, metrics: HttpMetrics,
                 route: Callable[[dict[str, Any]], str] = route_of, serve: bool = True):
        self.app, self.exposition, self.metrics = app, exposition, metrics
        self.route, self.serve = route, serve

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.serve and scope.get("path") == PATH and scope.get("method") == "GET":
            await self._serve(send)
            return
        status = 500  # what an app that raises before answering amounts to
        started = time.perf_counter()

        async def measured_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, measured_send)
        finally:
            self.metrics.in_flight.dec()
            method = str(scope.get("method", "?"))
            method = method if method in _METHODS else "other"
            route = self.route(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)

    async def _serve(self, send: Any) -> None:
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(self.exposition.render)  # a collector may read the database
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
