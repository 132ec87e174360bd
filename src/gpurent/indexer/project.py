"""Turns decoded events into rows: one ``Projector`` per database transaction.

Inside the reorg window every change to a state table first saves the row's before-image in
``undo``, so ``rollback_to`` can put the tables back exactly as they were at any recent block;
below the window (deep backfill) nothing can reorg any more and writes go straight through.
History tables carry their block number and are trimmed by it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, insert, select

from gpurent.indexer.events import DecodedEvent
from gpurent.indexer.bulk import insert_rows, update_rows
from gpurent.indexer import schema as s
from gpurent.types import DisputeOutcome, JobStatus, PenaltyReason
from gpurent.units import TOKEN, to_base_units

# the enums' names as the tables keep them: "provider_fault", "data_fraud", ...
OUTCOMES = {int(o): o.name.lower() for o in DisputeOutcome if o != DisputeOutcome.NONE}
PENALTIES = {int(r): r.name.lower() for r in PenaltyReason}
STATE_TABLES = {t.name: t for t in (s.gpu_resources, s.providers, s.instance_history, s.images, s.disputes)}
HISTORY_TABLES = (s.job_status_history, s.reputation_history)


def tokens(units: int) -> str:
    """Exact decimal tokens, plain notation: 7.35, 100, 0.000001."""
    return format((Decimal(units) / TOKEN).normalize(), "f") if units else "0"


def micro(units: int) -> int:
    return units // (TOKEN // 10**6)


class RowCache:
    """Write-behind rows of one state table for one transaction: each row is read at most once,
    changed in memory, and written back with one executemany per table at ``flush``."""

    def __init__(self, db: Connection, table: Table):
        self.db, self.table = db, table
        self.rows: dict[tuple[Any, ...], dict[str, Any] | None] = {}  # None: no such row
        self.existed: dict[tuple[Any, ...], bool] = {}
        self.changed: set[tuple[Any, ...]] = set()
        self.keys = [c.name for c in table.primary_key.columns]

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        if key not in self.rows:
            where = and_(*(self.table.c[k] == v for k, v in zip(self.keys, key, strict=True)))
            row = self.db.execute(select(self.table).where(where)).mappings().first()
            self.rows[key] = dict(row) if row else None
            self.existed[key] = row is not None
        return self.rows[key]

    def prefetch(self, keys: set[tuple[Any, ...]]) -> None:
        """Loads many rows in one query per 500 keys (single-column keys)."""
        wanted = [k for k in keys if k not in self.rows]
        column = self.table.c[self.keys[0]]
        for i in range(0, len(wanted), 500):
            chunk = [k[0] for k in wanted[i:i + 500]]
            found = {row[self.keys[0]]: dict(row) for row in
                     self.db.execute(select(self.table).where(column.in_(chunk))).mappings()}
            for value in chunk:
                self.rows[(value,)] = found.get(value)
                self.existed[(value,)] = value in found

    def put(self, key: tuple[Any, ...], row: dict[str, Any]) -> None:
        self.get(key)
        self.rows[key] = row
        self.changed.add(key)

    def flush(self) -> None:
        present = {k: row for k in self.changed if (row := self.rows[k]) is not None}
        inserts = [row for k, row in present.items() if not self.existed[k]]
        updates = [row for k, row in present.items() if self.existed[k]]
        insert_rows(self.db, self.table, inserts)
        update_rows(self.db, self.table, self.keys, updates)
        for key in self.changed:
            self.existed[key] = self.rows[key] is not None
        self.changed.clear()


class Projector:
    """Applies events to the tables within one transaction; call ``flush`` before commit."""

    def __init__(self, db: Connection, undo_from: int):
        self.db = db
        self.undo_from = undo_from  # blocks at or above this are in the reorg window
        self.block = 0
        self.timestamp = 0
        self.dirty: set[str] = set()  # providers whose score may have moved (read at the batch end)
        self.caches = {name: RowCache(db, table) for name, table in STATE_TABLES.items()}
        self._events: list[dict[str, Any]] = []
        self._history: dict[str, list[dict[str, Any]]] = {t.name: [] for t in HISTORY_TABLES}
        self._undo: list[dict[str, Any]] = []
        self._saved: set[tuple[int, str, tuple[Any, ...]]] = set()

    # -- rows ------------------------------------------------------------------------------
    def prefetch(self, events: list[DecodedEvent]) -> None:
        """Reads every row the events will touch, one query per table (not one per event)."""
        wanted: dict[str, set[tuple[Any, ...]]] = {name: set() for name in self.caches}
        for e in events:
            a = e.args
            if "jobId" in a:
                wanted["instance_history"].add((a["jobId"],))
                if e.name in ("JobDisputed", "DisputeResolved"):
                    wanted["disputes"].add((a["jobId"],))
            if "resourceId" in a:
                wanted["gpu_resources"].add((a["resourceId"],))
            if "provider" in a and e.contract in ("ResourceRegistry", "ReputationSystem"):
                wanted["providers"].add((a["provider"],))
            if e.name == "JobCreated":
                wanted["images"].add((a["imageCID"],))
        for name, keys in wanted.items():
            if keys:
                self.caches[name].prefetch(keys)
        jobs = self.caches["instance_history"].rows  # settlements read their job's provider
        wanted_providers = {(row["provider_address"],) for row in jobs.values() if row is not None}
        if wanted_providers:
            self.caches["providers"].prefetch(wanted_providers)

    def _cache(self, table: Table) -> RowCache:
        return self.caches[table.name]

    def row(self, table: Table, key: dict[str, Any]) -> dict[str, Any] | None:
        return self._cache(table).get(tuple(key.values()))

    def _save(self, table: Table, key: tuple[Any, ...]) -> None:
        """Inside the reorg window: the row's state before this block's first change to it."""
        if self.block < self.undo_from or (self.block, table.name, key) in self._saved:
            return
        self._saved.add((self.block, table.name, key))
        before = self._cache(table).get(key)
        keys = self._cache(table).keys
        self._undo.append({"block_number": self.block, "table_name": table.name,
                           "row_key": json.dumps(dict(zip(keys, key, strict=True))),
                           "before": json.dumps(before, default=str) if before is not None else None})

    def insert(self, table: Table, values: dict[str, Any]) -> None:
        key = tuple(values[k] for k in self._cache(table).keys)
        self._save(table, key)
        self._cache(table).put(key, dict(values))

    def update(self, table: Table, key: dict[str, Any], **values: Any) -> None:
        cache, k = self._cache(table), tuple(key.values())
        row = cache.get(k)
        if row is None:
            return  # an event about a row this index never saw created (e.g. before the deployment)
        self._save(table, k)
        cache.put(k, {**row, **values})

    def history(self, table: Table, **values: Any) -> None:
        self._history[table.name].append({"block_number": self.block, **values})

    def flush(self) -> None:
        insert_rows(self.db, s.events, self._events)
        for table in HISTORY_TABLES:
            insert_rows(self.db, table, self._history[table.name])
        insert_rows(self.db, s.undo, self._undo)
        for cache in self.caches.values():
            cache.flush()
        self._events, self._undo = [], []
        self._history = {t.name: [] for t in HISTORY_TABLES}

    # -- events ----------------------------------------------------------------------------
    def apply(self, event: DecodedEvent, timestamp: int) -> None:
        self.block, self.timestamp = event.block_number, timestamp
        self._events.append({"block_number": event.block_number, "log_index": event.log_index,
                             "tx_hash": event.tx_hash, "block_hash": event.block_hash, "contract": event.contract,
                             "name": event.name, "args": json.dumps(event.args, default=str)})
        handler = getattr(self, f"on_{event.name}", None)
        if handler is not None:
            handler(event.args, event)

    # ResourceRegistry
    def on_ProviderRegistered(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self.insert(s.providers, {"address": a["provider"], "endpoint": a["endpoint"], "stake_tokens": tokens(a["stake"]),
                                  "registered_block": self.block, "penalty_points": 0, "reports": 0,
                                  "updated_block": self.block, "score": None, "uptime_bps": None,
                                  "response_bps": None})
        self.dirty.add(a["provider"])  # its starting score

    def on_EndpointUpdated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self.update(s.providers, {"address": a["provider"]}, endpoint=a["endpoint"], updated_block=self.block)

    def on_Staked(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self.update(s.providers, {"address": a["provider"]}, stake_tokens=tokens(a["totalStake"]),
                    updated_block=self.block)

    def on_StakeWithdrawn(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self.update(s.providers, {"address": a["provider"]}, stake_tokens="0", updated_block=self.block)

    def on_Slashed(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self.update(s.providers, {"address": a["provider"]}, stake_tokens=tokens(a["remaining"]),
                    updated_block=self.block)
        self._reputation(a["provider"], e, "slash", {"amount": tokens(a["amount"]), "reason": a["reason"]})

    def on_ResourceRegistered(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self.insert(s.gpu_resources, {
            "id": a["resourceId"], "provider_address": a["provider"], "gpu_model": a["gpuModel"], "vcpu": a["vcpu"],
            "memory_gb": a["memoryGB"], "storage_gb": a["storageGB"],
            "price_per_hour_tokens": tokens(a["pricePerHour"]), "price_per_hour_micro": micro(a["pricePerHour"]),
            "availability": True, "retired": False, "reputation_score": 0, "total_uptime": 0,
            "registered_block": self.block, "updated_block": self.block})

    def _gpu(self, a: dict[str, Any], **values: Any) -> None:
        self.update(s.gpu_resources, {"id": a["resourceId"]}, updated_block=self.block, **values)

    def on_AvailabilityUpdated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._gpu(a, availability=bool(a["available"]))

    def on_PricingUpdated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._gpu(a, price_per_hour_tokens=tokens(a["newPrice"]), price_per_hour_micro=micro(a["newPrice"]))

    def on_ResourceRetired(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._gpu(a, retired=True, availability=False)

    def on_UptimeUpdated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._gpu(a, total_uptime=a["totalUptime"])

    def on_ResourceReputationUpdated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._gpu(a, reputation_score=a["reputation"])

    # Marketplace
    def _status(self, job_id: str, status: JobStatus, e: DecodedEvent, **values: Any) -> None:
        self.update(s.instance_history, {"id": job_id}, status=status.label, updated_block=self.block, **values)
        if status.terminal:  # settlements move the provider's score
            job = self.row(s.instance_history, {"id": job_id})
            if job is not None:
                self.dirty.add(job["provider_address"])
        self.history(s.job_status_history, job_id=job_id, status=status.label, log_index=e.log_index,
                     timestamp=self.timestamp)

    def on_JobCreated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        job_id, resource_id = a["jobId"], a["resourceId"]
        self.insert(s.instance_history, {
            "id": job_id, "instance_id": int(job_id[-24:], 16), "user_address": a["user"],
            "provider_address": _address_in(resource_id), "resource_id": resource_id, "image_cid": a["imageCID"],
            "status": JobStatus.CREATED.label, "price_per_hour_tokens": tokens(a["pricePerHour"]),
            "estimated_duration": a["estimatedDuration"], "max_cost_tokens": tokens(a["maxCost"]),
            "start_time": None, "end_time": None, "total_cost_tokens": None,
            "created_block": self.block, "updated_block": self.block})
        self.history(s.job_status_history, job_id=job_id, status=JobStatus.CREATED.label, log_index=e.log_index,
                     timestamp=self.timestamp)
        cid = a["imageCID"]
        image = self.row(s.images, {"cid": cid})
        if image is not None:
            self.update(s.images, {"cid": cid}, download_count=image["download_count"] + 1)
        else:
            self.insert(s.images, {"cid": cid, "name": None, "size": None, "uploader": None, "download_count": 1,
                                   "created_at": self.timestamp})

    def on_JobExtended(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        """The renter booked more: the job's duration and its cap (what is locked) grow."""
        job = self.row(s.instance_history, {"id": a["jobId"]})
        if job is None:
            return  # a job this index never saw created
        locked = to_base_units(job["max_cost_tokens"]) + a["extraCost"]
        self.update(s.instance_history, {"id": a["jobId"]}, estimated_duration=a["newDuration"],
                    max_cost_tokens=tokens(locked), updated_block=self.block)

    def on_JobAccepted(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._status(a["jobId"], JobStatus.ACCEPTED, e)

    def on_JobStarted(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._status(a["jobId"], JobStatus.RUNNING, e, start_time=a["startTime"])

    def on_JobCompleted(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._status(a["jobId"], JobStatus.COMPLETED, e, end_time=self.timestamp,
                     total_cost_tokens=tokens(a["finalCost"]))

    def on_JobCancelled(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._status(a["jobId"], JobStatus.CANCELLED, e, end_time=self.timestamp, total_cost_tokens="0")

    def on_JobDisputed(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._status(a["jobId"], JobStatus.DISPUTED, e, end_time=self.timestamp)
        self.insert(s.disputes, {"job_id": a["jobId"], "initiator": a["initiator"], "reason": a["reason"],
                                 "raised_block": self.block, "outcome": None, "final_cost_tokens": None,
                                 "resolver": None, "evidence_cid": None, "resolved_block": None})

    def on_DisputeResolved(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._status(a["jobId"], JobStatus.RESOLVED, e, total_cost_tokens=tokens(a["finalCost"]))
        self.update(s.disputes, {"job_id": a["jobId"]}, outcome=OUTCOMES.get(a["outcome"], str(a["outcome"])),
                    final_cost_tokens=tokens(a["finalCost"]), resolver=a["resolver"],
                    evidence_cid=a["evidenceCID"] or None, resolved_block=self.block)

    # ReputationSystem
    def _reputation(self, provider: str, e: DecodedEvent, kind: str, detail: dict[str, Any]) -> None:
        self.dirty.add(provider)
        self.history(s.reputation_history, provider_address=provider, log_index=e.log_index, kind=kind,
                     detail=json.dumps(detail))

    def on_ReputationUpdated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self.update(s.providers, {"address": a["provider"]}, score=a["score"], uptime_bps=a["uptimeBps"],
                    response_bps=a["responseBps"], updated_block=self.block)
        self._reputation(a["provider"], e, "score", {"score": a["score"], "uptime_bps": a["uptimeBps"],
                                                     "response_bps": a["responseBps"]})

    def on_PenaltyApplied(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        provider = self.row(s.providers, {"address": a["provider"]})
        if provider is not None:
            self.update(s.providers, {"address": a["provider"]},
                        penalty_points=provider["penalty_points"] + a["points"], updated_block=self.block)
        self._reputation(a["provider"], e, "penalty", {"reason": PENALTIES.get(a["reason"], a["reason"]),
                                                       "points": a["points"], "incident": a["incident"]})

    def on_RewardIssued(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        self._reputation(a["provider"], e, "reward", {"bonus": a["bonus"]})

    def on_PenaltyPointsUpdated(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        # lost disputes are priced retroactively: every provider's score may move
        self.dirty.update(self.db.execute(select(s.providers.c.address)).scalars())
        self.dirty.update(k[0] for k, row in self.caches["providers"].rows.items() if row is not None)

    def set_scores(self, scores: dict[str, int]) -> None:
        for provider, score in scores.items():
            self.update(s.providers, {"address": provider}, score=score)

    def on_ValidationReported(self, a: dict[str, Any], e: DecodedEvent) -> None:  # noqa: N802
        provider = self.row(s.providers, {"address": a["provider"]})
        if provider is not None:
            self.update(s.providers, {"address": a["provider"]}, reports=provider["reports"] + 1,
                        updated_block=self.block)
        self._reputation(a["provider"], e, "report", {k: a[k] for k in (
            "period", "heartbeatsKept", "heartbeatsExpected", "challengesPassed", "challengesFailed",
            "avgResponseTimeMs")})


def _address_in(packed_id: str) -> str:
    """The owner address in the top 20 bytes of a job or resource id (lower case, like every
    address in the index)."""
    return "0x" + packed_id.removeprefix("0x")[:40].lower()


def rollback_to(db: Connection, block: int) -> int:
    """Puts every table back as it was after ``block``: returns the number of undone changes."""
    rows = db.execute(select(s.undo).where(s.undo.c.block_number > block).order_by(s.undo.c.id.desc())).mappings().all()
    for row in rows:
        table = STATE_TABLES[row["table_name"]]
        key = json.loads(row["row_key"])
        db.execute(delete(table).where(and_(*(table.c[k] == v for k, v in key.items()))))
        if row["before"] is not None:
            db.execute(insert(table).values(**json.loads(row["before"])))
    for table in (*HISTORY_TABLES, s.events):
        db.execute(delete(table).where(table.c.block_number > block))
    db.execute(delete(s.undo).where(s.undo.c.block_number > block))
    db.execute(delete(s.blocks).where(s.blocks.c.number > block))
    return len(rows)


def count_rows(db: Connection) -> dict[str, int]:
    return {t.name: int(db.execute(select(func.count()).select_from(t)).scalar_one()) for t in s.metadata.sorted_tables}
