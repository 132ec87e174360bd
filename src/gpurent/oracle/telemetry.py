"""The oracle's metrics (``GET /metrics`` on its HTTP endpoint): heartbeats received and
judged (kept or missed, per provider: the label set is the providers it watches), challenges
by outcome, reports and penalties by status, transactions that failed, and the disputes it
has not ruled on yet (how many, and how long the oldest has waited)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gpurent.monitoring import Exposition


class OracleMetrics:
    def __init__(self, exposition: Exposition | None = None):
        self.exposition = exposition or Exposition()
        r = self.exposition.registry
        self.heartbeats_received = Counter("gpurent_oracle_heartbeats_received",
                                           "Heartbeats received, by result (accepted, or why refused)", ["result"],
                                           registry=r)
        self.heartbeat_slots = Counter("gpurent_oracle_heartbeat_slots",
                                       "Heartbeat slots judged while the provider offered GPUs, kept or missed",
                                       ["provider", "verdict"], registry=r)
        self.challenges = Counter("gpurent_oracle_challenges", "Challenges finished, by outcome", ["outcome"],
                                  registry=r)
        self.reports = Counter("gpurent_oracle_reports", "Validation reports, by status", ["status"], registry=r)
        self.penalties = Counter("gpurent_oracle_penalties", "Penalties decided, by reason and status",
                                 ["reason", "status"], registry=r)
        self.transactions_failed = Counter("gpurent_oracle_transactions_failed",
                                           "Transactions that failed to send (kept and retried), by kind", ["kind"],
                                           registry=r)
        for kind in ("penalty", "report", "dispute"):  # each series exists from the start: increase() sees the first
            self.transactions_failed.labels(kind)
        self.disputes = DisputeCollector()
        r.register(self.disputes)


class DisputeCollector(Collector):
    """Disputes this oracle has seen raised and not yet ruled on (since it started)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}  # job id -> when this oracle first saw it pending (wall clock)

    def pending(self, job_id: str) -> None:
        with self._lock:
            self._seen.setdefault(job_id, time.time())

    def done(self, job_id: str) -> None:
        with self._lock:
            self._seen.pop(job_id, None)

    def collect(self) -> Iterator[Any]:
        with self._lock:
            seen = list(self._seen.values())
        yield GaugeMetricFamily("gpurent_oracle_disputes_pending", "Disputes raised and not yet ruled on",
                                value=len(seen))
        yield GaugeMetricFamily("gpurent_oracle_dispute_oldest_wait_seconds",
                                "Seconds the oldest unruled dispute has waited since this oracle saw it",
                                value=max(0.0, time.time() - min(seen)) if seen else 0.0)
