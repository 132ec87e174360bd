"""`gpurent devnet`: a local chain with the suite deployed and test accounts funded."""

from __future__ import annotations

from typing import Any

import click

from gpurent.cli.common import pass_app
from gpurent.command import App
from gpurent.indexer.defaults import GRAPHQL_PORT
from gpurent.local import devnet as devnet_mod
from gpurent.local import indexer as indexer_mod
from gpurent.local import ipfs as node_mod

CHAINS = click.Choice(devnet_mod.KINDS)
CHAIN_HELP = ("The chain: Anvil, or geth in developer mode (`make setup-geth` builds it); default: the one the state "
              "folder holds, else anvil")


def chain_option() -> Any:
    return click.option("--chain", "chain", type=CHAINS, default=None, help=CHAIN_HELP)

IPFS_PORTS = f"{node_mod.DEFAULT_API_PORT},{node_mod.DEFAULT_GATEWAY_PORT},{node_mod.DEFAULT_SWARM_PORT}"


class PortTriple(click.ParamType):
    name = "api,gateway,swarm"

    def convert(self, value: object, param: object, ctx: object) -> tuple[int, int, int]:
        if isinstance(value, tuple):
            return value  # type: ignore[return-value]
        try:
            ports = tuple(int(p) for p in str(value).split(","))
        except ValueError:
            ports = ()
        if len(ports) != 3 or not all(0 <= p < 65536 for p in ports):
            self.fail(f"{value!r} is not three ports like {IPFS_PORTS}", param, ctx)  # type: ignore[arg-type]
        return ports  # type: ignore[return-value]


@click.group("devnet")
def group() -> None:
    """Run a local chain (Anvil or geth) with gpurent deployed."""


@group.command("up")
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option("--chain-id", type=click.IntRange(1, 2**64 - 1), default=31337, show_default=True)
@click.option("--block-time", type=click.IntRange(0, 86_400), default=2, show_default=True,
              help="Seconds per block (the reference chain's 2 s)")
@click.option("--instant", is_flag=True, help="Mine a block per transaction instead")
@click.option("--gas-limit", type=click.IntRange(1, 2**64 - 1), default=30_000_000, show_default=True)
@click.option("--ipfs/--no-ipfs", default=True, show_default=True, help="Also run gpurent's IPFS node")
@click.option("--ipfs-ports", type=PortTriple(), default=IPFS_PORTS, show_default=True,
              help="The IPFS node's API,gateway,swarm ports (0: any free port)")
@click.option("--indexer/--no-indexer", default=True, show_default=True,
              help="Also run the indexer and its GraphQL API (SQLite in the state folder)")
@click.option("--indexer-port", type=click.IntRange(0, 65535), default=GRAPHQL_PORT, show_default=True,
              help="The GraphQL port (0: any free port)")
@chain_option()
@pass_app
def up(app: App, port: int, chain_id: int, block_time: int, instant: bool, gas_limit: int, ipfs: bool,
       ipfs_ports: tuple[int, int, int], indexer: bool, indexer_port: int, chain: str | None) -> None:
    """Starts the devnet (if needed), deploys the suite (once) and funds the test accounts;
    starts the IPFS node and the indexer beside it."""
    app.quiet_ape()
    with app.output.pending("Starting the chain…"):
        devnet = devnet_mod.Chain(port, chain_id, 0 if instant else block_time, gas_limit, kind=chain).start()
    with app.output.pending("Deploying the contracts (once per chain)…"):
        outcome = devnet_mod.deploy(devnet)
    app.output.done(f"devnet ({devnet.kind}) at {devnet.url} (chain {devnet.chain_id}); {outcome}")
    if ipfs:
        with app.output.pending("Starting the IPFS node…"):
            node = node_mod.Kubo(*ipfs_ports).start()
        app.output.done(f"IPFS node API at {node.api_url}")
    if indexer:
        with app.output.pending("Starting the indexer…"):
            process = indexer_mod.LocalIndexer(devnet.url, port=indexer_port).start()
        app.output.done(f"indexer GraphQL at {process.graphql_url}")
    app.output.data(_status())


@group.command("down")
@click.option("--reset", is_flag=True, help="Also forget the chain's saved state")
@pass_app
def down(app: App, reset: bool) -> None:
    """Stops the devnet; its chain is saved and resumed by the next `up` unless --reset."""
    if indexer_mod.stop():
        app.output.info("indexer stopped")
    stopped = devnet_mod.stop()
    if node_mod.stop():
        app.output.info("IPFS node stopped (its pins stay)")
    if reset:
        devnet_mod.reset()
        indexer_mod.reset()  # the index of the chain just forgotten
    app.output.info("devnet stopped" if stopped else "no devnet was running")
    app.output.data({"running": False, "reset": reset})


def _status() -> dict[str, Any]:
    """The chain's status, and (while it runs) the IPFS node's and the indexer's beside it."""
    chain = devnet_mod.Chain().status()
    if chain["running"]:
        chain.update(ipfs=node_mod.Kubo().status(), indexer=indexer_mod.LocalIndexer().status())
    return chain


@group.command("status")
@pass_app
def status(app: App) -> None:
    """Whether the devnet runs, its URL, head block and deployment."""
    app.output.data(_status())
