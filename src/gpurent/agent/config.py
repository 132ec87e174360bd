"""The provider's config file (``$GPURENT_HOME/provider.toml`` or ``--config``)::

    [provider]
    endpoint = "http://203.0.113.7:8765"   # the URL renters and the oracle reach (goes on-chain)
    listen = "0.0.0.0:8765"                # where the agent's HTTP endpoint binds
    stake = "100"                          # GPU tokens staked at registration
    poll_interval = 1.0                    # seconds between looks at the chain
    max_failures = 10                      # failed rounds in a row before the agent halts (exit 1)

    [[resources]]                          # one per GPU (without NVIDIA GPUs: what to offer)
    model = "RTX4090"
    vcpu = 8
    memory_gb = 32
    storage_gb = 100
    price = "2.5"                          # GPU tokens per hour
    # gpu = "GPU-…"                        # the NVML UUID to bind (default: detected GPUs in order)

    [limits]
    pids = 256                             # processes per container
    scratch_mb = 512                       # each writable tmpfs: /scratch, /tmp, /run, /var/tmp, /dev/shm
    network = false                        # containers get no network unless true
    fetch_timeout_s = 120                  # an image not found within this is declined
    node_retry_s = 300                     # the own IPFS node / engine down: asked again this long, then declined
    log_mb = 64                            # per job (the agent's copy; the engine's log gets 4x); past it: dropped
    input_max_mb = 20480                   # a job's inputs together; more is declined (full refund)
    input_cache_mb = 51200                 # the input cache's quota (LRU, never an input a job holds)
    output_max_mb = 10240                  # a job's output dir packed up to this (the rest listed as dropped)
    output_slack_mb = 256                  # past the cap plus this, the container is stopped
    result_retention_s = 604800            # a result stays pinned this long after its job (7 days)

    [ingress]                              # a job's ports, tunnels and shells, through this endpoint
    public_ports = true                    # serve ports a definition marks public (anyone may call them)
    connections = 512                      # proxied connections, tunnels and shells at once, all jobs
    per_job = 256                          # ... of one job
    idle_s = 900                           # a proxied connection or shell silent this long is closed
    shells = 4                             # exec / shell sessions of one job at once

    [oracle]
    urls = ["http://127.0.0.1:7300"]       # oracles to send signed heartbeats to (each of them)
    heartbeat_interval = 60                # seconds; the oracles' [heartbeats] interval

    [billing]
    settle_interval = 600                  # seconds between partial releases of a running job
    withdraw_min = "10"                    # earnings held past this many tokens are withdrawn

    [metrics]
    interval = 1.0                         # seconds between usage samples of a running job
    keep = 300                             # samples of a job kept in memory (its summary: all of them)

``settle_interval``: while a job runs, the agent has the escrow pay it everything accrued so far
(``partialRelease``) this often, so a dispute raised late in a job can only touch the slice
since the last release; ``completeJob`` still settles the remainder. Shorter means less at
stake per dispute and one more transaction (gas) per interval per job. Must be above 0.

``withdraw_min``: settling a job credits its pay to the provider's earnings in the marketplace
(no transfer, less gas per job); after each settlement the agent withdraws them once they reach
this many tokens (0: after every job). A partial release always pays out at once, with
everything held. ``gpurent provider withdraw`` does it by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError
from gpurent.conffile import failure_limit, parse_listen, read_toml, toml_line
from gpurent.runner import MAX_FAILURES
from gpurent.settings import state_home
from gpurent.wire.endpoint import InvalidEndpoint, parse_endpoint
from gpurent.wire.metrics import SAMPLES_MAX
from gpurent.wire.params import OracleParams, OracleParamsError, fetch_params


@dataclass(frozen=True)
class ResourceSpec:
    model: str
    vcpu: int
    memory_gb: int
    storage_gb: int
    price: Decimal
    gpu: str | None = None  # NVML UUID bound to this resource


@dataclass(frozen=True)
class Limits:
    pids: int = 256
    scratch_mb: int = 512
    network: bool = False
    fetch_timeout_s: float = 120.0
    log_mb: int = 64
    node_retry_s: float = 300.0  # the provider's own node down mid-pull: retried this long (never the image's fault)
    input_max_mb: int = 20_480  # a job's inputs together; a definition asking more is declined
    input_cache_mb: int = 51_200  # the input cache's quota (least recently used unleased inputs go first)
    output_max_mb: int = 10_240  # a job's output dir: packed up to this; past it plus the slack, stopped
    output_slack_mb: int = 256  # room over the cap before the container is stopped (checked each tick)
    result_retention_s: float = 7 * 86_400.0  # a result stays pinned this long after its job ends


@dataclass(frozen=True)
class IngressLimits:
    """``[ingress]``: what a job's ports, tunnels and shells may hold of the agent's endpoint."""

    public_ports: bool = True
    connections: int = 512
    per_job: int = 256
    idle_s: float = 900.0
    shells: int = 4


@dataclass(frozen=True)
class AgentConfig:
    """Every key of provider.toml, with its default (the one place the defaults are written)."""

    endpoint: str = ""  # empty: http://<listen>
    listen_host: str = "127.0.0.1"
    listen_port: int = 8765
    stake: Decimal = Decimal(100)
    poll_interval_s: float = 1.0
    resources: tuple[ResourceSpec, ...] = ()
    limits: Limits = field(default_factory=Limits)
    ingress: IngressLimits = field(default_factory=IngressLimits)
    oracle_urls: tuple[str, ...] = ()
    heartbeat_interval_s: float = 60.0
    settle_interval_s: float = 600.0  # seconds between partial releases of a running job
    withdraw_min: Decimal = Decimal(10)  # held earnings withdrawn once they reach this (tokens)
    max_failures: int = MAX_FAILURES  # failed rounds in a row before the agent halts
    metrics_interval_s: float = 1.0  # seconds between usage samples of a running job (gpurent.agent.metrics)
    metrics_keep: int = 300  # a job's samples kept in memory (served at /jobs/<id>/metrics)

    def __post_init__(self) -> None:
        if not self.endpoint:
            object.__setattr__(self, "endpoint", f"http://{self.listen_host}:{self.listen_port}")


DEFAULTS = AgentConfig()
METRICS_INTERVAL = (0.2, 3600.0)  # seconds between usage samples: the bounds of [metrics] interval


def default_path() -> Path:
    """provider.toml in the state folder."""
    return state_home() / "provider.toml"


def agent_home() -> Path:
    """The agent's own folder (its database, job logs, its process record and log)."""
    return state_home() / "provider"


