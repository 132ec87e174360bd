"""The indexer's database: SQLite under the state folder by default, or any SQLAlchemy URL
(``postgresql://…``); its schema is kept by Alembic migrations shipped in the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from gpurent.errors import ConfigurationError
from gpurent.indexer.defaults import default_db_path


def default_url() -> str:
    return f"sqlite:///{default_db_path()}"


def connect(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the embedded SQLite file); postgresql:// uses psycopg 3."""
    url = url or default_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise ConfigurationError(f"unsupported database {url.split(':', 1)[0]!r}: use sqlite:/// or postgresql://")
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        if path != url and path and ":memory:" not in path:  # a file: make its folder
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, insertmanyvalues_page_size=1000)
    # multi-row INSERTs for plain executemany too: far fewer round trips than one per row
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest revision (safe to run on every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("gpurent.indexer").joinpath("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
