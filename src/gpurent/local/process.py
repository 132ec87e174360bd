"""Detached service processes (anvil, Kubo, podman) and the small JSON records that track them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError


def alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (zombies of our own children are reaped first)."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Starts ``args`` in its own session, output appended to ``log``; it outlives this process."""
    with log.open("ab") as handle:
        return subprocess.Popen(list(args), stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, **(env or {})})


def wait_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool], name: str, log: Path,
               timeout_s: float) -> None:
    """Polls ``ready`` until it holds; stops the process and raises if it dies or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigurationError(f"{name} exited with code {process.returncode}: see {log}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    terminate(process.pid)
    raise ConfigurationError(f"{name} did not answer within {timeout_s:.0f} s: see {log}")


def terminate(pid: int, timeout_s: float = 15.0, sig: int = signal.SIGTERM) -> None:
    """Asks ``pid`` to stop, then kills it if it has not within ``timeout_s``."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


def read_record(path: Path) -> dict[str, Any] | None:
    """The JSON record of a service if it exists and its process still runs."""
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return record if alive(int(record["pid"])) else None


def write_record(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def serve(service: Any, log: Any, what: str) -> None:
    """Runs a long-lived ``service`` (``run()`` blocks, ``stop()`` ends it) in the foreground;
    SIGTERM and SIGINT stop it cleanly. Logs go to stderr."""
    import logging
    import sys

    def on_signal(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping (%s)", signum, what)
        service.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service.run()


class Managed:
    """A detached gpurent daemon (indexer, oracle, provider agent): ``<folder>/<name>.json``
    records its pid and where it answers, ``<folder>/<name>.log`` collects its output."""

    def __init__(self, name: str, folder: Callable[[], Path]):
        self.name = name
        self._folder = folder

    @property
    def folder(self) -> Path:
        path = self._folder()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def record_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    def running(self) -> dict[str, Any] | None:
        """Its record while its process runs; None otherwise."""
        return read_record(self.record_path)

    def start(self, args: Sequence[str], ready: Callable[[], bool], record: dict[str, Any],
              timeout_s: float = 60.0, env: dict[str, str] | None = None) -> dict[str, Any]:
        """Spawns ``args`` (the running one's record if up), waits until ``ready`` and records
        ``record`` plus the pid."""
        existing = self.running()
        if existing:
            return existing
        process = spawn(args, self.log_path, env)
        wait_ready(process, ready, self.name, self.log_path, timeout_s)
        full = {**record, "pid": process.pid}
        write_record(self.record_path, full)
        return full

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stops it (SIGTERM, then SIGKILL after ``timeout_s``); False if it was not running."""
        record = self.running()
        self.record_path.unlink(missing_ok=True)
        if record is None:
            return False
        terminate(int(record["pid"]), timeout_s)
        return True


def daemon_binary(name: str) -> str:
    """A console script of this installation (``gpurent-indexer``…), on PATH or beside Python."""
    import shutil
    import sys

    return shutil.which(name) or str(Path(sys.executable).parent / name)
