"""A followed stream's read timeout is the one the caller sets, not the one given at connect time:
urllib3 2 lets go of the connection's socket once the body is being read, and the bound has to
reach the socket under http.client's reader (else a followed log's 60 s idle bound is 10 s)."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
import requests

from gpurent.capped import set_read_timeout


@pytest.fixture
def silent_server():
    """Answers with 3 bytes of a 10-byte body, then says nothing for 3 s."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"abc")
            self.wfile.flush()
            time.sleep(3)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("bound", [0.3, 1.0])
def test_a_read_timeout_set_while_reading_the_body_bounds_the_next_read(silent_server, bound):
    with requests.get(silent_server, stream=True, timeout=(2, 10)) as response:
        assert response.raw.read1(100) == b"abc"
        set_read_timeout(response.raw, bound)
        started = time.monotonic()
        with pytest.raises(Exception) as err:
            response.raw.read1(100)
        waited = time.monotonic() - started
    assert "timed out" in str(err.value).lower() or "timeout" in type(err.value).__name__.lower()
    assert bound * 0.8 <= waited < bound + 1.0, waited  # the bound set, not the connect-time 10 s nor the 3 s
