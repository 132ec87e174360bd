"""The agent's own records, in SQLite under the state folder (``<home>/provider/agent.db``).

The chain is the system of record; this database is the agent's intent and progress. Each
phase change is one transaction, and the agent writes what it is about to do before it sends
the transaction that does it (``accepting``, ``starting``, ``completing``). After a crash it
reads the job's status on chain to learn whether that transaction landed, so it never accepts
or completes a job twice, and it finishes what it started. The event cursor commits in the same
transaction as the jobs it found.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from gpurent.sqlite import SqliteStore
from gpurent.types import AgentPhase

# the phases in their order (see AgentPhase): a job in an open phase holds its GPU
OPEN = tuple(p for p in AgentPhase if not p.final)
FINAL = tuple(p for p in AgentPhase if p.final)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id        TEXT PRIMARY KEY,
    resource_id   TEXT NOT NULL,
    renter        TEXT NOT NULL,
    image_cid     TEXT NOT NULL,
    duration_s    INTEGER NOT NULL,
    priority      REAL NOT NULL,
    created_block INTEGER NOT NULL,
    phase         TEXT NOT NULL,
    slot          TEXT,             -- the resource (GPU) it holds while it runs
    image_id      TEXT,
    container_id  TEXT,
    bytes_done    INTEGER NOT NULL DEFAULT 0,
    bytes_total   INTEGER,
    exit_code     INTEGER,
    capped        INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    chain_start   INTEGER,
    updated_at    REAL NOT NULL,
    last_seen     INTEGER,          -- chain time its container was last seen running
    result_cid    TEXT,             -- the packed output folder on this node (committed on chain)
    result_bytes  INTEGER           -- the packed payload's size
);
CREATE TABLE IF NOT EXISTS history (
    job_id TEXT NOT NULL, phase TEXT NOT NULL, at REAL NOT NULL, detail TEXT
);
CREATE TABLE IF NOT EXISTS sessions (   -- exec and shell sessions in a job's container
    job_id TEXT NOT NULL, kind TEXT NOT NULL, who TEXT NOT NULL, at REAL NOT NULL, command TEXT NOT NULL,
    ended_at REAL, exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS usage (  -- a job's usage summary (gpurent.agent.metrics.Usage.state, JSON)
    job_id TEXT PRIMARY KEY, summary TEXT NOT NULL, updated_at REAL NOT NULL
);
"""
SESSION_COMMAND_MAX = 200  # characters of a session's command kept in the timeline


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    resource_id: str
    renter: str
    image_cid: str
    duration_s: int  # seconds booked: from JobCreated, then each JobExtended
    priority: float
    created_block: int
    phase: AgentPhase
    slot: str | None
    image_id: str | None
    container_id: str | None
    bytes_done: int
    bytes_total: int | None
    exit_code: int | None
    capped: bool
    error: str | None
    chain_start: int | None
    updated_at: float
    last_seen: int | None = None  # chain time the agent last saw its container running
    result_cid: str | None = None  # the packed output folder's CID (pinned here, committed on chain)
    result_bytes: int | None = None


class PhaseChange(NamedTuple):
    """One entry of a job's history: the phase it entered, when (Unix time), and why."""

    phase: AgentPhase
    at: float
    detail: str | None


class Session(NamedTuple):
    """An exec or shell session: who opened it, when, the command, and how it ended."""

    kind: str  # exec | shell
    who: str
    at: float
    command: str
    ended_at: float | None
    exit_code: int | None


