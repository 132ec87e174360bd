"""Shared fixtures (a pytest plugin, see tests/conftest.py): real Kubo nodes (own repos,
loopback, OS-picked ports), a real podman API service, and small docker-archive images built
from Debian's busybox-static."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpurent.local import engine as engine_mod
from gpurent.local import ipfs as node_mod
from gpurent.images.archive import ArchiveInfo, LayerFile, build_archive
from gpurent.images.store import ImageStore
from gpurent.manifest import Manifest

BUSYBOX = Path("/bin/busybox")


@pytest.fixture(scope="session")
def engine_host(tmp_path_factory) -> Iterator[str]:
    """A podman `system service` on a private socket; yields its DOCKER_HOST."""
    import docker

    service = engine_mod.start(folder=tmp_path_factory.mktemp("engine"))
    yield service.docker_host
    try:  # containers outlive the service (conmon keeps them): a job a test left running stops here
        client = docker.DockerClient(base_url=service.docker_host, timeout=60)
        for container in client.containers.list(all=True):
            container.remove(force=True)
    except docker.errors.DockerException:
        pass
    engine_mod.stop_service(service)


@pytest.fixture(scope="session")
def engine_factory(engine_host) -> Callable[[], object]:
    """A docker.DockerClient factory for the test engine."""
    import docker

    return lambda: docker.DockerClient(base_url=engine_host, timeout=120)


@pytest.fixture(scope="session")
def engine(engine_factory):
    return engine_factory()


class Nodes:
    """Starts Kubo nodes on demand; stops every one at the end."""

    def __init__(self, root: Path):
        self.root = root
        self.started: list[node_mod.IpfsNode] = []

    def start(self, name: str, peers: list[node_mod.IpfsNode] = ()) -> node_mod.IpfsNode:
        node = node_mod.start(0, 0, 0, repo=self.root / name / "repo",
                              peers=[a for p in peers for a in p.swarm_multiaddrs])
        self.started.append(node)
        return node

    def stop(self, node: node_mod.IpfsNode) -> None:
        node_mod.stop_node(node)
        self.started.remove(node)

    def stop_all(self) -> None:
        for node in list(self.started):
            self.stop(node)


@pytest.fixture(scope="session")
def session_nodes(tmp_path_factory) -> Iterator[Nodes]:
    nodes = Nodes(tmp_path_factory.mktemp("kubo-session"))
    yield nodes
    nodes.stop_all()


@pytest.fixture(scope="session")
def kubo(session_nodes) -> node_mod.IpfsNode:
    """One node shared by the session (tests that need fresh ones use ``nodes``)."""
    return session_nodes.start("main")


@pytest.fixture
def nodes(tmp_path) -> Iterator[Nodes]:
    nodes = Nodes(tmp_path)
    yield nodes
    nodes.stop_all()


def make_image(folder: Path, name: str, payload: bytes = b"", cmd: list[str] | None = None,
               files: tuple[LayerFile, ...] = ()) -> tuple[Path, ArchiveInfo]:
    """A busybox image whose /payload makes it (and its CID) unique (plus ``files``)."""
    assert BUSYBOX.exists(), "Debian's busybox-static is required: run `make setup`"
    out = folder / f"{name.replace('/', '_').replace(':', '_')}.tar"
    info = build_archive(out, [LayerFile("bin/busybox", BUSYBOX, 0o755), LayerFile("payload", payload), *files],
                         name, cmd or ["/bin/busybox", "cat", "/payload"])
    return out, info


def run_to_end(engine, image_id: str, timeout_s: float = 60.0) -> bytes:
    """Runs the image's own command to its end and returns its output: created, started,
    waited for (bounded), its log read, removed. Not ``containers.run``, whose attached log
    stream podman sometimes never closes after a quick container exits (the test then hangs)."""
    container = engine.containers.create(image_id)
    try:
        container.start()
        container.wait(timeout=timeout_s)
        return bytes(container.logs(stdout=True, stderr=False))
    finally:
        container.remove(force=True)


def build_static(source: Path, out: Path) -> Path:
    """Compiles a C probe with ``gcc -static`` (it runs in images that hold no libc)."""
    gcc = shutil.which("gcc")
    assert gcc, "gcc (with the static libc, Debian's libc6-dev) is required to build the hostile-image probes"
    subprocess.run([gcc, "-static", "-O1", "-Wall", "-o", str(out), str(source)], check=True, capture_output=True)
    return out


@pytest.fixture
def image_factory(tmp_path, engine) -> Iterator[Callable[..., tuple[Path, ArchiveInfo]]]:
    """Builds unique busybox images; removes what tests loaded from the engine afterwards."""
    built: list[ArchiveInfo] = []

    def factory(name: str = "gpurent-test/app:1", size: int = 4096) -> tuple[Path, ArchiveInfo]:
        out, info = make_image(tmp_path, name, os.urandom(size))
        built.append(info)
        return out, info

    yield factory
    for info in built:
        try:
            engine.images.remove(info.image_id, force=True)
        except Exception:  # noqa: BLE001 - not loaded by this test
            pass


@pytest.fixture
def store(kubo, engine_factory, tmp_path) -> ImageStore:
    return ImageStore(kubo.client(), engine_factory, max_bytes=1 << 30, workdir=tmp_path / "work")


def session_manifest(suite, cast, chain) -> Manifest:
    """The manifest of the session's deployment (what `gpurent up` would have saved)."""
    return Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                    contracts={n: c.address for n, c in suite.as_dict().items()})
