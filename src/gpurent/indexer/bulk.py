"""Bulk writes below SQLAlchemy's per-row machinery: PostgreSQL's COPY, and SQLite's own
executemany. The indexer's backfill writes tens of thousands of rows a range; these paths keep
the database from being the bottleneck (see bench/indexer.py)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import Connection, Table

_temp_names = itertools.count(1)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy(db: Connection, target: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    raw = db.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({', '.join(map(_q, columns))}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(db: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Inserts ``rows`` (dicts with the same keys) in one COPY or one executemany."""
    if not rows:
        return
    columns = list(rows[0])
    values = [tuple(r[c] for c in columns) for r in rows]
    if db.dialect.name == "postgresql":
        _copy(db, _q(table.name), columns, values)
        return
    marks = ", ".join("?" for _ in columns)
    db.exec_driver_sql(f"INSERT INTO {_q(table.name)} ({', '.join(map(_q, columns))}) VALUES ({marks})", values)


def update_rows(db: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Sets every non-key column of the rows matching each row's key."""
    if not rows:
        return
    columns = [c.name for c in table.columns if c.name not in keys]
    if db.dialect.name == "postgresql":
        temp = f"gpurent_update_{next(_temp_names)}"
        db.exec_driver_sql(f"CREATE TEMP TABLE {temp} (LIKE {_q(table.name)}) ON COMMIT DROP")
        _copy(db, temp, keys + columns, [tuple(r[c] for c in keys + columns) for r in rows])
        sets = ", ".join(f"{_q(c)} = u.{_q(c)}" for c in columns)
        match = " AND ".join(f"t.{_q(k)} = u.{_q(k)}" for k in keys)
        db.exec_driver_sql(f"UPDATE {_q(table.name)} AS t SET {sets} FROM {temp} AS u WHERE {match}")
        db.exec_driver_sql(f"DROP TABLE {temp}")
        return
    sets = ", ".join(f"{_q(c)} = ?" for c in columns)
    match = " AND ".join(f"{_q(k)} = ?" for k in keys)
    db.exec_driver_sql(f"UPDATE {_q(table.name)} SET {sets} WHERE {match}",
                       [tuple(r[c] for c in columns + keys) for r in rows])
