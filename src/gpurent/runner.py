"""One way to run a gpurent daemon (the provider agent, the oracle, the indexer), as Silverback
runs a bot: rounds of work until told to stop, SIGTERM/SIGINT for an orderly halt, and a halt
with one clear line, exit code 1, after too many failed rounds in a row (instead of a loop that
fails silently forever).

    run_rounds(self.tick, self.stopping, interval_s, log, "provider", max_failures=10,
               block=lambda: cursor)   # a daemon's loop method
    run_daemon(daemon, log, "running jobs continue")  # its command's foreground process
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from gpurent.errors import GpurentError
from gpurent.logfmt import labels

MAX_FAILURES = 10  # failed rounds in a row before a daemon halts (Silverback's max_exceptions; it uses 3)
BACKOFF_MAX_S = 30.0  # the longest wait after a failed round: at a 0.5 s poll, 10 failures span ~2 min


class TooManyFailures(GpurentError):
    """Raised when a daemon's rounds failed ``limit`` times in a row: it halts rather than loop on."""

    def __init__(self, name: str, limit: int, last: BaseException):
        self.name, self.limit, self.last = name, limit, last
        text = str(last).strip().splitlines()[0] if str(last).strip() else type(last).__name__
        super().__init__(f"the {name} halts: {limit} rounds failed in a row (last: {type(last).__name__}: {text})")


class Daemon(Protocol):
    """A long-lived service: ``run`` blocks until ``stop`` (called from a signal handler)."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


def run_rounds(step: Callable[[], Any], stopping: threading.Event, interval_s: float, log: logging.Logger,
               name: str, *, max_failures: int = MAX_FAILURES, block: Callable[[], object] | None = None,
               fatal: tuple[type[BaseException], ...] = (), backoff_max_s: float = BACKOFF_MAX_S) -> None:
    """Calls ``step`` every ``interval_s`` until ``stopping`` is set. A failed round is logged
    (tagged with ``block()``, the block the loop is at: in the text and as the record's
    ``block`` label) and retried after a wait that
    doubles with each failure in a row (up to ``backoff_max_s``), so a chain or node outage of a
    minute or two is ridden out; ``max_failures`` in a row raise :class:`TooManyFailures`; an
    error of a ``fatal`` type ends the loop at once."""
    failures = 0
    while not stopping.is_set():
        try:
            step()
            failures = 0
        except fatal:
            raise
        except Exception as err:  # noqa: BLE001 - counted: too many in a row halt the daemon
            failures += 1
            if failures >= max_failures:
                raise TooManyFailures(name, max_failures, err) from err
            at = _block(block)
            log.warning("%s round failed (%d of %d in a row)%s: %s", name, failures, max_failures,
                        "" if at is None else f" [block {at}]", str(err).strip() or type(err).__name__,
                        exc_info=not isinstance(err, GpurentError), extra=labels(block=at))
        stopping.wait(backoff(interval_s, failures, backoff_max_s))


def backoff(interval_s: float, failures: int, longest_s: float = BACKOFF_MAX_S) -> float:
    """The wait before the next round: the interval, doubled for each failure in a row."""
    if failures == 0:
        return interval_s
    return max(interval_s, min(interval_s * 2.0 ** (failures - 1), longest_s))


def _block(block: Callable[[], object] | None) -> object:
    if block is None:
        return None
    try:
        return block()
    except Exception:  # noqa: BLE001 - a label must never hide the failure it annotates
        return None


def run_daemon(daemon: Daemon, log: logging.Logger, what: str) -> None:
    """Runs ``daemon`` in the foreground, logs to stderr; SIGTERM and SIGINT stop it in order
    (``what`` says what survives the stop). After too many failed rounds it exits with code 1
    and one line on stderr."""
    def on_signal(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping (%s)", signum, what)
        daemon.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from gpurent.logfmt import active_format, configure

    configure(active_format() or "text")  # as --log-format set it; text where nothing did (a script)
    try:
        daemon.run()
    except TooManyFailures as err:
        from gpurent.command import one_line_error

        if active_format() == "json":
            log.error("%s", one_line_error(err))
        else:
            sys.stderr.write(one_line_error(err) + "\n")
        raise SystemExit(1) from None
