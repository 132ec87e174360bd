"""One terminal wrapper: data to stdout (a Rich table, or JSON with --json), messages to stderr.

Everything printed is text, never markup: chain strings (GPU models, endpoints, dispute
reasons), a provider's answers and image metadata are anyone's to choose, so each value, title
and message passes through :func:`safe_text` (no Rich markup is read, escape sequences and
control characters are taken out). Colour comes only from this module (``mark=`` on messages).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)
from rich.table import Table
from rich.text import Text

from gpurent.types import GovernanceOperation, hex_id
from gpurent.units import for_people

if TYPE_CHECKING:
    from gpurent.sdk.tx import Tx

Sent: TypeAlias = "Tx[object] | GovernanceOperation"  # what an SDK transaction returned


# Terminal escape sequences, removed whole: CSI (ESC [ … final byte, or the 8-bit CSI 0x9B),
# OSC (ESC ] … BEL or ST, or 0x9D: window titles, hyperlinks, clipboard writes), the string
# commands DCS, SOS, PM and APC, and the short ESC sequences (ESC c resets the terminal).
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]P^_X]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?")
# What is left of the characters that move the cursor, change the terminal or reorder what is
# shown: C0 (newlines and tabs too: one value, one line), DEL, C1, the bidirectional overrides
# and isolates (U+202A-202E, U+2066-2069) and marks, zero-width characters and line separators.
_UNSAFE_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
REPLACEMENT = "\ufffd"  # what an unsafe character is shown as


def safe_text(value: object) -> str:
    """``value`` as a string that is safe to print on a terminal: escape sequences removed,
    every other control or bidi-override character replaced by U+FFFD. Rich markup is left as
    it is: print the result as :class:`rich.text.Text` (see :func:`as_text`), never as markup."""
    return _UNSAFE_CHARACTER.sub(REPLACEMENT, _ESCAPE_SEQUENCE.sub("", str(value)))


def safe_lines(value: object) -> str:
    """:func:`safe_text` for output of many lines (a job's log): newlines, tabs and carriage
    returns are kept (they only move within what is shown); everything else as safe_text."""
    return "\n".join("\r".join("\t".join(safe_text(part) for part in piece.split("\t")) for piece in line.split("\r"))
                     for line in str(value).split("\n"))


class TerminalStream:
    """Bytes of a stream (a job's log) made safe for a terminal as they come: UTF-8 decoded
    across chunk boundaries, then :func:`safe_lines`. An escape sequence split between chunks
    loses its ESC in the first, so what is left in the next prints as plain characters."""

    def __init__(self) -> None:
        import codecs

        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: bytes, final: bool = False) -> str:
        return safe_lines(self._decoder.decode(chunk, final))


def as_text(value: object, style: str = "") -> Text:
    """``value`` as Rich text: shown as it reads (``[/x]`` stays ``[/x]``), never as markup."""
    return Text(safe_text(value), style=style)


MARKS = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red"), "next": ("→", "yellow")}


def jsonable(value: Any, decimal: Callable[[Decimal], str] = str) -> Any:
    """Dataclasses, enums, Decimals and bytes as plain JSON values (Decimals as ``decimal``
    writes them: exact strings by default, :func:`gpurent.units.for_people` for a person)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v, decimal) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, Decimal):
        return decimal(value)
    if isinstance(value, (bytes, bytearray)):
        return hex_id(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, decimal) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, decimal) for v in value]
    return value


def when(timestamp: int) -> str:
    """A chain timestamp as a UTC date and time (and the timestamp itself, which is exact)."""
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{moment} (timestamp {int(timestamp)})"


ID_COLUMNS = ("id", "gpu", "cid", "job", "image", "provider", "user")


def _nested(value: Any) -> bool:
    return bool(value) and (isinstance(value, dict) or (isinstance(value, list) and isinstance(value[0], dict)))


def _cell(value: Any) -> Text:
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return as_text(value)


