"""`gpurent-provider`: run the provider agent, see what it is doing, write a starter config."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gpurent.agent.config import AgentConfig, default_path, load_config
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
@click.option("--force", is_flag=True)
@click.pass_obj
def init(app: App, model: str, force: bool) -> None:
    """Writes a starter provider.toml in the state folder (edit it, then `run`)."""
    from gpurent.agent.config import ResourceSpec, render
    from gpurent.wire.protocol import ORACLE_URL

    starter = AgentConfig(resources=(ResourceSpec(model, vcpu=4, memory_gb=8, storage_gb=50, price=Decimal(2)),),
                          oracle_urls=(ORACLE_URL,))  # gpurent-oracle's default listen
    write_starter(app, default_path(), render(starter), force)
