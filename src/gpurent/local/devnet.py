"""A local chain for development, kept under the state folder: Anvil (the default), or geth in
developer mode (``--chain geth``, :mod:`gpurent.local.geth`).

``up`` starts the chain detached (record, log and chain state in ``<state home>/devnet/``),
deploys the suite once and funds the test accounts; ``down`` stops it, and Anvil writes its state
(geth keeps its datadir) so the next ``up`` resumes the same chain (deployment included).
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError, PortTaken
from gpurent.local import geth
from gpurent.local.process import Managed, free_port, port_free
from gpurent.local.service import ManagedService, probe
from gpurent.settings import state_home

MNEMONIC = "test test test test test test test test test test test junk"
KINDS = ("anvil", "geth")  # the chains `up --chain` runs


@dataclass(frozen=True)
class Devnet:
    pid: int
    port: int
    chain_id: int
    block_time: int  # 0 = a block per transaction
    gas_limit: int
    public_host: str | None = None  # also served on this address, through PROXY (`gpurent up --public`)
    kind: str = "anvil"  # one of KINDS
    metrics_port: int | None = None  # geth's Prometheus metrics (at geth.METRICS_PATH)

    @property
    def public_url(self) -> str | None:
        """The URL other machines use, when the chain is served beyond this one."""
        return f"http://{self.public_host}:{self.port}" if self.public_host else None

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


PROCESS = Managed("devnet", devnet_dir, log="chain.log", title="the chain")
# What other machines reach instead of Anvil (which answers on 127.0.0.1 only): the JSON-RPC
# proxy of gpurent.local.rpcproxy, on the public address and Anvil's port number
PROXY = Managed("rpcproxy", devnet_dir, title="the chain's public JSON-RPC proxy")


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["result"]


def running_devnet() -> Devnet | None:
    """The devnet started by ``up`` if its process still runs; None otherwise."""
    record = PROCESS.running()
    return Devnet(**record) if record else None


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
    local = Path(__file__).resolve().parents[3] / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return str(local)
    raise ConfigurationError("anvil not found: run `make setup` (it installs anvil from npm) or put it on PATH")


class Chain(ManagedService):
    """The devnet as a service of the local stack (see :mod:`gpurent.local.service`)."""

    name, process = "chain", PROCESS

    def __init__(self, port: int = 8545, chain_id: int = 31337, block_time: int = 0, gas_limit: int = 30_000_000,
                 timeout_s: float = 30.0, public_host: str | None = None, kind: str | None = None):
        self.port, self.chain_id, self.block_time, self.gas_limit = port, chain_id, block_time, gas_limit
        self.timeout_s, self.public_host, self.kind = timeout_s, public_host, kind

    def start(self) -> Devnet:
        """Starts the chain detached; returns the running devnet (the existing one if already up).
        ``kind`` None: the chain the state folder holds, else Anvil; ConfigurationError when it
        holds the other one's."""
        existing = running_devnet()
        if existing:
            if self.kind and existing.kind != self.kind:
                raise ConfigurationError(f"the devnet already runs {existing.kind}: `gpurent down` first "
                                         f"(then `--chain {self.kind}` needs `gpurent down --reset`)")
            return self._serve_public(existing)
        kind = checked_kind(self.kind)
        port = self.port or free_port()
        if not port_free(port):
            raise PortTaken(port, "chain")
        record: dict[str, Any] = {"port": port, "chain_id": self.chain_id, "block_time": self.block_time,
                                  "gas_limit": self.gas_limit, "public_host": self.public_host, "kind": kind}
        if kind == "geth":
            datadir = devnet_dir() / "geth"
            geth.init_datadir(datadir, self.chain_id, self.gas_limit, MNEMONIC)
            record["metrics_port"] = free_port()
            args = geth.arguments(datadir, port, self.block_time, self.gas_limit, record["metrics_port"], free_port())
        else:
            args = [anvil_binary(), "--port", str(port), "--chain-id", str(self.chain_id),
                    "--gas-limit", str(self.gas_limit), "--mnemonic", MNEMONIC, "--accounts", "10", "--balance",
                    "10000", "--state", str(devnet_dir() / "state.json")]
            if self.block_time > 0:
                args += ["--block-time", str(self.block_time)]
        url = f"http://127.0.0.1:{port}"  # loopback only, never another address (see PROXY)
        devnet = Devnet(**PROCESS.start(args, lambda: bool(rpc(url, "eth_chainId")), record, self.timeout_s))
        try:
            return self._serve_public(devnet)
        except BaseException:
            PROCESS.stop()
            raise

    def _serve_public(self, devnet: Devnet) -> Devnet:
        """Starts the proxy serving ``devnet`` on its public address unless it runs (or the devnet
        serves this machine only)."""
        if devnet.public_url and PROXY.running() is None:
            args = [sys.executable, "-m", "gpurent.local.rpcproxy", "--listen", f"{devnet.public_host}:{devnet.port}",
                    "--upstream", devnet.url]
            PROXY.start(args, lambda: bool(rpc(str(devnet.public_url), "eth_chainId")),
                        {"listen": devnet.public_url, "upstream": devnet.url}, self.timeout_s)
        return devnet

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stops the public proxy (if any), then the chain; False if it was not running."""
        PROXY.stop(timeout_s)
        return PROCESS.stop(timeout_s)

    def endpoint(self) -> str | None:
        devnet = running_devnet()
        return devnet.url if devnet else None

    def status(self) -> dict[str, Any]:
        """The devnet's URL, head block and deployment."""
        from gpurent.manifest import load_manifest

        devnet = running_devnet()
        if devnet is None:
            return {"running": False}
        manifest = load_manifest(devnet.chain_id)
        return probe(lambda: {"head": int(str(rpc(devnet.url, "eth_blockNumber")), 16)}, (OSError,),
                     url=devnet.url, pid=devnet.pid, kind=devnet.kind, chain_id=devnet.chain_id,
                     block_time_s=devnet.block_time,
                     gas_limit=devnet.gas_limit, contracts=manifest.contracts if manifest else None)


