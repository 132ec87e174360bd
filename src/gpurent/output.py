"""One terminal wrapper: data to stdout (a Rich table, or JSON with --json), messages to stderr."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)
from rich.table import Table

from gpurent.types import GovernanceOperation, hex_id

if TYPE_CHECKING:
    from gpurent.sdk.tx import Tx

Sent: TypeAlias = "Tx[object] | GovernanceOperation"  # what an SDK transaction returned


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, Decimals and bytes as plain JSON values (Decimals as strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return hex_id(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def when(timestamp: int) -> str:
    """A chain timestamp as a UTC date and time (and the timestamp itself, which is exact)."""
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{moment} (timestamp {int(timestamp)})"


ID_COLUMNS = ("id", "gpu", "cid", "job", "image", "provider", "user")


def _nested(value: Any) -> bool:
    return bool(value) and (isinstance(value, dict) or (isinstance(value, list) and isinstance(value[0], dict)))


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


HEADERS = {
    "price_per_hour": "price/h",
    "memory_gb": "mem GB",
    "storage_gb": "disk GB",
    "reputation": "rep",
    "available": "avail",
    "max_cost": "max cost",
}


class Output:
    def __init__(self, as_json: bool = False, verbose: bool = False):
        self.as_json = as_json
        self.verbose = verbose
        self.out = Console(soft_wrap=True)
        self.err = Console(stderr=True, soft_wrap=True)

    def data(self, value: Any, *, title: str | None = None, columns: Sequence[str] | None = None) -> None:
        """Prints ``value``: JSON with --json; else a table (lists of rows) or key: value lines."""
        if self.as_json:
            self.out.print_json(json.dumps(jsonable(value)))
            return
        plain = jsonable(value)
        if isinstance(plain, list):
            self.out.print(self._table(plain, title, columns))
        elif isinstance(plain, dict):
            if title:
                self.out.print(f"[bold]{title}[/]")
            flat = {k: v for k, v in plain.items() if not _nested(v)}
            width = max((len(k) for k in flat), default=0)
            for key, item in flat.items():
                self.out.print(f"{key:<{width}}  {item}", highlight=False)
            for key, item in plain.items():  # sections of their own: a sub-record, or a table
                if _nested(item):
                    self.data(item, title=key.replace("_", " ").capitalize())
        else:
            self.out.print(plain, highlight=False)

    def _table(self, rows: list[Any], title: str | None, columns: Sequence[str] | None) -> Table:
        table = Table(title=title)
        keys = list(columns or (rows[0].keys() if rows and isinstance(rows[0], dict) else ["value"]))
        for key in keys:
            # ids are what users copy into the next command: never cut, folded onto a second line
            # when the terminal is narrow; the other columns keep at least their header's width
            header = HEADERS.get(key, key)
            if key in ID_COLUMNS or key.endswith("_id"):
                table.add_column(header, overflow="fold")
            else:
                table.add_column(header, overflow="ellipsis", min_width=len(header))
        for row in rows:
            table.add_row(*(_cell(row.get(k, "")) if isinstance(row, dict) else _cell(row) for k in keys))
        return table

    def info(self, message: str) -> None:
        if not self.as_json:
            self.err.print(message, highlight=False)

    def tx(self, sent: Sent | Sequence[Sent] | None, what: str) -> None:
        """Reports a mined transaction (what it did, its hash and the gas it used), or a
        governance call left scheduled on the timelock (its id and when it may be executed)."""
        if sent is None:
            return
        for r in sent if isinstance(sent, Sequence) else [sent]:
            if isinstance(r, GovernanceOperation):
                self.info(f"[yellow]→[/] {what}: scheduled {r.op_id}, executable from {when(r.ready_at)}")
            else:
                self.info(f"[green]✓[/] {what}  tx {r.txn_hash}  gas {r.gas_used:,}")

    @contextmanager
    def transfer(self) -> Iterator[Any]:
        """A Rich progress display for byte transfers (bytes, rate, time left) on stderr; a
        silent one when stderr is not a terminal or with --json."""
        from gpurent.images.store import NoProgress

        if self.as_json or not self.err.is_terminal:
            yield NoProgress()
            return
        with Progress(TextColumn("{task.description:<14}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeRemainingColumn(), console=self.err, transient=False) as progress:
            yield _RichTransfer(progress)

    @contextmanager
    def pending(self, message: str) -> Iterator[None]:
        """A spinner while a transaction is pending (none when not interactive or --json)."""
        ctx = self.err.status(message) if self.err.is_terminal and not self.as_json else nullcontext()
        with ctx:
            yield


class _RichTransfer:
    """The images Transfer protocol drawn as Rich progress bars, one per phase."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: TaskID | None = None

    def begin(self, label: str, total: int | None) -> None:
        self.task = self.progress.add_task(label, total=total)

    def advance(self, done: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, done)

    def end(self) -> None:
        if self.task is not None:
            task = self.progress.tasks[self.task]
            self.progress.update(self.task, total=task.completed or task.total, completed=task.completed or task.total)
            self.task = None
