"""Fair billing under faults, for real (Anvil, Kubo, podman): a container that exits while its
agent or its engine is down is billed until its own end (the engine's ``State.FinishedAt``),
not until the agent notices."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from gpurent.agent.agent import Agent
from gpurent.images.store import ImageStore
from gpurent.local import engine as engine_mod
from gpurent.local.process import free_port
from gpurent.types import JobStatus
from tests.agent.test_agent import wait_chain
from tests.agents import AgentRunner, agent_config
from tests.conftest import FUNDS

RUN_S = 4  # what the job's container runs
DOWN_S = 20  # how long after its end nobody notices (main billed all of it)
TOLERANCE_S = 2


def _finished_at(container_id: str) -> int:
    """The engine's record of the container's end (host Unix seconds), read by podman itself:
    works while the API service is down."""
    out = subprocess.run(["podman", "container", "inspect", "--format", "{{.State.Status}} {{.State.FinishedAt.Unix}}",
                          container_id], capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out[0] in ("exited", "stopped"), out
    return int(out[1])


def _wait_exit(container_id: str, timeout_s: float = 90.0) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _finished_at(container_id)
        except (AssertionError, subprocess.CalledProcessError) as err:
            assert time.monotonic() < deadline, f"container {container_id} did not end: {err}"
            time.sleep(0.5)


def _billed_s(job) -> Decimal:
    return job.final_cost * 100  # 36 GPU/h: 0.01 a second


def _assert_billed_to_its_end(gp, job_id: str, finished_host: int, offset: float) -> None:
    settled = wait_chain(gp, job_id, JobStatus.COMPLETED, timeout_s=120)
    ran_s = finished_host + offset - settled.start_time  # the container's end, on the chain's clock
    billed = _billed_s(settled)
    assert abs(float(billed) - ran_s) <= TOLERANCE_S, (billed, ran_s)
    assert billed <= RUN_S + TOLERANCE_S  # never the downtime
    assert settled.end_time - settled.start_time >= RUN_S + DOWN_S - TOLERANCE_S  # it was settled late


@pytest.fixture(scope="module")
def own_provider(accounts, suite, cast):
    """A provider account of these tests alone (test account 8, funded here). Not cast.provider:
    other test sessions sharing this podman run agents of that account on the same deterministic
    deployment, with the same job ids, and an agent removes the containers of its own labels that
    it did not record; nor cast.provider2, which other tests register with endpoints of their own."""
    account = accounts[8]
    suite.token.transfer(account, FUNDS, sender=cast.admin)
    return account


@pytest.fixture
def provider_agent(gp, own_provider, kubo, tmp_path) -> Iterator[Callable[[Callable[[], object]], AgentRunner]]:
    """Starts agents of ``own_provider`` on one state folder (the same agent, restarted), over
    the engine a factory gives."""
    runners: list[AgentRunner] = []
    rent = gp.with_account(own_provider)

    def start(engine_factory: Callable[[], object]) -> AgentRunner:
        store = ImageStore(kubo.client(), engine_factory, workdir=tmp_path / "staging")
        agent = Agent(rent, agent_config(free_port()), tmp_path / "provider", store, [])
        runners.append(AgentRunner(agent).start())
        return runners[-1]

    yield start
    for runner in runners:
        runner.stop()
    for job in runners[0].agent.state.jobs() if runners else ():
        if job.container_id:
            subprocess.run(["podman", "rm", "-f", job.container_id], capture_output=True, timeout=60)


def test_a_job_that_ends_while_the_agent_is_down_is_billed_to_its_own_end(provider_agent, engine_factory,
                                                                          push_image, renter_rent):
    runner = provider_agent(engine_factory)
    job = renter_rent.create_job(runner.gpu, push_image(f"echo working; sleep {RUN_S}; echo done"), 3600).value
    record = runner.wait_phase(job.job_id, "running", timeout_s=90)
    runner.stop()  # the agent goes away; its container runs on
    finished = _wait_exit(record.container_id)
    offset = renter_rent.chain_time() - time.time()  # chain clock minus host clock
    time.sleep(max(0.0, finished + DOWN_S - time.time()))
    assert renter_rent.job(job.job_id).status == JobStatus.RUNNING  # nobody could tell it ended
    again = provider_agent(engine_factory)  # the same state folder: it finds the job exited
    again.wait_phase(job.job_id, "completed", timeout_s=120)
    _assert_billed_to_its_end(renter_rent, job.job_id, finished, offset)


@pytest.fixture
def own_engine(tmp_path):
    """A podman API service of this test's own (the images and containers are podman's, shared
    with the session's service), so that it can be stopped and started again on its socket."""
    folder = tmp_path / "engine"
    folder.mkdir()
    services = [engine_mod.start(folder=folder)]

    def restart() -> None:
        services.append(engine_mod.start(folder=folder))

    yield services, restart
    engine_mod.stop_service(services[-1])  # a no-op if the test left it stopped


