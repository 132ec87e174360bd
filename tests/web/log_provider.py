"""A provider's endpoint for the browser tests: a real HTTP server on 127.0.0.1 answering
``GET /jobs/<id>/logs`` with a fixed log and ``GET /jobs/<id>/metrics?follow=1`` with fixed
samples (NDJSON, then its end, as an agent ends it once the job is past running), but only to a
request carrying the renter's own ``gpurent job access`` signature (checked as the agent checks it, :func:`verify_access`). What
it saw is kept, so a test can tell that the browser's wallet signed the access and the gateway
relayed it. ``GET /images/<cid>`` answers as an agent's image cache would (gpurent.wire.images):
``ready`` for the CIDs in ``cached``, ``absent`` for any other."""

from __future__ import annotations

import json

from gpurent.wire.access import AccessDenied, verify_access
from tests.oracle.rogue_provider import LoopbackServer, QuietHandler


class LogProvider(LoopbackServer):
    def __init__(self, renter: str, chain_id: int, log: bytes, samples: tuple[dict, ...] = (),
                 cached: frozenset[str] = frozenset()):
        self.renter, self.chain_id, self.log, self.cached = renter, chain_id, log, cached
        self.metrics = b"".join(json.dumps(s).encode() + b"\n" for s in samples)
        self.served: list[str] = []  # the job ids whose log went out, signed for
        self.refused: list[str] = []  # why a request was refused
        provider = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) == 2 and parts[0] == "images":
                    state = "ready" if parts[1] in provider.cached else "absent"
                    return self._answer(200, json.dumps({"cid": parts[1], "state": state}).encode(), "application/json")
                if len(parts) != 3 or parts[0] != "jobs" or parts[2] not in ("logs", "metrics"):
                    return self._answer(404, b'{"error": "not found"}', "application/json")
                try:
                    verify_access(self.headers, provider.chain_id, parts[1], provider.renter)
                except AccessDenied as err:
                    provider.refused.append(str(err))
                    return self._answer(403, b'{"error": "access denied"}', "application/json")
                if parts[2] == "metrics":
                    return self._answer(200, provider.metrics, "application/x-ndjson")
                provider.served.append(parts[1])
                self._answer(200, provider.log, "text/plain; charset=utf-8")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        self.serve(Handler)
