"""`ape run gateway`: the API gateway as an Ape script (same as `gpurent-gateway run`).

    ape run gateway --network http://127.0.0.1:8545 [--config gateway.toml] [--db …] [--listen HOST:PORT]
        [--redis redis://…] [--log-format json]
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from gpurent.command import log_format_option


@click.command(cls=ConnectedProviderCommand, short_help="Run the gpurent API gateway")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="gateway.toml (default: state folder)")
@click.option("--db", "db_url", help="sqlite:///PATH (default: the indexer's) or postgresql://…")
@click.option("--listen", help="HOST:PORT (default: gateway.toml's, else 127.0.0.1:8200)")
@click.option("--redis", "redis_url", help="redis://HOST:PORT shared by replicas")
@log_format_option()
def cli(ecosystem, network, provider, config_path, db_url, listen, redis_url):
    from gpurent.conffile import parse_listen
    from gpurent.gateway.config import load_config
    from gpurent.gateway.service import build_gateway
    from gpurent.sdk import Gpurent

    host, port = parse_listen(listen, "--listen") if listen else (None, None)
    settings = load_config(config_path).overridden(listen_host=host, listen_port=port, db=db_url, redis=redis_url)
    build_gateway(Gpurent.connect(), settings).run()
