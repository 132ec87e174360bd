"""ops/grafana/: the provisioning Grafana reads (a Prometheus datasource, a file provider) and
the three dashboards, checked without a Grafana (none can be installed here) and without a
chain: every file parses, the uids and titles are unique, every panel and query names the
provisioned datasource, every query is PromQL promtool accepts, and every metric a query reads
is one a gpurent service exports (collected from the services' own registries) or one
Prometheus makes itself, so a typo in a dashboard fails here rather than draw an empty panel."""

from __future__ import annotations

import re
import subprocess
from types import SimpleNamespace

import pytest
import yaml

from tests.ops.promql import GRAFANA, dashboard_queries, dashboards, exposed, panels, series_names
from tests.ops.test_rules import PROMTOOL, needs_promtool

# what Prometheus records of every scrape itself, beside the target's own samples
PROMETHEUS_BUILTINS = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added",
                       "scrape_samples_post_metric_relabeling"}


def datasource() -> dict:
    doc = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert doc["apiVersion"] == 1 and len(doc["datasources"]) == 1
    return doc["datasources"][0]


class StubRpc:
    """The chain's JSON-RPC as the exporter reads it: one head block."""

    def __init__(self, url: str, timeout_s: float = 0.0):
        self.url = url

    def call(self, method: str, *params: object) -> dict:
        assert method == "eth_getBlockByNumber"
        return {"number": "0x10", "timestamp": "0x5", "gasUsed": "0x5208", "gasLimit": "0x1c9c380"}


class StubKubo:
    def __init__(self, url: str, timeout_s: float = 0.0):
        self.url = url

    def swarm_peers(self) -> list[str]:
        return ["peer"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> set[str]:
    """Every sample name the four services' registries can serve, collected from the services'
    own code (no chain, no Kubo: the chain exporter and the peers collector read stubs)."""
    from gpurent.agent.telemetry import AgentMetrics, PeersCollector
    from gpurent.gateway.app import GatewayConfig, make_app
    from gpurent.gateway.auth import Authenticator
    from gpurent.gateway.store import MemoryStore
    from gpurent.indexer import telemetry
    from gpurent.indexer.daemon import IndexerService
    from gpurent.indexer.events import CONTRACTS
    from gpurent.indexer.db import connect, migrate
    from gpurent.indexer.indexer import Indexer
    from gpurent.indexer.rpc import JsonRpc
    from gpurent.local.process import free_port
    from gpurent.manifest import Manifest
    from gpurent.oracle.telemetry import OracleMetrics

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(telemetry, "JsonRpc", StubRpc)
        patch.setattr("gpurent.images.kubo.KuboClient", StubKubo)
        engine = connect(f"sqlite:///{tmp_path_factory.mktemp('index') / 'index.db'}")  # a file: a sized pool
        migrate(engine)
        manifest = Manifest(chain_id=31337, block=0, deployer="0x" + "00" * 20, contracts={name: "0x" + f"{i + 1:040x}" for i, name in enumerate(CONTRACTS)})
        indexer = Indexer(JsonRpc("http://127.0.0.1:1"), manifest, engine)
        service = IndexerService(indexer, 1.0, ("127.0.0.1", free_port()))  # its GraphQL server built, not started
        store = MemoryStore()
        config = GatewayConfig(engine=engine, manifest=manifest, store=store,
                               auth=Authenticator(store, b"k" * 32, domain="127.0.0.1", uri="http://127.0.0.1",
                                                  chain_id=manifest.chain_id))
        make_app(config)
        agent = AgentMetrics()
        agent.exposition.registry.register(PeersCollector("http://127.0.0.1:1"))  # as the Agent does
        texts = [service.metrics.render(), config.exposition.render(), OracleMetrics().exposition.render(),
                 agent.exposition.render()]
    names = set().union(*(exposed(text.decode()) for text in texts))
    # the collection really ran: each service's own families are there
    assert {"gpurent_chain_head_block", "gpurent_jobs_created_total", "gpurent_indexer_http_requests_total",
            "gpurent_gateway_http_request_duration_seconds_bucket", "gpurent_oracle_heartbeat_slots_total",
            "gpurent_provider_ipfs_peers"} <= names
    return names


def test_provisioning_parses_and_names_one_prometheus():
    ds = datasource()
    assert ds["type"] == "prometheus" and ds["uid"] and ds["access"] == "proxy"
    assert ds["url"] == "$GPURENT_PROMETHEUS_URL"  # set by whoever starts Grafana (README)
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "gpurent.yml").read_text())["providers"]
    assert [p["type"] for p in providers] == ["file"]
    assert providers[0]["options"]["path"] == "$GPURENT_GRAFANA_DASHBOARDS"


