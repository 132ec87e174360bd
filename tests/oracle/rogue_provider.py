"""A provider endpoint that misbehaves on purpose, on 127.0.0.1 and a port the OS picks: a real
HTTP server whose answer to ``GET /jobs/<id>`` (the provider's record of the job) and to
``GET /jobs/<id>/logs`` (and to ``POST /challenge``: as many bytes as the log) each test chooses,
counting every request and every byte it manages to send."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

MB = 1 << 20


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, and nothing written to stderr per request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 and a port the OS picks, on its own thread."""

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class RogueProvider(LoopbackServer):
    """``record``: the body of ``/jobs/<id>`` (bytes, sent with ``status``), or ``"drip"`` for a
    body that never ends, one byte every ``drip_every`` s. ``log_size``: bytes of log served."""

    def __init__(self, record: bytes | str = b"not json at all", status: int = 200, log_size: int = 0,
                 drip_every: float = 0.2, log_pause: float = 0.0):
        self.record, self.status, self.log_size, self.drip_every = record, status, log_size, drip_every
        self.log_pause = log_pause  # seconds between the log's 54 KiB chunks (0: as fast as it goes)
        self.requests: Counter[str] = Counter()  # "record" / "logs" -> requests received
        self.sent: Counter[str] = Counter()  # bytes of body written
        self._lock = threading.Lock()
        rogue = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = self.path.split("?")[0].strip("/").split("/")
                kind = "logs" if parts[-1] == "logs" else "record"
                with rogue._lock:
                    rogue.requests[kind] += 1
                try:
                    if kind == "record":
                        rogue._send_record(self)
                    else:
                        rogue._send_logs(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the oracle hung up: that is the point
                self.close_connection = True

            def do_POST(self) -> None:  # noqa: N802 - /challenge: a body of log_size bytes, no answer
                with rogue._lock:
                    rogue.requests["challenge"] += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    rogue._send_logs(self, kind="challenge")
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        self.serve(Handler)

    def _count(self, kind: str, n: int) -> None:
        with self._lock:
            self.sent[kind] += n

    def _send_record(self, request: BaseHTTPRequestHandler) -> None:
        request.send_response(self.status)
        request.send_header("Content-Type", "application/json")
        if self.record == "drip":  # a body without end, ever so slowly
            request.send_header("Connection", "close")
            request.end_headers()
            request.wfile.write(b"{")
            while True:
                time.sleep(self.drip_every)
                request.wfile.write(b" ")
                request.wfile.flush()
                self._count("record", 1)
        body = self.record if isinstance(self.record, bytes) else self.record.encode()
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
        self._count("record", len(body))

    def _send_logs(self, request: BaseHTTPRequestHandler, kind: str = "logs") -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(self.log_size))
        request.end_headers()
        line = b"".join(b"log line %07d of a job that prints without end\n" % i for i in range(1024))
        left = self.log_size
        while left > 0:
            chunk = line[:left]
            request.wfile.write(chunk)
            self._count(kind, len(chunk))
            left -= len(chunk)
            if self.log_pause:
                request.wfile.flush()
                time.sleep(self.log_pause)
