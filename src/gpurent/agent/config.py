"""The provider's config file (``$GPURENT_HOME/provider.toml`` or ``--config``)::

    [provider]
    endpoint = "http://203.0.113.7:8765"   # the URL renters and the oracle reach (goes on-chain)
    listen = "0.0.0.0:8765"                # where the agent's HTTP endpoint binds
    stake = "100"                          # GPU tokens staked at registration
    poll_interval = 1.0                    # seconds between looks at the chain

    [[resources]]                          # one per GPU (without NVIDIA GPUs: what to offer)
    model = "RTX4090"
    vcpu = 8
    memory_gb = 32
    storage_gb = 100
    price = "2.5"                          # GPU tokens per hour
    # gpu = "GPU-…"                        # the NVML UUID to bind (default: detected GPUs in order)

    [limits]
    pids = 256                             # processes per container
    scratch_mb = 512                       # the writable tmpfs at /scratch (and /tmp)
    network = false                        # containers get no network unless true
    fetch_timeout_s = 120                  # an image not found within this is declined
    log_mb = 64                            # per job; output past it is dropped (marked)

    [oracle]
    urls = ["http://127.0.0.1:7300"]       # oracles to send signed heartbeats to (each of them)
    heartbeat_interval = 60                # seconds; the oracles' [heartbeats] interval

    [billing]
    settle_interval = 600                  # seconds between partial releases of a running job

``settle_interval``: while a job runs, the agent has the escrow pay it everything accrued so far
(``partialRelease``) this often, so a dispute raised late in a job can only touch the slice
since the last release; ``completeJob`` still settles the remainder. Shorter means less at
stake per dispute and one more transaction (gas) per interval per job. Must be above 0.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError
from gpurent.settings import state_home


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


@dataclass(frozen=True)
class AgentConfig:
    endpoint: str
    listen_host: str
    listen_port: int
    stake: Decimal
    poll_interval_s: float
    resources: tuple[ResourceSpec, ...]
    limits: Limits = field(default_factory=Limits)
    oracle_urls: tuple[str, ...] = ()
    heartbeat_interval_s: float = 60.0
    settle_interval_s: float = 600.0  # seconds between partial releases of a running job


def default_path() -> Path:
    return state_home() / "provider.toml"


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


def parse_config(doc: dict[str, Any], where: str = "provider config") -> AgentConfig:
    provider = doc.get("provider", {})
    listen = str(provider.get("listen", "127.0.0.1:8765"))
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"{where}: listen must be HOST:PORT, got {listen!r}")
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
    urls = oracle.get("urls", [])
    if isinstance(urls, str) or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
        raise ConfigurationError(f"{where}: oracle.urls must be a list of http(s) URLs")
    interval = _positive(oracle.get("heartbeat_interval", 60), f"{where}: oracle.heartbeat_interval")
    settle = _positive(doc.get("billing", {}).get("settle_interval", 600), f"{where}: billing.settle_interval")
    return AgentConfig(
        endpoint=str(provider.get("endpoint", f"http://{host}:{port}")),
        listen_host=host, listen_port=int(port),
        stake=_decimal(provider.get("stake", "100"), "provider.stake"),
        poll_interval_s=float(provider.get("poll_interval", 1.0)),
        resources=tuple(resources),
        limits=Limits(pids=int(limits.get("pids", 256)), scratch_mb=int(limits.get("scratch_mb", 512)),
                      network=bool(limits.get("network", False)),
                      fetch_timeout_s=float(limits.get("fetch_timeout_s", 120)),
                      log_mb=int(limits.get("log_mb", 64))),
        oracle_urls=tuple(u.rstrip("/") for u in urls), heartbeat_interval_s=interval,
        settle_interval_s=settle,
    )


def load_config(path: Path | None = None) -> AgentConfig:
    path = path or default_path()
    if not path.exists():
        raise ConfigurationError(f"no provider config at {path}: write one (see `gpurent-provider init`)")
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"{path} is not valid TOML: {err}") from err
    return parse_config(doc, str(path))
