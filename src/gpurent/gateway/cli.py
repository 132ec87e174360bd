"""``gpurent-gateway``: the API gateway (REST, wallet sign-in, the index's GraphQL)."""

from __future__ import annotations

from pathlib import Path

import click

from gpurent.command import App, service_group
from gpurent.gateway.service import GATEWAY_HOST, GATEWAY_PORT

main = service_group("The gpurent API gateway: REST and GraphQL over the index, sign-in with a wallet.")


@main.command("run")
@click.option("--db", "db_url", help="The index: sqlite:///PATH (default: the indexer's) or postgresql://…")
@click.option("--listen", default=f"{GATEWAY_HOST}:{GATEWAY_PORT}", show_default=True, help="HOST:PORT to serve on")
@click.option("--public-url", help="The URL browsers use (sign-in messages name it; default: http://LISTEN)")
@click.option("--origin", "origins", multiple=True, help="An origin allowed by CORS (repeat; default: none)")
@click.option("--redis", "redis_url", help="redis://HOST:PORT shared by replicas for nonces and rate limits")
@click.option("--ipfs", "ipfs_api", help="Kubo RPC URL for image uploads (default: the configured or running node)")
@click.option("--per-ip", type=click.IntRange(1), default=1200, show_default=True,
              help="Requests a minute from one IP (behind a proxy: all of them)")
@click.option("--per-address", type=click.IntRange(1), default=600, show_default=True,
              help="Requests a minute for one signed-in address")
@click.option("--streams-per-address", type=click.IntRange(1), default=8, show_default=True,
              help="Log and metrics WebSockets one signed-in address may hold open at once")
@click.option("--key-file", type=click.Path(path_type=Path), help="The session key (default: the state folder's)")
@click.pass_obj
def run(app: App, db_url: str | None, listen: str, public_url: str | None, origins: tuple[str, ...],
        redis_url: str | None, per_ip: int, per_address: int, streams_per_address: int, key_file: Path | None,
        ipfs_api: str | None) -> None:
    """Serves until SIGTERM."""
    from gpurent.conffile import parse_listen
    from gpurent.errors import ConfigurationError
    from gpurent.gateway.guard import Limits
    from gpurent.gateway.service import build_gateway

    try:
        where = parse_listen(listen, "--listen")
    except ConfigurationError as err:
        raise click.BadParameter(str(err), param_hint="--listen") from None
    gp = app.sdk()
    server = build_gateway(gp, db_url, where, public_url, origins, redis_url, key_file, ipfs_api,
                           Limits(per_ip=per_ip, per_address=per_address, streams_per_address=streams_per_address))
    url = (public_url or server.url).rstrip("/")
    app.output.done(f"gateway on {url} (chain {gp.manifest.chain_id}; API {url}/api/v1, docs {url}/docs)")
    server.run()
