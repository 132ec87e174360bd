"""`gpurent ipfs`: gpurent's own Kubo node."""

from __future__ import annotations

from typing import Any

import click

from gpurent.command import App
from gpurent.cli.common import pass_app
from gpurent.local import ipfs as node_mod


@click.group("ipfs")
def group() -> None:
    """Run the local IPFS (Kubo) node that images travel through."""


@group.command("up")
@click.option("--api-port", type=click.IntRange(0, 65535), default=node_mod.DEFAULT_API_PORT, show_default=True)
@click.option("--gateway-port", type=click.IntRange(0, 65535), default=node_mod.DEFAULT_GATEWAY_PORT,
              show_default=True)
@click.option("--swarm-port", type=click.IntRange(0, 65535), default=node_mod.DEFAULT_SWARM_PORT, show_default=True)
@click.option("--peer", "peers", multiple=True, help="Multiaddr of another node to connect to (repeatable)")
@pass_app
def up(app: App, api_port: int, gateway_port: int, swarm_port: int, peers: tuple[str, ...]) -> None:
    """Starts the node (repo under the state folder; API, gateway and swarm on loopback)."""
    with app.output.pending("Starting the IPFS node…"):
        node = node_mod.start(api_port=api_port, gateway_port=gateway_port, swarm_port=swarm_port,
                              peers=list(peers))
    app.output.info(f"[green]✓[/] IPFS node {node.peer_id} up; API {node.api_url}")
    app.output.data(status_of(node))


@group.command("down")
@pass_app
def down(app: App) -> None:
    """Stops the node; its repo (and every pin) stays for the next `up`."""
    stopped = node_mod.stop()
    app.output.info("IPFS node stopped" if stopped else "no IPFS node was running")
    app.output.data({"running": False})


def status_of(node: node_mod.IpfsNode | None) -> dict[str, Any]:
    if node is None:
        return {"running": False}
    data: dict[str, Any] = {"running": True, "pid": node.pid, "api": node.api_url, "gateway": node.gateway_url,
                            "peer_id": node.peer_id, "swarm": node.swarm_multiaddrs, "repo": node.repo}
    try:
        client = node.client()
        data.update(version=client.version(), peers=len(client.swarm_peers()), pins=len(client.pins()),
                    **client.repo_stat())
    except Exception:  # noqa: BLE001 - a node that stopped answering is reported, not raised
        data["running"] = False
    return data


@group.command("status")
@pass_app
def status(app: App) -> None:
    """Whether the node runs, its addresses, peers, pins and repo size."""
    app.output.data(status_of(node_mod.running_node()))
