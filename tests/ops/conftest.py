"""The four services of the stack with /metrics, each on an OS-chosen port, without containers:
the indexer and its GraphQL API (over busy_chain's story), the gateway over its index, the
provider agent's endpoint with the agent's metrics (on the session's Kubo), and the oracle as a
real `gpurent-oracle run` process."""

from __future__ import annotations

import threading
import time

import pytest

from gpurent.agent.endpoint import Endpoint, LogStore
from gpurent.agent.state import AgentState
from gpurent.agent.telemetry import AgentMetrics, PeersCollector
from gpurent.gateway.app import GatewayConfig, make_app
from gpurent.gateway.auth import Authenticator
from gpurent.gateway.service import GatewayServer
from gpurent.gateway.store import MemoryStore
from gpurent.indexer.daemon import IndexerService
from gpurent.local.process import free_port
from tests.indexer.test_indexer import busy_chain, make_indexer
from tests.oracle.conftest import start_oracle  # noqa: F401 - the oracle as a real process


@pytest.fixture
def stack(suite, cast, chain, manifest, tmp_path, kubo, start_oracle):
    """The four services up, each on its own OS-chosen port: their base URLs."""
    busy_chain(suite, cast, chain)
    indexer = make_indexer(f"sqlite:///{tmp_path / 'index.db'}", manifest, chain)
    service = IndexerService(indexer, 0.2, ("127.0.0.1", free_port()))
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    store = MemoryStore()
    gateway_port = free_port()
    auth = Authenticator(store, b"k" * 32, domain=f"127.0.0.1:{gateway_port}", uri=f"http://127.0.0.1:{gateway_port}",
                         chain_id=manifest.chain_id)
    gateway = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=manifest, auth=auth, store=store)),
                            "127.0.0.1", gateway_port)
    gateway.start()
    agent_metrics = AgentMetrics()
    agent_metrics.exposition.registry.register(PeersCollector(kubo.api_url))
    state = AgentState(tmp_path / "agent.db")
    endpoint = Endpoint(state, LogStore(tmp_path / "logs"), manifest.chain_id, cast.provider.address, "127.0.0.1", 0,
                        dict)
    endpoint.exposition = agent_metrics.exposition
    endpoint.start()
    oracle = start_oracle()
    assert service.graphql is not None
    urls = {"gateway": f"http://127.0.0.1:{gateway_port}", "indexer": service.graphql.url.removesuffix("/graphql"),
            "oracle": oracle.url, "provider": f"http://127.0.0.1:{endpoint.port}"}
    deadline = time.monotonic() + 30
    while indexer.progress.cursor < chain.blocks.head.number:  # the story indexed
        assert time.monotonic() < deadline
        time.sleep(0.1)
    yield urls, agent_metrics, oracle
    endpoint.stop()
    gateway.stop()
    service.stop()
    runner.join(timeout=10)


