"""Containers for renters' images: untrusted code, so every container is locked down.

Every container gets: all capabilities dropped, ``no-new-privileges``, never privileged, the
agent's seccomp profile (``seccomp.json`` beside this module: podman's default profile, except
that no job may create or join a namespace — ``unshare``, ``setns``, ``clone`` with a namespace
flag, ``clone3`` — nor use the kernel's keyrings — ``keyctl``, ``add_key``, ``request_key``:
without a user namespace of its own, root in a job shares host root's keyring — and, as in
Docker's default, the mount family, ``syslog`` and ``reboot`` need capabilities a job lacks),
its own network (none at all unless allowed), PID and IPC namespaces, no mounts from the host (no Docker socket,
no host paths), a read-only root filesystem whose only writable paths are the agent's sized
tmpfs mounts (``/scratch``, ``/tmp``, ``/run``, ``/var/tmp``, ``/dev/shm`` and each path the
image declares a volume, which the engine would otherwise put on the host's disk: ``scratch_mb``
each, no exec/suid/dev; the engine's own ``/dev`` is a 64 MiB noexec tmpfs), no healthcheck (an
image's would have the engine exec into the job on its own timer), an engine-side log
capped at 4 × ``log_mb``, memory (no swap), CPU and process limits from the resource's spec, and a
GPU only through a device request for the GPU it was given.

Containers carry labels naming the job, the chain, the Marketplace and the agent (provider)
address, and a name derived from all four, so stacks sharing one engine never collide. A
restarted agent adopts only the container it recorded, with every label, the expected image and
the lockdown read back from the engine; any other container with the job's label is never
started (removed when it is this agent's, left alone otherwise: a fresh one is made beside it).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

from gpurent.agent.config import Limits, ResourceSpec
from gpurent.images.archive import image_volumes

READ_BYTES = 64 * 1024  # one read of a container's attach stream
LABEL = "gpurent.job"
CHAIN_LABEL, MARKET_LABEL, AGENT_LABEL = "gpurent.chain", "gpurent.marketplace", "gpurent.agent"
ENDED = ("exited", "stopped", "dead")  # the engine's statuses of a container that no longer runs
ADOPTABLE = ("created", "running")
SECCOMP_PROFILE = Path(__file__).with_name("seccomp.json")
WRITABLE = ("/scratch", "/tmp", "/run", "/var/tmp")  # the agent's tmpfs mounts (and /dev/shm)
_SCRATCH_FLAGS = {"rw", "noexec", "nosuid", "nodev"}
ENGINE_LOG_FACTOR = 4  # the engine's log file per byte of the agent's copy (see engine_log_mb)
GPU_ENV = "NVIDIA_VISIBLE_DEVICES"
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class ContainerState:
    status: str  # created | running | exited | …
    exit_code: int | None
    oom_killed: bool
    finished_at: float | None = None  # Unix time the engine recorded for its end (host clock), once ended

    @property
    def ended(self) -> bool:
        return self.status in ENDED


@dataclass(frozen=True)
class Bind:
    """A host path bind-mounted into a job: an input (read-only) or the output folder (writable,
    never executable). Targets are the definition's paths, which the spec keeps off the
    container's own and scratch paths (``/proc``, ``/scratch``…)."""

    source: Path
    target: str
    writable: bool = False

    @property
    def mode(self) -> str:
        return "rw,noexec,nosuid,nodev" if self.writable else "ro,nosuid,nodev"


@dataclass(frozen=True)
class Workload:
    """What a job definition adds to a container: its process, environment and mounts.
    ``secrets`` reach only the create call's environment (never a record)."""

    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    binds: tuple[Bind, ...] = ()


BARE = Workload()


@dataclass(frozen=True)
class Owner:
    """Whose containers these are: one agent (provider address) for one Marketplace on one chain."""

    chain_id: int
    marketplace: str
    agent: str

    def labels(self, job_id: str) -> dict[str, str]:
        return {LABEL: job_id, CHAIN_LABEL: str(self.chain_id), MARKET_LABEL: self.marketplace.lower(),
                AGENT_LABEL: self.agent.lower()}

    def name(self, job_id: str) -> str:
        """``gpurent-<job id prefix>-<digest of chain, Marketplace, agent and job>``."""
        key = "/".join(self.labels(job_id)[k] for k in (CHAIN_LABEL, MARKET_LABEL, AGENT_LABEL, LABEL))
        return f"gpurent-{job_id.removeprefix('0x')[:12]}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def engine_log_mb(limits: Limits) -> int:
    """The engine's log cap: ``ENGINE_LOG_FACTOR`` × ``log_mb``. The engine stores every line
    with a timestamp and a stream name, and at its cap it starts its file over; the agent's own
    copy (cut at ``log_mb``) is streamed from that file, so the file gets room for the copy to
    fill before the engine drops anything, and disk use per container stays bounded."""
    return ENGINE_LOG_FACTOR * limits.log_mb


