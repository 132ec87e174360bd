"""`gpurent-provider run` as a separate process: SIGKILL mid-job and a restart finish the job
exactly once; SIGTERM stops taking work and marks the GPUs unavailable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from gpurent.wire.access import sign_access
from gpurent.manifest import save_manifest
from gpurent.local.process import free_port
from gpurent.types import JobStatus
from tests.agent.test_agent import wait_chain
from tests.services import session_manifest

BIN = Path(sys.executable).parent
PROVIDER_INDEX = "3"  # cast.provider


def agent_home(suite, cast, chain, kubo, engine_host, tmp_path: Path) -> tuple[Path, int, dict[str, str]]:
    """A state folder for `gpurent-provider run` in a subprocess against the session's chain,
    Kubo and engine: the deployment, a provider.toml on a free port, and its environment."""
    home = tmp_path / "home"
    home.mkdir()
    save_manifest(session_manifest(suite, cast, chain), home=home)
    port = free_port()
    (home / "provider.toml").write_text(provider_toml(port))
    env = {**os.environ, "GPURENT_HOME": str(home), "GPURENT_NETWORK": chain.provider.http_uri,
           "GPURENT_IPFS_API": kubo.api_url, "GPURENT_IPFS_GATEWAY": kubo.gateway_url or "",
           "DOCKER_HOST": engine_host}
    return home, port, env


def provider_toml(port: int) -> str:
    return f"""
[provider]
endpoint = "http://127.0.0.1:{port}"
listen = "127.0.0.1:{port}"
stake = "100"
poll_interval = 0.2

[[resources]]
model = "RTX4090"
vcpu = 1
memory_gb = 1
storage_gb = 10
price = "36"

[limits]
pids = 64
scratch_mb = 16
fetch_timeout_s = 5
"""


class AgentProcess:
    def __init__(self, home: Path, env: dict[str, str]):
        self.home, self.env = home, env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / "agent.out"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([str(BIN / "gpurent-provider"), "--account", PROVIDER_INDEX, "run"],
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def signal(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


def test_sigkill_mid_job_then_restart_completes_exactly_once(suite, cast, chain, gp, kubo, engine_host, push_image,
                                                              tmp_path):
    home, port, env = agent_home(suite, cast, chain, kubo, engine_host, tmp_path)

    agent = AgentProcess(home, env)
    agent.start()
    deadline = time.monotonic() + 90
    while not (resources := gp.provider_resources(cast.provider.address)) or not resources[0].available:
        assert agent.process.poll() is None, agent.log.read_text()
        assert time.monotonic() < deadline, agent.log.read_text()
        time.sleep(0.2)
    gpu = resources[0].resource_id

    renter = gp.with_account(cast.renter)
    cid = push_image("echo first line; sleep 8; echo last line")
    job = renter.create_job(gpu, cid, 3600).value
    wait_chain(gp, job.job_id, JobStatus.RUNNING)
    assert agent.signal(signal.SIGKILL) == -signal.SIGKILL  # killed mid-job, container still running

    agent.start()  # the restart re-attaches, then settles once the container exits
    settled = wait_chain(gp, job.job_id, JobStatus.COMPLETED, timeout_s=90)
    jid = bytes.fromhex(job.job_id[2:])
    market = suite.marketplace
    for event in (market.JobAccepted, market.JobStarted, market.JobCompleted):
        assert len([e for e in event.range(0, chain.blocks.height + 1) if e.jobId == jid]) == 1, event.name
    assert settled.final_cost > 0

    url = f"http://127.0.0.1:{port}/jobs/{job.job_id}/logs"
    logs = requests.get(url, headers=sign_access(cast.renter, chain.chain_id, job.job_id), timeout=10).text
    assert "first line" in logs and "last line" in logs

    status = subprocess.run([str(BIN / "gpurent-provider"), "--json", "status"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["health"]["accepting"] and report["health"]["monitor"]["host"]["memory_total_mb"] > 0
    assert report["jobs"][0]["job"] == job.job_id and report["jobs"][0]["phase"] == "completed"

    assert agent.signal(signal.SIGTERM) == 0  # stops taking work, GPUs unavailable
    assert gp.resource(gpu).available is False
