"""The renter's CLI against a real provider agent (Anvil, Kubo, podman): `jobs logs -f` streams
as the job prints, `jobs create` checks the image, the provider's agent and the GPU's queue
before locking anything, `gpus list` shows a busy GPU as busy, `jobs show` says why a job was
declined, and `jobs cancel` on a running job points at `jobs complete`."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpurent.cli.root import make_root
from gpurent.manifest import save_manifest
from gpurent.types import JobStatus
from tests.agents import PRICE
from tests.sdk.test_endpoints import hostile  # noqa: F401 - a fixture: hostile provider endpoints
from tests.services import session_manifest

BIN = Path(sys.executable).parent
MISSING_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"  # a CID no node holds
RENTER = "5"  # the cast's renter (test-account index)


@pytest.fixture
def home(suite, cast, chain, kubo, tmp_path, monkeypatch) -> Path:
    """A state folder knowing the session's deployment, with the session's Kubo node as the
    renter's IPFS node (so `jobs create` checks images for real)."""
    folder = tmp_path / "cli-home"
    monkeypatch.setenv("GPURENT_HOME", str(folder))
    monkeypatch.setenv("GPURENT_IPFS_API", kubo.api_url)
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    monkeypatch.delenv("GPURENT_INDEXER_URL", raising=False)
    save_manifest(session_manifest(suite, cast, chain))
    return folder


@pytest.fixture
def cli(home):
    runner = CliRunner(mix_stderr=False)

    def run(*args: str, code: int = 0, input: str | None = None):
        result = runner.invoke(make_root(), list(args), input=input)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
        return json.loads(result.stdout) if code == 0 and "--json" in args else result

    return run


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr
    return lines[0]


def test_logs_follow_prints_each_line_as_the_job_prints_it(start_agent, push_image, renter_rent, engine, chain,
                                                          home):
    """The installed `gpurent jobs logs -f`, piped: the first line arrives while the job is still
    running, waiting for the test's word (a file the test creates in its container) before its
    second line, however slowly the command starts."""
    runner = start_agent()
    job = renter_rent.create_job(runner.gpu, push_image(
        "echo first; i=0; while [ ! -e /scratch/go ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done; echo second"),
        3600).value
    record = runner.wait_phase(job.job_id, "running")
    follow = subprocess.Popen([str(BIN / "gpurent"), "--network", chain.provider.uri, "--account", RENTER, "jobs",
                               "logs", "-f", job.job_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "GPURENT_HOME": str(home)})
    try:
        got = b""
        deadline = time.monotonic() + 180
        while b"\n" not in got:
            assert time.monotonic() < deadline, f"no line from `jobs logs -f` (got {got!r})"
            readable, _, _ = select.select([follow.stdout], [], [], 1)
            if readable:
                chunk = os.read(follow.stdout.fileno(), 4096)
                assert chunk, f"`jobs logs -f` ended before a line: {follow.stderr.read()!r}"
                got += chunk
        assert got == b"first\n"
        assert runner.agent.state.job(job.job_id).phase == "running"
        engine.containers.get(record.container_id).exec_run(["/bin/busybox", "touch", "/scratch/go"])
        rest, errors = follow.communicate(timeout=120)
        assert follow.returncode == 0 and got + rest == b"first\nsecond\n", (rest, errors)
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()


def test_create_refuses_a_gpu_its_providers_agent_does_not_serve(start_agent, push_image, provider_rent,
                                                                 renter_rent, cli):
    """A GPU registered by hand beside a running agent: the agent's /health does not list it,
    so the job would sit Created; nothing is locked unless asked for with --force."""
    runner = start_agent()
    cid = push_image("echo hi")
    by_hand = provider_rent.register_resource("RTX4090", 1, 1, 10, PRICE).value.resource_id
    before = renter_rent.balance()
    refused = cli("--account", RENTER, "jobs", "create", "--gpu", by_hand, "--image", cid, "--hours", "1", "--yes",
                  code=1)
    line = one_line(refused)
    assert f"GPU {by_hand[:10]}… is not served by its provider's agent" in line and "--force" in line, line
    asked = cli("--account", RENTER, "jobs", "create", "--gpu", by_hand, "--image", cid, "--hours", "1",
                input="n\n", code=1)
    assert "although the job may never run" in asked.stderr and "Aborted" in asked.stderr
    assert renter_rent.balance() == before and renter_rent.jobs_of_user() == []
    served = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", runner.gpu, "--image", cid,
                 "--hours", "1", "--yes")  # the agent's own GPU passes every check
    assert served["status"] == "Created"
    forced = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", by_hand, "--image", cid, "--hours", "1",
                 "--yes", "--force")
    assert forced["status"] == "Created"


def test_create_refuses_an_image_the_renters_node_cannot_find(start_agent, renter_rent, cli):
    runner = start_agent()
    before = renter_rent.balance()
    refused = cli("--account", RENTER, "jobs", "create", "--gpu", runner.gpu, "--image", MISSING_CID,
                  "--hours", "1", "--yes", code=1)
    line = one_line(refused)
    assert "could not check the image" in line and "nothing was locked" in line, line
    assert renter_rent.balance() == before and renter_rent.jobs_of_user() == []


