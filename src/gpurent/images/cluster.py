"""IPFS Cluster beside Kubo: pins replicated across providers' nodes.

A cluster peer (``ipfs-cluster-service``, built by `make setup` from the Go module proxy) drives
one Kubo node. Peers sharing a secret form a CRDT cluster; a pin added anywhere is allocated to
between ``replication_min`` and ``replication_max`` peers, so an image stays retrievable when a
provider goes away, and a pin that cannot reach the minimum is refused rather than silently
under-replicated. :func:`start_peer` runs one peer on loopback; :class:`ClusterClient` speaks
its REST API.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError, ImageError
from gpurent.http import call, error_text
from gpurent.local.ipfs import IpfsNode
from gpurent.local.process import free_port, spawn, terminate, wait_ready


@dataclass(frozen=True)
class ClusterPeer:
    pid: int
    folder: str
    peer_id: str
    api_url: str
    swarm: str  # the multiaddr other peers bootstrap from

    def client(self) -> ClusterClient:
        return ClusterClient(self.api_url)


def cluster_binary(name: str = "ipfs-cluster-service") -> str:
    local = Path(__file__).resolve().parents[3] / ".tools" / "bin" / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise ConfigurationError(f"{name} not found: run `make setup` (it builds IPFS Cluster) or put it on PATH")


def _multiaddr(url: str) -> str:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    return f"/ip4/{host}/tcp/{port}"


def start_peer(folder: Path, node: IpfsNode, secret: str, bootstrap: list[ClusterPeer] = (),  # type: ignore[assignment]
               replication_min: int = 2, replication_max: int = 3, metric_ttl_s: float = 30.0,
               timeout_s: float = 60.0) -> ClusterPeer:
    """Initialises (once) and starts a CRDT cluster peer for ``node``; joins ``bootstrap``."""
    binary = cluster_binary()
    if not (folder / "service.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([binary, "-c", str(folder), "init", "--consensus", "crdt", "-f"], check=True,
                       capture_output=True)
    config = json.loads((folder / "service.json").read_text())
    swarm_port, api_port = free_port(), free_port()
    cluster = config["cluster"]
    cluster.update(secret=secret, peername=folder.name, listen_multiaddress=[f"/ip4/127.0.0.1/tcp/{swarm_port}"],
                   replication_factor_min=replication_min, replication_factor_max=replication_max,
                   mdns_interval="0s", monitor_ping_interval=f"{max(1, metric_ttl_s / 3):.0f}s",
                   disable_repinning=False)
    config["api"]["restapi"]["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{api_port}"
    config["api"]["ipfsproxy"]["listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
    config["api"]["ipfsproxy"]["node_multiaddress"] = _multiaddr(node.api_url)
    config["api"]["pinsvcapi"]["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
    config["ipfs_connector"]["ipfshttp"]["node_multiaddress"] = _multiaddr(node.api_url)
    config["ipfs_connector"]["ipfshttp"]["connect_swarms_delay"] = "1s"
    config["monitor"]["pubsubmon"]["check_interval"] = f"{max(1, metric_ttl_s / 3):.0f}s"
    for informer in config["informer"].values():
        informer["metric_ttl"] = f"{metric_ttl_s:.0f}s"
    (folder / "service.json").write_text(json.dumps(config, indent=1))
    peer_id = json.loads((folder / "identity.json").read_text())["id"]
    args = [binary, "-c", str(folder), "daemon"]
    if bootstrap:
        args += ["--bootstrap", ",".join(p.swarm for p in bootstrap)]
    log = folder / "cluster.log"
    process = spawn(args, log)
    peer = ClusterPeer(pid=process.pid, folder=str(folder), peer_id=peer_id,
                       api_url=f"http://127.0.0.1:{api_port}", swarm=f"/ip4/127.0.0.1/tcp/{swarm_port}/p2p/{peer_id}")
    wait_ready(process, lambda: "IPFS Cluster is READY" in log.read_text(errors="replace"), "ipfs-cluster-service",
               log, timeout_s)
    return peer


def stop_peer(peer: ClusterPeer, timeout_s: float = 20.0) -> None:
    terminate(peer.pid, timeout_s, sig=signal.SIGINT)


class ClusterClient:
    """The REST API of one cluster peer."""

    def __init__(self, url: str, timeout_s: float = 60.0):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = call(method, f"{self.url}{path}", f"the IPFS Cluster peer at {self.url} does not answer",
                        timeout=self.timeout_s, **kwargs)
        if response.status_code >= 400:
            raise ImageError(f"cluster {method} {path.split('?')[0]} failed: {error_text(response, 'message')}")
        return response

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return response.json() if response.content else None

    def peers(self) -> list[dict[str, Any]]:
        """Every peer as this one sees it (the API streams one JSON object per line)."""
        text = self._request("GET", "/peers").text
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def live_peers(self) -> set[str]:
        """Peers whose free-space metric has not expired: those a pin can be allocated to."""
        metrics = self._call("GET", "/monitor/metrics/freespace") or []
        return {str(m["peer"]) for m in metrics if m.get("valid", True)}

    def wait_live(self, count: int, timeout_s: float = 60.0) -> set[str]:
        """Waits until ``count`` peers report metrics (a fresh cluster needs a few seconds)."""
        deadline = time.monotonic() + timeout_s
        while len(live := self.live_peers()) < count:
            if time.monotonic() > deadline:
                raise ImageError(f"only {len(live)} of {count} cluster peers report metrics")
            time.sleep(0.3)
        return live

    def pin(self, cid: str, replication_min: int | None = None, replication_max: int | None = None,
            name: str = "") -> dict[str, Any]:
        """Pins ``cid`` cluster-wide; ImageError if fewer than the minimum peers can take it."""
        params: dict[str, Any] = {"name": name}
        if replication_min is not None:
            params["replication-min"] = replication_min
        if replication_max is not None:
            params["replication-max"] = replication_max
        return dict(self._call("POST", f"/pins/{cid}", params=params))

    def unpin(self, cid: str) -> None:
        self._call("DELETE", f"/pins/{cid}")

    def allocations(self, cid: str) -> list[str]:
        return list(self._call("GET", f"/allocations/{cid}").get("allocations") or [])

    def status(self, cid: str) -> dict[str, str]:
        """Peer id -> pin status (pinned, pinning, pin_error, remote, …) as this peer sees it."""
        info = self._call("GET", f"/pins/{cid}").get("peer_map") or {}
        return {peer: str(entry.get("status")) for peer, entry in info.items()}

    def wait_pinned(self, cid: str, at_least: int, timeout_s: float = 60.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.status(cid)
            if sum(1 for s in status.values() if s == "pinned") >= at_least:
                return status
            if time.monotonic() > deadline:
                raise ImageError(f"{cid} is pinned on fewer than {at_least} cluster peers: {status}")
            time.sleep(0.3)


def new_secret() -> str:
    return os.urandom(32).hex()
