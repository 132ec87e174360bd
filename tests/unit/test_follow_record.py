"""Following a job's record from the moment it is created: its agent does not know it for the
first seconds (404 "not known"), which the follow waits through, up to UNKNOWN_WAIT_S, instead of
ending the console's progress stream at once; a job it stops knowing after a record is an end."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gpurent.errors import JobNotKnown
from gpurent.sdk import provider as provider_mod
from gpurent.sdk.provider import DelegatedEndpoint

JOB = "0x" + "ab" * 32


def record(phase: str) -> bytes:
    return json.dumps({"job_id": JOB, "phase": phase, "exit_code": None, "timeline": []}).encode()


@pytest.fixture
def agent():
    """An agent endpoint that does not know the job for its first ``unknown`` asks, then answers
    the ``answers`` (a record, or None for a 404 again)."""
    seen = {"asks": 0, "unknown": 2, "answers": [record("pulling"), record("completed")]}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - no token route: an older agent
            self._send(404, b'{"error": "not found"}')

        def do_GET(self) -> None:  # noqa: N802
            seen["asks"] += 1
            if seen["asks"] <= seen["unknown"] or not seen["answers"]:
                return self._send(404, json.dumps({"error": f"job {JOB} is not known to this provider"}).encode())
            answer = seen["answers"].pop(0)
            if answer is None:
                return self._send(404, json.dumps({"error": f"job {JOB} is not known to this provider"}).encode())
            self._send(200, answer)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def endpoint(url: str) -> DelegatedEndpoint:
    return DelegatedEndpoint(url, 31337, {"X-Gpurent-Timestamp": "1", "X-Gpurent-Signature": "0x00"}, timeout_s=5)


def test_a_job_not_known_yet_is_asked_for_again_until_its_record_comes(agent):
    url, seen = agent
    phases = [r["phase"] for r in endpoint(url).follow_record(JOB, every_s=0.05)]
    assert phases == ["pulling", "completed"] and seen["asks"] == 4  # two 404s waited through


def test_a_job_never_known_ends_the_follow_after_the_wait(agent, monkeypatch):
    url, seen = agent
    seen["unknown"] = 10**6
    monkeypatch.setattr(provider_mod, "UNKNOWN_WAIT_S", 0.3)
    with pytest.raises(JobNotKnown, match="not known to this provider"):
        list(endpoint(url).follow_record(JOB, every_s=0.05))
    assert seen["asks"] >= 3


def test_a_job_known_and_then_not_ends_at_once(agent):
    url, seen = agent
    seen["answers"] = [record("running"), None]
    follow = endpoint(url).follow_record(JOB, every_s=0.05)
    assert next(follow)["phase"] == "running"
    with pytest.raises(JobNotKnown):
        next(follow)
    assert seen["asks"] == 4  # not asked again after the 404 that followed a record
