"""The agent's HTTP endpoint (its URL is the provider's on-chain ``endpoint``).

    GET  /health              who this provider is, whether it takes work, jobs running
    GET  /images/<cid>        whether a job on this image would start here without a download
                              (gpurent.wire.images: ready / stored / absent), for anyone
    GET  /jobs/<id>           the job's phase (pulling with bytes, accepted, starting, running,
                              exited with its code, …) and its timeline        renter only
    GET  /jobs/<id>/logs      the container's stdout/stderr; ?offset=N resumes, ?follow=1
                              streams as it is written until the log is sealed (the job's
                              final phase)                                       renter only
    GET  /jobs/<id>/metrics   the job's usage (gpurent.wire.metrics): recent samples and the
                              summary; ?follow=1 streams samples (NDJSON) until the job ends
                                                                                 renter only
    POST /challenge           the oracle's data-possession challenges (gpurent.wire.protocol),
                              signed by an oracle, for the image of a job running here
    POST /jobs/<id>/access, ANY /jobs/<id>/ports/<port>/…, GET /jobs/<id>/tunnel/<port>,
    GET  /jobs/<id>/exec      a running job's ports, tunnels and shell: see gpurent.agent.ingress

Every refusal is a JSON 4xx (a malformed job id, query, header or body 400, a bad signature
403, an unknown job 404); see :class:`gpurent.http.HttpServer` for the bounds of the server.

"Renter only": the request carries the renter's signature over (chain, job id, time), see
:mod:`gpurent.wire.access`, or (``Authorization: Bearer gpr1…``) a token this agent issued the
renter for the job at ``POST /jobs/<id>/access`` (:mod:`gpurent.agent.tokens`, the ingress's
own): a follower reconnecting past the signature's minute goes on with it. An account with the
oracle role may read too (dispute evidence, signed). Stale or foreign signatures, and tokens of
another job, expired or not this agent's, get 403; unknown jobs 404.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlparse

from gpurent.agent.metrics import Sampler, follow_query
from gpurent.wire.access import AccessDenied, verify_access
from gpurent.agent.front import Front
from gpurent.agent.image_states import ImageStates
from gpurent.agent.ingress import Ingress
from gpurent.agent.state import FINAL, AgentState, JobRecord
from gpurent.agent.tokens import token_from
from gpurent.errors import GpurentError
from gpurent.http import HttpServer, RequestRefused, read_json, send_json
from gpurent.monitoring import Exposition
from gpurent.types import AgentPhase
from gpurent.wire.images import CID_SHAPE
from gpurent.wire.protocol import ChallengeRefused

log = logging.getLogger("gpurent.agent.endpoint")

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
        self._changed = threading.Condition()  # a reader following a log wakes on a write, not a timer
        self._writes: dict[str, int] = {}  # per job: writes so far (append, reset, seal)

    def _wrote(self, job_id: str) -> None:
        with self._changed:
            key = job_id.lower()
            self._writes[key] = self._writes.get(key, 0) + 1
            self._changed.notify_all()

    def writes(self, job_id: str) -> int:
        """How many times the log was written: pass it to ``wait`` to sleep until the next write."""
        with self._changed:
            return self._writes.get(job_id.lower(), 0)

    def wait(self, job_id: str, seen: int, timeout: float) -> int:
        """Sleeps until the log is written after ``seen`` (from ``writes``), or ``timeout`` s;
        the count of writes now. A follower sends new output as soon as it is written."""
        key = job_id.lower()
        with self._changed:
            self._changed.wait_for(lambda: self._writes.get(key, 0) != seen, timeout)
            return self._writes.get(key, 0)

    def path(self, job_id: str) -> Path:
        return self.folder / f"{job_id.lower()}.log"

    def reset(self, job_id: str) -> None:
        self.path(job_id).write_bytes(b"")
        self._wrote(job_id)

    def append(self, job_id: str, data: bytes) -> bool:
        """Adds ``data`` within the cap; False once the log is full (read no more of it)."""
        try:
            with self.path(job_id).open("ab") as handle:
                return self._write(handle, data)
        finally:
            self._wrote(job_id)

    def full(self, job_id: str) -> bool:
        """Whether output was dropped at the cap (the log ends with the truncation mark)."""
        path = self.path(job_id)
        return path.exists() and path.stat().st_size > self.max_bytes

    def seal(self, job_id: str, chunks: Iterable[bytes], exact: bool = False) -> bool:
        """Replaces the log, at once for its readers, with ``chunks`` (the engine's record of the
        output), read only up to the cap; True if it was replaced. The log stays as it is when
        ``chunks`` is empty, and when the record is shorter and begins otherwise: the engine's
        log started over at its own cap and lost its beginning, so the streamed copy is kept
        and marked with ``GAP`` (a shorter record that begins alike is the follow stream's
        repeated lines, which the record corrects). ``exact``: the log was streamed from the
        engine's attach stream, which never repeats a write, so a shorter record that is all of
        the log's beginning is a record read before its last writes landed (a busy engine), and
        the log is kept."""
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
            if exact and _begins_with(path, staging):
                staging.unlink()  # the streamed log has all the record has, and its late lines too
                return False
        os.replace(staging, path)
        self._wrote(job_id)
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


def timeline(state: AgentState, job_id: str) -> list[dict[str, Any]]:
    """The job's phases and its exec / shell sessions (who, the command, the exit code), by time."""
    entries = [{"phase": str(p), "at": at, "detail": d} for p, at, d in state.history(job_id)]
    for s in state.sessions(job_id):
        ended = "open" if s.ended_at is None else f"exit code {s.exit_code}"
        entries.append({"phase": s.kind, "at": s.at, "detail": f"{s.who}: {s.command} ({ended})"})
    return sorted(entries, key=lambda e: e["at"])


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _begins_with(path: Path, prefix: Path, chunk: int = 64 * 1024) -> bool:
    """Whether the file at ``path`` begins with all of the file at ``prefix`` (read a chunk at a time)."""
    with path.open("rb") as whole, prefix.open("rb") as part:
        while piece := part.read(chunk):
            if whole.read(len(piece)) != piece:
                return False
    return True