def seccomp_option(inline: bool = False) -> str:
    """The ``security_opt`` entry for the agent's profile: the profile's JSON for Docker (its API
    takes the content), the profile's path for podman (its compatible API opens a path)."""
    if inline:
        return "seccomp=" + json.dumps(json.loads(SECCOMP_PROFILE.read_text()), separators=(",", ":"))
    return f"seccomp={SECCOMP_PROFILE}"


def container_options(job_id: str, spec: ResourceSpec, limits: Limits, gpu_uuid: str | None,
                      network: bool = False, *, owner: Owner, seccomp: str | None = None,
                      volumes: tuple[str, ...] = (), workload: Workload = BARE) -> dict[str, Any]:
    """The docker SDK ``containers.create`` options for one job: the isolation policy.
    ``volumes``: the image's declared volumes, each covered by a tmpfs like the others (so the
    engine makes no volume on the host's disk for them), except where a bind of ``workload``
    goes; ``workload``: the definition's command, environment and binds (the agent's own
    variables win over the definition's, which the spec refuses anyway)."""
    from docker.types import DeviceRequest, LogConfig

    memory = f"{spec.memory_gb}g"
    scratch = f"rw,noexec,nosuid,nodev,size={limits.scratch_mb}m"
    options: dict[str, Any] = {
        "detach": True,
        "labels": owner.labels(job_id),
        "name": owner.name(job_id),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges", seccomp or seccomp_option()],
        "privileged": False,
        "read_only": True,
        "tmpfs": {path: scratch for path in (*WRITABLE, *volumes)
                  if not any(path == b.target or path.startswith(b.target + "/") for b in workload.binds)},
        "healthcheck": {"test": ["NONE"]},  # an image's HEALTHCHECK would have the engine exec into the job
        "shm_size": limits.scratch_mb * 2**20,
        "log_config": LogConfig(type="json-file", config={"max-size": f"{engine_log_mb(limits)}m"}),
        "network_mode": "bridge" if network and limits.network else "none",
        "ipc_mode": "private",
        "mem_limit": memory,
        "memswap_limit": memory,  # no swap on top
        "nano_cpus": spec.vcpu * 1_000_000_000,
        "pids_limit": limits.pids,
        # NVIDIA's container hook picks GPUs from the container's environment: an image's own
        # NVIDIA_VISIBLE_DEVICES=all (or a legacy CUDA_VERSION with none) would be every GPU of the
        # host, so the agent sets it: the job's GPU, or empty (no GPU, as NVIDIA documents it)
        "environment": {**dict(workload.env), "GPURENT_JOB_ID": job_id, "GPURENT_SCRATCH": "/scratch",
                        GPU_ENV: gpu_uuid or ""},
        "working_dir": "/scratch",
    }
    if workload.binds:
        options["volumes"] = {str(b.source): {"bind": b.target, "mode": b.mode} for b in workload.binds}
    if workload.entrypoint is not None:
        options["entrypoint"] = list(workload.entrypoint)
    if workload.command is not None:
        options["command"] = list(workload.command)
    if gpu_uuid:
        options["device_requests"] = [DeviceRequest(device_ids=[gpu_uuid], capabilities=[["gpu"]])]
    return options


def _flags(text: str) -> set[str]:
    return {flag.strip() for flag in text.split(",") if flag.strip()}


