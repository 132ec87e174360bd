"""Alembic environment for the indexer's database (run by gpurent.indexer.db.migrate)."""

from __future__ import annotations

from alembic import context

from gpurent.indexer.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through gpurent.indexer.db.migrate")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
