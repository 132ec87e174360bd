"""Ctrl-C (``Agent.stop``) while a job's image is being pulled: the job is not accepted after."""

from __future__ import annotations

import time

from gpurent.types import JobStatus


def test_a_pull_that_ends_after_ctrl_c_does_not_accept_the_job(start_agent, push_image, renter2_rent):
    runner = start_agent()
    agent = runner.agent
    pull = agent._pull
    stopped_during_pull: list[str] = []

    def pull_then_ctrl_c(job, *rest):  # the pull finishes for real; Ctrl-C came while it ran
        cached = pull(job, *rest)
        if not stopped_during_pull:
            stopped_during_pull.append(job.job_id)
            agent.stop()
            runner.thread.join(timeout=60)  # "marking 1 GPU unavailable… done": the agent has shut down
        return cached

    agent._pull = pull_then_ctrl_c
    job = renter2_rent.create_job(runner.gpu, push_image("echo never; sleep 600", "gpurent-test/stopjob:1"),
                                  3600).value
    try:
        deadline = time.monotonic() + 120
        while not stopped_during_pull or agent.jobs.busy(job.job_id):
            assert time.monotonic() < deadline, "the job's worker did not finish"
            time.sleep(0.1)
        assert not runner.thread.is_alive()
        assert renter2_rent.job(job.job_id).status == JobStatus.CREATED  # main: accepted after shutdown
        record = agent.state.job(job.job_id)
        assert record.phase == "pulled" and record.container_id is None
    finally:
        if renter2_rent.job(job.job_id).status == JobStatus.CREATED:
            renter2_rent.cancel_job(job.job_id)
