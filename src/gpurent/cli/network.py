"""`gpurent network`: named networks (an RPC, its deployment, its IPFS peers and oracles)."""

from __future__ import annotations

from pathlib import Path

import click

from gpurent.cli.common import pass_app
from gpurent.command import App


@click.group("network")
def group() -> None:
    """Join a network by name: `add` it once, then `--network NAME` (or `use NAME`) everywhere."""


@group.command("add")
@click.argument("name")
@click.option("--rpc", required=True, help="The chain's JSON-RPC URL")
@click.option("--deployment", "source", required=True,
              help="A manifest or network document: file path, http(s) URL, IPFS CID, or the Marketplace address")
@click.option("--ipfs-peer", "peers", multiple=True, help="The network's Kubo swarm multiaddr (repeatable)")
@click.option("--oracle", "oracles", multiple=True, help="An oracle's URL (repeatable)")
@click.option("--ipfs-api", help="Kubo RPC to read a CID through (default: the configured or local node)")
@click.option("--force", is_flag=True, help="Replace a network of the same name")
@pass_app
def add(app: App, name: str, rpc: str, source: str, peers: tuple[str, ...], oracles: tuple[str, ...],
        ipfs_api: str | None, force: bool) -> None:
    """Reads the deployment, checks it against the chain, and records the network."""
    from gpurent import networks
    from gpurent.deploysource import Rpc, checked_peers, checked_urls, read_source

    networks.checked_name(name)
    if networks.find(name) is not None and not force:
        raise click.UsageError(f"a network named {name!r} exists (pass --force to replace it)")
    peers_given, urls_given = checked_peers(list(peers), "--ipfs-peer"), checked_urls(list(oracles), "--oracle")
    with app.output.pending("Reading the deployment…"):
        published = read_source(source, Rpc(rpc), ipfs_api)
    network = networks.Network(name, rpc.rstrip("/"), published.manifest, source,
                               tuple(dict.fromkeys(peers_given + published.ipfs_peers)),
                               tuple(dict.fromkeys(urls_given + published.oracle_urls)))
    networks.save(network)
    if networks.current() is None:
        networks.use(name)
    app.output.done(f"network {name}: chain {network.chain_id}, Marketplace {network.manifest.contracts['Marketplace']}")
    app.output.data(networks.describe(network))


@group.command("list")
@pass_app
def list_(app: App) -> None:
    """The networks recorded here (the one in use marked)."""
    from gpurent import networks

    rows = [networks.describe(networks.load(n)) for n in networks.names()]
    app.output.data([{k: r[k] for k in ("current", "name", "chain_id", "rpc", "marketplace")} for r in rows]
                    if not app.output.as_json else rows)


@group.command("show")
@click.argument("name", required=False)
@pass_app
def show(app: App, name: str | None) -> None:
    """One network's record (default: the one in use)."""
    from gpurent import networks

    name = name or networks.current()
    if name is None:
        raise click.UsageError("no network in use: name one (see `gpurent network list`)")
    app.output.data(networks.describe(networks.load(name)))


@group.command("use")
@click.argument("name")
@pass_app
def use(app: App, name: str) -> None:
    """Makes NAME the network commands use when no --network is given."""
    from gpurent import networks

    network = networks.use(name)
    app.output.done(f"using network {name} ({network.rpc})")


@group.command("remove")
@click.argument("name")
@pass_app
def remove(app: App, name: str) -> None:
    """Forgets NAME (the chain and its deployment are untouched)."""
    from gpurent import networks

    networks.remove(name)
    app.output.done(f"removed network {name}")


@group.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the document here (default: stdout)")
@click.option("--name", default="gpurent", show_default=True, help="The name the join command suggests")
@pass_app
def export(app: App, out: str | None, name: str) -> None:
    """The network document of this machine's stack (`gpurent up --public ADDRESS`): publish it
    (a file, a web server, IPFS) and providers elsewhere join with the command this prints."""
    import json
    import sys

    from gpurent.deploysource import parse_published
    from gpurent.local.stack import network_document
    from gpurent.manifest import write_atomically
    from gpurent.networks import checked_name

    checked_name(name)
    rpc, document = network_document()
    text = json.dumps(document, indent=2) + "\n"
    parse_published(text, "the exported document")  # what every joiner checks, checked here first
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomically(Path(out), text)
    where = out or "network.json (this output)"
    app.output.done(f"providers join with: gpurent network add {name} --rpc {rpc} --deployment {where}")
