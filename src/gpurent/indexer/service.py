"""gpurent's own indexer process (``gpurent indexer up``): started detached, recorded under
the state folder, found again by ``gpurent gpus list`` and ``gpurent indexer status``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from gpurent.errors import ConfigurationError
from gpurent.local.process import Managed, daemon_binary, port_free
from gpurent.settings import load_settings, state_home

DEFAULT_PORT = 8100


@dataclass(frozen=True)
class IndexerProcess:
    pid: int
    graphql_url: str
    db: str
    rpc: str


def indexer_dir() -> Path:
    path = state_home() / "indexer"
    path.mkdir(parents=True, exist_ok=True)
    return path


DAEMON = Managed("indexer", indexer_dir)


def running() -> IndexerProcess | None:
    record = DAEMON.running()
    return IndexerProcess(**record) if record else None


def graphql_url() -> str | None:
    """Where to query the index: configured (GPURENT_INDEXER_URL, [indexer] url), else gpurent's
    own running indexer, else None."""
    configured = load_settings().indexer_url
    if configured:
        return configured
    process = running()
    return process.graphql_url if process else None


def query(url: str, document: str, variables: dict[str, Any] | None = None, timeout_s: float = 10.0) -> Any:
    """The ``data`` of a GraphQL query; ConnectionError or ValueError (the API's message) if not."""
    response = requests.post(url, json={"query": document, "variables": variables or {}}, timeout=timeout_s)
    body = response.json()
    if body.get("errors"):
        raise ValueError(body["errors"][0]["message"])
    return body["data"]


def start(rpc_url: str, db: str | None = None, port: int = DEFAULT_PORT, timeout_s: float = 60.0) -> IndexerProcess:
    """Starts ``gpurent-indexer run`` detached (the running one if up) and waits for its API."""
    existing = running()
    if existing:
        return existing
    if not port_free(port):
        raise ConfigurationError(f"port {port} is taken by another process: pass --port")
    db = db or f"sqlite:///{indexer_dir() / 'index.db'}"
    url = f"http://127.0.0.1:{port}/graphql"

    def ready() -> bool:
        try:
            query(url, "{ indexer { block } }", timeout_s=2)
            return True
        except (requests.RequestException, ValueError):
            return False

    args = [daemon_binary("gpurent-indexer"), "run", "--rpc", rpc_url, "--db", db, "--graphql", f"127.0.0.1:{port}"]
    record = DAEMON.start(args, ready, {"graphql_url": url, "db": db, "rpc": rpc_url}, timeout_s)
    return IndexerProcess(**record)


def stop(timeout_s: float = 15.0) -> bool:
    return DAEMON.stop(timeout_s)


GPUS_QUERY = """query($f: GpuFilter, $sort: GpuSort!, $offset: Int!) {
  gpus(filters: $f, sort: $sort, limit: 100, offset: $offset) {
    id gpuModel vcpu memoryGb storageGb pricePerHour available retired providerAddress reputation } }"""


def find_gpus(model: str | None = None, min_vcpu: int = 0, min_memory: int = 0, min_storage: int = 0,
              max_price: Decimal | None = None, min_reputation: int = 0, show_all: bool = False,
              sort: str = "price") -> list[dict[str, object]] | None:
    """GPUs matching the filters, through the indexer's GraphQL API (every page), as rows of
    plain values; None when no indexer answers or it indexes another deployment."""
    from gpurent.manifest import load_manifest

    url = graphql_url()
    if url is None:
        return None
    try:  # the index must be of the deployment this CLI uses
        me = query(url, "{ indexer { chainId marketplace } }", timeout_s=3)["indexer"]
    except (requests.RequestException, ValueError, KeyError):
        return None
    manifest = load_manifest(int(me["chainId"]))
    if manifest is None or manifest.contracts["Marketplace"].lower() != me["marketplace"].lower():
        return None
    filters = {"model": model, "minVcpu": min_vcpu, "minMemoryGb": min_memory, "minStorageGb": min_storage,
               "maxPrice": float(max_price) if max_price is not None else None,
               "minReputation": min_reputation or None, "available": None if show_all else True,
               "includeRetired": show_all}
    rows: list[dict[str, object]] = []
    try:
        while True:  # page through
            page = query(url, GPUS_QUERY, {"f": filters, "offset": len(rows),
                                                   "sort": "PRICE_ASC" if sort == "price" else "REPUTATION_DESC"})
            rows += [{"id": g["id"], "model": g["gpuModel"], "vcpu": g["vcpu"], "memory_gb": g["memoryGb"],
                      "storage_gb": g["storageGb"], "price_per_hour": Decimal(g["pricePerHour"]),
                      "available": g["available"] and not g["retired"], "provider": g["providerAddress"],
                      "reputation": g["reputation"] or 0} for g in page["gpus"]]
            if len(page["gpus"]) < 100:
                return rows
    except (requests.RequestException, ValueError, KeyError):
        return None  # fall back to the chain
