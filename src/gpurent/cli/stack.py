"""`gpurent up | down | status | demo`: the whole local stack, and the main job on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from gpurent.command import App
from gpurent.cli.common import pass_app
from gpurent.cli.devnet import CHAINS, IPFS_PORTS, PortTriple, chain_option
from gpurent.local.stack import StackOptions
from gpurent.output import as_text

DEFAULTS = StackOptions()


class PublicHost(click.ParamType):
    """An IPv4 address of this machine that other machines reach (see
    :func:`gpurent.local.stack.checked_public_host`); ``none``: this machine only."""

    name = "address"

    def convert(self, value: Any, param: Any, ctx: Any) -> str | None:
        from gpurent.local.stack import checked_public_host

        if str(value).lower() == "none":
            return ""
        try:
            return checked_public_host(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


def _port(name: str, default: int, help_text: str) -> Any:
    return click.option(f"--{name}-port", type=click.IntRange(0, 65535), default=None,
                        help=f"{help_text} (0: any free port; default: the last up's, at first {default})")


PUBLIC_WARNING = ("a devnet for trusted machines and testing only: its oracle and provider sign with the "
                  "well-known test keys, which anyone can use")


@click.command("up")
@_port("chain", DEFAULTS.chain_port, "The chain's JSON-RPC port")
@_port("indexer", DEFAULTS.indexer_port, "The indexer's GraphQL port")
@_port("gateway", DEFAULTS.gateway_port, "The API gateway's port")
@_port("oracle", DEFAULTS.oracle_port, "The oracle's port (first up only: then oracle.toml)")
@_port("agent", DEFAULTS.agent_port, "The provider agent's port (first up only: then provider.toml)")
@click.option("--ipfs-ports", type=PortTriple(), default=None,
              help=f"The IPFS node's API,gateway,swarm ports (0: any free port; default: the last up's, at first "
                   f"{IPFS_PORTS})")
@click.option("--redis", is_flag=True,
              help="Also run a Redis (loopback, in memory) for the gateway's sign-in nonces and rate limits, as "
                   "replicas share them; it stays part of the stack until `gpurent down`")
@_port("redis", DEFAULTS.redis_port, "The stack's Redis port (with --redis)")
@click.option("--monitoring", is_flag=True,
              help="Also run a Prometheus (Debian's; loopback, its data in the state folder) scraping every service's "
                   "/metrics with ops/alerts.yml's rules; it stays part of the stack until `gpurent down`")
@_port("prometheus", DEFAULTS.prometheus_port, "The stack's Prometheus port (with --monitoring)")
@click.option("--block-time", type=click.IntRange(1, 86_400), default=DEFAULTS.block_time, show_default=True,
              help="Seconds per block")
@click.option("--public", "public_host", type=PublicHost(), default=None, metavar="ADDRESS",
              help="Also serve the chain (reads and signed transactions only, through a JSON-RPC proxy), the IPFS "
                   "swarm and the oracle on this address of this machine, for providers elsewhere (then `gpurent "
                   "network export`); kept for later ups, `none` undoes it. For testing among trusted machines "
                   "only: the oracle and the stack's provider sign with the public test keys")
@chain_option()
@pass_app
def up(app: App, chain_port: int | None, indexer_port: int | None, gateway_port: int | None, oracle_port: int | None,
       agent_port: int | None, ipfs_ports: tuple[int, int, int] | None, redis: bool, redis_port: int | None,
       monitoring: bool, prometheus_port: int | None, block_time: int,
       public_host: str | None, chain: str | None) -> None:
    """Starts the whole stack (what is not running yet): chain and contracts, IPFS node, container
    engine, indexer, API gateway, oracle and a provider agent. Logs go under the state folder; the ports the
    services bound are kept there (ports.json) for the next plain `up`."""
    from gpurent.local import stack

    app.quiet_ape()
    options = stack.with_remembered_ports({"chain_port": chain_port, "indexer_port": indexer_port,
                                           "gateway_port": gateway_port, "redis_port": redis_port,
                                           "oracle_port": oracle_port, "agent_port": agent_port,
                                           "ipfs_ports": ipfs_ports, "public_host": public_host,
                                           "prometheus_port": prometheus_port},
                                          block_time=block_time, redis=redis, monitoring=monitoring, chain=chain)
    if options.public_host:
        app.output.warn(PUBLIC_WARNING)
    with app.output.pending("Starting the stack…"):
        state = stack.up(options, lambda service, what: app.output.done(f"{service:<10} {what}"))
    _show(app, state)
    _web_app(app, state)


def _web_app(app: App, state: dict[str, Any]) -> None:
    """Where to open the web app: the gateway's URL (it serves the built files at /)."""
    gateway = next((s for s in state["services"] if s["service"] == "gateway" and s["running"]), None)
    if gateway is None or app.output.as_json:
        return
    url = str(gateway.get("public_url") or gateway["endpoint"]).rstrip("/")
    if gateway.get("web"):
        app.output.done(f"web app at {url}/")
    else:
        app.output.info("the web app is not built: `make web`, then `gpurent gateway down` and `gpurent gateway up`")


@click.command("down")
@click.option("--reset", is_flag=True, help="Also forget the chain, its index and the daemons' records")
@pass_app
def down(app: App, reset: bool) -> None:
    """Stops every service of the stack (the provider first; running containers are left for
    the next start to re-attach)."""
    from gpurent.local import stack

    stopped = stack.down(lambda service, what: app.output.info(f"{service:<10} {what}"))
    if reset:
        stack.reset()
    if stopped:
        app.output.done(f"stopped {', '.join(stopped)}")
    else:
        app.output.info("nothing was running")
    if app.output.as_json:
        app.output.data({"stopped": stopped, "reset": reset})


