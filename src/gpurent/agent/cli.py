"""`gpurent-provider`: run the provider agent, see what it is doing, write a starter config."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gpurent.agent.config import AgentConfig, ResourceSpec, default_path, load_config
from gpurent.command import App, config_option, daemon_views, run_command, service_group, write_starter
from gpurent.units import for_people

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

main = service_group("The gpurent provider agent: runs renters' images on this machine's GPUs.")


def _run(gp: Gpurent, config: AgentConfig, max_failures: int | None) -> None:
    from gpurent.agent.daemon import run_agent

    run_agent(gp, config, max_failures=max_failures)


run_command(main, "provider.toml", "Registers this machine's GPUs and runs jobs until SIGTERM.", load_config, _run)


@main.command("status")
@config_option("provider.toml")
@click.pass_obj
def status(app: App, config_path: Path | None) -> None:
    """What the running agent reports: GPUs, samples, jobs; and its recent jobs."""
    from gpurent.agent.config import agent_home
    from gpurent.agent.state import AgentState

    config = load_config(config_path)
    health, = daemon_views(f"http://{config.listen_host}:{config.listen_port}", "provider agent", "gpurent-provider",
                           "health")
    state = AgentState(agent_home() / "agent.db")
    jobs = [{"job": j.job_id, "phase": j.phase, "gpu": j.resource_id, "image": j.image_cid, "exit": j.exit_code}
            for j in state.jobs()[:20]]
    # the GPUs it serves: each of the config's resources, with the id the agent registered it under
    served: list[dict[str, Any]] = [{"gpu": state.get(f"resource:{index}") or "(not registered yet)", "model": spec.model,
               "vcpu": spec.vcpu, "memory_gb": spec.memory_gb, "price_per_hour": spec.price,
               "accepting": bool(health.get("accepting"))}
              for index, spec in enumerate(config.resources)]
    state.close()
    if app.output.as_json:
        app.output.data({"health": health, "served": served, "jobs": jobs})
        return
    app.output.data({k: v for k, v in health.items() if k not in ("monitor", "gpus")}, title="Agent")
    # one line per GPU, its whole id first (what `provider update` and `jobs create --gpu` take)
    app.output.data({g["gpu"]: f"{g['model']}, {g['vcpu']} vCPU, {g['memory_gb']} GB, "
                               f"{for_people(g['price_per_hour'])} GPU/h" for g in served},
                    title=f"Serving {len(served)} GPU{'' if len(served) == 1 else 's'}")
    if health.get("monitor"):
        app.output.data(health["monitor"]["host"], title="Host")
        if health["monitor"]["gpus"]:
            app.output.data(health["monitor"]["gpus"], title="GPU hardware")
    if jobs:
        app.output.data(jobs, title="Jobs")


@main.command("init")
@click.option("--model", default="RTX4090", show_default=True)
@click.option("--network", "network_name", help="A network added with `gpurent network add`: prepare to join it")
@click.option("--endpoint", help="The URL renters and oracles reach this agent at (goes on chain)")
@click.option("--listen", help="HOST:PORT the agent binds (default 127.0.0.1:8765, or a free port)")
@click.option("--force", is_flag=True, help="Overwrite an existing provider.toml")
@click.pass_obj
def init(app: App, model: str, network_name: str | None, endpoint: str | None, listen: str | None,
         force: bool) -> None:
    """Writes provider.toml in the state folder; with --network, first prepares what a provider
    of that network needs (Kubo peered to the network's, the engine, the oracle's heartbeat slot,
    free ports) and says what is missing."""
    from gpurent.agent.config import render
    from gpurent.errors import ConfigurationError

    path = default_path()
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists (pass --force to overwrite)")
    resources = (ResourceSpec(model, vcpu=4, memory_gb=8, storage_gb=50, price=Decimal(2)),)
    missing = ""
    starter: AgentConfig | None
    if network_name is None:
        starter = _local_starter(app, resources, endpoint, listen)
    else:
        starter, missing = _joined_starter(app, network_name, resources, endpoint, listen)
    if starter is not None:
        write_starter(app, path, render(starter), True)
    if missing:
        raise ConfigurationError(missing)


def _endpoint(endpoint: str | None, host: str, port: int) -> str:
    """The starter's endpoint (default: its listen address), refused here (one line) as
    registration would refuse it."""
    from gpurent.agent.config import parse_config

    url = endpoint or f"http://{host}:{port}"
    parse_config({"provider": {"endpoint": url}, "resources": [{"model": "x", "vcpu": 1, "memory_gb": 1, "price": 1}]},
                 "--endpoint")
    return url


def _local_starter(app: App, resources: tuple[ResourceSpec, ...], endpoint: str | None,
                   listen: str | None) -> AgentConfig:
    """The starter for this machine's stack: the oracle it runs (its oracle.toml, else the default
    listen) and the heartbeat slot that oracle expects (asked, else its oracle.toml's)."""
    from gpurent.agent.config import DEFAULTS, learn_heartbeat
    from gpurent.conffile import parse_listen
    from gpurent.oracle import config as oracle_config
    from gpurent.wire.protocol import ORACLE_URL

    local = oracle_config.load_config() if oracle_config.default_path().exists() else None
    url = local.url if local else ORACLE_URL
    slot, problems = learn_heartbeat((url,))
    if slot is None and local is not None:
        slot = local.heartbeat_interval_s
    if slot is None:
        slot = AgentConfig().heartbeat_interval_s
        app.output.warn(f"{problems[0] if problems else 'no oracle answered'}: heartbeat_interval left at {slot:g} s "
                        "(the agent asks the oracle again at start)")
    host, port = parse_listen(listen, "--listen") if listen else (DEFAULTS.listen_host, DEFAULTS.listen_port)
    return AgentConfig(resources=resources, oracle_urls=(url,), heartbeat_interval_s=slot,
                       listen_host=host, listen_port=port, endpoint=_endpoint(endpoint, host, port))


def _joined_starter(app: App, name: str, resources: tuple[ResourceSpec, ...], endpoint: str | None,
                    listen: str | None) -> tuple[AgentConfig | None, str]:
    """The starter for joining network ``name`` (None when the oracle's slot is unknown), and
    one line naming what is missing (empty when nothing is)."""
    from gpurent import networks
    from gpurent.agent import prepare

    network = networks.load(name)
    with app.output.pending("Preparing the provider…"):
        ports, host, port = prepare.pick_listen(listen)
        checks = [prepare.check_chain(network), prepare.prepare_ipfs(network), prepare.prepare_engine()]
        oracle, slot = prepare.learn_slot(network)
        checks += [oracle, ports, prepare.check_endpoint(network, endpoint or f"http://{host}:{port}")]
    app.output.data([{"what": c.what, "ready": c.ready, "detail": c.detail} for c in checks], title="Provider")
    missing = [c for c in checks if not c.ready]
    line = ("" if not missing else f"not ready to join {name}: " + "; ".join(f"{c.what}: {c.detail}" for c in missing)
            + ("" if slot is not None else " (provider.toml not written: the heartbeat slot is unknown)"))
    if slot is None:
        return None, line
    networks.use(name)
    return AgentConfig(resources=resources, oracle_urls=network.oracle_urls, heartbeat_interval_s=slot,
                       listen_host=host, listen_port=port, endpoint=_endpoint(endpoint, host, port)), line


@main.command("rotate-key")
@click.pass_obj
def rotate_key(app: App) -> None:
    """Makes a new secrets key (the old ones are kept, so open jobs sealed to them still run) and,
    with --account, publishes it on chain at once (else the agent does at its next start); a
    running agent opens secrets sealed to it at once."""
    from gpurent.agent.config import agent_home
    from gpurent.agent.keys import ProviderKeys

    keys = ProviderKeys(agent_home())
    old = keys.current.public_b64
    new = keys.rotate().public_b64
    published = app.account is not None and keys.publish(app.sdk(needs_account=True))
    app.output.data({"previous key": old, "new key": new, "kept keys": len(keys.all()) - 1,
                     "published": published},
                    title="Secrets key rotated" + ("" if published else " (published at the agent's next start; "
                                                   "or run this with --account to publish it now)"))
