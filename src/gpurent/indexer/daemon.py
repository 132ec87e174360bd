"""Building and running the indexer: shared by ``gpurent-indexer run`` and ``ape run indexer``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gpurent.asgi import AsgiServer
from gpurent.indexer.db import connect, migrate
from gpurent.indexer.defaults import GRAPHQL_LISTEN
from gpurent.indexer.indexer import Indexer
from gpurent.indexer.rpc import JsonRpc
from gpurent.logfmt import labels
from gpurent.monitoring import Exposition
from gpurent.monitoring.asgi import HttpMetrics, Instrumented
from gpurent.runner import MAX_FAILURES, run_daemon

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent


log = logging.getLogger("gpurent.indexer")


class GraphQLServer(AsgiServer):
    """The GraphQL API on uvicorn, on a thread of its own (HTTP and WebSocket on one port), and
    the indexer's ``GET /metrics`` beside it (with ``exposition``)."""

    def __init__(self, engine: Any, hub: Any, manifest: Any, host: str, port: int,
                 exposition: Exposition | None = None):
        from gpurent.indexer.api import make_app

        app = make_app(engine, hub, manifest)
        if exposition is not None:
            app = Instrumented(app, exposition, HttpMetrics(exposition, "gpurent_indexer"), route=_graphql_route)
        super().__init__(app, host, port, "GraphQL server", "/graphql")


def _graphql_route(scope: dict[str, Any]) -> str:
    return "/graphql" if scope.get("path", "").rstrip("/") == "/graphql" else "(unmatched)"


def indexer_metrics(indexer: Indexer) -> Exposition:
    """The indexer's registry: its own progress, the chain's head and the business metrics."""
    from gpurent.indexer.telemetry import BusinessCollector, ChainCollector, IndexerCollector

    exposition = Exposition()
    for collector in (IndexerCollector(indexer), ChainCollector(indexer.rpc.url), BusinessCollector(indexer.engine)):
        exposition.registry.register(collector)
    return exposition


class IndexerService:
    """The indexer loop, and the GraphQL API over its database, as one service (``run`` blocks,
    ``stop`` ends it)."""

    def __init__(self, indexer: Indexer, poll_s: float, graphql: tuple[str, int] | None = GRAPHQL_LISTEN,
                 max_failures: int = MAX_FAILURES):
        from gpurent.indexer.api import Hub

        self.indexer, self.poll_s, self.max_failures = indexer, poll_s, max_failures
        self.hub = Hub()
        indexer.on_commit = self.hub.publish
        self.metrics = indexer_metrics(indexer)
        self.graphql = (GraphQLServer(indexer.engine, self.hub, indexer.manifest, *graphql, exposition=self.metrics)
                        if graphql else None)

    def run(self) -> None:
        if self.graphql is not None:
            self.graphql.start()
            log.info("GraphQL at %s", self.graphql.url)
        log.info("indexing chain %d from block %d into %s", self.indexer.manifest.chain_id,
                 self.indexer.manifest.block, self.indexer.engine.url.render_as_string(hide_password=True),
                 extra=labels(block=self.indexer.manifest.block))
        try:
            self.indexer.run(self.poll_s, self.max_failures)
        finally:
            if self.graphql is not None:
                self.graphql.stop()

    def stop(self) -> None:
        self.indexer.stop()


def build_indexer(source: Gpurent | str, db_url: str | None = None, *, confirmations: int = 0, batch: int = 2000,
                  window: int = 128) -> Indexer:
    """The indexer for ``source``: a connected Gpurent, or a JSON-RPC URL (the deployment
    manifest is then read from the state folder by the node's chain id)."""
    from gpurent.errors import NotDeployedError
    from gpurent.manifest import load_manifest

    if isinstance(source, str):
        rpc = JsonRpc(source)
        chain_id = rpc.chain_id()
        manifest = load_manifest(chain_id)
        if manifest is None:
            raise NotDeployedError(chain_id)
    else:
        rpc, manifest = JsonRpc(source.rpc_url), source.manifest
    engine = connect(db_url)
    migrate(engine)
    return Indexer(rpc, manifest, engine, confirmations=confirmations, batch=batch, window=window)


def run_indexer(indexer: Indexer, poll_s: float = 0.5, graphql: tuple[str, int] | None = GRAPHQL_LISTEN,
                max_failures: int = MAX_FAILURES) -> None:
    """Runs the indexer and its GraphQL API in the foreground until SIGTERM/SIGINT."""
    run_daemon(IndexerService(indexer, poll_s, graphql, max_failures), log, "the next start resumes from the cursor")
