"""``gpurent-gateway``: the API gateway (REST, wallet sign-in, the index's GraphQL)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from gpurent.command import App, config_option, log_format_option, service_group, write_starter

main = service_group("The gpurent API gateway: REST and GraphQL over the index, sign-in with a wallet.")


@main.command("init")
@click.option("--path", type=click.Path(path_type=Path), help="Where to write it (default: state folder)")
@click.option("--force", is_flag=True, help="Overwrite an existing file")
@click.pass_obj
def init(app: App, path: Path | None, force: bool) -> None:
    """Writes a gateway.toml with every key and its default."""
    from gpurent.gateway import config

    write_starter(app, path or config.default_path(), config.render(), force)


@main.command("run")
@config_option("gateway.toml")
@click.option("--db", "db_url", help="The index: sqlite:///PATH (default: the indexer's) or postgresql://…")
@click.option("--listen", help="HOST:PORT to serve on (default: 127.0.0.1:8200)")
@click.option("--public-url", help="The URL browsers use (sign-in messages name it; default: http://LISTEN)")
@click.option("--origin", "origins", multiple=True, help="An origin allowed by CORS (repeat; default: none)")
@click.option("--redis", "redis_url", help="redis://HOST:PORT shared by replicas for nonces and rate limits")
@click.option("--ipfs", "ipfs_api", help="Kubo RPC URL for image uploads (default: the configured or running node)")
@click.option("--per-ip", type=click.IntRange(1), help="Requests a minute from one IP (behind a proxy: all of them)")
@click.option("--per-address", type=click.IntRange(1), help="Requests a minute for one signed-in address")
@click.option("--streams-per-address", type=click.IntRange(1),
              help="Log and metrics WebSockets one address holds at once")
@click.option("--key-file", type=click.Path(path_type=Path), help="The session key (default: the state folder's)")
@click.option("--web-dir", type=click.Path(path_type=Path, file_okay=False),
              help="The web app's built files, served at / (default: the checkout's web/dist, if built)")
@log_format_option()
@click.pass_obj
def run(app: App, config_path: Path | None, db_url: str | None, listen: str | None, public_url: str | None,
        origins: tuple[str, ...], redis_url: str | None, ipfs_api: str | None, per_ip: int | None,
        per_address: int | None, streams_per_address: int | None, key_file: Path | None, web_dir: Path | None) -> None:
    """Serves until SIGTERM: gateway.toml's settings (see `gpurent-gateway init`), each option
    given here over it."""
    from gpurent.conffile import parse_listen
    from gpurent.gateway.config import load_config
    from gpurent.gateway.service import build_gateway
    from gpurent.logfmt import active_format

    host, port = parse_listen(listen, "--listen") if listen else (None, None)
    settings = load_config(config_path).overridden(
        listen_host=host, listen_port=port, public_url=public_url, origins=origins, db=db_url, redis=redis_url,
        ipfs=ipfs_api, key_file=str(key_file) if key_file else None, per_ip=per_ip, per_address=per_address,
        streams_per_address=streams_per_address, web_dir=str(web_dir) if web_dir else None)
    gp = app.sdk()
    server = build_gateway(gp, settings)
    url = settings.url
    # with --log-format json, every line on stderr is a JSON log line: these too
    as_json = active_format() == "json"
    done = logging.getLogger("gpurent.gateway").info if as_json else app.output.done
    info = logging.getLogger("gpurent.gateway").info if as_json else app.output.info
    done(f"gateway on {url} (chain {gp.manifest.chain_id}; API {url}/api/v1, docs {url}/docs)")
    if settings.web_path():
        done(f"web app at {url}/")
    else:
        info("no web app built (`make web`); serving the API only")
    server.run()