def _decimal(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConfigurationError(f"{what} must be a token amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigurationError(f"{what} must be a token amount, got {value!r}")
    return amount


def _positive(value: Any, what: str) -> float:
    """A finite number of seconds above zero (true/false, NaN and infinity are refused)."""
    try:
        seconds = float("nan") if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise ConfigurationError(f"{what} must be a positive number of seconds, got {value!r}")
    return seconds


def _megabytes(value: Any, what: str) -> int:
    """A whole number of MiB, at least 1 (true/false and fractions are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{what} must be a whole number of MiB above 0, got {value!r}")
    return value


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{what} must be a whole number above 0, got {value!r}")
    return value


def parse_ingress(section: Any, where: str) -> IngressLimits:
    """``[ingress]`` of provider.toml."""
    d = IngressLimits()
    if not isinstance(section, dict):
        raise ConfigurationError(f"{where}: [ingress] must be a table")
    public = section.get("public_ports", d.public_ports)
    if not isinstance(public, bool):
        raise ConfigurationError(f"{where}: ingress.public_ports must be true or false")
    connections = _count(section.get("connections", d.connections), f"{where}: ingress.connections")
    per_job = _count(section.get("per_job", d.per_job), f"{where}: ingress.per_job")
    if per_job > connections:
        raise ConfigurationError(f"{where}: ingress.per_job ({per_job}) is above ingress.connections ({connections})")
    return IngressLimits(public_ports=public, connections=connections, per_job=per_job,
                         idle_s=_positive(section.get("idle_s", d.idle_s), f"{where}: ingress.idle_s"),
                         shells=_count(section.get("shells", d.shells), f"{where}: ingress.shells"))


def parse_config(doc: dict[str, Any], where: str = "provider config") -> AgentConfig:
    d, dl = DEFAULTS, DEFAULTS.limits
    provider = doc.get("provider", {})
    host, port = parse_listen(provider.get("listen", f"{d.listen_host}:{d.listen_port}"), f"{where}: listen")
    resources = []
    for i, item in enumerate(doc.get("resources", [])):
        try:
            resources.append(ResourceSpec(model=str(item["model"]), vcpu=int(item["vcpu"]),
                                          memory_gb=int(item["memory_gb"]), storage_gb=int(item.get("storage_gb", 0)),
                                          price=_decimal(item["price"], f"resources[{i}].price"), gpu=item.get("gpu")))
        except KeyError as err:
            raise ConfigurationError(f"{where}: resources[{i}] needs {err.args[0]}") from None
    if not resources:
        raise ConfigurationError(f"{where}: declare at least one [[resources]] (model, vcpu, memory_gb, price)")
    limits, oracle = doc.get("limits", {}), doc.get("oracle", {})
    urls = oracle.get("urls", list(d.oracle_urls))
    if isinstance(urls, str) or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
        raise ConfigurationError(f"{where}: oracle.urls must be a list of http(s) URLs")
    interval = _positive(oracle.get("heartbeat_interval", d.heartbeat_interval_s), f"{where}: oracle.heartbeat_interval")
    billing = doc.get("billing", {})
    settle = _positive(billing.get("settle_interval", d.settle_interval_s), f"{where}: billing.settle_interval")
    withdraw_min = _decimal(billing.get("withdraw_min", d.withdraw_min), f"{where}: billing.withdraw_min")
    metrics = doc.get("metrics", {})
    metrics_interval = _positive(metrics.get("interval", d.metrics_interval_s), f"{where}: metrics.interval")
    if not METRICS_INTERVAL[0] <= metrics_interval <= METRICS_INTERVAL[1]:
        raise ConfigurationError(f"{where}: metrics.interval must be {METRICS_INTERVAL[0]:g} to "
                                 f"{METRICS_INTERVAL[1]:g} seconds, got {metrics_interval:g}")
    keep = metrics.get("keep", d.metrics_keep)
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= SAMPLES_MAX:
        raise ConfigurationError(f"{where}: metrics.keep must be a whole number of samples from 1 to "
                                 f"{SAMPLES_MAX}, got {keep!r}")
    endpoint = str(provider.get("endpoint", ""))
    if endpoint:
        try:
            parse_endpoint(endpoint)  # what registration would refuse, refused here, before any stake moves
        except InvalidEndpoint as err:
            raise ConfigurationError(f"{where}: provider.endpoint: {err}") from None
    return AgentConfig(
        endpoint=endpoint,
        listen_host=host, listen_port=port,
        stake=_decimal(provider.get("stake", d.stake), "provider.stake"),
        poll_interval_s=float(provider.get("poll_interval", d.poll_interval_s)),
        resources=tuple(resources),
        limits=Limits(pids=int(limits.get("pids", dl.pids)), scratch_mb=int(limits.get("scratch_mb", dl.scratch_mb)),
                      network=bool(limits.get("network", dl.network)),
                      fetch_timeout_s=float(limits.get("fetch_timeout_s", dl.fetch_timeout_s)),
                      log_mb=int(limits.get("log_mb", dl.log_mb)),
                      node_retry_s=_positive(limits.get("node_retry_s", dl.node_retry_s),
                                             f"{where}: limits.node_retry_s"),
                      input_max_mb=_megabytes(limits.get("input_max_mb", dl.input_max_mb), f"{where}: limits.input_max_mb"),
                      input_cache_mb=_megabytes(limits.get("input_cache_mb", dl.input_cache_mb),
                                                f"{where}: limits.input_cache_mb"),
                      output_max_mb=_megabytes(limits.get("output_max_mb", dl.output_max_mb),
                                               f"{where}: limits.output_max_mb"),
                      output_slack_mb=_megabytes(limits.get("output_slack_mb", dl.output_slack_mb),
                                                 f"{where}: limits.output_slack_mb"),
                      result_retention_s=_positive(limits.get("result_retention_s", dl.result_retention_s),
                                                   f"{where}: limits.result_retention_s")),
        ingress=parse_ingress(doc.get("ingress", {}), where),
        oracle_urls=tuple(u.rstrip("/") for u in urls), heartbeat_interval_s=interval,
        settle_interval_s=settle, withdraw_min=withdraw_min, max_failures=failure_limit(provider.get("max_failures", d.max_failures), f"{where}: provider.max_failures"),
        metrics_interval_s=metrics_interval, metrics_keep=keep,
    )


def load_config(path: Path | None = None) -> AgentConfig:
    path = path or default_path()
    if not path.exists():
        raise ConfigurationError(f"no provider config at {path}: write one (see `gpurent-provider init`)")
    return parse_config(read_toml(path), str(path))


def render(config: AgentConfig, header: str = "") -> str:
    """``config`` as a provider.toml that :func:`parse_config` reads back to the same values."""
    ln, lim = toml_line, config.limits
    lines = [
        f"{header}[provider]",
        ln("endpoint", config.endpoint, "the URL renters and the oracle reach (goes on-chain)"),
        ln("listen", f"{config.listen_host}:{config.listen_port}", "where the agent's HTTP endpoint binds"),
        ln("stake", str(config.stake), "GPU tokens staked at registration"),
        ln("poll_interval", config.poll_interval_s, "seconds between looks at the chain"),
        ln("max_failures", config.max_failures, "failed rounds in a row before the agent halts"),
    ]
    for r in config.resources:
        lines += ["", "[[resources]]                          # one per GPU", ln("model", r.model), ln("vcpu", r.vcpu),
                  ln("memory_gb", r.memory_gb), ln("storage_gb", r.storage_gb),
                  ln("price", str(r.price), "GPU tokens per hour")]
        lines += [ln("gpu", r.gpu, "the NVML UUID bound to this resource")] if r.gpu else []
    lines += [
        "",
        "[limits]",
        ln("pids", lim.pids, "processes per container"),
        ln("scratch_mb", lim.scratch_mb, "each writable tmpfs: /scratch, /tmp, /run, /var/tmp, /dev/shm"),
        ln("network", lim.network, "containers get no network unless true"),
        ln("fetch_timeout_s", lim.fetch_timeout_s, "an image not found within this is declined"),
        ln("log_mb", lim.log_mb, "per job (the agent's copy; the engine's log gets 4x); past it: dropped"),
        ln("node_retry_s", lim.node_retry_s, "the own IPFS node / engine down: asked again this long, then declined"),
        ln("input_max_mb", lim.input_max_mb, "a job's inputs together; more is declined (full refund)"),
        ln("input_cache_mb", lim.input_cache_mb, "the input cache's quota (LRU, never an input a job holds)"),
        ln("output_max_mb", lim.output_max_mb, "a job's output dir packed up to this (the rest listed as dropped)"),
        ln("output_slack_mb", lim.output_slack_mb, "past the cap plus this, the container is stopped"),
        ln("result_retention_s", lim.result_retention_s, "a result stays pinned this long after its job"),
        "",
        "[ingress]",
        ln("public_ports", config.ingress.public_ports, "serve ports a definition marks public (anyone may call them)"),
        ln("connections", config.ingress.connections, "proxied connections, tunnels and shells at once, all jobs"),
        ln("per_job", config.ingress.per_job, "... of one job"),
        ln("idle_s", config.ingress.idle_s, "a proxied connection or shell silent this long is closed"),
        ln("shells", config.ingress.shells, "exec / shell sessions of one job at once"),
        "",
        "[oracle]",
        ln("urls", list(config.oracle_urls), "signed heartbeats go to each (gpurent-oracle's listen)"),
        ln("heartbeat_interval", config.heartbeat_interval_s, "seconds; the oracles' [heartbeats] interval"),
        "",
        "[billing]",
        ln("settle_interval", config.settle_interval_s, "seconds between partial releases of a running job"),
        ln("withdraw_min", str(config.withdraw_min), "earnings held past this many tokens are withdrawn"),
        "",
        "[metrics]",
        ln("interval", config.metrics_interval_s, "seconds between usage samples of a running job"),
        ln("keep", config.metrics_keep, "samples of a job kept in memory (its summary: all of them)"),
    ]
    return "\n".join(lines) + "\n"


def learn_heartbeat(urls: tuple[str, ...], chain_id: int | None = None,
                    fetch: Callable[[str], OracleParams] = fetch_params,
                    period_s: float | None = None) -> tuple[float | None, list[str]]:
    """The heartbeat slot length the oracles at ``urls`` expect (``GET /v1/params``, held to
    :func:`~gpurent.wire.params.slot_problem`'s bounds), and one line per problem: an oracle that
    does not answer, serves another chain (``chain_id``) or another report period than the
    chain's (``period_s``, ReputationSystem.periodLength), or disagrees with another. None when
    no oracle answered, or they disagree."""
    problems: list[str] = []
    learned: dict[str, float] = {}
    for url in urls:
        try:
            params = fetch(url)
        except OracleParamsError as err:
            problems.append(str(err))
            continue
        if chain_id is not None and params.chain_id != chain_id:
            problems.append(f"the oracle at {url} serves chain {params.chain_id}, not {chain_id}")
            continue
        if period_s is not None and params.period_s != period_s:
            problems.append(f"the oracle at {url} reports every {params.period_s:g} s, but the chain's report period "
                            f"(ReputationSystem.periodLength) is {period_s:g} s: its heartbeat slot is not used")
            continue
        learned[url] = params.heartbeat_interval_s
    if len(set(learned.values())) > 1:
        problems.append("the oracles expect different heartbeat slots: "
                        + ", ".join(f"{u} {s:g} s" for u, s in learned.items()))
        return None, problems
    return (next(iter(learned.values())) if learned else None), problems


def with_oracle_slot(config: AgentConfig, chain_id: int | None = None,
                     fetch: Callable[[str], OracleParams] = fetch_params,
                     period_s: float | None = None) -> tuple[AgentConfig, list[str]]:
    """``config`` with the heartbeat slot its oracles expect (what the agent does at start), and
    one warning line per mismatch or problem: a provider beating at another length than the
    oracle's misses slots and is penalised, so the oracle's length wins over the file's."""
    slot, warnings = learn_heartbeat(config.oracle_urls, chain_id, fetch, period_s)
    if slot is None or slot == config.heartbeat_interval_s:
        return config, warnings
    warnings.append(f"the oracle expects a heartbeat every {slot:g} s, the provider config says "
                    f"{config.heartbeat_interval_s:g} s: sending every {slot:g} s "
                    f"(set heartbeat_interval = {slot:g} under [oracle])")
    return replace(config, heartbeat_interval_s=slot), warnings
