"""The agent's HTTP endpoint (its URL is the provider's on-chain ``endpoint``).

    GET  /health              who this provider is, whether it takes work, jobs running
    GET  /jobs/<id>           the job's phase (accepted, pulling with bytes, starting, running,
                              exited with its code, …) and its timeline        renter only
    GET  /jobs/<id>/logs      the container's stdout/stderr; ?offset=N resumes, ?follow=1
                              streams until the job ends                         renter only
    POST /challenge           the oracle's data-possession challenges (gpurent.wire.protocol)

"Renter only": the request carries the renter's signature over (chain, job id, time), see
:mod:`gpurent.wire.access`; an account with the oracle role may read too (dispute evidence). Stale or
foreign signatures get 403, unknown jobs 404.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlparse

from gpurent.wire.access import AccessDenied, verify_access
from gpurent.agent.state import FINAL, AgentState
from gpurent.types import AgentPhase
from gpurent.errors import GpurentError
from gpurent.http import HttpServer, read_json, send_json

ChallengeHandler = Callable[[dict[str, Any]], dict[str, Any]]


class LogStore:
    """One append-only file per job under ``folder``, at most ``max_bytes`` each: a container
    printing without end must not fill the provider's disk, nor the agent's memory. Nothing
    here holds more than one chunk of a log in memory: output comes in as a stream of chunks
    and past the cap it is no longer read at all (``append`` and ``seal`` tell the caller to
    stop)."""

    TRUNCATED = b"\n[gpurent: log truncated: the job's output passed the provider's limit]\n"
    GAP = b"\n[gpurent: the engine's log started over at its cap before it was all read: output is missing]\n"
    HEAD = 64 * 1024  # bytes of a log's beginning compared with the engine's record at the seal

    def __init__(self, folder: Path, max_bytes: int = 64 * 2**20):
        self.folder = folder
        self.max_bytes = max_bytes
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, job_id: str) -> Path:
        return self.folder / f"{job_id.lower()}.log"

    def reset(self, job_id: str) -> None:
        self.path(job_id).write_bytes(b"")

    def append(self, job_id: str, data: bytes) -> bool:
        """Adds ``data`` within the cap; False once the log is full (read no more of it)."""
        with self.path(job_id).open("ab") as handle:
            return self._write(handle, data)

    def full(self, job_id: str) -> bool:
        """Whether output was dropped at the cap (the log ends with the truncation mark)."""
        path = self.path(job_id)
        return path.exists() and path.stat().st_size > self.max_bytes

    def seal(self, job_id: str, chunks: Iterable[bytes]) -> bool:
        """Replaces the log, at once for its readers, with ``chunks`` (the engine's record of the
        output), read only up to the cap; True if it was replaced. The log stays as it is when
        ``chunks`` is empty, and when the record is shorter and begins otherwise: the engine's
        log started over at its own cap and lost its beginning, so the streamed copy is kept
        and marked with ``GAP`` (a shorter record that begins alike is the follow stream's
        repeated lines, which the record corrects)."""
        path = self.path(job_id)
        staging = path.with_suffix(".sealing")
        written = False
        try:
            with staging.open("wb") as handle:
                for chunk in chunks:
                    written = written or bool(chunk)
                    if not self._write(handle, chunk):
                        break
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # an engine stream past the cap is dropped, never drained
        if not written:
            staging.unlink(missing_ok=True)
            return False
        record = staging.stat().st_size
        if record < (path.stat().st_size if path.exists() else 0):
            head = self.read(job_id, 0, min(self.HEAD, record))
            if _head(staging, len(head)) != head:
                staging.unlink()
                self.append(job_id, self.GAP)
                return False
        os.replace(staging, path)
        return True

    def _write(self, handle: BinaryIO, data: bytes) -> bool:
        room = self.max_bytes - handle.tell()
        if room < 0:
            return False  # truncated already (the mark runs past the cap)
        if len(data) > room:
            handle.write(data[:room] + self.TRUNCATED)
            return False
        handle.write(data)
        return True

    def read(self, job_id: str, offset: int = 0, limit: int = -1) -> bytes:
        path = self.path(job_id)
        if not path.exists():
            return b""
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(limit)


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


class Endpoint:
    def __init__(self, state: AgentState, logs: LogStore, chain_id: int, provider: str, host: str, port: int,
                 health: Callable[[], dict[str, Any]]):
        self.state, self.logs, self.chain_id, self.provider = state, logs, chain_id, provider
        self.health = health
        self.challenge_handler: ChallengeHandler | None = None  # set by the agent's OracleLink
        self.is_oracle: Callable[[str], bool] | None = None  # oracles may read jobs (dispute evidence)
        self.server = HttpServer(host, port, "gpurent-provider", self._get, self._post)
        self.start, self.stop = self.server.start, self.server.stop

    @property
    def port(self) -> int:
        return self.server.port

    # -- handlers ------------------------------------------------------------------------
    _json = staticmethod(send_json)

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["health"]:
            self._json(request, 200, self.health())
            return
        if len(parts) in (2, 3) and parts[0] == "jobs" and (len(parts) == 2 or parts[2] == "logs"):
            job = self.state.job(parts[1])
            if job is None:
                self._json(request, 404, {"error": f"job {parts[1]} is not known to this provider"})
                return
            try:
                verify_access(request.headers, self.chain_id, job.job_id, job.renter, also=self.is_oracle)
            except AccessDenied as err:
                self._json(request, 403, {"error": str(err)})
                return
            if len(parts) == 2:
                self._json(request, 200, self.describe(job.job_id))
            else:
                query = parse_qs(url.query)
                self._stream_logs(request, job.job_id, int(query.get("offset", ["0"])[0]),
                                  query.get("follow", ["0"])[0] in ("1", "true"))
            return
        self._json(request, 404, {"error": "not found"})

    def describe(self, job_id: str) -> dict[str, Any]:
        job = self.state.job(job_id)
        assert job is not None
        return {"job_id": job.job_id, "phase": job.phase, "bytes_done": job.bytes_done,
                "bytes_total": job.bytes_total, "exit_code": job.exit_code, "capped": job.capped,
                "error": job.error, "image_cid": job.image_cid,
                "timeline": [{"phase": p, "at": at, "detail": d} for p, at, d in self.state.history(job_id)]}

    def _stream_logs(self, request: BaseHTTPRequestHandler, job_id: str, offset: int, follow: bool) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain; charset=utf-8")
        request.send_header("X-Gpurent-Phase", self.state.job(job_id).phase)  # type: ignore[union-attr]
        request.end_headers()
        while True:
            chunk = self.logs.read(job_id, offset)
            if chunk:
                request.wfile.write(chunk)
                request.wfile.flush()
                offset += len(chunk)
            job = self.state.job(job_id)
            if not follow or job is None or job.phase in (*FINAL, AgentPhase.EXITED, AgentPhase.COMPLETING):
                chunk = self.logs.read(job_id, offset)
                if chunk:
                    request.wfile.write(chunk)
                return
            time.sleep(0.2)

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        if urlparse(request.path).path.rstrip("/") != "/challenge":
            self._json(request, 404, {"error": "not found"})
            return
        if self.challenge_handler is None:
            self._json(request, 501, {"error": "this agent does not answer challenges yet"})
            return
        try:
            self._json(request, 200, self.challenge_handler(read_json(request)))
        except (ValueError, KeyError) as err:
            self._json(request, 400, {"error": f"bad challenge: {err}"})
        except GpurentError as err:  # the bytes are not at hand (the oracle counts it as no answer)
            self._json(request, 404, {"error": f"cannot answer: {err}"})
