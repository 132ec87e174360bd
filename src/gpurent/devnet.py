"""A local Anvil chain for development, kept under the state folder.

``up`` starts Anvil detached (pid, log and chain state in ``<state home>/devnet/``), deploys
the suite once and funds the test accounts; ``down`` stops it, and Anvil writes its state so
the next ``up`` resumes the same chain (deployment included).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from gpurent.errors import ConfigurationError
from gpurent.settings import state_home

MNEMONIC = "test test test test test test test test test test test junk"


@dataclass(frozen=True)
class Devnet:
    pid: int
    port: int
    chain_id: int
    block_time: int  # 0 = a block per transaction
    gas_limit: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def network_choice(self) -> str:
        # The bare URL (Ape's "custom" network): `ethereum:local:<url>` would make Ape report
        # its local network's chain id (1337) instead of the node's.
        return self.url


def devnet_dir() -> Path:
    path = state_home() / "devnet"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record() -> Path:
    return devnet_dir() / "devnet.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def rpc(url: str, method: str, params: list | None = None, timeout: float = 2.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["result"]


def running_devnet() -> Devnet | None:
    """The devnet started by ``up`` if its process still runs; None otherwise."""
    path = _record()
    if not path.exists():
        return None
    devnet = Devnet(**json.loads(path.read_text()))
    return devnet if _alive(devnet.pid) else None


def on_dev_chain() -> bool:
    """Whether Ape is connected to a throwaway chain: a local network, or this machine's devnet.

    Only there may the well-known test accounts act by default (faucet, deployer, console).
    A devnet merely running beside a connection to another network does not count.
    """
    from ape import networks

    provider = networks.active_provider
    if provider is None:
        return False
    if provider.network.is_local:
        return True
    devnet = running_devnet()
    return devnet is not None and str(getattr(provider, "uri", "")).rstrip("/") == devnet.url


def anvil_binary() -> str:
    found = shutil.which("anvil")
    if found:
        return found
    local = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return str(local)
    raise ConfigurationError("anvil not found: run `make setup` (it installs anvil from npm) or put it on PATH")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start(port: int = 8545, chain_id: int = 31337, block_time: int = 0, gas_limit: int = 30_000_000,
          timeout_s: float = 30.0) -> Devnet:
    """Starts Anvil detached; returns the running devnet (the existing one if already up)."""
    existing = running_devnet()
    if existing:
        return existing
    if not _port_free(port):
        raise ConfigurationError(f"port {port} is taken by another process: pick another with --port")
    folder = devnet_dir()
    args = [anvil_binary(), "--port", str(port), "--chain-id", str(chain_id), "--gas-limit", str(gas_limit),
            "--mnemonic", MNEMONIC, "--accounts", "10", "--balance", "10000",
            "--state", str(folder / "state.json")]
    if block_time > 0:
        args += ["--block-time", str(block_time)]
    log = open(folder / "anvil.log", "ab")  # noqa: SIM115 - handed to the detached process
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    devnet = Devnet(pid=process.pid, port=port, chain_id=chain_id, block_time=block_time, gas_limit=gas_limit)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigurationError(f"anvil exited with code {process.returncode}: see {folder / 'anvil.log'}")
        try:
            rpc(devnet.url, "eth_chainId")
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.terminate()
        raise ConfigurationError(f"anvil did not answer within {timeout_s:.0f} s: see {folder / 'anvil.log'}")
    _record().write_text(json.dumps(asdict(devnet)))
    return devnet


def stop(timeout_s: float = 15.0) -> bool:
    """Stops the devnet (Anvil saves its state on the way out); False if none ran."""
    devnet = running_devnet()
    _record().unlink(missing_ok=True)
    if devnet is None:
        return False
    os.kill(devnet.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(devnet.pid):
        time.sleep(0.1)
    if _alive(devnet.pid):
        os.kill(devnet.pid, signal.SIGKILL)
    return True


def reset() -> None:
    """Forgets the saved chain state (the next ``up`` starts a fresh chain)."""
    (devnet_dir() / "state.json").unlink(missing_ok=True)
