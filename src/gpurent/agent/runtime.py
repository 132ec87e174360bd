"""Containers for renters' images: untrusted code, so every container is locked down.

Every container gets: all capabilities dropped, ``no-new-privileges``, never privileged, its
own network (none at all unless allowed), PID and IPC namespaces, no mounts from the host
(no Docker socket, no host paths), a read-only root filesystem with writable tmpfs scratch
space (``/scratch`` and ``/tmp``, no exec/suid/dev), memory (no swap), CPU and process limits
from the resource's spec, and a GPU only through a device request for the GPU it was given.
Containers carry the label ``gpurent.job`` so a restarted agent finds and re-attaches to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpurent.agent.config import Limits, ResourceSpec

LABEL = "gpurent.job"
ENDED = ("exited", "stopped", "dead")  # the engine's statuses of a container that no longer runs


@dataclass(frozen=True)
class ContainerState:
    status: str  # created | running | exited | …
    exit_code: int | None
    oom_killed: bool

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def container_options(job_id: str, spec: ResourceSpec, limits: Limits, gpu_uuid: str | None,
                      network: bool = False) -> dict[str, Any]:
    """The docker SDK ``containers.create`` options for one job: the isolation policy."""
    from docker.types import DeviceRequest

    memory = f"{spec.memory_gb}g"
    scratch = f"rw,noexec,nosuid,nodev,size={limits.scratch_mb}m"
    options: dict[str, Any] = {
        "detach": True,
        "labels": {LABEL: job_id},
        "name": f"gpurent-{job_id.removeprefix('0x')}",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "privileged": False,
        "read_only": True,
        "tmpfs": {"/scratch": scratch, "/tmp": scratch},
        "network_mode": "bridge" if network and limits.network else "none",
        "ipc_mode": "private",
        "mem_limit": memory,
        "memswap_limit": memory,  # no swap on top
        "nano_cpus": spec.vcpu * 1_000_000_000,
        "pids_limit": limits.pids,
        "environment": {"GPURENT_JOB_ID": job_id, "GPURENT_SCRATCH": "/scratch"},
        "working_dir": "/scratch",
    }
    if gpu_uuid:
        options["device_requests"] = [DeviceRequest(device_ids=[gpu_uuid], capabilities=[["gpu"]])]
    return options


class Runtime:
    """The container side of a job, through the Docker Engine API (``engine``: DockerClient)."""

    def __init__(self, engine: Any):
        self.engine = engine

    def launch(self, job_id: str, image_id: str, spec: ResourceSpec, limits: Limits, gpu_uuid: str | None,
               network: bool = False) -> str:
        """Creates and starts the job's container (re-using one a crashed run created); returns its id."""
        existing = self.find(job_id)
        if existing is None:
            existing = self.engine.containers.create(image_id, **container_options(job_id, spec, limits, gpu_uuid,
                                                                                   network))
        if existing.status != "running":
            existing.start()
        return str(existing.id)

    def find(self, job_id: str) -> Any | None:
        """The job's container, if the engine has one."""
        found = self.engine.containers.list(all=True, filters={"label": f"{LABEL}={job_id}"})
        return found[0] if found else None

    def state(self, container_id: str) -> ContainerState | None:
        from docker.errors import NotFound

        try:
            container = self.engine.containers.get(container_id)
        except NotFound:
            return None
        info = container.attrs.get("State", {})
        status = str(info.get("Status", container.status))
        exit_code = int(info["ExitCode"]) if status in ENDED and "ExitCode" in info else None
        return ContainerState(status=status, exit_code=exit_code, oom_killed=bool(info.get("OOMKilled")))

    def stop(self, container_id: str, timeout_s: int = 5) -> None:
        from docker.errors import APIError, NotFound

        try:
            self.engine.containers.get(container_id).stop(timeout=timeout_s)
        except (NotFound, APIError):
            pass

    def logs(self, container_id: str, follow: bool = False, stream: bool = False) -> Any:
        """The container's whole output: bytes; with ``stream`` a stream of chunks of what it wrote so
        far, with ``follow`` one that lasts until it ends."""
        container = self.engine.containers.get(container_id)
        return container.logs(stream=stream or follow, follow=follow, stdout=True, stderr=True)

    def remove(self, container_id: str) -> None:
        from docker.errors import APIError, NotFound

        try:
            self.engine.containers.get(container_id).remove(force=True)
        except (NotFound, APIError):
            pass
