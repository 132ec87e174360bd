"""The container engine: any Docker Engine API (Docker, or podman's compatible service).

``DOCKER_HOST`` (or ``[engine] docker_host`` in config.toml) names it; otherwise gpurent uses
its own podman service if one runs (``gpurent engine up`` starts it, socket under the state
folder), then the usual sockets of a system podman or Docker.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError, ServiceUnavailable
from gpurent.local.process import read_record, spawn, terminate, wait_ready, write_record
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


def running_service() -> EngineService | None:
    record = read_record(engine_dir() / "engine.json")
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


def start(timeout_s: float = 30.0, folder: Path | None = None) -> EngineService:
    """Starts podman's Docker-compatible API service detached (the running one if up).

    ``folder`` (default: ``<state home>/engine``) holds the socket, log and record; tests and
    benchmarks pass their own for a private service, which :func:`stop_service` ends.
    """
    if folder is None:
        existing = running_service()
        if existing:
            return existing
        folder = engine_dir()
    podman = shutil.which("podman")
    if podman is None:
        raise ConfigurationError("podman not found: run `make setup` (it installs podman) or set DOCKER_HOST")
    folder.mkdir(parents=True, exist_ok=True)
    sock = folder / "podman.sock"
    sock.unlink(missing_ok=True)
    log = folder / "podman.log"
    process = spawn([podman, "system", "service", "--time=0", f"unix://{sock}"], log)
    wait_ready(process, sock.exists, "podman system service", log, timeout_s)
    service = EngineService(pid=process.pid, socket=str(sock))
    write_record(folder / "engine.json", asdict(service))
    return service


def stop_service(service: EngineService, timeout_s: float = 15.0) -> None:
    """Ends one podman service (images and containers stay with podman)."""
    terminate(service.pid, timeout_s)


def stop(timeout_s: float = 15.0) -> bool:
    """Stops gpurent's podman service (containers and images stay); False if none ran."""
    service = running_service()
    (engine_dir() / "engine.json").unlink(missing_ok=True)
    if service is None:
        return False
    stop_service(service, timeout_s)
    return True
