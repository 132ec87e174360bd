"""The indexer's metrics (``GET /metrics`` on its GraphQL port).

- **its own work**: head lag in blocks, events applied (a counter: ``rate()`` is events per
  second), reorgs, the database pool's connections in use;
- **the chain** (Anvil has no metrics endpoint of its own): the head's number, its age in
  seconds and its gas used, read with one ``eth_getBlockByNumber`` when scraped;
- **the business**, from the index: active jobs by status, jobs created (a counter of the
  index's rows), fees accrued, providers, renters, GPUs available.

Every read happens at collection, and collection is bounded: the exposition renders at most
once a second, the business queries run at most once per ``business_ttl_s`` (15 s) whatever
the scrape rate, the fee sum reads at most ``FEE_ROWS`` new event rows per collection (it
catches up over several on a large index), and the chain read times out after 2 s.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, select

from gpurent.indexer import schema as s
from gpurent.indexer.rpc import JsonRpc
from gpurent.types import JobStatus
from gpurent.units import TOKEN

if TYPE_CHECKING:
    from gpurent.indexer.indexer import Indexer

log = logging.getLogger("gpurent.indexer")

ACTIVE = tuple(st.label for st in (JobStatus.CREATED, JobStatus.ACCEPTED, JobStatus.RUNNING, JobStatus.DISPUTED))
FEE_ROWS = 10_000  # event rows read per collection for the fee sum
CHAIN_TIMEOUT_S = 2.0


class IndexerCollector(Collector):
    """The indexer's own progress and its database pool (no query: what it already knows)."""

    def __init__(self, indexer: Indexer):
        self.indexer = indexer

    def collect(self) -> Iterator[Any]:
        p = self.indexer.progress
        yield GaugeMetricFamily("gpurent_indexer_head_block", "The chain's head as the indexer last read it", value=p.head)
        yield GaugeMetricFamily("gpurent_indexer_cursor_block", "The last block applied to the index", value=p.cursor)
        yield GaugeMetricFamily("gpurent_indexer_head_lag_blocks", "Blocks between the chain's head and the index",
                                value=max(0, p.head - p.cursor))
        yield CounterMetricFamily("gpurent_indexer_events_applied", "Events applied to the index since the start",
                                  value=p.events)
        yield CounterMetricFamily("gpurent_indexer_reorgs", "Reorgs rolled back since the start", value=p.reorgs)
        pool = self.indexer.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        in_use = checked_out() if callable(checked_out) else 0
        yield GaugeMetricFamily("gpurent_indexer_db_connections_in_use", "Database connections the pool has lent out",
                                value=float(in_use))
        size = getattr(pool, "size", None)
        if callable(size):
            yield GaugeMetricFamily("gpurent_indexer_db_pool_size", "Connections the database pool keeps",
                                    value=float(size()))


class ChainCollector(Collector):
    """The chain's head block, read when scraped (Anvil serves no metrics of its own)."""

    def __init__(self, rpc_url: str):
        self.rpc = JsonRpc(rpc_url, timeout_s=CHAIN_TIMEOUT_S)

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("gpurent_chain_rpc_up", "Whether the chain's JSON-RPC answered this scrape")
        try:
            block = self.rpc.call("eth_getBlockByNumber", "latest", False)
            number, stamp, gas = (int(block[k], 16) for k in ("number", "timestamp", "gasUsed"))
            limit = int(block.get("gasLimit", "0x0"), 16)
        except Exception as err:  # noqa: BLE001 - a scrape says the node is down, it never fails
            log.debug("chain exporter: %s", err)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("gpurent_chain_head_block", "The chain's latest block number", value=number)
        yield GaugeMetricFamily("gpurent_chain_head_timestamp_seconds", "The latest block's timestamp", value=stamp)
        yield GaugeMetricFamily("gpurent_chain_head_age_seconds", "Seconds since the latest block's timestamp",
                                value=max(0.0, time.time() - stamp))
        yield GaugeMetricFamily("gpurent_chain_head_gas_used", "Gas used by the latest block", value=gas)
        yield GaugeMetricFamily("gpurent_chain_head_gas_limit", "Gas limit of the latest block", value=limit)


@dataclass
class _Business:
    jobs_by_status: dict[str, int] = field(default_factory=dict)
    jobs_created: int = 0
    providers: int = 0
    renters: int = 0
    gpus_available: int = 0
    gpus: int = 0


class BusinessCollector(Collector):
    """What the protocol is doing, from the index: at most one round of queries per
    ``ttl_s``; the fee sum is kept as a running total over the events table's ids."""

    def __init__(self, engine: Any, ttl_s: float = 15.0):
        self.engine, self.ttl_s = engine, ttl_s
        self._lock = threading.Lock()
        self._at = -float("inf")
        self._last = _Business()
        self._fee_id = 0  # events rows up to this id are in the fee sum
        self._fees = Decimal(0)

    def _read(self) -> _Business:
        gpu = s.gpu_resources.c
        with self.engine.connect() as db:
            jobs = s.instance_history.c
            by_status = {str(st): int(n) for st, n in db.execute(
                select(jobs.status, func.count()).group_by(jobs.status)).all()}
            renters = db.execute(select(func.count(func.distinct(jobs.user_address)))).scalar_one()
            providers = db.execute(select(func.count()).select_from(s.providers)).scalar_one()
            gpus = db.execute(select(func.count()).select_from(s.gpu_resources).where(gpu.retired.is_(False))).scalar_one()
            available = db.execute(select(func.count()).select_from(s.gpu_resources)
                                   .where(and_(gpu.availability.is_(True), gpu.retired.is_(False)))).scalar_one()
            self._sum_fees(db)
        return _Business(by_status, sum(by_status.values()), int(providers), int(renters), int(available), int(gpus))

    def _sum_fees(self, db: Any) -> None:
        """Adds the fees of FundsReleased events past the last row summed (at most FEE_ROWS)."""
        ev = s.events.c
        rows = db.execute(select(ev.id, ev.name, ev.args).where(ev.id > self._fee_id).order_by(ev.id)
                          .limit(FEE_ROWS)).all()
        for row_id, name, args in rows:
            self._fee_id = max(self._fee_id, int(row_id))
            if name == "FundsReleased":
                self._fees += Decimal(int(json.loads(args).get("fee", 0))) / TOKEN

    def collect(self) -> Iterator[Any]:
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.ttl_s:
                try:
                    self._last = self._read()
                except Exception as err:  # noqa: BLE001 - the last values stand; the log says why
                    log.warning("business metrics: the index did not answer: %s", err)
                self._at = now
            b, fees = self._last, self._fees
        active = GaugeMetricFamily("gpurent_jobs_active", "Jobs not yet ended, by status", labels=["status"])
        for status in ACTIVE:
            active.add_metric([status], b.jobs_by_status.get(status, 0))
        yield active
        yield CounterMetricFamily("gpurent_jobs_created", "Jobs created on chain (the index's count)",
                                  value=b.jobs_created)
        yield CounterMetricFamily("gpurent_fees_accrued_tokens", "Platform fees accrued on released escrow, in tokens",
                                  value=float(fees))
        yield GaugeMetricFamily("gpurent_providers", "Providers registered", value=b.providers)
        yield GaugeMetricFamily("gpurent_renters", "Addresses that created at least one job", value=b.renters)
        yield GaugeMetricFamily("gpurent_gpus", "GPUs registered and not retired", value=b.gpus)
        yield GaugeMetricFamily("gpurent_gpus_available", "GPUs offered for rent now", value=b.gpus_available)
