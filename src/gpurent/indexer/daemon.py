"""Building and running the indexer: shared by ``gpurent-indexer run`` and ``ape run indexer``."""

from __future__ import annotations

import logging
from typing import Any

from gpurent.indexer.db import connect, migrate
from gpurent.indexer.indexer import Indexer
from gpurent.process import serve
from gpurent.rpc import JsonRpc

log = logging.getLogger("gpurent.indexer")


class IndexerService:
    """The indexer loop as a service (``run`` blocks, ``stop`` ends it)."""

    def __init__(self, indexer: Indexer, poll_s: float):
        self.indexer, self.poll_s = indexer, poll_s

    def run(self) -> None:
        log.info("indexing chain %d from block %d into %s", self.indexer.manifest.chain_id,
                 self.indexer.manifest.block, self.indexer.engine.url.render_as_string(hide_password=True))
        self.indexer.run(self.poll_s)

    def stop(self) -> None:
        self.indexer.stop()


def build_indexer(source: Any, db_url: str | None = None, *, confirmations: int = 0, batch: int = 2000,
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


def run_forever(indexer: Indexer, poll_s: float = 0.5) -> None:
    serve(IndexerService(indexer, poll_s), log, "the next start resumes from the cursor")
