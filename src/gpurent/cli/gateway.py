"""`gpurent gateway`: the API gateway of the devnet stack (REST, sign-in, WebSockets)."""

from __future__ import annotations

import click

from gpurent.cli.common import pass_app
from gpurent.cli.service import down_and_status, start_and_show
from gpurent.command import App
from gpurent.local import gateway as gateway_mod


@click.group("gateway")
def group() -> None:
    """Run the API gateway over the index and the IPFS node (settings: gateway.toml)."""


@group.command("up")
@click.option("--port", type=click.IntRange(1, 65535), default=gateway_mod.DEFAULT_PORT, show_default=True,
              help="Port (HTTP and WebSocket, loopback)")
@click.option("--redis", "redis_url", help="redis://HOST:PORT for nonces and limits (default: the stack's Redis if "
                                           "it runs, else in memory)")
@pass_app
def up(app: App, port: int, redis_url: str | None) -> None:
    """Starts `gpurent-gateway run` in the background over the running indexer and IPFS node."""
    from gpurent.errors import ConfigurationError
    from gpurent.local import indexer as indexer_mod
    from gpurent.local.ipfs import running_node

    index = indexer_mod.running()
    if index is None:
        raise ConfigurationError("the gateway reads the index: `gpurent indexer up` (or `gpurent up`) first")
    node = running_node()
    redis = redis_url or gateway_mod.LocalRedis().endpoint()
    service = gateway_mod.LocalGateway(app.network_choice(), port, index.db, node.api_url if node else None, redis)
    start_and_show(app, service, "Starting the gateway…",
                   lambda record: f"gateway up; API at {record['url']}/api/v1, docs at {record['url']}/docs")


down_and_status(group, gateway_mod.LocalGateway, "gateway", "Stops the API gateway (sessions end with it when "
                "nonces and limits are in memory).", "Whether the gateway answers, the block its index is at.",
                title="Gateway")
