"""The whole local stack (``gpurent up | down | status``, ``make demo``): an Anvil chain with the
suite deployed, gpurent's Kubo node, podman's Docker API, the indexer with its GraphQL API, the
API gateway (and, with ``--redis``, the Redis it keeps nonces and limits in), the oracle and a
provider agent, each a :class:`~gpurent.local.service.Service` whose process is
recorded and logged under the state folder.

The oracle signs as test account 1 and the provider as test account 3 (the devnet's well-known
keys); their configs (``oracle.toml``, ``provider.toml`` in the state folder) are written on the
first ``up`` (each rendered by its daemon's own config module) and kept after that, so edits to
them stick.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpurent.agent import config as agent_config
from gpurent.errors import ConfigurationError, PortTaken
from gpurent.local import daemons
from gpurent.local import devnet as devnet_mod
from gpurent.local import engine as engine_mod
from gpurent.local import gateway as gateway_mod
from gpurent.local import indexer as indexer_mod
from gpurent.local import ipfs as node_mod
from gpurent.local import monitoring as monitoring_mod
from gpurent.local.process import free_port, port_free
from gpurent.local.service import Service, row
from gpurent.oracle import config as oracle_config
from gpurent.settings import state_home

SERVICES = ("chain", "ipfs", "engine", "indexer", "gateway", "oracle", "provider")  # and redis, if asked for

Step = Callable[[str, str], None]  # (service, what happened)


@dataclass(frozen=True)
class StackOptions:
    """Ports (0: any free port), timing and who signs. The defaults suit interactive use;
    ``make demo`` shortens the heartbeat interval and the report period."""

    chain_port: int = 8545
    block_time: int = 2
    chain: str | None = None  # "anvil" or "geth" (None: the chain the state folder holds, else Anvil)
    ipfs_ports: tuple[int, int, int] = (node_mod.DEFAULT_API_PORT, node_mod.DEFAULT_GATEWAY_PORT,
                                        node_mod.DEFAULT_SWARM_PORT)
    indexer_port: int = indexer_mod.DEFAULT_PORT
    gateway_port: int = gateway_mod.DEFAULT_PORT
    redis: bool = False  # a Redis for the gateway's nonces and limits (else in its memory)
    redis_port: int = gateway_mod.REDIS_PORT
    oracle_port: int = oracle_config.DEFAULTS.listen_port
    agent_port: int = agent_config.DEFAULTS.listen_port
    heartbeat_interval_s: int = 10
    report_period_s: int = 60
    settle_interval_s: int = 600  # the agent's partialRelease cadence while a job runs
    oracle_account: str = "1"
    provider_account: str = "3"
    gpu_model: str = "RTX4090"
    price: Decimal = Decimal("3.6")  # GPU tokens per hour: 0.001 per second
    gpus: int = 1
    public_host: str | None = None  # serve the chain, the IPFS swarm and the oracle here too
    monitoring: bool = False  # a Prometheus scraping the stack, with ops/alerts.yml (`up --monitoring`)
    prometheus_port: int = monitoring_mod.DEFAULT_PORT

    @classmethod
    def any_ports(cls, **changes: Any) -> StackOptions:
        """Every port picked by the OS (a stack beside another, as the demo and tests run)."""
        return cls(chain_port=free_port(), ipfs_ports=(0, 0, 0), indexer_port=0, gateway_port=0, redis_port=0,
                   oracle_port=0, agent_port=0, prometheus_port=0, **changes)


HEADER = "# written by `gpurent up`; edit freely, it is kept\n"


def write_configs(options: StackOptions) -> None:
    """Writes oracle.toml and provider.toml unless they exist (edits to them are kept)."""
    oracle_path, provider_path = oracle_config.default_path(), agent_config.default_path()
    if oracle_path.exists() and provider_path.exists():
        return
    oracle_port, agent_port = options.oracle_port or free_port(), options.agent_port or free_port()
    for port, service in ((oracle_port, "oracle"), (agent_port, "provider")):
        if not port_free(port):
            raise PortTaken(port, service)
    oracle = oracle_config.OracleConfig(listen_host=options.public_host or oracle_config.DEFAULTS.listen_host,
                                        listen_port=oracle_port, poll_interval_s=0.5,
                                        heartbeat_interval_s=options.heartbeat_interval_s,
                                        challenge_interval_s=options.report_period_s * 5,
                                        period_s=options.report_period_s)
    resource = agent_config.ResourceSpec(options.gpu_model, vcpu=2, memory_gb=4, storage_gb=20, price=options.price)
    agent = agent_config.AgentConfig(listen_port=agent_port, poll_interval_s=0.5, resources=(resource,) * options.gpus,
                                     limits=agent_config.Limits(scratch_mb=64, fetch_timeout_s=60),
                                     oracle_urls=(oracle.url,), heartbeat_interval_s=options.heartbeat_interval_s,
                                     settle_interval_s=options.settle_interval_s)
    oracle_path.write_text(oracle_config.render(oracle, HEADER))
    provider_path.write_text(agent_config.render(agent, HEADER))


# The ports `up` takes on its command line. The first `up` (and any later one given a port)
# writes the ports the services bound to ports.json in the state folder; a plain `up` reuses
# them, so a service restarted alone comes back where the others (and the user) expect it.
PORT_OPTIONS = ("chain_port", "ipfs_ports", "indexer_port", "gateway_port", "redis_port", "oracle_port", "agent_port",
                "prometheus_port")
# ... and the public address of an `up --public` (null: this machine only), kept the same way


def ports_path() -> Any:
    return state_home() / "ports.json"


def remembered_ports() -> dict[str, Any]:
    """The ports a previous `up` used (none before the first); ConfigurationError for a file
    that is not what `up` writes."""
    path = ports_path()
    if not path.exists():
        return {}
    try:
        saved = json.loads(path.read_text())
        if not isinstance(saved, dict):
            raise ValueError(f"a JSON {type(saved).__name__}, not an object")
        ports = {key: saved[key] for key in PORT_OPTIONS if key in saved}
        if "ipfs_ports" in ports:
            ports["ipfs_ports"] = tuple(ports["ipfs_ports"])
        for value in ports.values():
            for port in value if isinstance(value, tuple) else (value,):
                if type(port) is not int or not 0 <= port <= 65535:
                    raise ValueError(f"{port!r} is not a port")
        if len(ports.get("ipfs_ports", (0, 0, 0))) != 3:
            raise ValueError("ipfs_ports is not three ports")
        if saved.get("public_host") is not None:
            ports["public_host"] = checked_public_host(saved["public_host"], bound=False)
    except (OSError, ValueError, TypeError) as err:
        raise ConfigurationError(f"{path} is not what `gpurent up` writes ({err}): delete it, or fix it") from err
    return ports


def remember_ports(**ports: Any) -> None:
    """Adds ``ports`` (as the services bound them) to ports.json (whole, or not at all)."""
    from gpurent.manifest import write_atomically

    saved = {**remembered_ports(), **ports}
    write_atomically(ports_path(), json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in saved.items()}) + "\n")


def with_remembered_ports(given: dict[str, Any], **settings: Any) -> StackOptions:
    """The options of an `up`: each port as given on the command line (None: not given), else
    as the previous `up` used it, else the default."""
    ports = {**remembered_ports(), **{key: value for key, value in given.items() if value is not None}}
    ports["public_host"] = ports.get("public_host") or None  # ("": `--public none`)
    return StackOptions(**ports, **settings)


def network_document() -> tuple[str, dict[str, Any]]:
    """What providers on other machines join this stack's network with (`gpurent network
    export`): the chain's public RPC URL and the network document (the deployment, the IPFS
    node's public swarm addresses, the oracle's URL). ConfigurationError when the stack is not
    running, or serves this machine only (naming what to do)."""
    from gpurent.manifest import load_manifest

    devnet = devnet_mod.running_devnet()
    if devnet is None:
        raise ConfigurationError("the stack is not running: `gpurent up --public ADDRESS` first")
    if not devnet.public_url:
        raise ConfigurationError("the chain serves this machine only: `gpurent down`, then "
                                 "`gpurent up --public ADDRESS` (an address other machines reach)")
    manifest = load_manifest(devnet.chain_id)
    if manifest is None:
        raise ConfigurationError(f"nothing is deployed on chain {devnet.chain_id}: `gpurent up` deploys it")
    node = node_mod.running_node()
    peers = [a for a in node.swarm_multiaddrs if not a.startswith("/ip4/127.")] if node else []
    if not peers:
        raise ConfigurationError("the IPFS node has no public swarm address: `gpurent ipfs down`, then "
                                 f"`gpurent up --public {devnet.public_host}`")
    oracle = oracle_config.load_config(oracle_config.default_path())
    if oracle.listen_host.startswith("127.") or oracle.listen_host in ("localhost", "0.0.0.0"):
        raise ConfigurationError(f"the oracle listens on {oracle.listen_host} ({oracle_config.default_path()}): "
                                 f"set listen = \"{devnet.public_host}:{oracle.listen_port}\" under [oracle], "
                                 "then `gpurent oracle down` and `gpurent up`")
    return devnet.public_url, {"deployment": json.loads(manifest.to_json()), "ipfs_peers": peers,
                               "oracle_urls": [oracle.url]}


def checked_public_host(host: Any, *, bound: bool = True) -> str:
    """``host`` as an address other machines reach this one on: an IPv4 address, not loopback,
    unspecified, multicast or link-local, and (``bound``) one of this machine's own (a socket
    binds to it). ValueError says why not."""
    import ipaddress
    import socket

    try:
        address = ipaddress.IPv4Address(str(host))
    except ValueError:
        raise ValueError(f"{host!r} is not an IPv4 address") from None
    if address.is_loopback or address.is_unspecified or address.is_multicast or address.is_link_local:
        raise ValueError(f"{address} is not an address other machines reach (loopback, 0.0.0.0, multicast "
                         "or link-local): give this machine's address on their network")
    if bound:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((str(address), 0))
        except OSError:
            raise ValueError(f"{address} is not an address of this machine (see `ip -4 addr`)") from None
    return str(address)


def _port_of(url: str | None) -> int:
    return int(str(url).rstrip("/").rsplit(":", 1)[-1].split("/", 1)[0]) if url else 0


def services(network: str | None = None, redis: bool = False, monitoring: bool = False) -> list[Service]:
    """The stack's services in dependency order (the daemons sign on ``network``); Redis and
    Prometheus when asked for (``redis``, ``monitoring``) or running."""
    store: list[Service] = [gateway_mod.LocalRedis()] if redis or gateway_mod.LocalRedis().running() else []
    watch: list[Service] = ([monitoring_mod.LocalPrometheus()]
                            if monitoring or monitoring_mod.LocalPrometheus().running() else [])
    return [devnet_mod.Chain(), node_mod.Kubo(), engine_mod.Engine(), indexer_mod.LocalIndexer(), *store,
            gateway_mod.LocalGateway(), daemons.oracle(network), daemons.provider(network), *watch]


def running_services() -> set[str]:
    """The services of the stack whose process runs now."""
    return {service.name for service in services() if service.running() is not None}


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
    public = options.public_host
    devnet = devnet_mod.Chain(port=options.chain_port, block_time=options.block_time, public_host=public,
                              kind=options.chain).start()
    if public and devnet.public_host != public:
        raise ConfigurationError(f"the chain already runs, served {'on ' + devnet.public_host if devnet.public_host else 'to this machine only'}"
                                 f": `gpurent down`, then `gpurent up --public {public}`")
    remember_ports(chain_port=devnet.port, public_host=devnet.public_host)
    step("chain", f"{devnet.kind} at {devnet.url} (chain {devnet.chain_id})")
    step("chain", devnet_mod.deploy(devnet, options.report_period_s))
    node = node_mod.Kubo(*options.ipfs_ports, public_host=public).start()
    if public and not any(addr.startswith(f"/ip4/{public}/") for addr in node.swarm):
        raise ConfigurationError(f"the IPFS node already runs without a swarm address on {public}: "
                                 f"`gpurent ipfs down`, then `gpurent up --public {public}`")
    remember_ports(ipfs_ports=(_port_of(node.api_url), _port_of(node.gateway_url),
                               int(node.swarm[0].rsplit("/", 1)[-1]) if node.swarm else options.ipfs_ports[2]))
    step("ipfs", f"Kubo API at {node.api_url}")
    engine = engine_mod.Engine().start()
    step("engine", f"podman's Docker API at {engine.docker_host}")
    write_configs(options)
    redis_url = None
    if options.redis or gateway_mod.LocalRedis().running():
        redis = gateway_mod.LocalRedis(options.redis_port).start()
        remember_ports(redis_port=int(redis["port"]))
        redis_url = str(redis["url"])
        step("redis", f"Redis at {redis_url} (the gateway's nonces and limits)")
    running_gateway = gateway_mod.LocalGateway().running()
    if running_gateway is not None and running_gateway.get("redis") != redis_url:
        raise ConfigurationError(f"the gateway already runs {'with' if running_gateway.get('redis') else 'without'} "
                                 "Redis: `gpurent gateway down`, then `gpurent up"
                                 f"{' --redis' if redis_url else ''}`")
    # the indexer, the gateway and the two Ape daemons start side by side: each spends seconds
    # importing (the gateway once the index it reads exists)
    with ThreadPoolExecutor(3) as pool:
        indexer = pool.submit(indexer_mod.LocalIndexer(devnet.url, None, options.indexer_port).start)
        oracle = pool.submit(daemons.oracle(devnet.network_choice, options.oracle_account).start)
        agent = pool.submit(daemons.provider(devnet.network_choice, options.provider_account).start)
        index = indexer.result()
        step("indexer", f"GraphQL at {index.graphql_url}")
        remember_ports(indexer_port=_port_of(index.graphql_url.removesuffix("/graphql")))
        gateway = pool.submit(gateway_mod.LocalGateway(devnet.network_choice, options.gateway_port, index.db,
                                                       node.api_url, redis_url).start)
        step("oracle", f"oracle at {oracle.result()['url']}")
        step("gateway", f"API at {gateway.result()['url']}/api/v1 (docs {gateway.result()['url']}/docs)")
        remember_ports(gateway_port=_port_of(gateway.result()["url"]))
        step("provider", f"provider agent at {agent.result()['url']}")
    if options.monitoring or monitoring_mod.LocalPrometheus().running():
        targets = {"indexer": index.graphql_url.removesuffix("/graphql"), "gateway": gateway.result()["url"],
                   "oracle": oracle.result()["url"], "provider": agent.result()["url"]}
        if devnet.metrics_port:  # geth's own metrics
            targets["chain"] = f"http://127.0.0.1:{devnet.metrics_port}"
        prometheus = monitoring_mod.LocalPrometheus(
            {name: [url.split("://", 1)[-1].rstrip("/")] for name, url in targets.items()},
            options.prometheus_port).start()
        remember_ports(prometheus_port=int(prometheus["port"]))
        step("prometheus", f"Prometheus at {prometheus['url']} (alerts at {prometheus['url']}/alerts)")


