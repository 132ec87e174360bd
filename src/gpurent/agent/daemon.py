"""Building and running the agent: shared by ``gpurent-provider run`` and ``ape run provider``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gpurent.agent.agent import Agent
from gpurent.agent.config import AgentConfig, load_config
from gpurent.agent.hardware import detect_gpus
from gpurent.local.process import serve
from gpurent.settings import state_home

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

log = logging.getLogger("gpurent.provider")


def agent_home() -> Path:
    return state_home() / "provider"


def build_agent(gp: Gpurent, config: AgentConfig | None = None, config_path: Path | None = None,
                home: Path | None = None) -> Agent:
    """The agent for ``gp`` (a Gpurent with the provider's account), its GPUs detected."""
    from gpurent.local.engine import engine_client
    from gpurent.local.ipfs import ipfs_client
    from gpurent.images.store import ImageStore

    config = config or load_config(config_path)
    gpus, reason = detect_gpus()
    if reason:
        log.warning("%s: offering the %d resource(s) the config declares", reason, len(config.resources))
    store = ImageStore(ipfs_client(), engine_client)
    return Agent(gp, config, home or agent_home(), store, gpus)


def run_forever(agent: Agent) -> None:
    """Runs the agent; SIGTERM/SIGINT stop it cleanly (no new work, resources unavailable,
    running containers left for the next start to re-attach)."""
    serve(agent, log, "running jobs continue; the next start resumes them")
