"""The oracle as a real `gpurent-oracle run` process on the session chain, with fast clocks:
1 s heartbeat slots, 4 s report periods, a challenge draw every 2 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gpurent.manifest import Manifest, save_manifest
from gpurent.oracle.state import OracleState
from gpurent.local.process import free_port

BIN = Path(sys.executable).parent
ORACLE_INDEX = "1"  # cast.oracle
INTERVAL, PERIOD, MISS_LIMIT = 1, 4, 3


def oracle_toml(port: int, providers: list[str], probability: float) -> str:
    quoted = ", ".join(f'"{p}"' for p in providers)
    return f"""
[oracle]
listen = "127.0.0.1:{port}"
poll_interval = 0.2
providers = [{quoted}]

[heartbeats]
interval = {INTERVAL}
miss_limit = {MISS_LIMIT}
max_skew = 5

[challenges]
interval = 2
probability = {probability}
expiry = 3

[reports]
period = {PERIOD}
dispute_timeout = 10
"""


class OracleProcess:
    def __init__(self, home: Path, env: dict[str, str], port: int):
        self.home, self.env, self.port = home, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = home / "oracle.out"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OracleProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([str(BIN / "gpurent-oracle"), "--account", ORACLE_INDEX, "run"],
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def get(self, view: str) -> Any:
        return requests.get(f"{self.url}/{view}", timeout=5).json()

    def state(self) -> OracleState:
        """The oracle's own database (read beside the running process; SQLite WAL allows it)."""
        return OracleState(self.home / "oracle" / "oracle.db")

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def align_chain_clock(chain) -> None:
    """Mines a block at the wall clock's time if the chain's clock lags it. Reverting to the
    session's snapshot after each test sets the chain's clock back to the snapshot's time, and
    the chain only takes reports for periods its own clock has ended: an oracle (on the wall
    clock) would otherwise wait the whole lag for its first report."""
    now = int(time.time())
    if chain.pending_timestamp < now - 1:
        chain.mine(timestamp=now)


@pytest.fixture
def start_oracle(suite, cast, chain, kubo, tmp_path) -> Iterator[Callable[..., OracleProcess]]:
    started: list[OracleProcess] = []

    def start(probability: float = 0.0, providers: list[str] | None = None) -> OracleProcess:
        align_chain_clock(chain)
        home = tmp_path / f"oracle{len(started)}"
        home.mkdir()
        save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                               contracts={n: c.address for n, c in suite.as_dict().items()}), home=home)
        port = free_port()
        (home / "oracle.toml").write_text(oracle_toml(port, providers or [cast.provider.address], probability))
        env = {**os.environ, "GPURENT_HOME": str(home), "GPURENT_NETWORK": chain.provider.http_uri,
               "GPURENT_IPFS_API": kubo.api_url, "GPURENT_IPFS_GATEWAY": kubo.gateway_url or ""}
        oracle = OracleProcess(home, env, port).start()
        started.append(oracle)
        return oracle

    yield start
    for oracle in started:
        assert oracle.stop() == 0, oracle.log.read_text()[-3000:]


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 60.0, every: float = 0.2,
              log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}" + (
            f"\n{log.read_text()[-4000:]}" if log else "")
        time.sleep(every)
    return value