@click.command("status")
@pass_app
def status(app: App) -> None:
    """Each service's health, endpoint, pid and log; chain head, indexer lag, running jobs."""
    from gpurent.local import stack

    _show(app, stack.status())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _detail(s: dict[str, Any]) -> Text:
    """One service's health in a few words (as text: an error quotes what a service answered)."""
    if s.get("error"):
        return as_text(s["error"], "red")
    return as_text(_health(s))


def _health(s: dict[str, Any]) -> str:
    if not s["running"]:
        return ""
    name = s["service"]
    if name == "chain":
        return f"chain {s['chain_id']}, head {s['head']}"
    if name == "ipfs":
        gateway = str(s["gateway"] or "none").rsplit(":", 1)[-1]
        return f"gateway :{gateway}, {_plural(s['pins'], 'pin')}, {_plural(s['peers'], 'peer')}"
    if name == "engine":
        return f"podman {s['version']}, {_plural(s['containers'], 'container')}"
    if name == "indexer":
        return (f"block {s['indexed_to']} (lag {s['lag_blocks']}), {s['events']:,} events, "
                f"{str(s['db']).split(':', 1)[0]}")
    if name == "gateway":
        return f"block {s['block']}, nonces and limits in {s['store']}" + (", web app at /" if s.get("web") else "")
    if name == "redis":
        return "the gateway's nonces and limits (in memory)"
    if name == "oracle":
        return (f"watching {_plural(s['providers'], 'provider')}; heartbeats every {s['heartbeat_interval_s']:g} s, "
                f"reports every {s['period_s']:g} s")
    if name == "prometheus":
        down = f" (down: {', '.join(s['targets_down'])})" if s.get("targets_down") else ""
        firing = s.get("alerts_firing") or []
        return (f"{s['targets_up']}/{s['targets']} targets up{down}; "
                + (f"firing: {', '.join(firing)}" if firing else "no alert firing"))
    address = str(s["address"])
    return (f"{address[:6]}…{address[-4:]}: {_plural(s['gpus'], 'GPU')}, "
            f"{'accepting' if s['accepting'] else 'not accepting'}, {len(s['jobs_running'])} running")


def _relative(path: str | None, home: str) -> str:
    if not path:
        return ""
    return path[len(home) + 1:] if path.startswith(home + "/") else path


WIDE = 110  # columns a terminal needs for the status table; narrower, or piped: lines


def _show(app: App, state: dict[str, Any]) -> None:
    if app.output.as_json:
        app.output.data(state)
        return
    out = app.output.out
    if out.is_terminal and out.width >= WIDE:
        out.print(_table(state))
    else:  # piped or narrow: plain lines, no box drawing, nothing cut (long values wrap)
        out.print(as_text(f"gpurent stack in {state['home']}", "bold"), soft_wrap=False)
        for line in _lines(state):
            out.print(line, soft_wrap=False, highlight=False)
    jobs = state["jobs_running"]
    head, lag = state["head"], state["indexer_lag_blocks"]
    app.output.data({"chain head": head if head is not None else "unknown",
                     "indexer lag": f"{lag} block(s)" if lag is not None else "unknown",
                     "jobs running": ", ".join(jobs) if jobs else "none"})


def _table(state: dict[str, Any]) -> Any:
    from rich.table import Table

    home = state["home"]
    table = Table(title=as_text(f"gpurent stack in {home}"), title_justify="left")
    for column in ("service", "state", "endpoint", "pid", "health", f"log (in {home})"):
        table.add_column(column, no_wrap=column != "health")
    for s in state["services"]:
        table.add_row(as_text(s["service"]), _state(s), as_text(s["endpoint"] or ""), as_text(s["pid"] or ""),
                      _detail(s), as_text(_relative(s["log"], home)))
    return table


def _state(s: dict[str, Any]) -> Text:
    return Text("up", "green") if s["running"] else Text("down", "red")


def _lines(state: dict[str, Any]) -> list[Text]:
    """Each service in a few short lines: name, state, endpoint and pid; then its health (or
    error) and its log, indented under it."""
    lines = []
    indent = " " * 11
    for s in state["services"]:
        first = Text.assemble(as_text(f"{s['service']:<10} "), _state(s))
        if s["endpoint"]:
            first += as_text(f"  {s['endpoint']}")
        if s["pid"]:
            first += as_text(f"  pid {s['pid']}")
        lines.append(first)
        detail = _detail(s)
        if detail.plain:
            lines.append(Text(indent) + detail)
        if s["log"]:
            lines.append(as_text(f"{indent}log {_relative(s['log'], state['home'])}"))
    return lines


@click.command("demo")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path),
              help="State folder for the demo's stack (default: a fresh temporary one, deleted after)")
@click.option("--keep-running", is_flag=True, help="Leave the stack up afterwards (stop it with `gpurent down`)")
@click.option("--chain", type=CHAINS, default="anvil", show_default=True,
              help="The chain: Anvil, or geth in developer mode (`make setup-geth` builds it)")
@pass_app
def demo(app: App, home: Path | None, keep_running: bool, chain: str) -> None:
    """Runs the main job end to end on its own fresh stack: start everything, build and push an
    image, rent a GPU, run the job, settle, report; then stop everything."""
    from gpurent import demo as demo_mod

    from rich.console import Console

    app.quiet_ape()
    console = demo_mod.json_console() if app.output.as_json else Console(highlight=False)
    result = demo_mod.run(console, home, keep_running, chain)
    if app.output.as_json:
        app.output.data(result)
    elif keep_running:
        app.output.info(f"the stack is still up: GPURENT_HOME={result['home']} gpurent status / gpurent down")
