"""The one shape every service of the local stack has (chain, Kubo, the container engine, the
indexer, the oracle, the provider agent), and the row `gpurent status` shows for one.

A service is configured when it is made (ports, folders, who signs); ``start`` starts it unless
it runs (returns what runs), ``stop`` stops it, ``running`` is its process record while the
process lives, ``endpoint`` where it answers, ``status`` what it reports (the same dict
`gpurent <service> status` prints; ``{"running": False}`` when it does not run), ``log_path``
where its output goes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from gpurent.local.process import Managed


class Service(Protocol):
    name: str

    @property
    def log_path(self) -> Path: ...

    def start(self) -> object: ...

    def stop(self) -> bool: ...

    def running(self) -> dict[str, Any] | None: ...

    def endpoint(self) -> str | None: ...

    def status(self) -> dict[str, Any]: ...


def probe(measure: Callable[[], dict[str, Any]], errors: tuple[type[BaseException], ...] = (Exception,),
          **known: Any) -> dict[str, Any]:
    """``{"running": True, **known, **measure()}``; running False with the error's first line if
    ``measure`` fails with one of ``errors``."""
    try:
        return {"running": True, **known, **measure()}
    except errors as err:
        text = str(err).strip()
        return {"running": False, **known, "error": text.splitlines()[0] if text else repr(err)}


ROW_KEYS = ("service", "running", "pid", "endpoint", "log")


def row(service: Service) -> dict[str, Any]:
    """One line of `gpurent status`: the service runs if its own process does and it answers."""
    record = service.running()
    status = service.status() if record is not None else {"running": False}
    return {"service": service.name, "running": record is not None and bool(status["running"]),
            "pid": record["pid"] if record else None, "endpoint": service.endpoint() if record else None,
            "log": str(service.log_path), **{k: v for k, v in status.items() if k not in ROW_KEYS}}


class ManagedService:
    """What a service whose process is a :class:`~gpurent.local.process.Managed` gets from it:
    its log, its record, its stop, and where it answers (its record's ``endpoint_key``)."""

    name: str
    process: Managed
    endpoint_key = "url"

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def running(self) -> dict[str, Any] | None:
        return self.process.running()

    def stop(self, timeout_s: float = 15.0) -> bool:
        return self.process.stop(timeout_s)

    def endpoint(self) -> str | None:
        record = self.running()
        return str(record[self.endpoint_key]) if record else None
