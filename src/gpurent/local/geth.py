"""geth as the devnet's chain (``gpurent up --chain geth``): go-ethereum's own execution client in
developer mode, one sealer, a block every ``--dev.period`` seconds, the real transaction pool and
fee market (no cheat methods).

A datadir is initialised once from geth's own developer genesis (``geth --dev dumpgenesis``,
which carries the Prague system contracts a hand-written genesis would lack), edited: the chain
id, a 30M gas limit from block 0 and the test accounts funded in its alloc. ``--miner.gaslimit``
keeps every later block at that limit. Built by ``make setup-geth`` into ``.tools/bin/geth``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError

TEST_ACCOUNTS = 10
BALANCE_WEI = 10_000 * 10**18  # what Anvil gives each test account
METRICS_PATH = "/debug/metrics/prometheus"  # geth's Prometheus exposition on --metrics.port (see monitoring)


def geth_binary() -> str:
    """``.tools/bin/geth`` of this checkout, else geth on PATH."""
    local = Path(__file__).resolve().parents[3] / ".tools" / "bin" / "geth"
    if local.is_file():
        return str(local)
    found = shutil.which("geth")
    if found:
        return found
    raise ConfigurationError("geth not found: `make setup-geth` builds it into .tools/bin (about 10 min), "
                             "or put geth on PATH")


def test_addresses(mnemonic: str, count: int = TEST_ACCOUNTS) -> list[str]:
    """The first ``count`` accounts of ``mnemonic`` on Ape's (and Anvil's) derivation path."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").address for i in range(count)]


def genesis(dev_genesis: dict[str, Any], chain_id: int, gas_limit: int, funded: list[str]) -> dict[str, Any]:
    """geth's developer genesis with ``chain_id``, ``gas_limit`` and ``funded`` added to its alloc
    (its system contracts kept)."""
    doc = json.loads(json.dumps(dev_genesis))
    doc["config"]["chainId"] = chain_id
    doc["gasLimit"] = hex(gas_limit)
    for address in funded:
        doc["alloc"][address.lower().removeprefix("0x")] = {"balance": hex(BALANCE_WEI)}
    return doc


def _run(args: list[str], what: str, timeout_s: float = 60.0) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigurationError(f"{what} failed: {err}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise ConfigurationError(f"{what} failed (exit {done.returncode}): {tail[0][:300]}")
    return done.stdout


def datadir_initialised(datadir: Path) -> bool:
    return (datadir / "geth" / "chaindata").is_dir()


def init_datadir(datadir: Path, chain_id: int, gas_limit: int, mnemonic: str) -> None:
    """Initialises ``datadir`` (unless it is) with the edited developer genesis."""
    if datadir_initialised(datadir):
        return
    binary = geth_binary()
    dev = json.loads(_run([binary, "--dev", "dumpgenesis"], "geth --dev dumpgenesis"))
    datadir.mkdir(parents=True, exist_ok=True)
    path = datadir / "genesis.json"
    path.write_text(json.dumps(genesis(dev, chain_id, gas_limit, test_addresses(mnemonic)), indent=1))
    _run([binary, "--datadir", str(datadir), "init", str(path)], "geth init")


def arguments(datadir: Path, port: int, block_time: int, gas_limit: int, metrics_port: int,
              authrpc_port: int) -> list[str]:
    """geth in developer mode on ``datadir``: HTTP JSON-RPC on loopback ``port``, a block every
    ``block_time`` s (0: one per transaction), ``gas_limit`` kept, metrics on ``metrics_port``."""
    return [geth_binary(), "--dev", "--dev.period", str(block_time), "--datadir", str(datadir),
            "--miner.gaslimit", str(gas_limit), "--http", "--http.addr", "127.0.0.1", "--http.port", str(port),
            "--http.api", "eth,net,web3,txpool", "--authrpc.addr", "127.0.0.1", "--authrpc.port", str(authrpc_port),
            "--ipcdisable", "--metrics", "--metrics.addr", "127.0.0.1", "--metrics.port", str(metrics_port),
            "--verbosity", "2"]
