"""Every service's ``GET /metrics``, scraped for real and parsed with prometheus_client's text
parser: the gateway and the indexer (over an indexed chain story), the oracle (a real
`gpurent-oracle run` process) and the provider agent's endpoint (its HttpServer with the
agent's metrics, on the session's Kubo; no containers). Every metric the alert rules read must
be exported by one of them, so no rule can watch a name nothing serves."""

from __future__ import annotations

import time
from decimal import Decimal

import requests
from prometheus_client.parser import text_string_to_metric_families

from gpurent.agent.telemetry import AgentMetrics
from gpurent.monitoring.exposition import CONTENT_TYPE
from gpurent.types import AgentPhase
from tests.ops.promql import dashboard_queries, exposed, metric_names, series_names


def scrape(url: str) -> str:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == CONTENT_TYPE
    return response.text


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, frozenset(labels.items()))]


def test_every_service_serves_its_metrics(stack, gp):
    """One stack (its start is most of the time), every check on it."""
    urls, agent, _, story = stack
    check_dispute_window_read_from_the_chain(gp, story["jobs"]["dispute"][0])
    check_gateway_routes_codes_and_buckets(urls["gateway"])
    check_gateway_metrics_pass_the_guard(urls["gateway"])
    check_index_business_and_chain(urls["indexer"])
    assert agent.state.on_phase == agent.telemetry.phase and agent.cache.on_ensure is not None  # wired
    check_agent_phases_and_ipfs_peers(urls["provider"], agent.telemetry)
    check_rules_metrics_exported(urls)


def check_dispute_window_read_from_the_chain(gp, job_id) -> None:
    """What the oracle reads once per dispute for its deadline share: the job's last change and
    its terms' dispute timeout (the oracle's own method, on the real chain)."""
    from types import SimpleNamespace

    from gpurent.oracle.oracle import Oracle

    window = Oracle._dispute_window(SimpleNamespace(gp=gp), "0x" + bytes(job_id).hex())  # type: ignore[arg-type]
    assert window is not None and window[0] > 0 and window[1] > 0, window


def check_rules_metrics_exported(urls: dict[str, str]) -> None:
    texts = {service: scrape(url) for service, url in urls.items()}
    served = set().union(*(exposed(text) for text in texts.values()))
    missing = metric_names() - served
    assert not missing, f"the alert rules read metrics no service exports: {sorted(missing)}"
    read = {name for _, expr in dashboard_queries() for name in series_names(expr) if name.startswith("gpurent_")}
    assert not read - served, f"the dashboards read metrics no service exports: {sorted(read - served)}"


def check_index_business_and_chain(url: str) -> None:
    text = scrape(url)
    assert value(text, "gpurent_jobs_created_total") == 3  # busy_chain's story: completed, cancelled, disputed
    assert value(text, "gpurent_providers") == 1 and value(text, "gpurent_renters") == 1
    assert value(text, "gpurent_gpus") == 1 and value(text, "gpurent_gpus_available") == 1  # the other retired
    assert value(text, "gpurent_jobs_active", status="Running") == 0
    assert Decimal(str(value(text, "gpurent_fees_accrued_tokens_total"))) > 0  # the completed job's fee
    assert value(text, "gpurent_chain_rpc_up") == 1
    assert value(text, "gpurent_chain_head_block") >= value(text, "gpurent_indexer_cursor_block") > 0
    assert value(text, "gpurent_chain_head_gas_limit") > 0 and value(text, "gpurent_chain_head_age_seconds") >= 0
    assert value(text, "gpurent_indexer_events_applied_total") > 0
    assert value(text, "gpurent_indexer_head_lag_blocks") >= 0


def check_gateway_routes_codes_and_buckets(base: str) -> None:
    gpu = "0x" + "ab" * 32
    assert requests.get(f"{base}/api/v1/gpus/{gpu}", timeout=10).status_code == 404
    assert requests.get(f"{base}/api/v1/gpus", timeout=10).status_code == 200
    assert requests.get(f"{base}/no/such/thing", timeout=10).status_code == 404
    time.sleep(1.1)  # the exposition renders at most once a second
    text = scrape(base)
    assert value(text, "gpurent_gateway_http_requests_total", method="GET", route="/api/v1/gpus/{gpu_id}",
                 code="404") == 1
    assert value(text, "gpurent_gateway_http_requests_total", method="GET", route="/api/v1/gpus", code="200") == 1
    assert value(text, "gpurent_gateway_http_requests_total", method="GET", route="(unmatched)", code="404") == 1
    les = {dict(labels)["le"] for (name, labels) in samples(text) if name.endswith("_duration_seconds_bucket")}
    assert {"2.0", "5.0", "10.0", "+Inf"} <= les
    assert not any(gpu in line for line in text.splitlines())  # a client's path never becomes a label


def check_gateway_metrics_pass_the_guard(base: str) -> None:
    """/metrics is a route like the others (behind the Guard: counted in the per-IP limit),
    rendered at most once a second."""
    first = requests.get(f"{base}/metrics", timeout=10)
    again = requests.get(f"{base}/metrics", timeout=10)
    assert first.text == again.text  # the second within the second: the same rendering
    assert first.headers["x-content-type-options"] == "nosniff"  # the Guard's headers: it passed the Guard


def check_agent_phases_and_ipfs_peers(url: str, metrics: AgentMetrics) -> None:
    for phase in (AgentPhase.QUEUED, AgentPhase.PULLING, AgentPhase.PULLED, AgentPhase.STARTING, AgentPhase.RUNNING,
                  AgentPhase.EXITED):
        metrics.phase("0x01", phase)
    metrics.cache.labels("hit").inc()
    time.sleep(1.1)
    text = scrape(url)
    for phase in ("pull", "start", "run"):
        assert value(text, "gpurent_provider_job_phase_duration_seconds_count", phase=phase) == 1
    assert value(text, "gpurent_provider_job_phases_total", phase="exited") == 1
    assert value(text, "gpurent_provider_image_cache_requests_total", result="hit") == 1
    assert value(text, "gpurent_provider_ipfs_up") == 1
    assert value(text, "gpurent_provider_ipfs_peers") >= 0
