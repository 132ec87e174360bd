"""gpurent's own Kubo node: repo under ``<state home>/ipfs``, API and gateway on loopback.

``Kubo(...).start()`` initialises the repo once (no public bootstrap, no mDNS, no DHT: peers are
the other gpurent nodes it is told about, so nothing leaves the machine unless configured),
starts the daemon detached and records its pid and addresses; ``stop`` ends it; a restart keeps
the repo, hence every pin. Ports may be 0 (the OS picks; the daemon reports what it bound).
:func:`ipfs_client` is the KuboClient every other module uses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError, PortTaken
from gpurent.images.kubo import KuboClient, api_url
from gpurent.local.process import Managed, port_free
from gpurent.local.service import ManagedService, probe
from gpurent.settings import load_settings, state_home

DEFAULT_API_PORT = 5101
DEFAULT_GATEWAY_PORT = 8181
DEFAULT_SWARM_PORT = 4101


@dataclass(frozen=True)
class IpfsNode:
    pid: int
    repo: str
    api_url: str
    gateway_url: str | None
    swarm: list[str]
    peer_id: str

    def client(self) -> KuboClient:
        return KuboClient(self.api_url, gateway=self.gateway_url)

    @property
    def swarm_multiaddrs(self) -> list[str]:
        """Addresses other nodes dial to peer with this one (``…/p2p/<peer id>``)."""
        return [f"{addr}/p2p/{self.peer_id}" for addr in self.swarm]


def kubo_binary() -> str:
    """``$GPURENT_IPFS_BIN``, an ``ipfs`` on PATH, or the one `make setup` builds."""
    if env := os.environ.get("GPURENT_IPFS_BIN"):
        return env
    local = Path(__file__).resolve().parents[3] / ".tools" / "bin" / "ipfs"
    if local.exists():
        return str(local)
    found = shutil.which("ipfs")
    if found:
        return found
    raise ConfigurationError("Kubo (ipfs) not found: run `make setup` (it builds Kubo) or put ipfs on PATH")


def _ipfs(repo: Path, *args: str) -> str:
    result = subprocess.run([kubo_binary(), *args], env={**os.environ, "IPFS_PATH": str(repo)},
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ConfigurationError(f"ipfs {' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def init_repo(repo: Path, api_port: int, gateway_port: int, swarm_port: int, storage_max: str = "100GB",
              public_host: str | None = None) -> None:
    """Creates the repo if missing and (re)writes its addresses; keeps everything it stores. The
    swarm listens on loopback, and on ``public_host`` too when given (other machines' nodes dial
    it there); the API and the gateway stay on loopback."""
    if not (repo / "config").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _ipfs(repo, "init", "--profile", "test", "--empty-repo")
    settings = {
        "Addresses.API": f"/ip4/127.0.0.1/tcp/{api_port}",
        "Addresses.Gateway": f"/ip4/127.0.0.1/tcp/{gateway_port}",
        "Addresses.Swarm": [f"/ip4/127.0.0.1/tcp/{swarm_port}"]
        + ([f"/ip4/{public_host}/tcp/{swarm_port}"] if public_host else []),
        "Bootstrap": [],
        "Discovery.MDNS.Enabled": False,
        "Routing.Type": "none",
        "Datastore.StorageMax": storage_max,
    }
    for key, value in settings.items():
        _ipfs(repo, "config", "--json", key, json.dumps(value))


def node_dir() -> Path:
    return state_home() / "ipfs"


def _process(folder: Path | None = None) -> Managed:
    """The daemon of the repo in ``folder``/repo (default: gpurent's own node); SIGINT lets Kubo
    close its datastore cleanly."""
    return Managed("node", folder or node_dir(), log="daemon.log", stop_signal=signal.SIGINT,
                   title="the IPFS daemon")


def running_node() -> IpfsNode | None:
    """gpurent's node if its daemon still runs; None otherwise."""
    record = _process().running()
    return IpfsNode(**record) if record else None


def _listening(log: Path, what: str) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return re.findall(rf"{what} (?:server )?listening on (\S+)", text)


class Kubo(ManagedService):
    """A Kubo node as a service of the local stack (see :mod:`gpurent.local.service`): gpurent's
    own, or (``repo``) one of its own elsewhere, as tests and benchmarks start."""

    name = "ipfs"
    endpoint_key = "api_url"

    def __init__(self, api_port: int = DEFAULT_API_PORT, gateway_port: int = DEFAULT_GATEWAY_PORT,
                 swarm_port: int = DEFAULT_SWARM_PORT, peers: list[str] | None = None, repo: Path | None = None,
                 timeout_s: float = 60.0, public_host: str | None = None):
        self.ports, self.peers, self.repo, self.timeout_s = (api_port, gateway_port, swarm_port), peers, repo, timeout_s
        self.public_host = public_host
        self.process = _process(repo.parent if repo else None)

    def start(self) -> IpfsNode:
        """Starts the node detached (gpurent's running one if it is up); ``peers`` are dialled once ready."""
        existing = running_node() if self.repo is None else None
        if existing:
            _connect(existing, self.peers)
            return existing
        for port in self.ports:
            if port and not port_free(port):
                raise PortTaken(port, "ipfs")
        repo = self.repo or node_dir() / "repo"
        init_repo(repo, *self.ports, public_host=self.public_host)
        (repo / "api").unlink(missing_ok=True)
        log = self.process.log_path

        def described(pid: int) -> dict[str, Any]:
            url = api_url((repo / "api").read_text())
            identity = KuboClient(url).identity()
            gateways = _listening(log, "Gateway")
            hosts = ("127.0.0.1", self.public_host) if self.public_host else ("127.0.0.1",)
            swarm = sorted({a.split("/p2p/")[0] for a in identity.get("Addresses") or []
                            if a.startswith(tuple(f"/ip4/{h}/tcp/" for h in hosts)) and a.count("/") == 6})
            return {"repo": str(repo), "api_url": url, "gateway_url": api_url(gateways[0]) if gateways else None,
                    "swarm": swarm, "peer_id": str(identity["ID"])}

        node = IpfsNode(**self.process.start(
            [kubo_binary(), "daemon", "--enable-gc=false"], lambda: "Daemon is ready" in log.read_text(errors="replace"),
            described, self.timeout_s, env={"IPFS_PATH": str(repo)}, fresh_log=True))
        _connect(node, self.peers)
        return node

    def stop(self, timeout_s: float = 20.0) -> bool:
        """Stops the node; False if none ran. The repo (and every pin) stays for the next start."""
        return self.process.stop(timeout_s)

    def status(self) -> dict[str, Any]:
        """The node's addresses, peers, pins and repo size."""
        record = self.running()
        if record is None:
            return {"running": False}
        node = IpfsNode(**record)

        def measure() -> dict[str, Any]:
            client = node.client()
            return {"version": client.version(), "peers": len(client.swarm_peers()), "pins": len(client.pins()),
                    **client.repo_stat()}

        return probe(measure, pid=node.pid, api=node.api_url, gateway=node.gateway_url, peer_id=node.peer_id,
                     swarm=node.swarm_multiaddrs, repo=node.repo)


def start(api_port: int = DEFAULT_API_PORT, gateway_port: int = DEFAULT_GATEWAY_PORT,
          swarm_port: int = DEFAULT_SWARM_PORT, peers: list[str] | None = None, repo: Path | None = None,
          timeout_s: float = 60.0) -> IpfsNode:
    """Starts a node detached (gpurent's own unless ``repo``; the running one if it is up)."""
    return Kubo(api_port, gateway_port, swarm_port, peers, repo, timeout_s).start()


def _connect(node: IpfsNode, peers: list[str] | None) -> None:
    client = node.client()
    for peer in peers or []:
        client.swarm_connect(peer)


def stop_node(node: IpfsNode, timeout_s: float = 20.0) -> None:
    """Stops one node's daemon, wherever its repo (SIGINT lets Kubo close its datastore cleanly)."""
    _process(Path(node.repo).parent).stop(timeout_s)


def stop(timeout_s: float = 20.0) -> bool:
    """Stops gpurent's node; False if none ran. The repo (and every pin) stays for the next start."""
    return Kubo().stop(timeout_s)


def ipfs_client() -> KuboClient:
    """The configured Kubo endpoint (GPURENT_IPFS_API / config.toml), else gpurent's running node."""
    settings = load_settings()
    if settings.ipfs_api:
        return KuboClient(settings.ipfs_api, gateway=settings.ipfs_gateway)
    node = running_node()
    if node is None:
        from gpurent.errors import ServiceUnavailable

        raise ServiceUnavailable("no IPFS node is running: start one with `gpurent ipfs up` "
                                 "(or point GPURENT_IPFS_API at a Kubo RPC endpoint)")
    return node.client()