def lockdown_differences(attrs: dict[str, Any], image_id: str, options: dict[str, Any]) -> list[str]:
    """What in a container (its engine ``inspect``) differs from the image and lockdown that
    ``options`` ask for; empty when it is the container the agent would create."""
    host, config = attrs.get("HostConfig") or {}, attrs.get("Config") or {}
    found: list[str] = []

    def check(what: str, ok: bool) -> None:
        if not ok:
            found.append(what)

    check("image", attrs.get("Image") == image_id)
    labels = config.get("Labels") or {}
    check("labels", all(labels.get(k) == v for k, v in options["labels"].items()))
    check("privileged", host.get("Privileged") is False and not host.get("CapAdd"))
    drop = set(host.get("CapDrop") or ())
    check("capabilities", "ALL" in drop or {"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_RAW", "SETUID", "SETGID",
                                             "SYS_CHROOT", "MKNOD", "SETPCAP", "SETFCAP", "FSETID"} <= drop)
    check("security options", set(options["security_opt"]) <= set(host.get("SecurityOpt") or ()))
    check("read-only root", host.get("ReadonlyRootfs") is True)
    check("network", host.get("NetworkMode") == options["network_mode"])
    check("namespaces", host.get("PidMode") in ("", "private") and host.get("IpcMode") not in ("host", "")
          and host.get("UTSMode") != "host" and host.get("UsernsMode") in ("", None))
    binds = options.get("volumes") or {}
    wanted = {(source, b["bind"]) for source, b in binds.items()}
    mounted = {(str(m.get("Source")), str(m.get("Destination"))) for m in attrs.get("Mounts") or ()
               if m.get("Type") == "bind"}
    writable = {b["bind"] for b in binds.values() if b["mode"].startswith("rw")}
    check("host mounts", mounted == wanted and not host.get("Devices") and not host.get("VolumesFrom")
          and all(m.get("Type") == "bind" for m in attrs.get("Mounts") or ())
          and all(bool(m.get("RW")) == (m.get("Destination") in writable) for m in attrs.get("Mounts") or ()))
    tmpfs = host.get("Tmpfs") or {}
    check("tmpfs", set(tmpfs) == set(options["tmpfs"])
          and all(_flags(options["tmpfs"][p]) <= _flags(tmpfs[p]) for p in options["tmpfs"]))
    check("shm size", host.get("ShmSize") == options["shm_size"])
    check("healthcheck", (config.get("Healthcheck") or {}).get("Test") == options["healthcheck"]["test"])
    check("memory", host.get("Memory") == host.get("MemorySwap") == _bytes(options["mem_limit"]))
    check("cpu", host.get("NanoCpus") == options["nano_cpus"])
    check("pids", host.get("PidsLimit") == options["pids_limit"])
    wanted_gpus = [list(r["DeviceIDs"]) for r in options.get("device_requests", [])]
    check("gpu", [list(r.get("DeviceIDs") or ()) for r in host.get("DeviceRequests") or ()] == wanted_gpus
          and f"{GPU_ENV}={options['environment'][GPU_ENV]}" in (config.get("Env") or ()))
    return found


