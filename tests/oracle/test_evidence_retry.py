"""A dispute raised while the provider's agent restarts, for real (a `gpurent-oracle run`
process, an in-process agent, the session chain, Kubo, podman): the oracle asks the provider
again for its record, within ``[reports] record_wait``, before it rules."""

from __future__ import annotations

import time

from gpurent.types import DisputeOutcome, JobStatus
from tests.oracle.conftest import INTERVAL, wait_for
from tests.oracle.test_oracle import _evidence, _resolved, with_agent

DOWN_S = 8.0  # how long the agent stays down after the dispute (the default record_wait is 300 s)


def test_a_dispute_while_the_agent_restarts_waits_for_its_record(start_oracle, start_agent, push_image,
                                                                 renter2_rent, provider_rent, gp, suite, chain, cast,
                                                                 kubo):
    (oracle,), runner = with_agent(start_oracle, start_agent)
    job = renter2_rent.create_job(runner.gpu, push_image("echo working; sleep 120"), 3600).value
    runner.wait_phase(job.job_id, "running")
    earned = provider_rent.earnings()
    time.sleep(3)  # some work the heartbeats prove
    runner.stop()  # the agent goes down (its container runs on); its endpoint no longer answers
    renter2_rent.dispute_job(job.job_id, "the provider is not answering")
    wait_for("the oracle to ask the provider", lambda: _resolved(suite, chain, job.job_id)
             or "no record from the provider yet" in oracle.log.read_text(), timeout_s=60, log=oracle.log)
    time.sleep(DOWN_S)
    # main: ruled at once, ProviderFault ("provider gave no record of the job: … is not answering")
    assert not _resolved(suite, chain, job.job_id), "ruled while the provider's agent was down"
    start_agent(oracle_urls=(oracle.url,), heartbeat_interval_s=INTERVAL)  # the same home: it knows the job

    (ruling,) = wait_for("the ruling", lambda: _resolved(suite, chain, job.job_id), timeout_s=120, log=oracle.log)
    assert ruling.outcome != DisputeOutcome.PROVIDER_FAULT, _evidence(kubo, ruling.evidenceCID)["ruling"]
    assert ruling.finalCost > 0 and provider_rent.earnings() > earned  # paid for the time before the dispute
    assert gp.job(job.job_id).status == JobStatus.RESOLVED
    evidence = _evidence(kubo, ruling.evidenceCID)
    assert evidence["provider_record"]["reachable"] and evidence["provider_record"]["job"]["job_id"] == job.job_id
    assert evidence["heartbeats"]["kept"] > 0