_JOB_ID = re.compile(r"0x[0-9a-fA-F]{64}")
_OFFSET = re.compile(r"[0-9]{1,19}")
FOLLOW = {"0": False, "false": False, "1": True, "true": True}
CHALLENGE_LIMIT = 4096  # bytes of a challenge body (one is ~400)
LOG_STREAMS = 12  # logs sent at once (each holds a worker of 32): the oracle's challenges always find one free
LOG_IDLE_S = 0.5  # a followed log with no write this long checks its job's phase and its reader anyway
LOG_STREAMS_PER_JOB = 2  # logs of one job sent at once: one renter cannot take every stream
METRIC_STREAMS = 8  # followed metric streams at once (each holds a worker too): challenges still find one
METRIC_STREAMS_PER_JOB = 2  # of one job
METRICS_KEEPALIVE_S = 10.0  # a followed metrics stream without a sample this long gets an empty line
SAMPLED_BEFORE_END = tuple(p for p in AgentPhase if not p.final and p not in (AgentPhase.EXITED, AgentPhase.COMPLETING))


class StreamSlots:
    """At most ``total`` streams (of ``what``: logs, metric streams) sent at once, ``per_job`` of
    one job: one renter cannot take every worker."""

    def __init__(self, total: int, per_job: int, what: str):
        self.total, self.per_job, self.what = total, per_job, what
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, job_id: str) -> str | None:
        """Holds a stream for ``job_id``; why not, when none is free."""
        with self._lock:
            if self._held.get(job_id, 0) >= self.per_job:
                return f"{self.per_job} {self.what} of this job are being sent already"
            if sum(self._held.values()) >= self.total:
                return f"{self.total} {self.what} are being sent already"
            self._held[job_id] = self._held.get(job_id, 0) + 1
        return None

    def give(self, job_id: str) -> None:
        with self._lock:
            left = self._held.pop(job_id, 1) - 1
            if left > 0:
                self._held[job_id] = left

    def held(self, job_id: str) -> int:
        """How many streams of ``job_id`` are being sent now."""
        with self._lock:
            return self._held.get(job_id, 0)