def engine_time(value: Any) -> float | None:
    """An engine timestamp (RFC 3339 with up to nanoseconds: ``2026-12-01T18:30:05.123456789Z``)
    as Unix time; None for anything else, and for the zero time the engine reports before an end."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) and len(value) <= 64 else None
    if match is None:
        return None
    base, fraction, zone = match.groups()
    try:
        at = datetime.fromisoformat(base + ("+00:00" if zone in ("Z", "z") else zone))
    except ValueError:
        return None
    if at.year < 1971:
        return None  # 0001-01-01T00:00:00Z: not ended
    return at.timestamp() + (float("0" + fraction) if fraction else 0.0)


def _bytes(size: str) -> int:
    return int(size.removesuffix("g")) * 2**30


class Runtime:
    """The container side of a job, through the Docker Engine API (``engine``: DockerClient),
    for one ``owner``: the containers it makes are labelled and named after it."""

    def __init__(self, engine: Any, owner: Owner):
        self.engine, self.owner = engine, owner
        self._seccomp: str | None = None

    def seccomp(self) -> str:
        """The profile option this engine accepts (podman's API wants a path, Docker's the JSON)."""
        if self._seccomp is None:
            components = self.engine.version().get("Components") or [{}]
            podman = any("podman" in str(c.get("Name", "")).lower() for c in components)
            self._seccomp = seccomp_option(inline=not podman)
        return self._seccomp

    def options(self, job_id: str, spec: ResourceSpec, limits: Limits, gpu_uuid: str | None,
                network: bool = False, volumes: tuple[str, ...] = (), workload: Workload = BARE) -> dict[str, Any]:
        return container_options(job_id, spec, limits, gpu_uuid, network, owner=self.owner, seccomp=self.seccomp(),
                                 volumes=volumes, workload=workload)

    def create(self, job_id: str, image_id: str, spec: ResourceSpec, limits: Limits, gpu_uuid: str | None,
               network: bool = False, known: str | None = None, workload: Workload = BARE) -> str:
        """The job's container, not started; returns its id (record it before :meth:`start`).

        ``known`` is the id this agent recorded for the job, if any: that container is adopted
        when it still has every label, the image and the lockdown asked for now. Other containers
        labelled with the job are never used: this agent's are removed, others' left alone."""
        from docker.errors import NotFound

        volumes = image_volumes(self.engine.images.get(image_id).attrs.get("Config"))
        options = self.options(job_id, spec, limits, gpu_uuid, network, volumes, workload)
        for container in self.engine.containers.list(all=True, filters={"label": f"{LABEL}={job_id}"}):
            if not self._ours(container, job_id):
                continue  # another stack's (or a planted) container: never started, never touched
            if (container.id == known and container.status in ADOPTABLE
                    and not lockdown_differences(container.attrs, image_id, options)):
                return str(container.id)
            container.remove(force=True, v=True)  # ours, but not one to run: unrecorded, ended or not locked down
        try:
            self.engine.containers.get(options["name"])
        except NotFound:
            pass
        else:  # the name is taken by a container that is not ours: make ours beside it
            options["name"] += "-" + secrets.token_hex(4)
        return str(self.engine.containers.create(image_id, **options).id)

    def start(self, container_id: str) -> None:
        container = self.engine.containers.get(container_id)
        if container.status != "running":
            container.start()

    def _ours(self, container: Any, job_id: str) -> bool:
        labels = container.labels or {}
        return all(labels.get(k) == v for k, v in self.owner.labels(job_id).items())

    def find(self, job_id: str) -> Any | None:
        """The job's container that this agent made, if the engine has one."""
        found = self.engine.containers.list(all=True, filters={"label": f"{LABEL}={job_id}"})
        return next((c for c in found if self._ours(c, job_id)), None)

    def state(self, container_id: str) -> ContainerState | None:
        from docker.errors import NotFound

        try:
            container = self.engine.containers.get(container_id)
        except NotFound:
            return None
        info = container.attrs.get("State", {})
        status = str(info.get("Status", container.status))
        ended = status in ENDED
        exit_code = int(info["ExitCode"]) if ended and "ExitCode" in info else None
        return ContainerState(status=status, exit_code=exit_code, oom_killed=bool(info.get("OOMKilled")),
                              finished_at=engine_time(info.get("FinishedAt")) if ended else None)

    def pid(self, container_id: str) -> int | None:
        """The host process id of the running container's first process, if it runs."""
        from docker.errors import NotFound

        try:
            info = self.engine.containers.get(container_id).attrs.get("State") or {}
        except NotFound:
            return None
        pid = info.get("Pid")
        return pid if info.get("Running") and isinstance(pid, int) and pid > 0 else None

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

    def attach(self, container_id: str) -> Attached:
        """The output of a container not started yet, each write as it is made, from its start
        to its end: the engine's attach stream, opened now (before :meth:`start`, as ``docker
        run`` does). Podman's ``logs -f`` polls its log file every 250 ms; attached, a line
        arrives in well under 1 ms. Only before the start: podman re-initialises an ended
        container it is attached to (its exit code is lost), so a container in any other state
        is refused (ValueError) and followed with :meth:`logs` instead. Closing the iterator
        closes the connection; the container runs on."""
        container = self.engine.containers.get(container_id)
        if container.status != "created":
            raise ValueError(f"container {container_id[:12]} is {container.status}: only a created one is attached")
        api = self.engine.api
        response = api.post(api._url("/containers/{0}/attach", container_id), None, stream=True,
                            params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 0},
                            headers={"Connection": "Upgrade", "Upgrade": "tcp"})
        try:
            response.raise_for_status()
            reader = response.raw._fp.fp  # http.client's buffered reader, just past the headers
            sock = getattr(reader.raw, "_sock", None)
            if sock is not None:
                sock.settimeout(None)  # a job may be silent for hours
        except Exception:
            response.close()
            raise
        return Attached(attach_payloads(lambda: reader.read1(READ_BYTES)), response.close)

    def stats(self, container_id: str) -> dict[str, Any]:
        """The engine's reading of the container's usage: one call, answered at once
        (``one-shot``: no wait for a second reading, which podman never takes anyway)."""
        return dict(self.engine.api.stats(container_id, stream=False, one_shot=True))

    def remove(self, container_id: str) -> None:
        from docker.errors import APIError, NotFound

        try:
            self.engine.containers.get(container_id).remove(force=True, v=True)  # v: and anonymous volumes
        except (NotFound, APIError):
            pass


def attach_payloads(read: Callable[[], bytes]) -> Iterator[bytes]:
    """The output in an engine's multiplexed attach stream (frames of an 8-byte header: stream
    0-2, three zero bytes, a big-endian size; then that many bytes), stdout and stderr in the
    order written, as it comes: a frame's bytes are passed on before the frame is whole. Ends
    when ``read`` returns nothing; ValueError for a header no engine writes (out of step)."""
    header, left = b"", 0
    while data := read():
        out: list[bytes] = []
        while data:
            if left:
                out.append(data[:left])
                data, left = data[left:], left - min(left, len(data))
                continue
            header, data = header + data[:8 - len(header)], data[8 - len(header):]
            if len(header) == 8:
                if header[0] > 2 or header[1:4] != b"\0\0\0":
                    raise ValueError(f"the engine's attach stream is out of step (header {header.hex()})")
                left, header = int.from_bytes(header[4:], "big"), b""
        if out:
            yield b"".join(out)


class Attached:
    """A container's attach stream: its output chunk by chunk; ``close`` (also at the end, and
    when the stream was never read) closes the connection."""

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], None]):
        self._chunks, self._close = chunks, close

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        self._close()