def down(step: Step = lambda service, what: None, only: set[str] | None = None) -> list[str]:
    """Stops every service of the stack (or ``only`` these), the provider first; returns the ones
    that were running. The chain's state, the IPFS repo and the index stay for the next ``up``."""
    stopped = []
    for service in reversed(services()):
        if only is not None and service.name not in only:
            continue
        if service.stop():
            stopped.append(service.name)
            step(service.name, "stopped")
    return stopped


def reset() -> None:
    """Forgets the chain, its index and the daemons' records (after ``down``): the next ``up``
    deploys afresh. The IPFS repo (images) and the configs stay."""
    devnet_mod.reset()
    indexer_mod.reset()
    for folder in (oracle_config.oracle_home(), agent_config.agent_home()):
        for leftover in folder.glob("*.db*"):
            leftover.unlink()


def status() -> dict[str, Any]:
    """Each service's health, endpoint, pid and log; the chain head, the indexer's lag and the
    jobs the provider runs."""
    rows = {r["service"]: r for r in map(row, services())}
    return {"home": str(state_home()), "up": all(r["running"] for r in rows.values()), "services": list(rows.values()),
            "head": rows["chain"].get("head"), "indexer_lag_blocks": rows["indexer"].get("lag_blocks"),
            "jobs_running": rows["provider"].get("jobs_running", [])}


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
