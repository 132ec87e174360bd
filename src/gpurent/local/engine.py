"""The container engine: any Docker Engine API (Docker, or podman's compatible service).

``DOCKER_HOST`` (or ``[engine] docker_host`` in config.toml) names it; otherwise gpurent uses
its own podman service if one runs (``gpurent engine up`` starts it, socket under the state
folder), then the usual sockets of a system podman or Docker.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError, ServiceUnavailable
from gpurent.local.process import Managed
from gpurent.local.service import ManagedService, probe
from gpurent.settings import load_settings, state_home

SYSTEM_SOCKETS = ("/run/podman/podman.sock", "/var/run/docker.sock")


@dataclass(frozen=True)
class EngineService:
    pid: int
    socket: str

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"


def engine_dir() -> Path:
    path = state_home() / "engine"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _process(folder: Path | None = None) -> Managed:
    return Managed("engine", folder or engine_dir(), log="podman.log", title="podman system service")


def running_service() -> EngineService | None:
    record = _process().running()
    return EngineService(**record) if record else None


def docker_host() -> str:
    """Where the Docker Engine API is: configured, gpurent's podman service, or a system socket."""
    configured = load_settings().docker_host
    if configured:
        return configured
    service = running_service()
    if service:
        return service.docker_host
    for path in SYSTEM_SOCKETS:
        if Path(path).exists():
            return f"unix://{path}"
    raise ServiceUnavailable("no container engine: start one with `gpurent engine up` (podman) or set DOCKER_HOST")


def engine_client(timeout_s: float = 300.0) -> Any:
    """A ``docker.DockerClient`` for the engine, checked with a ping."""
    import docker
    from docker.errors import DockerException

    host = docker_host()
    try:
        client = docker.DockerClient(base_url=host, timeout=int(timeout_s))
        client.ping()
    except (DockerException, OSError) as err:
        raise ServiceUnavailable(f"the container engine at {host} does not answer: {err}".splitlines()[0]) from err
    return client


class Engine(ManagedService):
    """podman's Docker-compatible API service as a service of the local stack (see
    :mod:`gpurent.local.service`). ``folder`` (default: ``<state home>/engine``) holds the socket,
    log and record; tests and benchmarks pass their own for a private service."""

    name = "engine"

    def __init__(self, folder: Path | None = None, timeout_s: float = 30.0):
        self.timeout_s = timeout_s
        self.process = _process(folder)

    def start(self) -> EngineService:
        """Starts `podman system service` detached (the running one if up)."""
        existing = self.running()
        if existing:
            return EngineService(**existing)
        podman = shutil.which("podman")
        if podman is None:
            raise ConfigurationError("podman not found: run `make setup` (it installs podman) or set DOCKER_HOST")
        sock = self.process.folder / "podman.sock"
        sock.unlink(missing_ok=True)
        # in its folder: conmon (which the service forks per container) writes an `oom` file into
        # its working directory whenever a container is OOM-killed; there, not wherever `up` ran
        record = self.process.start([podman, "system", "service", "--time=0", f"unix://{sock}"], sock.exists,
                                    {"socket": str(sock)}, self.timeout_s, in_folder=True)
        return EngineService(**record)

    def endpoint(self) -> str | None:
        record = self.running()
        return EngineService(**record).docker_host if record else None

    def status(self) -> dict[str, Any]:
        """Where the engine gpurent uses is (configured, this service, or a system one) and
        whether it answers."""
        def measure() -> dict[str, Any]:
            client = engine_client(timeout_s=10)
            version = client.version()
            return {"engine": version.get("Components", [{}])[0].get("Name", "engine"),
                    "version": version.get("Version"), "api_version": version.get("ApiVersion"),
                    "images": len(client.images.list()), "containers": len(client.containers.list())}

        try:
            host = docker_host()
        except ServiceUnavailable as err:
            return {"running": False, "error": str(err)}
        return probe(measure, docker_host=host, managed=self.running() is not None)


def start(timeout_s: float = 30.0, folder: Path | None = None) -> EngineService:
    """Starts podman's Docker-compatible API service detached (the running one if up); ``folder``
    as :class:`Engine`'s, ended by :func:`stop_service`."""
    return Engine(folder, timeout_s).start()


def stop_service(service: EngineService, timeout_s: float = 15.0) -> None:
    """Ends one podman service (images and containers stay with podman)."""
    _process(Path(service.socket).parent).stop(timeout_s)


def stop(timeout_s: float = 15.0) -> bool:
    """Stops gpurent's podman service (containers and images stay); False if none ran."""
    return Engine().stop(timeout_s)