def test_a_busy_gpu_shows_its_running_and_waiting_jobs(start_agent, push_image, renter_rent, cli):
    runner = start_agent()
    running = renter_rent.create_job(runner.gpu, push_image("echo busy; sleep 120"), 3600).value
    runner.wait_phase(running.job_id, "running")
    waiting = renter_rent.create_job(runner.gpu, push_image("echo next"), 3600).value
    deadline = time.monotonic() + 60  # an index running beside the chain follows it a few blocks behind
    while True:
        rows = {r["id"]: r for r in cli("--json", "gpus", "list")}
        if (rows[runner.gpu]["running"], rows[runner.gpu]["waiting"]) == (1, 1) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (rows[runner.gpu]["running"], rows[runner.gpu]["waiting"]) == (1, 1), rows[runner.gpu]
    assert rows[runner.gpu]["available"] is True  # available on chain, and busy
    table = cli("gpus", "list")
    assert "running" in table.stdout and "waiting" in table.stdout
    shown = cli("--json", "gpus", "show", runner.gpu)
    assert (shown["running"], shown["waiting"]) == (1, 1)
    renter_rent.cancel_job(waiting.job_id)
    renter_rent.complete_job(running.job_id)


def test_cancelling_a_running_job_points_at_jobs_complete(running_job, suite, cli):
    job_id = "0x" + bytes(running_job[0]).hex()
    refused = cli("--account", RENTER, "jobs", "cancel", job_id, code=1)
    assert f"is running: cancel is for jobs that have not started; end it with `gpurent jobs complete {job_id}`" \
        in one_line(refused)
    assert suite.marketplace.getJob(job_id).status == JobStatus.RUNNING


def test_jobs_show_says_why_the_provider_declined_the_job(start_agent, renter_rent, cli):
    runner = start_agent(fetch_timeout_s=2.0)
    job = renter_rent.create_job(runner.gpu, MISSING_CID, 3600).value  # the SDK checks no image
    runner.wait_phase(job.job_id, "declined", timeout_s=120)
    shown = cli("--json", "--account", RENTER, "jobs", "show", job.job_id)
    assert shown["status"] == "Cancelled" and shown["phase"] == "declined"
    assert MISSING_CID in shown["reason"] and "\n" not in shown["reason"], shown["reason"]
    table = cli("--account", RENTER, "jobs", "show", job.job_id)
    assert "reason" in table.stdout


def test_a_followed_log_ends_only_once_it_is_sealed(cast, tmp_path):
    """The agent's endpoint and the SDK's reader (real HTTP, signed): a job marked exited
    whose last line is written after that (the engine's follow stream lags, the seal brings
    it) is streamed to that line; the stream ends at the final phase."""
    import threading

    from gpurent.agent.endpoint import Endpoint, LogStore
    from gpurent.agent.state import AgentState
    from gpurent.local.process import free_port
    from gpurent.sdk.provider import ProviderEndpoint
    from gpurent.types import AgentPhase

    job_id, chain_id = "0x" + "ab" * 32, 31337
    state, logs = AgentState(tmp_path / "state.db"), LogStore(tmp_path / "logs")
    state.record_new_jobs([{"job_id": job_id, "resource_id": "0x" + "cd" * 32, "renter": cast.renter.address,
                            "image_cid": MISSING_CID, "duration_s": 60, "priority": 1.0, "block": 1}], 1)
    state.update(job_id, AgentPhase.RUNNING)
    logs.append(job_id, b"first\n")
    port = free_port()
    endpoint = Endpoint(state, logs, chain_id, cast.provider.address, "127.0.0.1", port, dict)
    endpoint.start()
    try:
        stream = ProviderEndpoint(f"http://127.0.0.1:{port}", cast.renter, chain_id).logs(job_id, follow=True)
        assert next(stream) == b"first\n"  # while it runs
        state.update(job_id, AgentPhase.EXITED)

        def seal() -> None:
            time.sleep(1.0)
            logs.append(job_id, b"last\n")
            state.update(job_id, AgentPhase.COMPLETED)

        sealer = threading.Thread(target=seal)
        sealer.start()
        assert b"".join(stream) == b"last\n"
        sealer.join()
    finally:
        endpoint.stop()


def test_a_hostile_providers_decline_reason_is_one_bounded_safe_line(suite, cast, hostile, cli):
    """The reason is the provider's word: shown as one line of at most 300 characters, with no
    escape sequence or control character left."""
    from tests.sdk.test_endpoints import GOOD, answer_json, job_on

    server = hostile()
    job_id = job_on(suite, cast, server.url)
    server.on["record"] = answer_json({**GOOD, "job_id": job_id, "phase": "declined",
                                       "error": "\x1b]0;owned\x07\x1b[2Jbad image\u202e" + "x" * 5000 + "\nline two"})
    reason = cli("--json", "--account", RENTER, "jobs", "show", job_id)["reason"]
    assert reason.startswith("bad image") and len(reason) == 300 and reason.endswith("…"), reason
    assert not any(c in reason for c in "\x1b\x07\u202e\n"), reason
