"""Building and running the agent: shared by ``gpurent-provider run`` and ``ape run provider``."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gpurent.agent.agent import Agent
from gpurent.agent.config import AgentConfig, agent_home, load_config, with_oracle_slot
from gpurent.agent.hardware import detect_gpus
from gpurent.runner import run_daemon

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

__all__ = ["agent_home", "build_agent", "run_agent"]


log = logging.getLogger("gpurent.provider")


def build_agent(gp: Gpurent, config: AgentConfig | None = None, config_path: Path | None = None,
                home: Path | None = None, max_failures: int | None = None) -> Agent:
    """The agent for ``gp`` (a Gpurent with the provider's account), its GPUs detected;
    ``max_failures`` overrides the config's."""
    from gpurent.images.store import ImageStore
    from gpurent.local.engine import engine_client
    from gpurent.local.ipfs import ipfs_client

    config = config or load_config(config_path)
    if max_failures is not None:
        config = dataclasses.replace(config, max_failures=max_failures)
    gpus, reason = detect_gpus()
    if reason:
        log.warning("%s: offering the %d resource(s) the config declares", reason, len(config.resources))
    store = ImageStore(ipfs_client(), engine_client)
    return Agent(gp, config, home or agent_home(), store, gpus)


def run_agent(gp: Gpurent, config: AgentConfig | None = None, config_path: Path | None = None,
              max_failures: int | None = None) -> None:
    """Runs the agent in the foreground; SIGTERM/SIGINT stop it cleanly (no new work, resources
    unavailable, running containers left for the next start to re-attach)."""
    try:  # the oracles' report period must be the chain's: one immutable read
        period_s: float | None = float(gp.reputation_system.periodLength())
    except Exception as err:  # noqa: BLE001 - a node's odd answer: the oracles' slot is still checked for shape
        log.warning("cannot read the chain's report period (ReputationSystem.periodLength): %s",
                    (str(err).splitlines() or [type(err).__name__])[0][:200])
        period_s = None
    config, warnings = with_oracle_slot(config or load_config(config_path), gp.manifest.chain_id, period_s=period_s)
    for warning in warnings:
        log.warning("%s", warning)
    run_daemon(build_agent(gp, config, max_failures=max_failures), log,
               "running jobs continue; the next start resumes them")
