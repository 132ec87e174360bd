"""The whole local stack (``gpurent up | down | status``, ``make demo``): an Anvil chain with the
suite deployed, gpurent's Kubo node, podman's Docker API, the indexer with its GraphQL API, the
oracle and a provider agent, each a detached process recorded and logged under the state folder.

The oracle signs as test account 1 and the provider as test account 3 (the devnet's well-known
keys); their configs (``oracle.toml``, ``provider.toml`` in the state folder) are written on the
first ``up`` and kept after that, so edits to them stick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from gpurent.local import devnet as devnet_mod
from gpurent.local import engine as engine_mod
from gpurent.errors import ConfigurationError
from gpurent.local import ipfs as node_mod
from gpurent.indexer import service as indexer_service
from gpurent.local.process import Managed, daemon_binary, free_port, port_free
from gpurent.settings import state_home

ORACLE = Managed("oracle", lambda: state_home() / "oracle")
AGENT = Managed("provider", lambda: state_home() / "provider")
SERVICES = ("chain", "ipfs", "engine", "indexer", "oracle", "provider")

Step = Callable[[str, str], None]  # (service, what happened)


@dataclass(frozen=True)
class StackOptions:
    """Ports (0: any free port), timing and who signs. The defaults suit interactive use;
    ``make demo`` shortens the heartbeat interval and the report period."""

    chain_port: int = 8545
    block_time: int = 2
    ipfs_ports: tuple[int, int, int] = (node_mod.DEFAULT_API_PORT, node_mod.DEFAULT_GATEWAY_PORT,
                                        node_mod.DEFAULT_SWARM_PORT)
    indexer_port: int = indexer_service.DEFAULT_PORT
    oracle_port: int = 7300
    agent_port: int = 8765
    heartbeat_interval_s: int = 10
    report_period_s: int = 60
    settle_interval_s: int = 600  # the agent's partialRelease cadence while a job runs
    oracle_account: str = "1"
    provider_account: str = "3"
    gpu_model: str = "RTX4090"
    price: Decimal = Decimal("3.6")  # GPU tokens per hour: 0.001 per second
    gpus: int = 1

    @classmethod
    def any_ports(cls, **changes: Any) -> StackOptions:
        """Every port picked by the OS (a stack beside another, as the demo and tests run)."""
        return cls(chain_port=free_port(), ipfs_ports=(0, 0, 0), indexer_port=0, oracle_port=0, agent_port=0,
                   **changes)


def oracle_config_path() -> Path:
    return state_home() / "oracle.toml"


def provider_config_path() -> Path:
    return state_home() / "provider.toml"


def _port(port: int) -> int:
    return port or free_port()


def write_configs(options: StackOptions) -> None:
    """Writes oracle.toml and provider.toml unless they exist (edits to them are kept)."""
    oracle_path, provider_path = oracle_config_path(), provider_config_path()
    if oracle_path.exists() and provider_path.exists():
        return
    oracle_port, agent_port = _port(options.oracle_port), _port(options.agent_port)
    for port in (oracle_port, agent_port):
        if not port_free(port):
            raise ConfigurationError(f"port {port} is taken by another process: stop it or pick other ports")
    oracle_path.write_text(f"""# written by `gpurent up`; edit freely, it is kept
[oracle]
listen = "127.0.0.1:{oracle_port}"
poll_interval = 0.5

[heartbeats]
interval = {options.heartbeat_interval_s}
miss_limit = 3
max_skew = 30

[challenges]
interval = {options.report_period_s * 5}
probability = 0.5
expiry = 30
length = 1024

[reports]
period = {options.report_period_s}
dispute_timeout = 20
""")
    resources = "".join(f"""
[[resources]]
model = "{options.gpu_model}"
vcpu = 2
memory_gb = 4
storage_gb = 20
price = "{options.price}"
""" for _ in range(options.gpus))
    provider_path.write_text(f"""# written by `gpurent up`; edit freely, it is kept
[provider]
endpoint = "http://127.0.0.1:{agent_port}"
listen = "127.0.0.1:{agent_port}"
stake = "100"
poll_interval = 0.5
{resources}
[limits]
pids = 256
scratch_mb = 64
network = false
fetch_timeout_s = 60

[billing]
settle_interval = {options.settle_interval_s}

