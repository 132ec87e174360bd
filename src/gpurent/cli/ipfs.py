"""`gpurent ipfs`: gpurent's own Kubo node."""

from __future__ import annotations

import click

from gpurent.cli.common import pass_app
from gpurent.cli.service import down_and_status, start_and_show
from gpurent.command import App
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
    start_and_show(app, node_mod.Kubo(api_port, gateway_port, swarm_port, list(peers)), "Starting the IPFS node…",
                   lambda node: f"IPFS node {node.peer_id} up; API {node.api_url}")


down_and_status(group, node_mod.Kubo, "IPFS node",
                "Stops the node; its repo (and every pin) stays for the next `up`.",
                "Whether the node runs, its addresses, peers, pins and repo size.")
