"""gpurent's own indexer process (``gpurent indexer up``): started detached, recorded under
the state folder, found again by ``gpurent gpus list`` and ``gpurent indexer status``."""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from gpurent.errors import ConfigurationError
from gpurent.process import alive, port_free, read_record, spawn, terminate, wait_ready, write_record
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


def running() -> IndexerProcess | None:
    record = read_record(indexer_dir() / "indexer.json")
    if record and alive(int(record["pid"])):
        return IndexerProcess(**record)
    return None


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
    binary = shutil.which("gpurent-indexer") or str(Path(sys.executable).parent / "gpurent-indexer")
    folder = indexer_dir()
    db = db or f"sqlite:///{folder / 'index.db'}"
    url = f"http://127.0.0.1:{port}/graphql"
    log = folder / "indexer.log"
    process = spawn([binary, "run", "--rpc", rpc_url, "--db", db, "--graphql", f"127.0.0.1:{port}"], log)

    def ready() -> bool:
        try:
            query(url, "{ indexer { block } }", timeout_s=2)
            return True
        except (requests.RequestException, ValueError):
            return False

    wait_ready(process, ready, "gpurent-indexer", log, timeout_s)
    record = IndexerProcess(pid=process.pid, graphql_url=url, db=db, rpc=rpc_url)
    write_record(folder / "indexer.json", asdict(record))
    return record


def stop(timeout_s: float = 15.0) -> bool:
    record = running()
    (indexer_dir() / "indexer.json").unlink(missing_ok=True)
    if record is None:
        return False
    terminate(record.pid, timeout_s)
    return True
