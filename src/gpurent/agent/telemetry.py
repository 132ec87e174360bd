"""The provider agent's metrics (``GET /metrics`` on its endpoint; the jobs' own usage stays at
``/jobs/<id>/metrics``, signed-in, see :mod:`gpurent.agent.metrics`).

- job phases entered (a counter by phase) and the time spent pulling, starting and running (a
  histogram by phase, observed when the job leaves it);
- heartbeats sent, refused or failed; challenges answered by outcome;
- container engine errors by operation; image cache hits and misses;
- the node's IPFS peers, asked of Kubo when scraped (at most every 15 s, 2 s timeout).

A phase entered before the agent restarted is counted again when re-entered, and not timed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gpurent.monitoring import PHASE_BUCKETS, Exposition
from gpurent.types import AgentPhase

log = logging.getLogger("gpurent.provider")

TIMED = {AgentPhase.PULLING: "pull", AgentPhase.STARTING: "start", AgentPhase.RUNNING: "run"}
PEERS_TTL_S, PEERS_TIMEOUT_S = 15.0, 2.0


class AgentMetrics:
    def __init__(self, exposition: Exposition | None = None):
        self.exposition = exposition or Exposition()
        r = self.exposition.registry
        self.phases = Counter("gpurent_provider_job_phases", "Job phases entered", ["phase"], registry=r)
        self.phase_seconds = Histogram("gpurent_provider_job_phase_duration_seconds",
                                       "Time a job spent pulling its image, starting, or running",
                                       ["phase"], buckets=PHASE_BUCKETS, registry=r)
        self.heartbeats = Counter("gpurent_provider_heartbeats", "Heartbeats to an oracle, by result (sent, refused, "
                                  "failed)", ["result"], registry=r)
        self.challenges = Counter("gpurent_provider_challenges", "Oracle challenges, by outcome (answered, refused, "
                                  "malformed, failed)", ["outcome"], registry=r)
        self.engine_errors = Counter("gpurent_provider_engine_errors", "Container engine errors, by operation",
                                     ["operation"], registry=r)
        self.cache = Counter("gpurent_provider_image_cache_requests", "Images asked of the cache: hit (in the engine "
                             "already) or miss (pulled)", ["result"], registry=r)
        for result in ("hit", "miss"):  # both series exist from the start, so a ratio is defined
            self.cache.labels(result)
        for result in ("sent", "refused", "failed"):
            self.heartbeats.labels(result)
        self._entered: dict[str, tuple[AgentPhase, float]] = {}
        self._lock = threading.Lock()

    def phase(self, job_id: str, phase: AgentPhase) -> None:
        """``job_id`` entered ``phase``: counted, and the phase it left timed if it is one of TIMED."""
        now = time.monotonic()
        self.phases.labels(phase.value).inc()
        with self._lock:
            left = self._entered.pop(job_id, None)
            if phase in TIMED:
                self._entered[job_id] = (phase, now)
        if left is not None and left[0] != phase:
            self.phase_seconds.labels(TIMED[left[0]]).observe(now - left[1])
        elif left is not None:
            with self._lock:
                self._entered.setdefault(job_id, left)  # the same phase again: its first entry stands


class PeersCollector(Collector):
    """The IPFS node's connected peers (``ipfs swarm peers``), read at most every PEERS_TTL_S."""

    def __init__(self, kubo_url: str):
        from gpurent.images.kubo import KuboClient

        self.kubo = KuboClient(kubo_url, timeout_s=PEERS_TIMEOUT_S)
        self._at = -float("inf")
        self._peers: int | None = None

    def collect(self) -> Iterator[Any]:
        now = time.monotonic()
        if now - self._at >= PEERS_TTL_S:
            self._at = now
            try:
                self._peers = len(self.kubo.swarm_peers())
            except Exception as err:  # noqa: BLE001 - a scrape says the node is down, it never fails
                log.debug("IPFS peers: %s", err)
                self._peers = None
        yield GaugeMetricFamily("gpurent_provider_ipfs_up", "Whether the IPFS node answered",
                                value=0 if self._peers is None else 1)
        if self._peers is not None:
            yield GaugeMetricFamily("gpurent_provider_ipfs_peers", "Peers the provider's IPFS node is connected to",
                                    value=self._peers)
