"""The direct start (acceptAndStartJob) refused by the chain: no container runs unbilled."""

from __future__ import annotations

import time

from gpurent.types import JobStatus


def test_a_job_whose_accept_timeout_passed_while_its_data_came_in_is_declined_and_nothing_runs(
        start_agent, push_image, renter2_rent, gp, cast):
    """The renter's node serves slowly (here: the pull takes 4 s) and the job's accept timeout
    (2 s) passes before the container starts: acceptAndStartJob reverts. On the old main the
    container kept running, unbilled, adopted and retried every 5 s; now it is removed and the
    job is declined (the renter gets everything back)."""
    admin = gp.with_account(cast.admin)
    params = gp.parameters()
    admin.set_timeouts(2, params["start_timeout_s"], params["completion_grace_s"], params["dispute_timeout_s"])
    try:
        runner = start_agent()
        agent = runner.agent
        pull = agent._pull

        def slow_pull(job, *rest):  # type: ignore[no-untyped-def]
            cached = pull(job, *rest)
            time.sleep(4)  # the data took longer than the accept timeout
            return cached

        agent._pull = slow_pull
        before = renter2_rent.balance()
        image = push_image("echo late; sleep 600", "gpurent-test/late:1")
        job = renter2_rent.create_job(runner.gpu, image, 3600).value
        record = runner.wait_phase(job.job_id, "declined", timeout_s=120)
        assert "refused to start" in (record.error or "") and "expired" in (record.error or "")
        assert renter2_rent.job(job.job_id).status == JobStatus.CANCELLED
        assert renter2_rent.balance() == before  # the whole escrow back
        assert agent.runtime.find(job.job_id) is None  # main: the container ran on, unbilled
        assert agent.state.job(job.job_id).container_id is None
    finally:
        admin.set_timeouts(params["accept_timeout_s"], params["start_timeout_s"], params["completion_grace_s"],
                           params["dispute_timeout_s"])


def test_a_created_job_whose_preparation_fails_every_time_is_declined_not_held(start_agent, push_image,
                                                                               renter2_rent, monkeypatch):
    """An unexpected error on every attempt (here: the pull raises) used to be retried every 5 s
    for ever, the job holding its GPU; after PREPARE_ATTEMPTS the Created job is declined."""
    from gpurent.agent import agent as agent_mod

    monkeypatch.setattr(agent_mod, "RETRY_S", 0.2)
    runner = start_agent()
    agent = runner.agent

    def broken_pull(job, *rest):  # type: ignore[no-untyped-def]
        raise RuntimeError("something nobody foresaw")

    agent._pull = broken_pull
    before = renter2_rent.balance()
    job = renter2_rent.create_job(runner.gpu, push_image("echo never", "gpurent-test/stuck:1"), 3600).value
    record = runner.wait_phase(job.job_id, "declined", timeout_s=120)
    assert f"({agent_mod.PREPARE_ATTEMPTS} attempts)" in (record.error or "")
    assert "something nobody foresaw" in record.error
    assert renter2_rent.job(job.job_id).status == JobStatus.CANCELLED
    assert renter2_rent.balance() == before
    assert agent.state.job(job.job_id).slot is None  # the GPU is free again