[oracle]
urls = ["http://127.0.0.1:{oracle_port}"]
heartbeat_interval = {options.heartbeat_interval_s}
""")


def _get_json(url: str, timeout_s: float = 2.0) -> Any:
    response = requests.get(url, timeout=timeout_s)
    response.raise_for_status()
    return response.json()


def _daemon_url(config_path: Path, section: str) -> str:
    import tomllib

    listen = tomllib.loads(config_path.read_text())[section]["listen"]
    return f"http://{listen}"


def _start_daemon(managed: Managed, command: str, account: str, config: Path, section: str,
                  devnet: devnet_mod.Devnet, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    url = _daemon_url(config, section)

    def answered() -> bool:
        try:
            return ready(_get_json(f"{url}/health"))
        except (requests.RequestException, ValueError):
            return False

    args = [daemon_binary(command), "--network", devnet.network_choice, "--account", account, "run",
            "--config", str(config)]
    return managed.start(args, answered, {"url": url, "config": str(config)}, timeout_s=120)


def running_services() -> set[str]:
    """The services of the stack whose process runs now."""
    checks = {"chain": devnet_mod.running_devnet, "ipfs": node_mod.running_node, "engine": engine_mod.running_service,
              "indexer": indexer_service.running, "oracle": ORACLE.running, "provider": AGENT.running}
    return {name for name, running in checks.items() if running() is not None}


def up(options: StackOptions = StackOptions(), step: Step = lambda service, what: None) -> dict[str, Any]:
    """Starts what is not running yet, in dependency order; returns :func:`status`. If a service
    fails to start, the ones this call started are stopped again before the error is raised."""
    already = running_services()
    try:
        _start_all(options, step)
    except BaseException:
        down(only=running_services() - already)
        raise
    return status()


def _start_all(options: StackOptions, step: Step) -> None:
    devnet = devnet_mod.start(port=options.chain_port, block_time=options.block_time)
    step("chain", f"anvil at {devnet.url} (chain {devnet.chain_id})")
    step("chain", devnet_mod.deploy(devnet, options.report_period_s))
    node = node_mod.start(*options.ipfs_ports)
    step("ipfs", f"Kubo API at {node.api_url}")
    engine = engine_mod.start()
    step("engine", f"podman's Docker API at {engine.docker_host}")
    write_configs(options)
    # the indexer and the two Ape daemons start side by side: each spends seconds importing
    with ThreadPoolExecutor(3) as pool:
        indexer = pool.submit(indexer_service.start, devnet.url, None, _port(options.indexer_port))
        oracle = pool.submit(_start_daemon, ORACLE, "gpurent-oracle", options.oracle_account, oracle_config_path(),
                             "oracle", devnet, lambda health: True)
        agent = pool.submit(_start_daemon, AGENT, "gpurent-provider", options.provider_account,
                            provider_config_path(), "provider", devnet,
                            lambda health: bool(health.get("accepting") and health.get("slots")))
        step("indexer", f"GraphQL at {indexer.result().graphql_url}")
        step("oracle", f"oracle at {oracle.result()['url']}")
        step("provider", f"provider agent at {agent.result()['url']}")


def down(step: Step = lambda service, what: None, only: set[str] | None = None) -> list[str]:
    """Stops every service of the stack (or ``only`` these), the provider first; returns the ones
    that were running. The chain's state, the IPFS repo and the index stay for the next ``up``."""
    stopped = []
    for name, stop in (("provider", AGENT.stop), ("oracle", ORACLE.stop), ("indexer", indexer_service.stop),
                       ("engine", engine_mod.stop), ("ipfs", node_mod.stop), ("chain", devnet_mod.stop)):
        if only is not None and name not in only:
            continue
        if stop():
            stopped.append(name)
            step(name, "stopped")
    return stopped


def reset() -> None:
    """Forgets the chain, its index and the daemons' records (after ``down``): the next ``up``
    deploys afresh. The IPFS repo (images) and the configs stay."""
    devnet_mod.reset()
    for leftover in indexer_service.indexer_dir().glob("index.db*"):
        leftover.unlink()
    for folder in (ORACLE.folder, AGENT.folder):
        for leftover in folder.glob("*.db*"):
            leftover.unlink()


