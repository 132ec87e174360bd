"""`ape run gateway`: the API gateway as an Ape script (same as `gpurent-gateway run`).

    ape run gateway --network http://127.0.0.1:8545 [--db …] [--listen HOST:PORT] [--redis redis://…]
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand


@click.command(cls=ConnectedProviderCommand, short_help="Run the gpurent API gateway")
@click.option("--db", "db_url", help="sqlite:///PATH (default: the indexer's) or postgresql://…")
@click.option("--listen", default="127.0.0.1:8200", show_default=True)
@click.option("--redis", "redis_url", help="redis://HOST:PORT shared by replicas")
def cli(ecosystem, network, provider, db_url, listen, redis_url):
    from gpurent.conffile import parse_listen
    from gpurent.gateway.service import build_gateway
    from gpurent.sdk import Gpurent

    build_gateway(Gpurent.connect(), db_url, parse_listen(listen, "--listen"), redis_url=redis_url).run()
