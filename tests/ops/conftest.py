"""The four services of the stack with /metrics, each on an OS-chosen port, without containers:
the indexer and its GraphQL API (over busy_chain's story), the gateway over its index, the
provider agent (built, its endpoint serving, its loop not run: no container engine), and the
oracle as a real `gpurent-oracle run` process."""

from __future__ import annotations

import threading
import time

import pytest

from gpurent.agent.agent import Agent
from gpurent.gateway.app import GatewayConfig, make_app
from gpurent.gateway.auth import Authenticator
from gpurent.gateway.service import GatewayServer
from gpurent.gateway.store import MemoryStore
from gpurent.images.store import ImageStore
from gpurent.indexer.daemon import IndexerService
from gpurent.local.process import free_port
from tests.agents import agent_config
from tests.indexer.test_indexer import busy_chain, make_indexer
from tests.oracle.conftest import start_oracle  # noqa: F401 - the oracle as a real process


class NoEngine:
    """A container engine that is never there: any use fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the container engine was used ({name}): these tests run without one")


@pytest.fixture
def stack(suite, cast, chain, manifest, gp, tmp_path, kubo, start_oracle):
    """The four services up, each on its own OS-chosen port: their base URLs."""
    story = busy_chain(suite, cast, chain)
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
    # the real agent, built but not run: its endpoint serves, and the container engine it would
    # use is never reached (NoEngine fails any use)
    store = ImageStore(kubo.client(), NoEngine, workdir=tmp_path / "staging")
    agent = Agent(gp.with_account(cast.provider), agent_config(free_port()), tmp_path / "provider", store, [])
    agent.endpoint.start()
    oracle = start_oracle()
    assert service.graphql is not None
    urls = {"gateway": f"http://127.0.0.1:{gateway_port}", "indexer": service.graphql.url.removesuffix("/graphql"),
            "oracle": oracle.url, "provider": f"http://127.0.0.1:{agent.endpoint.port}"}
    deadline = time.monotonic() + 30
    while indexer.progress.cursor < chain.blocks.head.number:  # the story indexed
        assert time.monotonic() < deadline
        time.sleep(0.1)
    yield urls, agent, oracle, story
    agent.endpoint.stop()
    gateway.stop()
    service.stop()
    runner.join(timeout=10)


