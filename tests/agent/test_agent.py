"""The provider agent for real: Anvil (the session chain), a Kubo node, podman containers."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from gpurent.wire.access import sign_access
from gpurent.sdk.provider import ProviderEndpoint
from gpurent.errors import GpurentError
from gpurent.types import JobStatus

MISSING_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def wait_chain(gp, job_id, status: JobStatus, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while (job := gp.job(job_id)).status != status:
        assert time.monotonic() < deadline, f"job is {job.status.label}, not {status.label}"
        time.sleep(0.1)
    return job


def test_a_job_that_prints_and_exits_is_run_completed_and_paid(start_agent, push_image, renter_rent, provider_rent,
                                                              cast):
    runner = start_agent()
    cid = push_image("echo hello from the container; echo to stderr >&2; sleep 3; exit 3")
    before = renter_rent.balance()
    job = renter_rent.create_job(runner.gpu, cid, 3600).value
    record = runner.wait_phase(job.job_id, "completed")
    assert record.exit_code == 3 and not record.capped

    settled = renter_rent.job(job.job_id)
    assert settled.status == JobStatus.COMPLETED and settled.start_time > 0
    billed = settled.final_cost * 100  # 0.01 GPU a second
    # billed by the second from startJob to the container's end (which the settlement comes after)
    assert billed == int(billed) and 2 <= billed <= settled.end_time - settled.start_time
    assert renter_rent.balance() == before - settled.final_cost  # the rest came back
    assert provider_rent.earnings() > 0

    phases = [p for p, _, _ in runner.agent.state.history(job.job_id)]
    # the image verified before anything is promised; accepted and started in one transaction (acceptAndStartJob)
    # once the container runs
    assert phases == ["queued", "pulling", "pulled", "starting", "running", "exited", "completing", "completed"]
    # the renter reads the phase and the logs from the provider's endpoint, signed
    remote = ProviderEndpoint(runner.agent.config.endpoint, cast.renter, renter_rent.manifest.chain_id)
    assert remote.phase(job.job_id)["phase"] == "completed"
    logs = b"".join(remote.logs(job.job_id)).decode()
    assert "hello from the container" in logs and "to stderr" in logs
    assert runner.agent.runtime.find(job.job_id) is None  # the container is gone


def test_a_running_job_is_settled_as_it_runs_and_the_slices_add_up(start_agent, push_image, renter_rent, suite,
                                                                    cast, chain):
    """With settle_interval 2 s the agent has the escrow pay it while the job runs (a late
    dispute can only touch the last slice); completeJob settles the rest, to the base unit, and
    with withdraw_min 0 the agent withdraws what settlement credited to its earnings."""
    runner = start_agent(settle_interval_s=2, withdraw_min=Decimal(0))
    token, market = suite.token, suite.marketplace
    held, held_fee = market.earningsOf(cast.provider)  # an earlier test's, withdrawn with this job's
    provider_before = token.balanceOf(cast.provider) + held
    treasury_before = token.balanceOf(cast.treasury) + held_fee
    job = renter_rent.create_job(runner.gpu, push_image("echo working; sleep 7; echo done"), 3600).value
    runner.wait_phase(job.job_id, "completed", timeout_s=90)

    jid = bytes.fromhex(job.job_id[2:])
    height = chain.blocks.height + 1
    (completed,) = [e for e in market.JobCompleted.range(0, height) if e.jobId == jid]
    releases = [e for e in market.FundsReleased.range(0, height) if e.jobId == jid]
    (refund,) = [e for e in market.Refunded.range(0, height) if e.jobId == jid]
    order = (completed.block_number, completed.log_index)
    early = [e for e in releases if (e.block_number, e.log_index) < order]
    assert len(early) >= 2, [(e.block_number, e.providerAmount) for e in releases]
    assert len(releases) == len(early) + 1  # completeJob paid the remainder in one more release

    cost = int(completed.finalCost)
    settled = renter_rent.job(job.job_id)
    assert cost > 0 and settled.final_cost * 10**18 == cost and settled.end_time - settled.start_time >= 5
    paid = sum(int(e.providerAmount) for e in releases)
    fees = sum(int(e.fee) for e in releases)
    assert paid + fees == cost  # every slice plus the completion: the job's cost exactly
    assert (paid, fees) == (cost * 98 // 100, cost * 2 // 100)  # 0.01 GPU a second: no rounding
    deadline = time.monotonic() + 30  # the withdrawal follows the settlement
    while market.earningsOf(cast.provider) != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert market.earningsOf(cast.provider) == (0, 0)
    assert token.balanceOf(cast.provider) - provider_before == paid
    assert token.balanceOf(cast.treasury) - treasury_before == fees
    withdrawn = [e for e in market.EarningsWithdrawn.range(0, chain.blocks.height + 1)
                 if e.event_arguments["provider"] == cast.provider.address]
    assert withdrawn and (withdrawn[-1].block_number, withdrawn[-1].log_index) > order  # after the settlement
    assert int(refund.amount) == int(job.max_cost * 10**18) - cost
    assert renter_rent.escrow(job.job_id).released * 10**18 == cost


def test_containers_are_locked_down_and_hostile_code_is_contained(start_agent, push_image, renter_rent, cast):
    runner = start_agent()
    hostile = """
    mount -t tmpfs none /scratch && echo MOUNTED || echo mount-denied
    echo b > /proc/sysrq-trigger && echo SYSRQ || echo sysrq-denied
    ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1 && echo RAW-SOCKET || echo raw-socket-denied
    touch /escape && echo ROOT-WRITABLE || echo rootfs-read-only
    wget -q -T 2 http://127.0.0.1:1/ 2>/dev/null; ip route 2>/dev/null | grep -q default && echo NETWORK || echo no-network
    head -c 3000000000 /dev/zero | tail > /dev/null; echo memory-contained
    ( bomb() { bomb | bomb & }; bomb ) 2>/dev/null; sleep 3; echo fork-bomb-contained
    exec sleep 120
    """
    cid = push_image(hostile, "gpurent-test/hostile:1")
    job = renter_rent.create_job(runner.gpu, cid, 3600).value
    record = runner.wait_phase(job.job_id, "running")

    host = runner.agent.runtime.engine.containers.get(record.container_id).attrs["HostConfig"]
    assert set(host["CapDrop"]) >= {"CHOWN", "DAC_OVERRIDE", "NET_RAW", "SYS_CHROOT", "SETUID", "SETGID"} or \
        host["CapDrop"] == ["ALL"]
    assert not host.get("CapAdd") and host["Privileged"] is False
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["ReadonlyRootfs"] is True and host["NetworkMode"] == "none"
    assert host["PidMode"] in ("", "private") and host["IpcMode"] != "host"
    assert not host.get("Binds") and not host.get("Mounts")
    assert host["Memory"] == 2**30 and host["MemorySwap"] == 2**30 and host["NanoCpus"] == 10**9
    assert host["PidsLimit"] == 64 and "/scratch" in host["Tmpfs"]
    assert not host.get("DeviceRequests")  # no GPU on this machine: no device request

    deadline = time.monotonic() + 60
    remote = ProviderEndpoint(runner.agent.config.endpoint, cast.renter, renter_rent.manifest.chain_id)
    while "fork-bomb-contained" not in (logs := b"".join(remote.logs(job.job_id)).decode()):
        assert time.monotonic() < deadline, logs
        time.sleep(0.5)
    for line in ("mount-denied", "sysrq-denied", "raw-socket-denied", "rootfs-read-only", "no-network",
                 "fork-bomb-contained"):
        assert line in logs, logs
    for escaped in ("MOUNTED", "SYSRQ", "RAW-SOCKET", "ROOT-WRITABLE", "NETWORK\n"):
        assert escaped not in logs, logs
    health = requests.get(f"{runner.agent.config.endpoint}/health", timeout=5).json()
    assert health["accepting"] and job.job_id in health["jobs_running"]  # the agent is fine

    renter_rent.dispute_job(job.job_id, "testing containment")  # the agent stops it and follows the contract
    runner.wait_phase(job.job_id, "disputed")
    assert runner.agent.runtime.find(job.job_id) is None


def test_a_job_past_its_duration_is_stopped_and_settled_at_the_cap(start_agent, push_image, renter_rent):
    runner = start_agent()
    cid = push_image("echo started; sleep 600")
    job = renter_rent.create_job(runner.gpu, cid, 3).value
    record = runner.wait_phase(job.job_id, "completed", timeout_s=90)
    assert record.capped
    settled = renter_rent.job(job.job_id)
    assert settled.final_cost == settled.max_cost == Decimal("0.03")  # 3 s at 0.01/s: the cap exactly


def test_a_job_extended_while_running_runs_to_its_new_cap_and_settles_exact(start_agent, push_image, renter_rent,
                                                                           suite, cast, chain):
    """Booked 6 s, extended by 6 s once it runs: the agent does not stop it at the old cap, stops
    it at the new one, and the settlement pays the 12 s booked exactly (0.12 GPU: 98% to the
    provider, 2% to the platform, nothing back)."""
    runner = start_agent()
    # it ends within a second of being told to stop, so a stop at the old cap would show at once
    script = 'trap "echo stopped; exit 0" TERM; echo started; while true; do sleep 1; done'
    job = renter_rent.create_job(runner.gpu, push_image(script), 6).value
    record = runner.wait_phase(job.job_id, "running", timeout_s=90)
    renter0 = renter_rent.balance()
    extended = renter_rent.extend_job(job.job_id, 6).value
    assert (extended.estimated_duration, extended.max_cost) == (12, Decimal("0.12"))
    assert renter0 - renter_rent.balance() == Decimal("0.06")  # the extra 6 s, locked
    old_cap = record.chain_start + 6
    while renter_rent.chain_time() < old_cap + 3:  # past the old cap, on the chain's clock
        time.sleep(0.2)
    now = runner.agent.state.job(job.job_id)
    assert now.phase == "running" and not now.capped and now.duration_s == 12
    assert runner.agent.runtime.state(now.container_id).status == "running"

    record = runner.wait_phase(job.job_id, "completed", timeout_s=60)
    assert record.capped
    settled = renter_rent.job(job.job_id)
    assert settled.final_cost == settled.max_cost == Decimal("0.12")  # 12 s at 0.01/s: the new cap exactly
    assert settled.end_time - settled.start_time <= 12 + 10  # stopped at the new cap, not left running
    jid = bytes.fromhex(job.job_id[2:])
    height = chain.blocks.height + 1
    releases = [e for e in suite.marketplace.FundsReleased.range(0, height) if e.jobId == jid]
    assert sum(int(e.providerAmount) for e in releases) == 1176 * 10**14  # 0.1176 GPU
    assert sum(int(e.fee) for e in releases) == 24 * 10**14  # 0.0024 GPU
    assert not [e for e in suite.marketplace.Refunded.range(0, height) if e.jobId == jid]
    assert renter_rent.balance() == renter0 - Decimal("0.06")  # the whole booking ran: nothing back


def test_a_cancel_before_start_refunds_in_full_and_is_never_accepted(start_agent, push_image, renter_rent):
    runner = start_agent()
    blocker = renter_rent.create_job(runner.gpu, push_image("sleep 600", "gpurent-test/blocker:1"), 3600).value
    runner.wait_phase(blocker.job_id, "running")
    before = renter_rent.balance()
    queued = renter_rent.create_job(runner.gpu, push_image("echo never"), 3600).value  # its GPU is busy: queued
    runner.wait_phase(queued.job_id, "queued")
    renter_rent.cancel_job(queued.job_id)
    assert renter_rent.balance() == before  # every token back
    renter_rent.complete_job(blocker.job_id)  # the renter ends the first job; the GPU frees
    runner.wait_phase(queued.job_id, "cancelled")
    assert [p for p, _, _ in runner.agent.state.history(queued.job_id)] == ["queued", "cancelled"]


def test_an_image_no_peer_holds_is_declined_and_the_renter_refunded(start_agent, renter_rent):
    runner = start_agent(fetch_timeout_s=2)
    before = renter_rent.balance()
    job = renter_rent.create_job(runner.gpu, MISSING_CID, 3600).value
    record = runner.wait_phase(job.job_id, "declined")
    assert "not found within 2 s" in record.error
    assert renter_rent.job(job.job_id).status == JobStatus.CANCELLED
    assert renter_rent.balance() == before


def test_an_image_asking_for_network_is_declined_by_a_provider_offering_none(start_agent, push_image,
                                                                             renter_rent):
    runner = start_agent()
    before = renter_rent.balance()
    job = renter_rent.create_job(runner.gpu, push_image("echo online", network=True), 3600).value
    record = runner.wait_phase(job.job_id, "declined")
    assert "network access" in record.error and renter_rent.balance() == before


def test_two_gpus_run_two_jobs_at_once_never_one_gpu_for_two(start_agent, push_image, renter_rent):
    runner = start_agent(slots=2)
    gpus = list(runner.agent.slots)
    cid = push_image("sleep 600")
    first, second = (renter_rent.create_job(g, cid, 3600).value for g in gpus)
    third = renter_rent.create_job(gpus[0], cid, 3600).value
    runner.wait_phase(first.job_id, "running")
    runner.wait_phase(second.job_id, "running")
    time.sleep(1)
    assert runner.agent.state.job(third.job_id).phase == "queued"  # its GPU is taken
    renter_rent.complete_job(first.job_id)
    runner.wait_phase(third.job_id, "running")
    for job in (second, third):
        renter_rent.complete_job(job.job_id)


def test_only_the_renter_reads_a_job(start_agent, push_image, renter_rent, cast):
    runner = start_agent()
    job = renter_rent.create_job(runner.gpu, push_image("echo secret output"), 3600).value
    runner.wait_phase(job.job_id, "completed")
    url = f"{runner.agent.config.endpoint}/jobs/{job.job_id}"
    chain_id = renter_rent.manifest.chain_id
    assert requests.get(url, timeout=5).status_code == 403  # unsigned
    foreign = requests.get(url, headers=sign_access(cast.outsider, chain_id, job.job_id), timeout=5)
    assert foreign.status_code == 403 and "only the job's renter" in foreign.json()["error"]
    stale = requests.get(url, headers=sign_access(cast.renter, chain_id, job.job_id, int(time.time()) - 600), timeout=5)
    assert stale.status_code == 403 and "stale" in stale.json()["error"]
    other_job = requests.get(url, headers=sign_access(cast.renter, chain_id, "0x" + "11" * 32), timeout=5)
    assert other_job.status_code == 403
    assert requests.get(url, headers=sign_access(cast.renter, chain_id, job.job_id), timeout=5).status_code == 200
    with pytest.raises(GpurentError, match="only the job's renter"):
        ProviderEndpoint(runner.agent.config.endpoint, cast.outsider, chain_id).phase(job.job_id)


def test_the_queue_serves_the_most_valuable_job_first(start_agent, push_image, renter_rent):
    runner = start_agent()
    blocker = renter_rent.create_job(runner.gpu, push_image("sleep 600", "gpurent-test/blocker:1"), 3600).value
    runner.wait_phase(blocker.job_id, "running")
    cid = push_image("sleep 600")
    small = renter_rent.create_job(runner.gpu, cid, 600).value  # first in, worth 6 GPU
    large = renter_rent.create_job(runner.gpu, cid, 7200).value  # later, worth 72 GPU
    runner.wait_phase(small.job_id, "queued")
    runner.wait_phase(large.job_id, "queued")
    renter_rent.complete_job(blocker.job_id)
    runner.wait_phase(large.job_id, "running")
    assert runner.agent.state.job(small.job_id).phase == "queued"
    renter_rent.complete_job(large.job_id)
    runner.wait_phase(small.job_id, "running")
    renter_rent.complete_job(small.job_id)


def test_jobs_show_and_logs_read_the_provider(start_agent, push_image, renter_rent, suite, cast, chain, tmp_path,
                                              monkeypatch):
    import json

    from click.testing import CliRunner

    from gpurent.cli.root import make_root
    from gpurent.manifest import Manifest, save_manifest

    runner = start_agent()
    job = renter_rent.create_job(runner.gpu, push_image("echo line one; echo line two"), 3600).value
    runner.wait_phase(job.job_id, "completed")
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "cli-home"))
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                           contracts={n: c.address for n, c in suite.as_dict().items()}))
    cli = CliRunner(mix_stderr=False)
    shown = cli.invoke(make_root(), ["--json", "--account", "5", "jobs", "show", job.job_id])
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["phase"] == "completed" and data["exit_code"] == 0
    assert data["timeline"].startswith("queued → pulling → pulled → starting → running") and data["status"] == "Completed"
    logs = cli.invoke(make_root(), ["--account", "5", "jobs", "logs", job.job_id, "--follow"])
    assert logs.exit_code == 0 and logs.stdout == "line one\nline two\n", (logs.stdout, logs.stderr)
    foreign = cli.invoke(make_root(), ["--account", "7", "jobs", "logs", job.job_id])
    assert foreign.exit_code == 1 and "only the job's renter" in foreign.stderr


def test_gpus_are_offered_only_while_the_ipfs_node_answers(provider_rent, nodes, engine_factory, tmp_path):
    from gpurent.agent.agent import Agent
    from gpurent.local import ipfs as node_mod
    from gpurent.images.store import ImageStore
    from gpurent.local.process import free_port
    from tests.agents import AgentRunner, agent_config

    own = nodes.start("agent-node")
    store = ImageStore(own.client(), engine_factory, workdir=tmp_path / "staging")
    runner = AgentRunner(Agent(provider_rent, agent_config(free_port()), tmp_path / "provider", store, [])).start()
    try:
        gpu = runner.gpu
        assert provider_rent.resource(gpu).available
        api_port = int(own.api_url.rsplit(":", 1)[1])
        gateway_port = int(own.gateway_url.rsplit(":", 1)[1])
        nodes.stop(own)
        deadline = time.monotonic() + 30
        # the agent flips its own flag once the availability transactions have landed
        while provider_rent.resource(gpu).available or runner.agent.accepting:
            assert time.monotonic() < deadline, "the GPU stayed available with the node down"
            time.sleep(0.2)
        restarted = node_mod.start(api_port, gateway_port, 0, repo=Path(own.repo))
        nodes.started.append(restarted)
        while not (provider_rent.resource(gpu).available and runner.agent.accepting):
            assert time.monotonic() < deadline + 30, "the GPU did not come back"
            time.sleep(0.2)
    finally:
        runner.stop()