def start(port: int = 8545, chain_id: int = 31337, block_time: int = 0, gas_limit: int = 30_000_000,
          timeout_s: float = 30.0, kind: str | None = None) -> Devnet:
    """Starts the chain detached; returns the running devnet (the existing one if already up)."""
    return Chain(port, chain_id, block_time, gas_limit, timeout_s, kind=kind).start()


def saved_kind() -> str | None:
    """Which chain the state folder holds (None: none yet)."""
    folder = devnet_dir()
    if geth.datadir_initialised(folder / "geth"):
        return "geth"
    return "anvil" if (folder / "state.json").exists() else None


def checked_kind(kind: str | None) -> str:
    """``kind`` (None: the saved chain's, else Anvil); ConfigurationError naming the way out when
    the state folder holds the other chain."""
    saved = saved_kind()
    if kind is None:
        return saved or "anvil"
    if kind not in KINDS:
        raise ConfigurationError(f"{kind!r} is not a chain gpurent runs ({', '.join(KINDS)})")
    if saved is not None and saved != kind:
        raise ConfigurationError(f"the state folder holds a {saved} chain: `gpurent down --reset` forgets it "
                                 f"(and its deployment), then `--chain {kind}`")
    return kind


FUNDING_TOKENS = 10_000  # given to each of test accounts 3-9


def deploy(devnet: Devnet, report_period_s: int = 3600) -> str:
    """Deploys the suite on ``devnet`` once (found again by its manifest) and funds the test
    accounts; returns what it did. Account 0 deploys, 1 is the oracle, 2 the treasury.
    ``report_period_s`` is the oracle's report period, fixed on chain. A local chain's
    timelock has no delay, so governance calls through the SDK take effect at once."""
    from ape import accounts, chain, networks

    from gpurent.artifacts import artifacts
    from gpurent.deployment import DeploymentParams, deploy_suite
    from gpurent.manifest import Manifest, load_manifest, node_chain_id, save_manifest
    from gpurent.sdk.fees import fee_fields
    from gpurent.units import TOKEN

    with networks.parse_network_choice(devnet.network_choice):
        chain_id = node_chain_id()
        existing = load_manifest(chain_id)
        if existing and chain.provider.get_code(existing.contracts["Marketplace"]):
            return f"deployment found (Marketplace {existing.contracts['Marketplace']})"
        admin, oracle, treasury = (accounts.test_accounts[i] for i in range(3))
        block = chain.blocks.height + 1
        params = DeploymentParams(report_period=report_period_s, timelock_delay=0)
        interval = bool(devnet.block_time) and devnet.kind == "anvil"  # geth has no such switch: it takes blocks
        if interval:  # a block per transaction while deploying, then the chosen pace again
            rpc(devnet.url, "evm_setAutomine", [True])
        try:
            suite = deploy_suite(artifacts(), admin, oracle=oracle.address, treasury=treasury.address, params=params)
            for i in range(3, 10):
                suite.token.transfer(accounts.test_accounts[i], FUNDING_TOKENS * TOKEN, sender=admin, **fee_fields())
        finally:
            if interval:
                rpc(devnet.url, "evm_setIntervalMining", [devnet.block_time])
        save_manifest(Manifest(chain_id=chain_id, block=block, deployer=admin.address,
                               contracts={n: c.address for n, c in suite.as_dict().items()},
                               parameters=asdict(params)))
        return (f"deployed (Marketplace {suite.marketplace.address}); test accounts 3-9 hold "
                f"{FUNDING_TOKENS:,} GPU each; account 1 is the oracle, 2 the treasury")


def stop(timeout_s: float = 15.0) -> bool:
    """Stops the devnet (Anvil saves its state on the way out); False if none ran."""
    return Chain().stop(timeout_s)


def reset() -> None:
    """Forgets the saved chain state (the next ``up`` starts a fresh chain)."""
    (devnet_dir() / "state.json").unlink(missing_ok=True)
    shutil.rmtree(devnet_dir() / "geth", ignore_errors=True)
