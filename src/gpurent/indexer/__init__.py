"""The indexer: the contracts' events as a queryable database (SQLite or PostgreSQL)."""
