"""Pytest plugin: an in-process provider agent on the session chain, with a real Kubo node and
podman (used by tests/agent and tests/oracle)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from gpurent.agent.agent import Agent
from gpurent.agent.config import AgentConfig, Limits, ResourceSpec
from gpurent.images.archive import LayerFile
from gpurent.images.store import ImageStore
from gpurent.local.process import free_port
from tests.services import make_image

PRICE = Decimal(36)  # tokens per hour: 0.01 per second, easy to check


def agent_config(port: int, slots: int = 1, fetch_timeout_s: float = 3.0, oracle_urls: tuple[str, ...] = (),
                 heartbeat_interval_s: float = 60.0, settle_interval_s: float = 600.0, log_mb: int = 64,
                 node_retry_s: float = 300.0, withdraw_min: Decimal = Decimal(10)) -> AgentConfig:
    return AgentConfig(
        endpoint=f"http://127.0.0.1:{port}", listen_host="127.0.0.1", listen_port=port, stake=Decimal(100),
        poll_interval_s=0.2,
        resources=tuple(ResourceSpec("RTX4090", 1, 1, 10, PRICE) for _ in range(slots)),
        limits=Limits(pids=64, scratch_mb=16, network=False, fetch_timeout_s=fetch_timeout_s, log_mb=log_mb,
                      node_retry_s=node_retry_s),
        oracle_urls=oracle_urls, heartbeat_interval_s=heartbeat_interval_s, settle_interval_s=settle_interval_s,
        withdraw_min=withdraw_min)


class AgentRunner:
    """Runs an Agent on a thread; ``wait_phase`` polls its records."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.thread = threading.Thread(target=agent.run, daemon=True)

    def start(self) -> AgentRunner:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.agent.slots or not self.agent.accepting:
            assert self.thread.is_alive(), "the agent died during setup"
            assert time.monotonic() < deadline, "the agent did not finish setup"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.agent.stop()
        self.thread.join(timeout=30)

    @property
    def gpu(self) -> str:
        return next(iter(self.agent.slots))

    def wait_phase(self, job_id: str, *phases: str, timeout_s: float = 60.0) -> object:
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.agent.state.job(job_id)
            if job is not None and job.phase in phases:
                return job
            assert self.thread.is_alive(), "the agent died"
            assert time.monotonic() < deadline, f"job {job_id} still {job.phase if job else 'unseen'}, not {phases}"
            time.sleep(0.1)


@pytest.fixture
def provider_rent(gp, cast):
    return gp.with_account(cast.provider)


@pytest.fixture
def renter_rent(gp, cast):
    return gp.with_account(cast.renter)


@pytest.fixture
def start_agent(provider_rent, kubo, engine_factory, tmp_path) -> Iterator[Callable[..., AgentRunner]]:
    runners: list[AgentRunner] = []

    def start(slots: int = 1, fetch_timeout_s: float = 3.0, node: Any = None, **options: Any) -> AgentRunner:
        """``node``: the provider's own Kubo node (default: the session's, which renters push to)."""
        store = ImageStore((node or kubo).client(), engine_factory, workdir=tmp_path / "staging")
        config = agent_config(free_port(), slots, fetch_timeout_s, **options)
        agent = Agent(provider_rent, config, tmp_path / "provider", store, [])
        runner = AgentRunner(agent).start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        runner.stop()
        for job in runner.agent.state.jobs():
            if job.container_id:
                runner.agent.runtime.remove(job.container_id)


@pytest.fixture
def push_image(kubo, engine_factory, tmp_path, engine) -> Iterator[Callable[..., str]]:
    """Builds a busybox image running ``script`` with /bin/sh, pushes it, returns its CID."""
    ids: list[str] = []

    def push(script: str, name: str = "gpurent-test/job:1", network: bool = False,
             files: tuple[LayerFile, ...] = ()) -> str:
        folder = tmp_path / f"img{len(ids)}"
        folder.mkdir()
        path, info = make_image(folder, name, script.encode(), cmd=["/bin/busybox", "sh", "/payload"], files=files)
        ids.append(info.image_id)
        return ImageStore(kubo.client(), engine_factory, workdir=folder).push_archive(path, network=network).cid

    yield push
    for image_id in ids:
        try:
            engine.images.remove(image_id, force=True)
        except Exception:  # noqa: BLE001 - never loaded
            pass


@pytest.fixture
def renter2_rent(gp, cast):
    """The second renter: its job ids (renter address + nonce) are not those of the tests that use
    ``renter_rent``, whose agents (same chain, Marketplace and provider on a shared podman) would
    take a container named after the same job id for a stray of their own and remove it."""
    return gp.with_account(cast.renter2)