# ---------------------------------------------------------------------------------------- status
def _service(name: str, running: bool, pid: int | None, endpoint: str | None, log: Path | None,
             **detail: Any) -> dict[str, Any]:
    return {"service": name, "running": running, "pid": pid, "endpoint": endpoint,
            "log": str(log) if log else None, **detail}


def _probe(name: str, log: Path, found: tuple[int, str] | None, probe: Callable[[], dict[str, Any]],
           errors: tuple[type[BaseException], ...] = (Exception,)) -> dict[str, Any]:
    """One service's record: down if its process is not found (``found`` = pid, endpoint), down
    with the error if ``probe`` fails, else up with what ``probe`` measured."""
    if found is None:
        return _service(name, False, None, None, log)
    pid, endpoint = found
    try:
        detail = probe()
    except errors as err:
        return _service(name, False, pid, endpoint, log, error=str(err).splitlines()[0] if str(err) else repr(err))
    return _service(name, True, pid, endpoint, log, **detail)


def _chain_status() -> dict[str, Any]:
    devnet = devnet_mod.running_devnet()
    return _probe("chain", devnet_mod.devnet_dir() / "anvil.log", devnet and (devnet.pid, devnet.url),
                  lambda: {"chain_id": devnet.chain_id,  # type: ignore[union-attr]
                           "head": int(str(devnet_mod.rpc(devnet.url, "eth_blockNumber")), 16)},  # type: ignore[union-attr]
                  (OSError,))


def _ipfs_status() -> dict[str, Any]:
    node = node_mod.running_node()

    def probe() -> dict[str, Any]:
        client = node.client()  # type: ignore[union-attr]
        return {"gateway": node.gateway_url, "pins": len(client.pins()),  # type: ignore[union-attr]
                "peers": len(client.swarm_peers())}

    return _probe("ipfs", node_mod.node_dir() / "daemon.log", node and (node.pid, node.api_url), probe)


def _engine_status() -> dict[str, Any]:
    service = engine_mod.running_service()

    def probe() -> dict[str, Any]:
        client = engine_mod.engine_client(timeout_s=5)
        return {"version": client.version().get("Version"), "containers": len(client.containers.list())}

    return _probe("engine", engine_mod.engine_dir() / "podman.log", service and (service.pid, service.docker_host),
                  probe)


def _indexer_status(head: int | None) -> dict[str, Any]:
    process = indexer_service.running()

    def probe() -> dict[str, Any]:
        data = indexer_service.query(process.graphql_url, "{ indexer { block events } }",  # type: ignore[union-attr]
                                     timeout_s=5)["indexer"]
        return {"indexed_to": data["block"], "lag_blocks": None if head is None else max(0, head - int(data["block"])),
                "events": data["events"], "db": process.db}  # type: ignore[union-attr]

    return _probe("indexer", indexer_service.DAEMON.log_path, process and (process.pid, process.graphql_url), probe)


def _daemon_status(name: str, managed: Managed, detail: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    record = managed.running()
    return _probe(name, managed.log_path, record and (record["pid"], record["url"]),
                  lambda: detail(_get_json(f"{record['url']}/health", timeout_s=5)),  # type: ignore[index]
                  (requests.RequestException, ValueError))


def status() -> dict[str, Any]:
    """Each service's health, endpoint, pid and log; the chain head, the indexer's lag and the
    jobs the provider runs."""
    chain = _chain_status()
    services = [
        chain, _ipfs_status(), _engine_status(), _indexer_status(chain.get("head")),
        _daemon_status("oracle", ORACLE, lambda h: {"providers": h.get("providers"),
                                                    "heartbeat_interval_s": h.get("heartbeat_interval_s"),
                                                    "period_s": h.get("period_s")}),
        _daemon_status("provider", AGENT, lambda h: {"address": h.get("provider"), "gpus": h.get("slots"),
                                                     "accepting": h.get("accepting"),
                                                     "jobs_running": h.get("jobs_running", []),
                                                     "jobs_open": h.get("jobs_open")}),
    ]
    provider = services[-1]
    return {"home": str(state_home()), "up": all(s["running"] for s in services), "services": services,
            "head": chain.get("head"), "indexer_lag_blocks": services[3].get("lag_blocks"),
            "jobs_running": provider.get("jobs_running", [])}


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float, interval_s: float = 0.25) -> Any:
    """Polls ``condition`` until it returns something truthy; raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(interval_s)
