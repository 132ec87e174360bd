"""Detached service processes (anvil, Kubo, podman, the daemons) and the small JSON records that track them."""

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


def spawn(args: Sequence[str], log: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Starts ``args`` in its own session (in ``cwd`` if given), output appended to ``log``; it
    outlives this process."""
    with log.open("ab") as handle:
        return subprocess.Popen(list(args), stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, **(env or {})}, cwd=cwd)


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


class Managed:
    """One detached process of the local stack (anvil, Kubo, podman, the indexer, the oracle, a
    provider agent): ``<folder>/<name>.json`` records its pid and where it answers, its output
    goes to ``<folder>/<log>`` (``<name>.log`` unless named), ``stop_signal`` asks it to stop,
    ``title`` names it in errors."""

    def __init__(self, name: str, folder: Callable[[], Path] | Path, log: str | None = None,
                 stop_signal: int = signal.SIGTERM, title: str | None = None):
        self.name, self.title = name, title or name
        self._folder = folder
        self._log = log or f"{name}.log"
        self.stop_signal = stop_signal

    @property
    def folder(self) -> Path:
        path = self._folder if isinstance(self._folder, Path) else self._folder()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def record_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def log_path(self) -> Path:
        return self.folder / self._log

    def running(self) -> dict[str, Any] | None:
        """Its record while its process runs; None otherwise."""
        return read_record(self.record_path)

    def start(self, args: Sequence[str], ready: Callable[[], bool],
              record: dict[str, Any] | Callable[[int], dict[str, Any]], timeout_s: float = 60.0,
              env: dict[str, str] | None = None, fresh_log: bool = False, in_folder: bool = False) -> dict[str, Any]:
        """Spawns ``args`` (the running one's record if up), waits until ``ready`` and records
        ``record`` plus the pid (``record(pid)`` when it can only be known once it is ready);
        ``fresh_log`` empties the log first (when readiness is read from it); ``in_folder`` runs
        it with its folder as the working directory (for what drops files there)."""
        existing = self.running()
        if existing:
            return existing
        if fresh_log:
            self.log_path.write_text("")
        process = spawn(args, self.log_path, env, cwd=self.folder if in_folder else None)
        wait_ready(process, ready, self.title, self.log_path, timeout_s)
        full = {**(record(process.pid) if callable(record) else record), "pid": process.pid}
        write_record(self.record_path, full)
        return full

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stops it (``stop_signal``, then SIGKILL after ``timeout_s``); False if it was not running."""
        record = self.running()
        self.record_path.unlink(missing_ok=True)
        if record is None:
            return False
        terminate(int(record["pid"]), timeout_s, sig=self.stop_signal)
        return True


def daemon_binary(name: str) -> str:
    """A console script of this installation (``gpurent-indexer``…), on PATH or beside Python."""
    import shutil
    import sys

    return shutil.which(name) or str(Path(sys.executable).parent / name)
