"""A running job's usage, for real (Anvil, Kubo, podman): a job that fills its /dev/shm tmpfs in
steps (a tmpfs counts against the container's memory cgroup), watched with `gpurent jobs top
--json`; only its renter may watch; its summary in `gpurent jobs show` once it has ended."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from click.testing import CliRunner

from gpurent.agent.endpoint import METRIC_STREAMS_PER_JOB
from gpurent.agent.metrics import Sampler
from gpurent.agent.state import AgentState
from gpurent.cli.root import make_root
from gpurent.cli.top import plain_line
from gpurent.manifest import Manifest, save_manifest
from gpurent.sdk.provider import ProviderEndpoint
from gpurent.wire.access import sign_access
from gpurent.wire.metrics import parse_sample

STEPS, STEP_MB = 6, 2  # 12 MiB in all: under the tests' 16 MiB /dev/shm, far under the 1 GiB limit
ALLOCATES = (f"sleep 4; i=0; while [ $i -lt {STEPS} ]; do "
             f"/bin/busybox dd if=/dev/zero of=/dev/shm/f$i bs=1048576 count={STEP_MB} 2>/dev/null; "
             "i=$((i+1)); sleep 1; done; sleep 3")
# the job's renter is cast.renter2 (job ids not those of the tests using cast.renter, whose agents on
# a shared podman would take its container for a stray of their own); OTHER: cast.renter
RENTER, OTHER = "6", "5"


@pytest.fixture
def cli(suite, cast, chain, tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "cli-home"))
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                           contracts={n: c.address for n, c in suite.as_dict().items()}))
    runner = CliRunner(mix_stderr=False)
    return lambda *args: runner.invoke(make_root(), list(args))


def test_jobs_top_streams_the_memory_a_job_allocates_and_show_keeps_the_summary(start_agent, push_image, renter2_rent,
                                                                                cast, cli, monkeypatch):
    runner = start_agent(fetch_timeout_s=10)
    job = renter2_rent.create_job(runner.gpu, push_image(ALLOCATES), 3600).value
    deadline = time.monotonic() + 30
    while runner.agent.state.job(job.job_id) is None:  # seen by the agent (before: 404, not known)
        assert time.monotonic() < deadline, "the agent never saw the job"
        time.sleep(0.05)
    # `jobs top --json` from before the job runs (the stream waits for it): one sample per line as
    # they come, until the job ends, then the summary
    top: list = []
    watcher = threading.Thread(target=lambda: top.append(cli("--account", RENTER, "jobs", "top", job.job_id, "--json")))
    watcher.start()
    runner.wait_phase(job.job_id, "running", timeout_s=120)
    url = f"{runner.agent.config.endpoint}/jobs/{job.job_id}/metrics"
    chain_id = renter2_rent.manifest.chain_id

    def signed(who=cast.renter2):
        return sign_access(who, chain_id, job.job_id)

    # only the renter reads it: unsigned, another renter's or an outsider's signature are refused
    assert requests.get(url, timeout=5).status_code == 403
    for other in (cast.renter, cast.outsider):
        refused = requests.get(url, headers=signed(other), timeout=5)
        assert refused.status_code == 403 and "only the job's renter" in refused.json()["error"]
    assert requests.get(url + "?follow=2", headers=signed(), timeout=5).status_code == 400

    # followed streams are bounded per job (`jobs top` holds one), and a follower that leaves frees its place
    deadline = time.monotonic() + 30
    while not runner.agent.endpoint.metric_streams.held(job.job_id):
        assert time.monotonic() < deadline and not top, top and (top[0].stdout, top[0].stderr)
        time.sleep(0.1)
    follows = [requests.get(url + "?follow=1", headers=signed(), stream=True, timeout=10)
               for _ in range(METRIC_STREAMS_PER_JOB - 1)]
    assert all(f.status_code == 200 for f in follows)
    first = parse_sample(json.loads(next(follows[0].iter_lines())))
    assert first["gpu"] is None and first["gpu_reason"].startswith("no NVIDIA GPU readings")
    assert requests.get(url + "?follow=1", headers=signed(), timeout=5).status_code == 429
    for follow in follows:
        follow.close()
    while runner.agent.endpoint.metric_streams.held(job.job_id) != 1:
        assert time.monotonic() < deadline, "the followers that left still hold their streams"
        time.sleep(0.1)

    watcher.join(timeout=120)
    assert top and top[0].exit_code == 0, (top[0].stdout, top[0].stderr) if top else "jobs top never ended"
    record = runner.wait_phase(job.job_id, "completed", timeout_s=60)
    history = runner.agent.state.history(job.job_id)
    assert record.exit_code == 0, history  # ran to its end (not a container another test session removed)
    *lines, last = [json.loads(line) for line in top[0].stdout.splitlines()]
    samples = [parse_sample(line) for line in lines]
    times = [s["t"] for s in samples]
    assert len(samples) >= 8 and times == sorted(times) and len(set(times)) == len(times), (times, history)
    memory = [s["mem_bytes"] for s in samples]
    allocated = STEPS * STEP_MB * 2**20
    assert memory[-1] - memory[0] >= allocated * 3 // 4, memory  # it rose while the job wrote its tmpfs
    assert sum(b > a + 2**20 for a, b in zip(memory, memory[1:])) >= 3, memory  # in steps, as written
    assert all(s["mem_limit_bytes"] == 2**30 for s in samples)
    assert last["job_id"] == job.job_id and last["summary"]["metrics"]["mem_bytes"]["peak"] >= allocated, memory
    foreign = cli("--account", OTHER, "jobs", "top", job.job_id)
    assert foreign.exit_code == 1 and "only the job's renter" in foreign.stderr, foreign.stderr

    def interrupted(endpoint, job_id):  # Ctrl-C while following
        yield samples[0]
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ProviderEndpoint, "follow_metrics", interrupted)
        stopped = cli("--account", RENTER, "jobs", "top", job.job_id)
    assert stopped.exit_code == 0 and "Traceback" not in stopped.stdout + stopped.stderr, stopped.stderr
    assert stopped.stdout.splitlines() == [plain_line(samples[0])]  # the sample, no summary, no "Aborted!"

    # after the job: its summary, kept in the agent's database beyond the container
    shown = cli("--json", "--account", RENTER, "jobs", "show", job.job_id)
    assert shown.exit_code == 0, shown.stderr
    usage = json.loads(shown.stdout)["usage"]
    assert usage["metrics"]["mem_bytes"]["peak"] >= allocated and usage["samples"] >= len(samples)
    assert usage["gaps"] == 0  # a reading that failed as the container ended is not a gap
    assert usage["gpu_reason"].startswith("no NVIDIA GPU readings") and "gpu_util_pct" not in usage["metrics"]
    human = cli("--account", RENTER, "jobs", "show", job.job_id)
    assert human.exit_code == 0 and "no GPU readings" in human.stdout and "MiB" in human.stdout, human.stdout
    restarted = Sampler(runner.agent.runtime, AgentState(runner.agent.home / "agent.db"), runner.agent.metrics.gpus)
    assert restarted.describe(job.job_id)["summary"]["metrics"]["mem_bytes"]["peak"] >= allocated


def test_a_restarted_agent_goes_on_with_the_summary_of_a_running_job(start_agent, push_image, renter2_rent):
    """The agent stops (containers run on) and starts again on the same home: it re-attaches to
    the job and its summary goes on from the one it wrote, the first sample's time kept."""
    first = start_agent(fetch_timeout_s=10)
    job = renter2_rent.create_job(first.gpu, push_image(
        "/bin/busybox dd if=/dev/zero of=/dev/shm/f bs=1048576 count=8 2>/dev/null; sleep 300"), 3600).value
    first.wait_phase(job.job_id, "running", timeout_s=120)
    deadline = time.monotonic() + 60
    while (summary := first.agent.metrics.describe(job.job_id)["summary"]) is None or summary["samples"] < 3:
        assert time.monotonic() < deadline, "no samples"
        time.sleep(0.2)
    first.stop()
    kept = first.agent.state.usage(job.job_id)
    assert kept is not None and kept["samples"] >= 3

    second = start_agent(fetch_timeout_s=10)  # the same home: agent.db, logs, the job's record
    while (summary := second.agent.metrics.describe(job.job_id)["summary"]) is None \
            or summary["samples"] < kept["samples"] + 3:
        assert time.monotonic() < deadline, ("not sampled after the restart", summary)
        time.sleep(0.2)
    assert summary["first_t"] == kept["first_t"] and summary["metrics"]["mem_bytes"]["peak"] >= 8 * 2**20
    renter2_rent.complete_job(job.job_id)
    second.wait_phase(job.job_id, "completed", timeout_s=60)
    while second.agent.metrics.sampling(job.job_id):  # it writes the summary as it ends
        assert time.monotonic() < deadline + 60, "still sampling a completed job"
        time.sleep(0.1)
    final = second.agent.state.usage(job.job_id)
    assert final is not None and final["samples"] >= summary["samples"]
