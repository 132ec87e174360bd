"""`gpurent devnet up | status | down` as a user runs it: the console script in a subprocess,
a real Anvil on its own port, the state folder in a temporary directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


PORT = free_port()  # never a fixed port: two runs side by side must not collide


class Shell:
    """Runs the project's console scripts with their own state folder."""

    def __init__(self, home: Path):
        self.env = dict(os.environ, GPURENT_HOME=str(home))
        self.env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}:{BIN}:{self.env['PATH']}"
        self.env.pop("GPURENT_NETWORK", None)

    def run(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), env=self.env, cwd=cwd, capture_output=True, text=True, timeout=180)

    def gpurent(self, *args: str, code: int = 0):
        done = self.run(str(BIN / "gpurent"), "--json", *args)
        assert done.returncode == code, (done.stdout, done.stderr)
        return json.loads(done.stdout) if code == 0 else done


@pytest.fixture
def shell(tmp_path):
    sh = Shell(tmp_path / "state")
    yield sh
    sh.run(str(BIN / "gpurent"), "devnet", "down", "--reset")


def test_devnet_lifecycle_resumes_its_chain(shell):
    g = shell.gpurent
    assert g("devnet", "status") == {"running": False}
    up = g("devnet", "up", "--port", PORT, "--instant", "--ipfs-ports", "0,0,0", "--indexer-port", "0")
    assert up["running"] and up["url"] == f"http://127.0.0.1:{PORT}" and up["chain_id"] == 31337
    assert up["indexer"]["running"]  # the indexer and its GraphQL API run beside it
    assert up["ipfs"]["running"] and up["ipfs"]["version"] == "0.42.0"  # the IPFS node runs beside it
    assert set(up["contracts"]) == {"GPUToken", "ResourceRegistry", "Marketplace", "ReputationSystem",
                                    "GpurentTimelock"}
    # the CLI talks to the running devnet by default, with funded test accounts
    assert g("--account", "4", "wallet", "balance")["gpu"] == "10000"
    g("--account", "3", "provider", "register", "--endpoint", "http://127.0.0.1:8765")
    gpu = g("--account", "3", "provider", "add-gpu", "--model", "L4", "--vcpu", "8", "--memory", "32", "--price", "2")
    assert g("devnet", "up", "--port", PORT)["contracts"] == up["contracts"]  # already up: no-op
    # renters' searches go through the indexer while it runs (it has caught up within a moment)
    deadline = time.monotonic() + 30
    while (indexed := g("indexer", "status"))["lag_blocks"] > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert indexed["running"] and indexed["events"] > 0
    found = g("gpus", "list", "--model", "l4")
    assert [(r["id"], r["model"], r["reputation"]) for r in found] == [(gpu["id"], "L4", 700)]

    # a reverted transaction: one line on stderr, and stdout (the data channel) stays empty even
    # though Ape prints a call trace to the process's stdout
    # (no IPFS peer holds this image and no agent serves the GPU: --force locks the funds anyway)
    job = g("--account", "5", "jobs", "create", "--gpu", gpu["id"], "--image", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "--hours", "1", "--yes", "--force")
    deadline = time.monotonic() + 30  # the index shows the job waiting on the GPU (available, and busy)
    while (row := g("gpus", "list", "--model", "l4")[0])["waiting"] != 1:
        assert time.monotonic() < deadline, row
        time.sleep(0.5)
    assert (row["available"], row["running"]) == (True, 0)
    from gpurent.indexer.service import gpu_loads_indexed  # the indexer's own count, not the chain's fallback

    assert gpu_loads_indexed(g("indexer", "status")["graphql"]) == {gpu["id"].lower(): (0, 1)}
    failed = g("--account", "3", "jobs", "complete", job["id"], code=1)
    assert failed.stdout == ""
    assert failed.stderr.strip().splitlines() == [
        f"Error (InvalidJobState): cannot complete job {job['id'][:10]}…: it is Created"]

    # operators: `ape console` in the project preloads the SDK and helpers
    console = shell.run(
        str(BIN / "ape"), "console", "--network", f"http://127.0.0.1:{PORT}", "-c",
        "print('FEE', params()['fee_bps']); print('DISPUTES', len(pending_disputes())); "
        "print('GPUS', [r.gpu_model for r in gpus()]); print('ADMIN', gp.account.address); "
        "print('POPULAR', popular_images()); print('KUBO', images.ipfs.version())",
        cwd=ROOT)
    assert "gpurent: connected to chain 31337" in console.stdout, (console.stdout, console.stderr)
    for expected in ("FEE 200", "DISPUTES 0", "GPUS ['L4']", "ADMIN 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                     "POPULAR [('bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', 1)]", "KUBO 0.42.0"):
        assert expected in console.stdout, console.stdout

    # `ape run deploy` against the same chain is a no-op; --redeploy writes a new manifest
    deploy = [str(BIN / "ape"), "run", "deploy", "--network", f"http://127.0.0.1:{PORT}"]
    again = shell.run(*deploy, cwd=ROOT)
    assert "Already deployed on chain 31337" in again.stdout, (again.stdout, again.stderr)
    fresh = shell.run(*deploy, "--redeploy", "--fee-bps", "150", cwd=ROOT)
    assert "Deployed on chain 31337" in fresh.stdout, (fresh.stdout, fresh.stderr)
    manifest = json.loads((Path(shell.env["GPURENT_HOME"]) / "deployments" / "31337.json").read_text())
    assert manifest["contracts"] != up["contracts"] and manifest["parameters"]["fee_bps"] == 150
    assert g("admin", "params")["fee_bps"] == 150  # the CLI now uses the new deployment
    manifest_contracts = manifest["contracts"]

    # another node, while the devnet runs: not a dev chain, so no default (well-known) deployer
    other_port = free_port()
    other = subprocess.Popen([str(ROOT / "node_modules" / ".bin" / "anvil"), "--port", other_port],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        refused = shell.run(str(BIN / "ape"), "run", "deploy", "--network", f"http://127.0.0.1:{other_port}",
                            cwd=ROOT)
    finally:
        other.terminate()
        other.wait(timeout=30)
    assert refused.returncode == 2 and "pass --account ALIAS" in refused.stderr, (refused.stdout, refused.stderr)

    assert g("devnet", "down") == {"running": False, "reset": False}
    assert g("devnet", "status") == {"running": False}
    resumed = g("devnet", "up", "--port", PORT, "--instant", "--no-ipfs", "--no-indexer")
    assert resumed["contracts"] == manifest_contracts  # the saved chain came back, deployment included
    assert g("admin", "params")["fee_bps"] == 150

    g("devnet", "down", "--reset")
    fresh = g("devnet", "up", "--port", PORT, "--instant", "--no-ipfs", "--indexer-port", "0")
    assert g("gpus", "list") == [] and fresh["contracts"] and fresh["indexer"]["running"]


def test_devnet_port_taken(shell):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = str(sock.getsockname()[1])
        done = shell.gpurent("devnet", "up", "--port", port, code=1)
    assert done.stderr.strip().splitlines() == [
        f"Error (PortTaken): port {port} is taken by another process (wanted for the chain): stop it, or pick "
        f"another port with `gpurent up --chain-port N` (or `gpurent devnet up --port N`); 0 picks any free port"]
