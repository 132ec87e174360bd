"""gpurent's own indexer process (``gpurent indexer up``): ``gpurent-indexer run`` started
detached, recorded under the state folder, found again by ``gpurent gpus list`` (through
:func:`gpurent.indexer.service.graphql_url`) and ``gpurent indexer status``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from gpurent.errors import ConfigurationError, PortTaken
from gpurent.indexer.defaults import DB_FILE, GRAPHQL_PORT, default_db_path, indexer_dir
from gpurent.indexer.service import graphql_url, query
from gpurent.local.devnet import rpc, running_devnet
from gpurent.local.process import Managed, daemon_binary, free_port, port_free
from gpurent.local.service import ManagedService, probe

DEFAULT_PORT = GRAPHQL_PORT


@dataclass(frozen=True)
class IndexerProcess:
    pid: int
    graphql_url: str
    db: str
    rpc: str


PROCESS = Managed("indexer", indexer_dir)


def running() -> IndexerProcess | None:
    record = PROCESS.running()
    return IndexerProcess(**record) if record else None


class LocalIndexer(ManagedService):
    """The indexer and its GraphQL API as a service of the local stack (see
    :mod:`gpurent.local.service`): it reads ``rpc_url`` into ``db`` (default: SQLite in the state
    folder) and serves GraphQL on ``port`` (0: any free port)."""

    name, process = "indexer", PROCESS

    def __init__(self, rpc_url: str | None = None, db: str | None = None, port: int = DEFAULT_PORT,
                 timeout_s: float = 60.0):
        self.rpc_url, self.db, self.port, self.timeout_s = rpc_url, db, port, timeout_s

    def start(self) -> IndexerProcess:
        """Starts ``gpurent-indexer run`` detached (the running one if up) and waits for its API."""
        existing = running()
        if existing:
            return existing
        if self.rpc_url is None:
            raise ConfigurationError("the indexer needs a chain to read: pass its JSON-RPC URL")
        port = self.port or free_port()
        if not port_free(port):
            raise PortTaken(port, "indexer")
        db = self.db or f"sqlite:///{default_db_path()}"
        url = f"http://127.0.0.1:{port}/graphql"

        def ready() -> bool:
            try:
                query(url, "{ indexer { block } }", timeout_s=2)
                return True
            except (requests.RequestException, ValueError):
                return False

        args = [daemon_binary("gpurent-indexer"), "run", "--rpc", self.rpc_url, "--db", db,
                "--graphql", f"127.0.0.1:{port}"]
        return IndexerProcess(**PROCESS.start(args, ready, {"graphql_url": url, "db": db, "rpc": self.rpc_url},
                                              self.timeout_s))

    def endpoint(self) -> str | None:
        process = running()
        return process.graphql_url if process else None

    def status(self) -> dict[str, Any]:
        """Whether the indexer gpurent uses (configured, or this one) answers, how far it got,
        its lag behind the head of the chain it reads."""
        url = graphql_url()
        if url is None:
            return {"running": False, "error": "no indexer: start one with `gpurent indexer up`"}
        process = running()
        local = process if process is not None and process.graphql_url == url else None
        known: dict[str, Any] = {"graphql": url, **({"pid": local.pid, "db": local.db} if local else {})}
        # the head of the chain it reads: this process's, else the devnet's (the chain the CLI uses)
        devnet = None if local else running_devnet()
        chain_rpc = local.rpc if local else (devnet.url if devnet else None)

        def measure() -> dict[str, Any]:
            data = query(url, "{ indexer { block events rows } }", timeout_s=5)["indexer"]
            head = int(str(rpc(chain_rpc, "eth_blockNumber")), 16) if chain_rpc else None
            return {"indexed_to": data["block"], "events": data["events"], "rows": data["rows"], "head": head,
                    "lag_blocks": None if head is None else max(0, head - int(data["block"]))}

        return probe(measure, **known)


def start(rpc_url: str, db: str | None = None, port: int = DEFAULT_PORT, timeout_s: float = 60.0) -> IndexerProcess:
    """Starts ``gpurent-indexer run`` detached (the running one if up) and waits for its API."""
    return LocalIndexer(rpc_url, db, port, timeout_s).start()


def stop(timeout_s: float = 15.0) -> bool:
    return PROCESS.stop(timeout_s)


def reset() -> None:
    """Forgets gpurent's own index (after ``stop``, with the chain it indexed)."""
    for leftover in indexer_dir().glob(f"{DB_FILE}*"):
        leftover.unlink()