class AgentState(SqliteStore):
    def __init__(self, path: Path):
        super().__init__(path, _SCHEMA)
        self.on_phase: Callable[[str, AgentPhase], None] | None = None  # told each phase entered (metrics)
        with self.tx() as db:  # a database from before last_seen: the column is added at the end
            columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            for name, kind in (("last_seen", "INTEGER"), ("result_cid", "TEXT"), ("result_bytes", "INTEGER")):
                if name not in columns:  # a database from before the column: added at the end
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

    def record_new_jobs(self, jobs: list[dict[str, Any]], cursor: int, extended: dict[str, int] | None = None) -> int:
        """Inserts newly seen jobs, books the ``extended`` ones (job id -> seconds now booked)
        longer, and moves the cursor, atomically; returns how many were new."""
        now = time.time()
        added = 0
        with self.tx() as db:
            for job in jobs:
                cur = db.execute(
                    "INSERT OR IGNORE INTO jobs (job_id, resource_id, renter, image_cid, duration_s, priority, "
                    "created_block, phase, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job["job_id"], job["resource_id"], job["renter"], job["image_cid"], job["duration_s"],
                     job["priority"], job["block"], AgentPhase.QUEUED, now))
                if cur.rowcount:
                    added += 1
                    db.execute("INSERT INTO history VALUES (?, ?, ?, NULL)", (job["job_id"], AgentPhase.QUEUED, now))
            for job_id, duration in (extended or {}).items():  # after the inserts: a job created and extended at once
                _extend(db, job_id, duration)
            self.put("cursor", str(cursor), db)
        return added

    def extend(self, job_id: str, duration_s: int) -> None:
        """The job is now booked for ``duration_s`` seconds (never shortened: an extension read
        twice, or late, changes nothing)."""
        with self.tx() as db:
            _extend(db, job_id, duration_s)

    # -- jobs ----------------------------------------------------------------------------
    def job(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id.lower(),)).fetchone()
        return _record(row) if row else None

    def jobs(self, phases: tuple[AgentPhase, ...] | None = None) -> list[JobRecord]:
        query = "SELECT * FROM jobs"
        args: tuple[str, ...] = ()
        if phases:
            query += f" WHERE phase IN ({','.join('?' * len(phases))})"
            args = phases
        query += " ORDER BY priority DESC, created_block, job_id"
        with self._lock:
            return [_record(r) for r in self._db.execute(query, args).fetchall()]

    def update(self, job_id: str, phase: AgentPhase | None = None, detail: str | None = None, **fields: Any) -> None:
        """Sets ``fields`` (and the phase, logged in the history) in one transaction."""
        now = time.time()
        values = dict(fields, updated_at=now)
        if phase is not None:
            values["phase"] = phase
        columns = ", ".join(f"{k} = ?" for k in values)
        with self.tx() as db:
            db.execute(f"UPDATE jobs SET {columns} WHERE job_id = ?", (*values.values(), job_id))
            if phase is not None:
                db.execute("INSERT INTO history VALUES (?, ?, ?, ?)", (job_id, phase, now, detail))
        if phase is not None and self.on_phase is not None:
            self.on_phase(job_id, phase)

    def progress(self, job_id: str, done: int, total: int | None) -> None:
        """Pull progress: frequent, so outside the history."""
        with self._lock:
            self._db.execute("UPDATE jobs SET bytes_done = ?, bytes_total = ? WHERE job_id = ?", (done, total, job_id))

    def seen(self, job_id: str, chain_time: int) -> None:
        """The job's container was running at ``chain_time``: frequent, so outside the history."""
        with self._lock:
            self._db.execute("UPDATE jobs SET last_seen = ? WHERE job_id = ?", (chain_time, job_id))

    def session_started(self, job_id: str, kind: str, who: str, command: str) -> int:
        """Records a session opened in the job's container; its id (for :meth:`session_ended`)."""
        with self.tx() as db:
            cursor = db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                                (job_id.lower(), kind, who.lower(), time.time(), command[:SESSION_COMMAND_MAX]))
            return int(cursor.lastrowid or 0)

    def session_ended(self, session: int, exit_code: int | None) -> None:
        with self.tx() as db:
            db.execute("UPDATE sessions SET ended_at = ?, exit_code = ? WHERE rowid = ?", (time.time(), exit_code, session))

    def sessions(self, job_id: str) -> list[Session]:
        with self._lock:
            return [Session(*r) for r in self._db.execute(
                "SELECT kind, who, at, command, ended_at, exit_code FROM sessions WHERE job_id = ? ORDER BY rowid",
                (job_id.lower(),))]

    def put_usage(self, job_id: str, summary: dict[str, Any]) -> None:
        """The job's usage summary (see :mod:`gpurent.agent.metrics`), replacing the last one."""
        with self.tx() as db:
            db.execute("INSERT INTO usage VALUES (?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET summary = "
                       "excluded.summary, updated_at = excluded.updated_at",
                       (job_id.lower(), json.dumps(summary), time.time()))

    def usage(self, job_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT summary FROM usage WHERE job_id = ?", (job_id.lower(),))
        return dict(json.loads(str(rows[0][0]))) if rows else None

    def history(self, job_id: str) -> list[PhaseChange]:
        with self._lock:
            return [PhaseChange(AgentPhase(r[0]), r[1], r[2]) for r in self._db.execute(
                "SELECT phase, at, detail FROM history WHERE job_id = ? ORDER BY rowid", (job_id.lower(),))]


def _extend(db: Any, job_id: str, duration_s: int) -> None:
    db.execute("UPDATE jobs SET duration_s = MAX(duration_s, ?) WHERE job_id = ?", (duration_s, job_id.lower()))


def _record(row: tuple[Any, ...]) -> JobRecord:
    record = JobRecord(*row)
    return JobRecord(**{**record.__dict__, "phase": AgentPhase(record.phase), "capped": bool(record.capped)})
