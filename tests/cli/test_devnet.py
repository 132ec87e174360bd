"""`gpurent devnet up | status | down` as a user runs it: the console script in a subprocess,
a real Anvil on its own port, the state folder in a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = "18545"


@pytest.fixture
def gpurent(tmp_path):
    env = dict(os.environ, GPURENT_HOME=str(tmp_path / "state"))
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{env['PATH']}"
    env.pop("GPURENT_NETWORK", None)

    def run(*args: str, code: int = 0) -> dict | subprocess.CompletedProcess:
        done = subprocess.run([str(Path(sys.executable).parent / "gpurent"), "--json", *args], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert done.returncode == code, (done.stdout, done.stderr)
        return json.loads(done.stdout) if code == 0 else done

    yield run
    subprocess.run([str(Path(sys.executable).parent / "gpurent"), "devnet", "down", "--reset"], env=env,
                   capture_output=True, timeout=60)


def test_devnet_lifecycle_resumes_its_chain(gpurent):
    assert gpurent("devnet", "status") == {"running": False}
    up = gpurent("devnet", "up", "--port", PORT, "--instant")
    assert up["running"] and up["url"] == f"http://127.0.0.1:{PORT}" and up["chain_id"] == 31337
    assert set(up["contracts"]) == {"GPUToken", "ResourceRegistry", "Marketplace", "ReputationSystem"}
    # the CLI talks to the running devnet by default, with funded test accounts
    assert gpurent("--account", "4", "wallet", "balance")["gpu"] == "10000"
    gpurent("--account", "3", "provider", "register", "--endpoint", "http://127.0.0.1:8765")
    gpu = gpurent("--account", "3", "provider", "add-gpu", "--model", "L4", "--vcpu", "8", "--memory", "32",
                  "--price", "2")
    assert gpurent("devnet", "up", "--port", PORT)["contracts"] == up["contracts"]  # already up: no-op

    assert gpurent("devnet", "down") == {"running": False, "reset": False}
    assert gpurent("devnet", "status") == {"running": False}
    again = gpurent("devnet", "up", "--port", PORT, "--instant")
    assert again["contracts"] == up["contracts"]  # the saved chain came back, deployment included
    assert [g["id"] for g in gpurent("gpus", "list")] == [gpu["id"]]

    gpurent("devnet", "down", "--reset")
    fresh = gpurent("devnet", "up", "--port", PORT, "--instant")
    assert gpurent("gpus", "list") == [] and fresh["contracts"]


def test_devnet_port_taken(gpurent):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = str(sock.getsockname()[1])
        done = gpurent("devnet", "up", "--port", port, code=1)
    assert done.stderr.strip().splitlines() == [f"Error (ConfigurationError): port {port} is taken by another "
                                                "process: pick another with --port"]
