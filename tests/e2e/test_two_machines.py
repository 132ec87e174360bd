"""A provider on another machine, on this one: two network namespaces joined by a veth pair.

The network's side (root namespace, ``10.A.B.1``): Anvil with the suite deployed, the network's
Kubo node (also the renter's), the oracle, and the network document served over HTTP. The
provider's side (its own namespace, ``10.A.B.2``, its own state folder): nothing but
`gpurent network add … --deployment URL`, `gpurent-provider init --network …` (which starts its
Kubo node, peered across the veth, and its podman service, and learns the heartbeat slot from
the oracle) and `gpurent-provider run`. The renter (root namespace, a third state folder) adds
the network from the deployment file, pushes an image to its Kubo and runs a job on the
provider's GPU: the image travels across the veth from Kubo to Kubo, the output comes back from
the provider's endpoint, heartbeats reach the oracle.

The namespace, its veth pair and every process in it are removed at the end, pass or fail.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from gpurent.agent.config import load_config
from gpurent.demo import FOREIGN_ENV
from gpurent.images.kubo import KuboClient, api_url
from gpurent.local.devnet import MNEMONIC, anvil_binary, rpc
from gpurent.local.ipfs import init_repo, kubo_binary
from gpurent.local.process import free_port
from tests.cli.test_network import serve_folder
from tests.services import make_image

BIN = Path(sys.executable).parent
PROVIDER, RENTER, ORACLE = "3", "5", "1"  # test-account indexes
SLOT_S, PERIOD_S = 2, 10  # the oracle's heartbeat slot and report period (not the agent's default 60)
JOB_SCRIPT = 'echo "hello from the other machine"; for i in 1 2 3; do echo "line $i"; sleep 1; done\n'

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 (ip netns) for a second network namespace")


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 120.0, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except (requests.RequestException, OSError, ValueError, KeyError):
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}" + (
            f"\n{log.read_text(errors='replace')[-4000:]}" if log and log.exists() else "")
        time.sleep(0.5)


def _free_subnet() -> ipaddress.IPv4Network:
    """A 10.x.y.0/24 no route of this machine covers."""
    routes = sh("ip", "-4", "route", "show", "table", "all").stdout
    used = [ipaddress.ip_network(w, strict=False) for w in routes.split() if w[:1].isdigit() and "/" in w]
    for _ in range(100):
        net = ipaddress.ip_network(f"10.{secrets.randbelow(150) + 100}.{secrets.randbelow(250) + 1}.0/24")
        if not any(net.overlaps(u) for u in used):
            return net
    raise AssertionError("no free 10.x.y.0/24")


@dataclass
class Machines:
    """The provider's namespace, the two ends of the veth, and what the test started."""

    ns: str
    host_ip: str  # the network's and renter's side (root namespace)
    provider_ip: str  # the provider's side (its namespace)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def in_provider(self, *args: str) -> list[str]:
        """``args`` run in the provider's network namespace. Not `ip netns exec`: that also
        unshares the mount namespace and mounts a fresh /sys, which hides /sys/fs/cgroup, and
        runc then refuses every container ("no cgroup mount found in mountinfo"); nsenter
        enters the network namespace only, so podman runs its containers in there too."""
        return ["nsenter", f"--net=/run/netns/{self.ns}", *args]

    def spawn(self, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process


@pytest.fixture
def machines() -> Iterator[Machines]:
    tag = secrets.token_hex(3)
    ns, host_end, provider_end = f"gpurent-{tag}", f"gph{tag}", f"gpp{tag}"
    net = _free_subnet()
    host_ip, provider_ip = str(net.network_address + 1), str(net.network_address + 2)
    machines = Machines(ns, host_ip, provider_ip)
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", provider_end)
        sh("ip", "link", "set", provider_end, "netns", ns)
        sh("ip", "addr", "add", f"{host_ip}/24", "dev", host_end)
        sh("ip", "link", "set", host_end, "up")
        for command in (("ip", "addr", "add", f"{provider_ip}/24", "dev", provider_end),
                        ("ip", "link", "set", provider_end, "up"), ("ip", "link", "set", "lo", "up")):
            sh(*machines.in_provider(*command))
        yield machines
    finally:
        for process in reversed(machines.processes):  # what the test started, by its own handle
            if process.poll() is None:
                process.send_signal(signal.SIGINT if "ipfs" in str(process.args) else signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        # anything still inside the namespace (the provider's Kubo and podman service, which
        # `init` started detached) was started by this test: end it by pid
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", host_end, check=False)  # gone with the namespace, unless that failed


def environment(home: Path, **extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV} | {"GPURENT_HOME": str(home)} | extra


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.args, result.stdout[-3000:], result.stderr[-3000:])
    return result


def run(args: list[str], env: dict[str, str], timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout_s)


@dataclass
class NetworkSide:
    rpc: str
    ipfs_api: str
    peer: str
    oracle_url: str
    document_url: str
    manifest_path: Path


@pytest.fixture
def network_side(machines: Machines, tmp_path: Path) -> Iterator[NetworkSide]:
    """The network's services on the root side of the veth (what an operator runs)."""
    host, home = machines.host_ip, tmp_path / "network"
    home.mkdir()
    port = free_port()
    machines.spawn([anvil_binary(), "--host", f"127.0.0.1,{host}", "--port", str(port), "--chain-id", "31337",
                    "--mnemonic", MNEMONIC, "--accounts", "10", "--balance", "10000"], home / "anvil.log", dict(os.environ))
    chain_url = f"http://{host}:{port}"
    wait_for("anvil", lambda: rpc(chain_url, "eth_chainId"), 60, home / "anvil.log")
    deploy = (f"from gpurent.local.devnet import Devnet, deploy; "
              f"print(deploy(Devnet(0, {port}, 31337, 0, 30_000_000), report_period_s={PERIOD_S}))")
    ok(run([sys.executable, "-c", deploy], environment(home)))

    repo = home / "kubo"
    init_repo(repo, 0, 0, 0)
    swarm_port = free_port()
    subprocess.run([kubo_binary(), "config", "--json", "Addresses.Swarm", json.dumps([f"/ip4/{host}/tcp/{swarm_port}"])],
                   env={**os.environ, "IPFS_PATH": str(repo)}, check=True, capture_output=True)
    (repo / "api").unlink(missing_ok=True)
    machines.spawn([kubo_binary(), "daemon", "--enable-gc=false"], home / "kubo.log",
                   {**os.environ, "IPFS_PATH": str(repo)})
    wait_for("the network's Kubo", lambda: "Daemon is ready" in (home / "kubo.log").read_text(), 60, home / "kubo.log")
    ipfs_api = api_url((repo / "api").read_text())
    peer = f"/ip4/{host}/tcp/{swarm_port}/p2p/{KuboClient(ipfs_api).identity()['ID']}"

    oracle_port = free_port()
    (home / "oracle.toml").write_text(f"""[oracle]
listen = "{host}:{oracle_port}"
poll_interval = 0.3
[heartbeats]
interval = {SLOT_S}
max_skew = 5
[challenges]
probability = 0.0
[reports]
period = {PERIOD_S}
""")
    machines.spawn([str(BIN / "gpurent-oracle"), "--account", ORACLE, "run"], home / "oracle.out",
                   environment(home, GPURENT_NETWORK=f"http://127.0.0.1:{port}", GPURENT_IPFS_API=ipfs_api))
    oracle_url = f"http://{host}:{oracle_port}"
    wait_for("the oracle", lambda: requests.get(f"{oracle_url}/health", timeout=2).ok, 120, home / "oracle.out")

    manifest_path = home / "deployments" / "31337.json"
    published = home / "published"
    published.mkdir()
    (published / "network.json").write_text(json.dumps({"deployment": json.loads(manifest_path.read_text()),
                                                        "ipfs_peers": [peer], "oracle_urls": [oracle_url]}))
    url, httpd = serve_folder(published, host)
    try:
        yield NetworkSide(chain_url, ipfs_api, peer, oracle_url, f"{url}/network.json", manifest_path)
    finally:
        httpd.shutdown()


def test_a_provider_on_another_machine_joins_and_runs_a_job(machines, network_side, tmp_path, engine_host):
    _join_and_rent(machines, tmp_path, network_side, engine_host)


def _join_and_rent(machines: Machines, tmp_path: Path, net: NetworkSide, engine_host: str) -> None:
    provider_home, renter_home = tmp_path / "provider", tmp_path / "renter"
    p_env = environment(provider_home)
    agent_port = free_port()
    endpoint = f"http://{machines.provider_ip}:{agent_port}"

    # the provider's machine: one command to join, one to prepare, one to run
    ok(run(machines.in_provider(str(BIN / "gpurent"), "network", "add", "testnet", "--rpc", net.rpc,
                                "--deployment", net.document_url), p_env))
    try:
        init = run(machines.in_provider(str(BIN / "gpurent-provider"), "--json", "init", "--network", "testnet",
                                        "--endpoint", endpoint, "--listen", f"{machines.provider_ip}:{agent_port}"),
                   p_env)
        ok(init)
        checks = {row["what"]: row for row in json.loads(init.stdout)}
        assert all(row["ready"] for row in checks.values()), checks
        assert "peered with 1 network node" in checks["ipfs"]["detail"]
        config = load_config(provider_home / "provider.toml")
        assert config.heartbeat_interval_s == SLOT_S  # learned from the oracle, not the default 60
        assert config.oracle_urls == (net.oracle_url,) and config.endpoint == endpoint
        agent = machines.spawn(machines.in_provider(str(BIN / "gpurent-provider"), "--account", PROVIDER, "run"),
                               provider_home / "agent.out", p_env)
        _rent(machines, renter_home, net, engine_host, agent, provider_home / "agent.out")
    finally:
        for group in ("ipfs", "engine"):
            run(machines.in_provider(str(BIN / "gpurent"), group, "down"), p_env, timeout_s=60)


def _rent(machines: Machines, home: Path, net: NetworkSide, engine_host: str, agent: subprocess.Popen[bytes],
          agent_log: Path) -> None:
    env = environment(home, GPURENT_IPFS_API=net.ipfs_api, DOCKER_HOST=engine_host)
    ok(run([str(BIN / "gpurent"), "network", "add", "testnet", "--rpc", net.rpc,
            "--deployment", str(net.manifest_path)], env))

    def listed() -> Any:
        assert agent.poll() is None, agent_log.read_text()[-4000:]
        rows = json.loads(ok(run([str(BIN / "gpurent"), "--json", "gpus", "list"], env)).stdout)
        return [r for r in rows if r["available"]]

    gpu = wait_for("the provider's GPU on chain", listed, 180, agent_log)[0]["id"]
    image, _ = make_image(home, "gpurent-test/two-machines:1", JOB_SCRIPT.encode(), cmd=["/bin/busybox", "sh", "/payload"])
    cid = json.loads(ok(run([str(BIN / "gpurent"), "--json", "images", "push", str(image)], env)).stdout)["cid"]
    created = json.loads(ok(run([str(BIN / "gpurent"), "--json", "--account", RENTER, "jobs", "create", "--gpu", gpu,
                                 "--image", cid, "--hours", "0.1", "--yes"], env)).stdout)
    job_id = created["id"]

    def completed() -> Any:
        assert agent.poll() is None, agent_log.read_text()[-4000:]
        job = json.loads(ok(run([str(BIN / "gpurent"), "--json", "jobs", "show", job_id], env)).stdout)
        assert job["status"] in ("Created", "Accepted", "Running", "Completed"), (job, agent_log.read_text()[-4000:])
        return job if job["status"] == "Completed" else None

    job = wait_for(f"job {job_id} completed", completed, 300, agent_log)
    assert job["gpu"] == gpu and job["image"] == cid
    logs = ok(run([str(BIN / "gpurent"), "--account", RENTER, "jobs", "logs", job_id], env)).stdout
    assert "hello from the other machine" in logs and "line 3" in logs, logs

    providers = requests.get(f"{net.oracle_url}/providers", timeout=5).json()
    row = next(iter(providers.values()))
    assert row["kept"] >= 1, providers  # signed heartbeats crossed the veth, in the oracle's slots
    assert "expects a heartbeat every" not in agent_log.read_text()  # init wrote the oracle's slot: no mismatch


def test_an_operator_serves_the_network_with_up_public_and_export(machines, tmp_path):
    """The operator's side in two commands: `gpurent up --public ADDRESS` serves the chain, the
    IPFS swarm and the oracle on the veth's address too, and `gpurent network export` writes the
    document a provider in the other namespace joins with (`network add`, `init --network`:
    the chain, the peering and the heartbeat slot all across the veth)."""
    operator, provider_home = tmp_path / "operator", tmp_path / "provider"
    o_env = environment(operator, PATH=f"{Path(__file__).resolve().parents[2] / 'node_modules' / '.bin'}:"
                                       f"{os.environ['PATH']}")
    for key in ("GPURENT_NETWORK", "GPURENT_IPFS_API", "DOCKER_HOST"):
        o_env.pop(key, None)
    refused = run([str(BIN / "gpurent"), "up", "--public", "127.0.0.1"], o_env, timeout_s=60)
    assert refused.returncode == 2 and "not an address other machines reach" in refused.stderr, refused
    try:
        up = ok(run([str(BIN / "gpurent"), "up", "--public", machines.host_ip, "--chain-port", "0", "--ipfs-ports",
                     "0,0,0", "--indexer-port", "0", "--oracle-port", "0", "--agent-port", "0"], o_env, timeout_s=420))
        assert "well-known test keys" in up.stderr, up.stderr  # one warning line: a devnet for trusted machines
        document = tmp_path / "network.json"
        export = ok(run([str(BIN / "gpurent"), "network", "export", "--out", str(document), "--name", "lab"], o_env))
        join = next(line for line in export.stderr.splitlines() if "gpurent network add lab" in line)
        rpc = join.split("--rpc ", 1)[1].split()[0]
        assert rpc.startswith(f"http://{machines.host_ip}:"), join
        cheat = {"jsonrpc": "2.0", "id": 1, "method": "evm_increaseTime", "params": [3600]}
        assert requests.post(rpc, json=cheat, timeout=30).json()["error"]["code"] == -32601  # the proxy, not Anvil
        published = json.loads(document.read_text())
        assert [p.split("/")[2] for p in published["ipfs_peers"]] == [machines.host_ip], published
        assert published["oracle_urls"][0].startswith(f"http://{machines.host_ip}:"), published

        p_env = environment(provider_home)
        ok(run(machines.in_provider(str(BIN / "gpurent"), "network", "add", "lab", "--rpc", rpc,
                                    "--deployment", str(document)), p_env))
        agent_port = free_port()
        init = run(machines.in_provider(str(BIN / "gpurent-provider"), "--json", "init", "--network", "lab",
                                        "--endpoint", f"http://{machines.provider_ip}:{agent_port}",
                                        "--listen", f"{machines.provider_ip}:{agent_port}"), p_env)
        ok(init)
        checks = {row["what"]: row for row in json.loads(init.stdout)}
        assert all(row["ready"] for row in checks.values()), checks
        assert "peered with 1 network node" in checks["ipfs"]["detail"], checks
        assert load_config(provider_home / "provider.toml").heartbeat_interval_s == 10  # the stack's oracle's slot
    finally:
        for group in ("ipfs", "engine"):
            run(machines.in_provider(str(BIN / "gpurent"), group, "down"), environment(provider_home), timeout_s=60)
        run([str(BIN / "gpurent"), "down"], o_env, timeout_s=120)