def test_dashboards_are_the_three_with_unique_uids_and_titles():
    boards = dashboards()
    assert set(boards) == {"system.json", "blockchain.json", "business.json"}
    uids = [b["uid"] for b in boards.values()]
    titles = [b["title"] for b in boards.values()]
    assert len(set(uids)) == 3 and len(set(titles)) == 3, (uids, titles)
    for name, board in boards.items():
        assert board["schemaVersion"] >= 36 and board.get("id") is None, name  # provisioning assigns the id
        assert len(board["uid"]) <= 40 and re.fullmatch(r"[\w-]+", board["uid"]), name  # Grafana's limit


def test_panels_use_the_provisioned_datasource_and_fit_the_grid():
    uid = datasource()["uid"]
    for name, board in dashboards().items():
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        for variable in board["templating"]["list"]:
            assert variable["datasource"] == {"type": "prometheus", "uid": uid}, (name, variable["name"])
        for panel in panels(board):
            where = f"{name} panel {panel['id']} ({panel['title']})"
            pos = panel["gridPos"]
            assert all(isinstance(pos[k], int) for k in "xywh") and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, where
            if panel["type"] == "row":
                continue
            assert panel["type"] in ("timeseries", "stat"), where
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, where
            assert panel["targets"] and "unit" in panel["fieldConfig"]["defaults"], where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), where
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": uid}, f"{where} {target['refId']}"
                assert target["expr"].strip(), where


def test_every_query_reads_a_metric_a_service_exports(exported):
    allowed = exported | PROMETHEUS_BUILTINS
    used = {}
    for where, expr in dashboard_queries():
        names = series_names(expr)
        assert names, f"{where}: no metric read: {expr}"
        for unknown in sorted(names - allowed):
            pytest.fail(f"{where} reads {unknown!r}, which no gpurent service exports: {expr}")
        used.update(dict.fromkeys(names, where))
    # what the architecture asks each dashboard to show, by a metric of each
    by_board = {name: set().union(*(series_names(e) for w, e in dashboard_queries() if w.startswith(name)))
                for name in dashboards()}
    assert {"up", "gpurent_gateway_http_request_duration_seconds_bucket", "gpurent_indexer_db_connections_in_use",
            "gpurent_provider_ipfs_peers", "gpurent_provider_engine_errors_total",
            "gpurent_provider_image_cache_requests_total"} <= by_board["system.json"]
    assert {"gpurent_chain_head_block", "gpurent_chain_head_age_seconds", "gpurent_chain_head_gas_used",
            "gpurent_indexer_head_lag_blocks", "gpurent_indexer_events_applied_total",
            "gpurent_oracle_reports_total", "gpurent_oracle_penalties_total"} <= by_board["blockchain.json"]
    assert {"gpurent_jobs_active", "gpurent_jobs_created_total", "gpurent_fees_accrued_tokens_total",
            "gpurent_providers", "gpurent_renters", "gpurent_gpus_available", "gpurent_oracle_heartbeat_slots_total",
            "gpurent_oracle_challenges_total", "gpurent_oracle_penalties_total",
            "gpurent_oracle_disputes_pending"} <= by_board["business.json"]


def test_series_names_reads_selectors_not_functions_labels_or_keywords():
    expr = ('histogram_quantile(0.95, sum by (job, le) (rate(a_bucket{code=~"5..", x="up"}[5m]))) '
            '/ on (job) group_left (route) b_total or vector(0) and bool c:rule:rate5m offset 5m')
    assert series_names(expr) == {"a_bucket", "b_total", "c:rule:rate5m"}


@needs_promtool
def test_every_query_is_promql_promtool_accepts(tmp_path):
    """All the queries at once, as recording rules of a throw-away file: one promtool call."""
    queries = dashboard_queries()
    rules = [{"record": f"grafana_query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]
    path = tmp_path / "dashboards_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}))
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    if done.returncode != 0:  # name the panel: promtool only says which rule number
        failing = {int(n) for n in re.findall(r"grafana_query_(\d+)", out)} or set(range(len(queries)))
        pytest.fail(out + "\n" + "\n".join(f"{queries[i][0]}: {queries[i][1]}" for i in sorted(failing)))
    assert f"SUCCESS: {len(queries)} rules found" in out
