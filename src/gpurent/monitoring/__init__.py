"""What every long-running service shares to be watched: one Prometheus registry per service
instance, its ``/metrics`` text rendered at a bounded rate (:mod:`exposition`), the buckets its
histograms use, and the HTTP request metrics of an ASGI app (:mod:`asgi`)."""

from gpurent.monitoring.exposition import LATENCY_BUCKETS, PHASE_BUCKETS, Exposition

__all__ = ["LATENCY_BUCKETS", "PHASE_BUCKETS", "Exposition"]
