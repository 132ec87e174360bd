"""`gpurent-provider init --network NAME`: what a provider on another machine needs, prepared.

Each step reports a :class:`Check` (what, whether it is ready, one line of detail), so the
provider sees every missing piece at once instead of one error per run: the chain and its
deployment, its own Kubo node (in the state folder, peered for good to the network's nodes),
its container engine, the oracles and the heartbeat slot they expect, and free ports.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlparse

from gpurent.errors import GpurentError
from gpurent.networks import Network


@dataclass(frozen=True)
class Check:
    what: str
    ready: bool
    detail: str


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def check_chain(network: Network) -> Check:
    from gpurent.deploysource import Rpc, verify

    try:
        verify(network.manifest, Rpc(network.rpc))
    except GpurentError as err:
        return Check("chain", False, _first_line(err))
    return Check("chain", True, f"chain {network.chain_id} at {network.rpc}, deployment found")


def _peer_id(multiaddr: str) -> str:
    return multiaddr.rsplit("/p2p/", 1)[-1]


def _keep_peering(repo: str, peers: tuple[str, ...]) -> None:
    """Writes the network's nodes into the repo's Peering.Peers: Kubo redials them whenever the
    connection drops, and after every restart."""
    from gpurent.local.ipfs import kubo_binary

    by_id: dict[str, list[str]] = {}
    for peer in peers:
        by_id.setdefault(_peer_id(peer), []).append(peer.rsplit("/p2p/", 1)[0])
    value = json.dumps([{"ID": pid, "Addrs": addrs} for pid, addrs in by_id.items()])
    subprocess.run([kubo_binary(), "config", "--json", "Peering.Peers", value], env={**os.environ, "IPFS_PATH": repo},
                   capture_output=True, check=True, timeout=30)


def prepare_ipfs(network: Network) -> Check:
    """The provider's Kubo node: the configured one, else its own in the state folder (started on
    free ports), connected to each of the network's nodes."""
    from gpurent.local import ipfs as node_mod
    from gpurent.local.process import port_free
    from gpurent.settings import load_settings

    try:
        if load_settings().ipfs_api:
            node, client = None, node_mod.ipfs_client()
            where = f"the configured node {load_settings().ipfs_api}"
        else:
            api, gateway, swarm = (p if port_free(p) else 0 for p in
                                   (node_mod.DEFAULT_API_PORT, node_mod.DEFAULT_GATEWAY_PORT, node_mod.DEFAULT_SWARM_PORT))
            node = node_mod.start(api, gateway, swarm)
            client, where = node.client(), f"own node {node.peer_id[:16]}… (API {node.api_url})"
        failed = []
        for peer in network.ipfs_peers:
            try:
                client.swarm_connect(peer)
            except GpurentError as err:
                failed.append(f"{peer}: {_first_line(err)}")
        if node is not None and network.ipfs_peers:
            _keep_peering(node.repo, network.ipfs_peers)
        connected = set(client.swarm_peers())
    except (GpurentError, OSError, subprocess.SubprocessError) as err:
        return Check("ipfs", False, _first_line(err))
    if not network.ipfs_peers:
        return Check("ipfs", False, f"{where}; the network names no IPFS node to peer with: "
                                    "add one (`gpurent network add … --ipfs-peer MULTIADDR --force`)")
    missing = [p for p in network.ipfs_peers if _peer_id(p) not in connected]
    if missing:
        return Check("ipfs", False, f"{where}; not connected to {', '.join(missing)}"
                                    + (f" ({failed[0]})" if failed else ""))
    return Check("ipfs", True, f"{where}, peered with {len(network.ipfs_peers)} network node(s)")


def prepare_engine() -> Check:
    """The container engine: the configured one, else gpurent's own podman service."""
    from gpurent.local import engine as engine_mod
    from gpurent.settings import load_settings

    try:
        if not load_settings().docker_host:
            engine_mod.start()
        host = engine_mod.docker_host()
        engine_mod.engine_client(timeout_s=30)
    except (GpurentError, OSError) as err:
        return Check("engine", False, _first_line(err))
    return Check("engine", True, f"answers at {host}")


def chain_period(network: Network) -> float | None:
    """The chain's report period (ReputationSystem.periodLength, one eth_call), None if unreadable
    (the chain check says why): an oracle serving another period is not one to take a slot from."""
    from gpurent.deploysource import Rpc

    try:
        word, = Rpc(network.rpc).words_call(network.manifest.contracts["ReputationSystem"], "periodLength()")
    except GpurentError:
        return None
    return float(int(word, 16))


def learn_slot(network: Network) -> tuple[Check, float | None]:
    from gpurent.agent.config import learn_heartbeat

    if not network.oracle_urls:
        return Check("oracle", False, "the network names no oracle: add one "
                                      "(`gpurent network add … --oracle URL --force`)"), None
    slot, problems = learn_heartbeat(network.oracle_urls, network.chain_id, period_s=chain_period(network))
    if slot is None:
        return Check("oracle", False, problems[0] if problems else "no oracle answered"), None
    detail = f"heartbeat every {slot:g} s (learned from {len(network.oracle_urls) - len(problems)} oracle(s))"
    return Check("oracle", not problems, detail + (f"; {problems[0]}" if problems else "")), slot


def pick_listen(listen: str | None) -> tuple[Check, str, int]:
    """The agent's listen address: ``listen`` if given and free, else 127.0.0.1:8765 or a free port."""
    from gpurent.agent.config import DEFAULTS
    from gpurent.conffile import parse_listen
    from gpurent.errors import ConfigurationError
    from gpurent.local.process import free_port, port_free

    try:
        host, port = parse_listen(listen, "--listen") if listen else (DEFAULTS.listen_host, DEFAULTS.listen_port)
    except ConfigurationError as err:
        return Check("ports", False, _first_line(err)), DEFAULTS.listen_host, DEFAULTS.listen_port
    if port_free(port):
        return Check("ports", True, f"the agent listens on {host}:{port}"), host, port
    if listen:
        return Check("ports", False, f"port {port} is taken: pick another with --listen"), host, port
    chosen = free_port()
    return Check("ports", True, f"port {port} is taken: the agent listens on {host}:{chosen}"), host, chosen


def check_endpoint(network: Network, endpoint: str) -> Check:
    """Whether renters and oracles elsewhere can reach ``endpoint``: a loopback endpoint on a
    network whose chain is not on this machine cannot be."""
    def loopback(url: str) -> bool:
        host = urlparse(url).hostname or ""
        try:
            return host == "localhost" or ip_address(host).is_loopback
        except ValueError:
            return False

    if loopback(endpoint) and not loopback(network.rpc):
        return Check("endpoint", False, f"{endpoint} is loopback: renters and oracles on other machines cannot "
                                        "reach it (pass --endpoint http://PUBLIC-ADDRESS:PORT and --listen)")
    return Check("endpoint", True, f"{endpoint} goes on chain at registration")
