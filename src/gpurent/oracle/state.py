"""The oracle's own records, in SQLite under the state folder (``<home>/oracle/oracle.db``).

Heartbeats (with their nonces, so a replay is refused even after a restart), each evaluated
heartbeat slot per provider, challenges and their outcomes, and what was sent on-chain. The
chain stays the system of record for what counts: reports and penalties are idempotent there,
so two oracle instances with two databases never count one thing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from gpurent.sqlite import SqliteStore
from gpurent.types import PenaltyReason
from gpurent.wire.protocol import Heartbeat

_SCHEMA = """
CREATE TABLE IF NOT EXISTS heartbeats (
    provider TEXT NOT NULL, nonce TEXT NOT NULL, slot INTEGER NOT NULL, timestamp INTEGER NOT NULL,
    received_at REAL NOT NULL, jobs_running INTEGER NOT NULL, gpu_util_bps INTEGER NOT NULL,
    uptime_s INTEGER NOT NULL, PRIMARY KEY (provider, nonce)
);
CREATE INDEX IF NOT EXISTS heartbeats_slot ON heartbeats (provider, slot);
CREATE TABLE IF NOT EXISTS slots (
    provider TEXT NOT NULL, slot INTEGER NOT NULL, kept INTEGER NOT NULL, PRIMARY KEY (provider, slot)
);
CREATE TABLE IF NOT EXISTS watch (
    provider TEXT PRIMARY KEY,
    evaluated INTEGER NOT NULL,        -- last heartbeat slot judged
    streak_start INTEGER,              -- first slot of the current run of misses
    streak INTEGER NOT NULL DEFAULT 0, -- misses in a row
    reported_period INTEGER            -- last period reported (by anyone) as far as we know
);
CREATE TABLE IF NOT EXISTS challenges (
    nonce TEXT PRIMARY KEY, provider TEXT NOT NULL, job_id TEXT NOT NULL, cid TEXT NOT NULL,
    offset INTEGER NOT NULL, length INTEGER NOT NULL, issued_at REAL NOT NULL,
    response_ms INTEGER, outcome TEXT, detail TEXT
);
CREATE TABLE IF NOT EXISTS actions (
    kind TEXT NOT NULL, key TEXT NOT NULL, provider TEXT, detail TEXT, status TEXT NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (kind, key)
);
"""


class ActionKind(StrEnum):
    """What the oracle decided to do (the ``actions`` table's ``kind``)."""

    PENALTY = "penalty"
    REPORT = "report"
    CHALLENGE = "challenge"
    DISPUTE = "dispute"


class ActionStatus(StrEnum):
    """Where an action stands (the ``actions`` table's ``status``; a challenge's is its outcome)."""

    PENDING = "pending"  # decided, not yet on chain: sent again next round
    APPLIED = "applied"  # a penalty this instance put on chain
    ALREADY = "already"  # on chain already (another instance, or an earlier run)
    SUBMITTED = "submitted"  # a report this instance put on chain
    RESOLVED = "resolved"  # a dispute this instance ruled on
    RESOLVED_ELSEWHERE = "resolved elsewhere"  # a dispute settled without this instance's ruling
    NOT_DRAWN = "not drawn"  # no challenge this round
    NO_RUNNING_JOB = "no running job"  # a challenge drawn with nothing to ask about


class ChallengeOutcome(StrEnum):
    """How a provider answered a data-possession challenge (``void``: the oracle could not ask)."""

    PASSED = "passed"
    TIMEOUT = "timeout"
    FRAUD = "fraud"
    BAD_SIGNATURE = "bad-signature"
    VOID = "void"

    @property
    def failed(self) -> bool:
        return self in PENALTY_OF


PENALTY_OF = {ChallengeOutcome.TIMEOUT: PenaltyReason.TIMEOUT, ChallengeOutcome.FRAUD: PenaltyReason.DATA_FRAUD,
              ChallengeOutcome.BAD_SIGNATURE: PenaltyReason.INVALID_SIGNATURE}


def status_of(text: str) -> ActionStatus | ChallengeOutcome:
    """An ``actions.status`` as stored, back into its enum."""
    try:
        return ActionStatus(text)
    except ValueError:
        return ChallengeOutcome(text)


@dataclass(frozen=True)
class Penalty:
    """A penalty the oracle decided on; its action's ``detail`` is ``"<reason>: <detail>"``."""

    reason: PenaltyReason
    detail: str

    def note(self) -> str:
        return f"{self.reason.name.lower()}: {self.detail}"

    @classmethod
    def parse(cls, note: str) -> Penalty:
        reason, _, detail = note.partition(": ")
        return cls(PenaltyReason[reason.upper()], detail)


class Watch(NamedTuple):
    """How far the oracle has judged a provider's heartbeat slots."""

    evaluated: int  # last heartbeat slot judged
    streak_start: int | None  # first slot of the current run of misses
    streak: int  # misses in a row
    reported_period: int | None  # last period reported (by anyone) as far as we know


class Action(NamedTuple):
    """One row of what the oracle decided and sent on-chain."""

    kind: ActionKind
    key: str
    provider: str | None
    detail: str
    status: ActionStatus | ChallengeOutcome


@dataclass(frozen=True)
class ChallengeRecord:
    nonce: str
    provider: str
    job_id: str
    cid: str
    offset: int
    length: int
    issued_at: float
    response_ms: int | None
    outcome: ChallengeOutcome | None
    detail: str | None


class OracleState(SqliteStore):
    def __init__(self, path: Path):
        super().__init__(path, _SCHEMA)

    # -- heartbeats ------------------------------------------------------------------------
    def add_heartbeat(self, beat: Heartbeat, slot: int) -> bool:
        """Records a verified heartbeat; False if its nonce was seen before (a replay)."""
        with self.tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO heartbeats VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (beat.provider.lower(), beat.nonce.hex(), slot, beat.timestamp, time.time(),
                              beat.jobs_running, beat.gpu_util_bps, beat.uptime_s))
            return cur.rowcount == 1

    def heartbeat_slots(self, provider: str, first: int, last: int) -> set[int]:
        rows = self.query("SELECT DISTINCT slot FROM heartbeats WHERE provider = ? AND slot BETWEEN ? AND ?",
                          (provider.lower(), first, last))
        return {int(r[0]) for r in rows}  # type: ignore[call-overload]

    def last_heartbeat(self, provider: str) -> float | None:
        rows = self.query("SELECT MAX(received_at) FROM heartbeats WHERE provider = ?", (provider.lower(),))
        return float(rows[0][0]) if rows and rows[0][0] is not None else None  # type: ignore[arg-type]

    # -- slots -----------------------------------------------------------------------------
    def watch(self, provider: str) -> Watch | None:
        rows = self.query("SELECT evaluated, streak_start, streak, reported_period FROM watch WHERE provider = ?",
                          (provider.lower(),))
        return Watch(*rows[0]) if rows else None  # type: ignore[arg-type]

    def start_watch(self, provider: str, before_slot: int) -> None:
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO watch (provider, evaluated) VALUES (?, ?)",
                       (provider.lower(), before_slot))

    def judge(self, provider: str, slot: int, expected: bool, kept: bool, streak_start: int | None,
              streak: int) -> None:
        """Records one slot's verdict and the miss streak after it, in one transaction."""
        with self.tx() as db:
            if expected:
                db.execute("INSERT OR REPLACE INTO slots VALUES (?, ?, ?)", (provider.lower(), slot, int(kept)))
            db.execute("UPDATE watch SET evaluated = ?, streak_start = ?, streak = ? WHERE provider = ?",
                       (slot, streak_start, streak, provider.lower()))

    def slot_counts(self, provider: str, first: int, last: int) -> tuple[int, int]:
        """(kept, expected) over slots first..last."""
        rows = self.query("SELECT COALESCE(SUM(kept), 0), COUNT(*) FROM slots WHERE provider = ? AND slot BETWEEN ? "
                          "AND ?", (provider.lower(), first, last))
        return int(rows[0][0]), int(rows[0][1])  # type: ignore[call-overload]

    def longest_miss_run(self, provider: str, first: int, last: int) -> int:
        rows = self.query("SELECT slot, kept FROM slots WHERE provider = ? AND slot BETWEEN ? AND ? ORDER BY slot",
                          (provider.lower(), first, last))
        best = run = 0
        previous: int | None = None
        for row in rows:
            slot, kept = int(row[0]), row[1]  # type: ignore[call-overload]
            if kept or (previous is not None and slot != previous + 1):
                run = 0
            if not kept:
                run += 1
                best = max(best, run)
            previous = slot
        return best

    def set_reported(self, provider: str, period: int) -> None:
        with self.tx() as db:
            db.execute("UPDATE watch SET reported_period = ? WHERE provider = ?", (period, provider.lower()))

    # -- challenges ------------------------------------------------------------------------
    def add_challenge(self, nonce: bytes, provider: str, job_id: str, cid: str, offset: int, length: int) -> bool:
        with self.tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO challenges (nonce, provider, job_id, cid, offset, length, "
                             "issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (nonce.hex(), provider.lower(), job_id, cid, offset, length, time.time()))
            return cur.rowcount == 1

    def finish_challenge(self, nonce: bytes, outcome: ChallengeOutcome, response_ms: int | None,
                         detail: str | None) -> None:
        with self.tx() as db:
            db.execute("UPDATE challenges SET outcome = ?, response_ms = ?, detail = ? WHERE nonce = ?",
                       (outcome, response_ms, detail, nonce.hex()))

    def challenges(self, provider: str, since: float = 0.0, until: float = float("inf")) -> list[ChallengeRecord]:
        rows = self.query("SELECT nonce, provider, job_id, cid, offset, length, issued_at, response_ms, outcome, "
                          "detail FROM challenges WHERE provider = ? AND issued_at >= ? AND issued_at < ? "
                          "ORDER BY issued_at", (provider.lower(), since, min(until, 1e18)))
        return [_challenge(r) for r in rows]

    # -- what was sent on-chain ------------------------------------------------------------
    def action(self, kind: ActionKind, key: str) -> ActionStatus | ChallengeOutcome | None:
        rows = self.query("SELECT status FROM actions WHERE kind = ? AND key = ?", (kind, key))
        return status_of(str(rows[0][0])) if rows else None

    def record_action(self, kind: ActionKind, key: str, provider: str | None, status: ActionStatus | ChallengeOutcome,
                      detail: str = "") -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO actions VALUES (?, ?, ?, ?, ?, ?)",
                       (kind, key, provider.lower() if provider else None, detail, status, time.time()))

    def actions(self, kind: ActionKind | None = None, status: ActionStatus | None = None) -> list[Action]:
        where = [(c, v) for c, v in (("kind", kind), ("status", status)) if v is not None]
        sql = "SELECT kind, key, provider, detail, status FROM actions"
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
        rows = self.query(sql + " ORDER BY at", tuple(v for _, v in where))
        return [Action(ActionKind(str(kind_)), str(key), None if provider is None else str(provider),
                       "" if detail is None else str(detail),
                       status_of(str(status_)))
                for kind_, key, provider, detail, status_ in rows]


def _challenge(row: tuple[object, ...]) -> ChallengeRecord:
    record = ChallengeRecord(*row)  # type: ignore[arg-type]
    return replace(record, outcome=None if record.outcome is None else ChallengeOutcome(record.outcome))
