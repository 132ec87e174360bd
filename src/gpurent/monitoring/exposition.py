"""A service's metrics and its ``/metrics`` answer.

Each service instance owns a :class:`prometheus_client.CollectorRegistry` of its own (never the
library's global one), so several services in one process (the tests, ``ape run``) never
collide. Rendering is bounded: at most once per ``min_interval_s`` (default 1 s), under a lock;
scrapes in between get the last rendering. A client hammering ``/metrics`` costs a copy of
bytes, never a collection (the index's business metrics read the database when collected).
"""

from __future__ import annotations

import math
import threading
import time
from http.server import BaseHTTPRequestHandler

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

# HTTP latency, in seconds: fine below 1 s, and past 2 s (the p95 alert's threshold) up to 10 s
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)
# a job's phases, in seconds: a pull of seconds to a run of a day
PHASE_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST
PATH = "/metrics"


class Exposition:
    """One service instance's registry, and its text exposition rendered at a bounded rate."""

    def __init__(self, min_interval_s: float = 1.0):
        self.registry = CollectorRegistry(auto_describe=False)  # no collection at registration
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._text = b""
        self._at = -math.inf

    def render(self) -> bytes:
        """The text exposition: a fresh collection at most once per ``min_interval_s``."""
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.min_interval_s:
                self._text = generate_latest(self.registry)
                self._at = now
            return self._text

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        """Answers ``GET /metrics`` on a :class:`gpurent.http.HttpServer` route."""
        data = self.render()
        request.send_response(200)
        request.send_header("Content-Type", CONTENT_TYPE)
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        request.wfile.write(data)
