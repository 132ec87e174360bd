"""The metrics' own logic, without a service: the exposition's rate bound, the dispute
collector's deadline share, the agent's phase timing."""

from __future__ import annotations

from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families

from gpurent.agent.telemetry import AgentMetrics
from gpurent.monitoring import Exposition
from gpurent.oracle.telemetry import DisputeCollector, OracleMetrics
from gpurent.types import AgentPhase


def values(text: bytes) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text.decode()) for s in f.samples}


def test_exposition_renders_at_most_once_per_interval():
    exposition = Exposition(min_interval_s=3600)
    hits = Counter("gpurent_test_hits", "hits", registry=exposition.registry)
    first = exposition.render()
    hits.inc()
    assert exposition.render() == first  # within the interval: the last rendering
    assert Exposition(min_interval_s=0).render() == b""  # an empty registry, a fresh one


def test_two_services_in_one_process_do_not_collide():
    OracleMetrics()
    OracleMetrics()  # the same names again: each has a registry of its own
    AgentMetrics()
    AgentMetrics()


def test_disputes_deadline_share_and_wait():
    now = [1000.0]
    disputes = DisputeCollector(clock=lambda: now[0])
    disputes.pending("0xa", (900.0, 400.0))  # disputed at 900, 400 s to rule
    disputes.pending("0xb", None)  # its deadline unknown: counted, waits, no share
    now[0] = 1100.0
    disputes.pending("0xa", (0.0, 1.0))  # seen again: its first window stands
    got = {f.name: f.samples[0].value for f in disputes.collect()}
    assert got == {"gpurent_oracle_disputes_pending": 2, "gpurent_oracle_dispute_oldest_wait_seconds": 100.0,
                   "gpurent_oracle_dispute_deadline_used_ratio": 0.5}
    disputes.done("0xa")
    disputes.done("0xb")
    got = {f.name: f.samples[0].value for f in disputes.collect()}
    assert got["gpurent_oracle_disputes_pending"] == 0 and got["gpurent_oracle_dispute_deadline_used_ratio"] == 0


def test_agent_times_each_phase_once_when_left():
    metrics = AgentMetrics(Exposition(min_interval_s=0))
    for phase in (AgentPhase.PULLING, AgentPhase.PULLING, AgentPhase.PULLED, AgentPhase.STARTING,
                  AgentPhase.RUNNING, AgentPhase.COMPLETING):
        metrics.phase("0x1", phase)
    metrics.phase("0x2", AgentPhase.RUNNING)  # still running: not timed yet
    got = values(metrics.exposition.render())
    for phase in ("pull", "start", "run"):
        assert got[("gpurent_provider_job_phase_duration_seconds_count", (("phase", phase),))] == 1
    assert got[("gpurent_provider_job_phases_total", (("phase", "pulling"),))] == 2
    assert got[("gpurent_provider_job_phases_total", (("phase", "running"),))] == 2