def test_a_job_that_ends_while_the_engine_is_down_is_billed_to_its_own_end(own_engine, provider_agent, push_image,
                                                                           renter_rent):
    import docker

    services, restart = own_engine
    host = services[0].docker_host
    runner = provider_agent(lambda: docker.DockerClient(base_url=host, timeout=120))
    job = renter_rent.create_job(runner.gpu, push_image(f"echo working; sleep {RUN_S}; echo done"), 3600).value
    record = runner.wait_phase(job.job_id, "running", timeout_s=90)
    engine_mod.stop_service(services[0])  # the engine's API goes away; conmon keeps the container
    finished = _wait_exit(record.container_id)
    offset = renter_rent.chain_time() - time.time()
    time.sleep(max(0.0, finished + DOWN_S - time.time()))
    assert renter_rent.job(job.job_id).status == JobStatus.RUNNING  # nobody could tell it ended
    restart()
    runner.wait_phase(job.job_id, "completed", timeout_s=120)
    _assert_billed_to_its_end(renter_rent, job.job_id, finished, offset)


def test_a_job_whose_container_is_removed_while_the_agent_is_down_is_billed_to_when_it_was_last_seen(
        provider_agent, engine_factory, push_image, renter_rent):
    """A container gone for good (removed, or a host reboot that left no end on record) has no
    FinishedAt: main settled it with completeJob when the agent came back, billing the downtime."""
    from gpurent.agent.agent import SEEN_EVERY_S

    runner = provider_agent(engine_factory)
    job = renter_rent.create_job(runner.gpu, push_image("echo working; sleep 600"), 3600).value
    record = runner.wait_phase(job.job_id, "running", timeout_s=90)
    time.sleep(RUN_S)
    runner.stop()  # the agent goes away; its container runs on ...
    gone = renter_rent.chain_time()
    subprocess.run(["podman", "rm", "-f", record.container_id], capture_output=True, timeout=60, check=True)
    seen = runner.agent.state.job(job.job_id).last_seen  # ... and is removed while nobody watches
    assert seen is not None and gone - SEEN_EVERY_S - TOLERANCE_S <= seen <= gone
    time.sleep(DOWN_S)
    assert renter_rent.job(job.job_id).status == JobStatus.RUNNING
    again = provider_agent(engine_factory)  # the same state folder: it finds the container lost
    again.wait_phase(job.job_id, "completed", timeout_s=120)
    settled = wait_chain(renter_rent, job.job_id, JobStatus.COMPLETED, timeout_s=120)
    billed = float(_billed_s(settled))
    assert abs(billed - (seen - settled.start_time)) <= 1, (billed, seen, settled.start_time)
    assert billed <= gone - settled.start_time + TOLERANCE_S  # never the downtime
    assert settled.end_time - settled.start_time >= DOWN_S  # it was settled late
