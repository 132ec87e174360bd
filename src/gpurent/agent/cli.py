"""`gpurent-provider`: run the provider agent, see what it is doing, write a starter config."""

from __future__ import annotations

from pathlib import Path

import click
import requests

from gpurent.agent.config import default_path
from gpurent.cli.app import App, service_group
from gpurent.errors import ServiceUnavailable

STARTER = """[provider]
endpoint = "http://127.0.0.1:8765"   # the URL renters and the oracle reach (goes on-chain)
listen = "127.0.0.1:8765"
stake = "100"
poll_interval = 1.0

[[resources]]
model = "{model}"
vcpu = 4
memory_gb = 8
storage_gb = 50
price = "2"

[limits]
pids = 256
scratch_mb = 512
network = false
fetch_timeout_s = 120

[oracle]
urls = ["http://127.0.0.1:7300"]       # signed heartbeats go to each (gpurent-oracle's listen)
heartbeat_interval = 60

[billing]
settle_interval = 600                  # seconds between partial releases of a running job's earnings
"""


main = service_group("The gpurent provider agent: runs renters' images on this machine's GPUs.")


@main.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="provider.toml (default: state folder)")
@click.pass_obj
def run(app: App, config_path: Path | None) -> None:
    """Registers this machine's GPUs and runs jobs until SIGTERM."""
    from gpurent.agent.config import load_config
    from gpurent.agent.daemon import build_agent, run_forever

    config = load_config(config_path)  # a bad config fails before any connection
    gp = app.sdk(needs_account=True)
    run_forever(build_agent(gp, config))


@main.command("status")
@click.option("--config", "config_path", type=click.Path(path_type=Path))
@click.pass_obj
def status(app: App, config_path: Path | None) -> None:
    """What the running agent reports: GPUs, samples, jobs; and its recent jobs."""
    from gpurent.agent.config import load_config
    from gpurent.agent.daemon import agent_home
    from gpurent.agent.state import AgentState

    config = load_config(config_path)
    url = f"http://{config.listen_host}:{config.listen_port}/health"
    try:
        health = requests.get(url, timeout=5).json()
    except requests.RequestException as err:
        raise ServiceUnavailable(f"no provider agent answers at {url}: start it with `gpurent-provider run`") from err
    state = AgentState(agent_home() / "agent.db")
    jobs = [{"job": j.job_id, "phase": j.phase, "gpu": j.resource_id, "image": j.image_cid, "exit": j.exit_code}
            for j in state.jobs()[:20]]
    state.close()
    if app.output.as_json:
        app.output.data({"health": health, "jobs": jobs})
        return
    app.output.data({k: v for k, v in health.items() if k != "monitor"}, title="Agent")
    if health.get("monitor"):
        app.output.data(health["monitor"]["host"], title="Host")
        if health["monitor"]["gpus"]:
            app.output.data(health["monitor"]["gpus"], title="GPUs")
    if jobs:
        app.output.data(jobs, title="Jobs")


@main.command("init")
@click.option("--model", default="RTX4090", show_default=True)
@click.option("--force", is_flag=True)
@click.pass_obj
def init(app: App, model: str, force: bool) -> None:
    """Writes a starter provider.toml in the state folder (edit it, then `run`)."""
    path = default_path()
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists (pass --force to overwrite)")
    path.write_text(STARTER.format(model=model))
    app.output.info(f"[green]✓[/] wrote {path}")
