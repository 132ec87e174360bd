"""How a daemon writes its log to stderr: ``text`` (the default, ``TIME LEVEL LOGGER: MESSAGE``)
or ``json`` (one JSON object a line, for a log shipper), chosen by ``--log-format`` on every
daemon's command line (or ``GPURENT_LOG_FORMAT``).

A JSON line has ``time`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``message`` and,
when the record carries them, the labels ``job``, ``block`` and ``provider``; an exception goes
in ``error``, on the same line. A log call gives its labels with :func:`labels`:

    log.info("job %s: settled", job_id, extra=labels(job=job_id))

What a record holds often comes from outside (a provider's answer, a GPU model, an error a node
sent): JSON encoding escapes every control character (a newline cannot start a forged line)
and, ASCII only, every character a terminal could take for a command; the message is cut at
``MAX_MESSAGE`` characters, the error at ``MAX_ERROR``, a label at ``MAX_LABEL``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

FORMATS = ("text", "json")
LABELS = ("job", "block", "provider")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_MESSAGE = 8192
MAX_ERROR = 2048
MAX_LABEL = 128
QUIET = ("alembic",)  # libraries whose INFO lines tell an operator nothing (a migration's plugin setup)


def labels(*, job: object = None, block: object = None, provider: object = None) -> dict[str, object]:
    """The ``extra=`` of a log call about a job, a block or a provider (None: not about one)."""
    return {name: value for name, value in (("job", job), ("block", block), ("provider", provider))
            if value is not None}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def _label(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, (bytes, bytearray)):
            value = "0x" + bytes(value).hex()
        return _cut(str(value), MAX_LABEL)
    return value  # a block number stays a number


def error_line(err: BaseException) -> str:
    """``Type: first line of the message (at file.py:LINE in function)``: an exception in one line."""
    text = str(err).strip()
    line = f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        code = tb.tb_frame.f_code
        line += f" (at {code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno} in {code.co_name})"
    return _cut(line, MAX_ERROR)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (see the module's docstring for its fields)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _cut(record.getMessage(), MAX_MESSAGE),
        }
        for name in LABELS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = _label(value)
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = error_line(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=True, default=str)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure` installs (so a second call changes its format, not adds one)."""


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure(fmt: str = "text", level: int = logging.INFO, stream: IO[str] | None = None) -> bool:
    """The process's log on ``stream`` (stderr) in ``fmt``, from ``level`` up; False (nothing
    changed) where something else configured the root logger already (a test runner, an
    embedding program)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _Handler)]
    if root.handlers and not ours:
        return False
    handler = ours[0] if ours else _Handler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    if not ours:
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    adopt_ape()
    return True


def adopt_ape() -> None:
    """In JSON, Ape's logger (which has a handler of its own) writes through this process's
    handler, so every line of the log is JSON; called again once Ape is imported."""
    handler = next((h for h in logging.getLogger().handlers if isinstance(h, _Handler)), None)
    if handler is not None and isinstance(handler.formatter, JsonFormatter) and "ape.logging" in sys.modules:
        ape = logging.getLogger("ape")
        ape.handlers = [handler]
        ape.propagate = False


def active_format() -> str | None:
    """The format :func:`configure` set for this process; None if it did not configure it."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _Handler):
            return "json" if isinstance(handler.formatter, JsonFormatter) else "text"
    return None