HEADERS = {
    "price_per_hour": "price/h",
    "memory_gb": "mem GB",
    "storage_gb": "disk GB",
    "reputation": "rep",
    "uptime_pct": "uptime %",
    "response_pct": "resp %",
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
            # ASCII-only JSON: every control, C1 and bidi character arrives escaped (\\u001b)
            self.out.print_json(json.dumps(jsonable(value)), ensure_ascii=True)
            return
        plain = jsonable(value, for_people)  # amounts rounded for a person; --json keeps them exact
        if isinstance(plain, list):
            self.out.print(self._table(plain, title, columns))
        elif isinstance(plain, dict):
            if title:
                self.out.print(as_text(title, "bold"))
            flat = {safe_text(k): v for k, v in plain.items() if not _nested(v)}
            width = max((len(k) for k in flat), default=0)
            for key, item in flat.items():
                self.out.print(Text(f"{key:<{width}}  ") + _cell(item), highlight=False)
            for key, item in plain.items():  # sections of their own: a sub-record, or a table
                if _nested(item):
                    self.data(item, title=str(key).replace("_", " ").capitalize())
        else:
            self.out.print(_cell(plain), highlight=False)

    def _table(self, rows: list[Any], title: str | None, columns: Sequence[str] | None) -> Table:
        table = Table(title=as_text(title) if title is not None else None)
        keys = list(columns or (rows[0].keys() if rows and isinstance(rows[0], dict) else ["value"]))
        for key in keys:
            # ids are what users copy into the next command: never cut, folded onto a second line
            # when the terminal is narrow; the other columns keep at least their header's width
            header = as_text(HEADERS.get(key, key))
            if key in ID_COLUMNS or key.endswith("_id"):
                table.add_column(header, overflow="fold")
            else:
                table.add_column(header, overflow="ellipsis", min_width=header.cell_len)
        for row in rows:
            table.add_row(*(_cell(row.get(k, "")) if isinstance(row, dict) else _cell(row) for k in keys))
        return table

    def info(self, message: object, *, mark: str | None = None) -> None:
        """One line on stderr (none with --json): ``message`` as text, never markup, after a
        coloured ``mark`` ("ok" ✓, "warn" !, "fail" ✗, "next" →) when one is given."""
        if self.as_json:
            return
        line = as_text(message)
        if mark is not None:
            symbol, colour = MARKS[mark]
            line = Text.assemble((symbol, colour), " ", line)
        self.err.print(line, highlight=False)

    def done(self, message: object) -> None:
        """``✓ message``: something finished."""
        self.info(message, mark="ok")

    def warn(self, message: object) -> None:
        """``! message``: something went less well than asked, and the command goes on."""
        self.info(message, mark="warn")

    def tx(self, sent: Sent | Sequence[Sent] | None, what: str) -> None:
        """Reports a mined transaction (what it did, its hash and the gas it used), or a
        governance call left scheduled on the timelock (its id and when it may be executed)."""
        if sent is None:
            return
        for r in sent if isinstance(sent, Sequence) else [sent]:
            if isinstance(r, GovernanceOperation):
                self.info(f"{what}: scheduled {r.op_id}, executable from {when(r.ready_at)}", mark="next")
            else:
                self.info(f"{what}  tx {r.txn_hash}  gas {r.gas_used:,}", mark="ok")

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
        ctx = self.err.status(as_text(message)) if self.err.is_terminal and not self.as_json else nullcontext()
        with ctx:
            yield


class _RichTransfer:
    """The images Transfer protocol drawn as Rich progress bars, one per phase."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: TaskID | None = None

    def begin(self, label: str, total: int | None) -> None:
        self.task = self.progress.add_task(safe_text(label), total=total)

    def advance(self, done: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, done)

    def end(self) -> None:
        if self.task is not None:
            task = self.progress.tasks[self.task]
            self.progress.update(self.task, total=task.completed or task.total, completed=task.completed or task.total)
            self.task = None


def stdout_for_data_only() -> Callable[[], None]:
    """Keeps the process's stdout for data: file descriptor 1 is pointed at stderr, and
    ``sys.stdout`` (what Rich, ``click.echo`` and ``print`` write to) at a copy of the real
    stdout. So what a library prints to the stdout it bound at import time (Ape's call trace of
    a revert: ``TraceAPI.show(file=sys.stdout)``) reaches stderr, and ``--json`` output stays
    parseable. Returns the undo. Does nothing when ``sys.stdout`` is not the process's own (a
    test's CliRunner) or has no file descriptor."""
    import os
    import sys

    original = sys.__stdout__
    if original is None or sys.stdout is not original:
        return lambda: None
    try:
        fd, err_fd = original.fileno(), sys.stderr.fileno()
        original.flush()
        copy = os.dup(fd)
    except (AttributeError, ValueError, OSError):
        return lambda: None
    data = open(copy, "w", buffering=1, encoding=original.encoding, errors=original.errors)  # noqa: SIM115
    os.dup2(err_fd, fd)
    sys.stdout = data

    def undo() -> None:
        original.flush()  # what libraries printed meanwhile: to stderr
        data.flush()
        os.dup2(data.fileno(), fd)
        sys.stdout = original
        data.close()

    return undo