def _gone(connection: socket.socket) -> bool:
    """Whether the client closed its side (what it sent is all read: readable means EOF)."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Endpoint:
    def __init__(self, state: AgentState, logs: LogStore, chain_id: int, provider: str, host: str, port: int,
                 health: Callable[[], dict[str, Any]]):
        self.state, self.logs, self.chain_id, self.provider = state, logs, chain_id, provider
        self.health = health
        self.challenge_handler: ChallengeHandler | None = None  # set by the agent's OracleLink
        self.is_oracle: Callable[[str], bool] | None = None  # oracles may read jobs (dispute evidence)
        self.ingress: Ingress | None = None  # a job's ports and shell (set by the agent)
        self.metrics: Sampler | None = None  # set by the agent: its jobs' usage
        self.exposition: Exposition | None = None  # set by the agent: its own metrics, at GET /metrics
        self.images: ImageStates | None = None  # set by the agent: its image cache's states, at GET /images/<cid>
        self.server = HttpServer(host, port, "gpurent-provider", self._get, self._post,
                                 intercept=lambda request: self.ingress is not None
                                 and self.ingress.handle(request, request.path))
        self.log_streams = StreamSlots(LOG_STREAMS, LOG_STREAMS_PER_JOB, "logs")
        self.metric_streams = StreamSlots(METRIC_STREAMS, METRIC_STREAMS_PER_JOB, "metric streams")
        self._front: Front | None = None

    def start(self) -> None:
        """Serves; with an ingress, through the asynchronous front (gpurent.agent.front)."""
        if self.ingress is None:
            self.server.start()
            return
        self._front = Front(self.server, self.ingress)
        self.server.start(accept=False)
        self._front.start()

    def stop(self) -> None:
        if self._front is not None:
            self._front.stop()
        self.server.stop()

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
        if parts == ["metrics"] and self.exposition is not None:
            self.exposition.serve(request)
            return
        if len(parts) == 2 and parts[0] == "images" and self.images is not None:
            self._image(request, parts[1])
            return
        if len(parts) == 3 and parts[0] == "jobs" and parts[2] == "metrics":
            self._metrics(request, parts[1], url.query)
            return
        if len(parts) in (2, 3) and parts[0] == "jobs" and (len(parts) == 2 or parts[2] == "logs"):
            self._job(request, parts[1], url.query if len(parts) == 3 else None)
            return
        self._json(request, 404, {"error": "not found"})

    def _image(self, request: BaseHTTPRequestHandler, cid: str) -> None:
        assert self.images is not None
        if not CID_SHAPE.fullmatch(cid):
            self._json(request, 400, {"error": "not a CID: base32 or base58 letters, at most 128"})
            return
        try:
            state = self.images.get(cid)
        except Exception as err:  # noqa: BLE001 - the node or the engine did not answer: say so, stay up
            log.warning("could not tell the state of image %s: %s", cid, str(err).splitlines()[0][:200] if str(err) else type(err).__name__)
            self._json(request, 503, {"error": "the image cache cannot tell just now"})
            return
        self._json(request, 200, {"cid": cid, "state": state})

    def _job(self, request: BaseHTTPRequestHandler, job_id: str, logs_query: str | None) -> None:
        """``/jobs/<id>`` (``logs_query`` None) or ``/jobs/<id>/logs?<logs_query>``."""
        job = self._readable(request, job_id)
        if job is None:
            return
        if logs_query is None:
            self._json(request, 200, self.describe(job.job_id))
            return
        try:
            offset, follow = self._log_query(logs_query)
        except ValueError as err:
            self._json(request, 400, {"error": str(err)})
            return
        refused = self._take_stream(job.job_id)
        if refused:
            self._json(request, 429, {"error": f"{refused}: try again shortly"})
            return
        try:
            self._stream_logs(request, job.job_id, offset, follow)
        finally:
            self._give_stream(job.job_id)

    def _readable(self, request: BaseHTTPRequestHandler, job_id: str) -> JobRecord | None:
        """The job, when the request is signed by its renter (or an oracle); None once the
        refusal is sent (400 a malformed id, 404 an unknown job, 403 a bad signature)."""
        if not _JOB_ID.fullmatch(job_id):
            self._json(request, 400, {"error": "a job id is 0x and 64 hex digits"})
            return None
        job = self.state.job(job_id)
        if job is None:
            self._json(request, 404, {"error": f"job {job_id} is not known to this provider"})
            return None
        try:
            self._authorize(request.headers, job)
        except AccessDenied as err:
            self._json(request, 403, {"error": str(err)})
            return None
        return job

    def _authorize(self, headers: Any, job: JobRecord) -> None:
        """AccessDenied unless ``headers`` carry the renter's token (the Authorization header
        only: a port's cookie reads no log) or a fresh signature of the renter or an oracle."""
        token = token_from(headers)
        if token is None or self.ingress is None:
            verify_access(headers, self.chain_id, job.job_id, job.renter, also=self.is_oracle)
        elif self.ingress.tokens.check(token, job.job_id) != job.renter.lower():
            raise AccessDenied("access token is not the renter's")

    def _metrics(self, request: BaseHTTPRequestHandler, job_id: str, query: str) -> None:
        """``/jobs/<id>/metrics``: the job's recent samples and summary; ``?follow=1`` a stream."""
        job = self._readable(request, job_id)
        if job is None:
            return
        if self.metrics is None:
            self._json(request, 501, {"error": "this agent does not sample usage"})
            return
        try:
            follow = follow_query(query)
        except ValueError as err:
            self._json(request, 400, {"error": str(err)})
            return
        if not follow:
            self._json(request, 200, dict(self.metrics.describe(job.job_id)))
            return
        refused = self.metric_streams.take(job.job_id)
        if refused:
            self._json(request, 429, {"error": f"{refused}: try again shortly"})
            return
        try:
            self._stream_metrics(request, self.metrics, job.job_id)
        finally:
            self.metric_streams.give(job.job_id)

    def _stream_metrics(self, request: BaseHTTPRequestHandler, metrics: Sampler, job_id: str) -> None:
        """NDJSON samples as they are taken, until sampling ends or the job is past running; an
        empty line after ``METRICS_KEEPALIVE_S`` without one (a job waiting to run)."""
        request.send_response(200)
        request.send_header("Content-Type", "application/x-ndjson")
        request.end_headers()
        seq, quiet = metrics.cursor(job_id), time.monotonic()
        while True:
            items, ended = metrics.after(job_id, seq, 1.0)
            for seq, sample in items:
                request.wfile.write(json.dumps(sample, separators=(",", ":")).encode() + b"\n")
            if not items and time.monotonic() - quiet >= METRICS_KEEPALIVE_S:
                request.wfile.write(b"\n")
            if items or time.monotonic() - quiet >= METRICS_KEEPALIVE_S:
                request.wfile.flush()
                quiet = time.monotonic()
            job = self.state.job(job_id)
            if ended or job is None or job.phase not in SAMPLED_BEFORE_END:
                return
            if _gone(request.connection):  # a follower that left frees its worker now
                return

    def _take_stream(self, job_id: str) -> str | None:
        """Holds one of the log streams for ``job_id``; why not, when none is free."""
        return self.log_streams.take(job_id)

    def _give_stream(self, job_id: str) -> None:
        self.log_streams.give(job_id)

    def _log_query(self, query: str) -> tuple[int, bool]:
        """(offset, follow) from ``?offset=N&follow=1``: ValueError unless each is given at most
        once, the offset a decimal within the log cap and follow one of 0, 1, true, false."""
        try:
            fields = parse_qs(query, keep_blank_values=True, max_num_fields=8)
        except ValueError:
            raise ValueError("too many query fields") from None
        offsets, follows = fields.get("offset", ["0"]), fields.get("follow", ["0"])
        if len(offsets) != 1 or not _OFFSET.fullmatch(offsets[0]) or int(offsets[0]) > self.logs.max_bytes + 4096:
            raise ValueError(f"offset must be one whole number of bytes from 0 to {self.logs.max_bytes}")
        if len(follows) != 1 or follows[0] not in FOLLOW:
            raise ValueError("follow must be 1, 0, true or false")
        return int(offsets[0]), FOLLOW[follows[0]]

    def describe(self, job_id: str) -> dict[str, Any]:
        job = self.state.job(job_id)
        assert job is not None
        return {"job_id": job.job_id, "phase": job.phase, "bytes_done": job.bytes_done,
                "bytes_total": job.bytes_total, "exit_code": job.exit_code, "capped": job.capped,
                "error": job.error, "image_cid": job.image_cid, "result_cid": job.result_cid,
                "ports": self.ingress.describe(job_id) if self.ingress is not None else [],
                "timeline": timeline(self.state, job_id)}

    def _stream_logs(self, request: BaseHTTPRequestHandler, job_id: str, offset: int, follow: bool) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain; charset=utf-8")
        request.send_header("X-Gpurent-Phase", self.state.job(job_id).phase)  # type: ignore[union-attr]
        request.end_headers()
        seen = self.logs.writes(job_id)
        while True:
            chunk = self.logs.read(job_id, offset)
            if chunk:
                request.wfile.write(chunk)
                request.wfile.flush()
                offset += len(chunk)
            job = self.state.job(job_id)
            # a followed log ends once it is sealed (a final phase): at EXITED the follow stream
            # may not have brought the container's last lines yet; the seal does
            if not follow or job is None or job.phase in FINAL:
                chunk = self.logs.read(job_id, offset)
                if chunk:
                    request.wfile.write(chunk)
                return
            if _gone(request.connection):  # a follower that left frees its worker now, not at the job's end
                return
            seen = self.logs.wait(job_id, seen, LOG_IDLE_S)  # woken by the next write

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        if urlparse(request.path).path.rstrip("/") != "/challenge":
            self._json(request, 404, {"error": "not found"})
            return
        if self.challenge_handler is None:
            self._json(request, 501, {"error": "this agent does not answer challenges yet"})
            return
        try:
            self._json(request, 200, self.challenge_handler(read_json(request, limit=CHALLENGE_LIMIT)))
        except RequestRefused as err:
            self._json(request, err.status, {"error": f"bad challenge: {err}"})
        except (ValueError, KeyError, TypeError) as err:  # MalformedMessage among them
            self._json(request, 400, {"error": f"bad challenge: {err}"})
        except ChallengeRefused as err:  # not an oracle's, not a job running here, expired, ...
            self._json(request, 403, {"error": f"challenge refused: {err}"})
        except GpurentError as err:  # the bytes are not at hand (the oracle counts it as no answer)
            self._json(request, 404, {"error": f"cannot answer: {err}"})
