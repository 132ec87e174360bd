"""Where the indexer keeps its index and answers by default: one place for the daemon, its
command and the local stack."""

from __future__ import annotations

from pathlib import Path

from gpurent.settings import state_home

GRAPHQL_HOST = "127.0.0.1"
GRAPHQL_PORT = 8100
GRAPHQL_LISTEN = (GRAPHQL_HOST, GRAPHQL_PORT)
DB_FILE = "index.db"


def indexer_dir() -> Path:
    """The indexer's folder under the state folder (made if missing)."""
    path = state_home() / "indexer"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    """The embedded SQLite index."""
    return indexer_dir() / DB_FILE
