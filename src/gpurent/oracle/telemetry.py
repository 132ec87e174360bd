"""The oracle's metrics (``GET /metrics`` on its HTTP endpoint): heartbeats received and
judged (kept or missed, per provider: the label set is the providers it watches), challenges
by outcome, reports and penalties by status, transactions that failed, and the disputes it
has not ruled on yet (how many, and how long the oldest has waited)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
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
    """Disputes this oracle has seen raised and not yet ruled on (since it started): how many,
    how long the oldest has waited, and how much of its deadline the nearest to its own has used
    (``(now - disputed at) / dispute timeout``, from the job's own terms, read once per dispute)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}  # job id -> when this oracle first saw it pending (wall clock)
        self._windows: dict[str, tuple[float, float]] = {}  # job id -> (disputed at, timeout), chain seconds

    def knows(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._seen

    def pending(self, job_id: str, window: tuple[float, float] | None = None) -> None:
        """``job_id`` waits for a ruling; ``window``: (when it was disputed, its dispute timeout)."""
        with self._lock:
            self._seen.setdefault(job_id, self.clock())
            if window is not None and window[1] > 0:
                self._windows.setdefault(job_id, window)

    def done(self, job_id: str) -> None:
        with self._lock:
            self._seen.pop(job_id, None)
            self._windows.pop(job_id, None)

    def collect(self) -> Iterator[Any]:
        now = self.clock()
        with self._lock:
            seen = list(self._seen.values())
            windows = list(self._windows.values())
        yield GaugeMetricFamily("gpurent_oracle_disputes_pending", "Disputes raised and not yet ruled on",
                                value=len(seen))
        yield GaugeMetricFamily("gpurent_oracle_dispute_oldest_wait_seconds",
                                "Seconds the oldest unruled dispute has waited since this oracle saw it",
                                value=max(0.0, now - min(seen)) if seen else 0.0)
        yield GaugeMetricFamily("gpurent_oracle_dispute_deadline_used_ratio",
                                "Of the unruled disputes, the largest share of its dispute timeout already gone "
                                "(1: anyone may settle it as a split)",
                                value=max(((now - at) / timeout for at, timeout in windows), default=0.0))
