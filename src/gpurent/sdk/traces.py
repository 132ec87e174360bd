"""Ape's call traces kept off a program's stdout (for the CLI, whose stdout is data)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def captured_stdout(enabled: bool) -> Iterator[Callable[[], str]]:
    """Points file descriptor 1 at a temporary file while active; yields a reader of it."""
    stream = sys.__stdout__
    try:
        fd = stream.fileno() if (enabled and stream is not None) else -1
    except (AttributeError, ValueError, OSError):
        fd = -1
    if fd < 0 or stream is None:
        yield lambda: ""
        return
    out = stream
    out.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)

        def read() -> str:
            out.flush()
            tmp.seek(0)
            return tmp.read().decode(errors="replace")

        try:
            yield read
        finally:
            out.flush()
            os.dup2(saved, fd)
            os.close(saved)
