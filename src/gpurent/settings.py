"""Where gpurent keeps its state and how it is configured.

State lives in one folder, ``$GPURENT_HOME`` or ``~/.gpurent``. Settings come from, in order:
environment variables, ``<state home>/config.toml``, then defaults::

    [ipfs]
    api = "http://127.0.0.1:5001"   # any Kubo RPC endpoint (GPURENT_IPFS_API); unset: gpurent's own node
    gateway = "http://127.0.0.1:8080"  # that node's HTTP gateway, for faster reads (GPURENT_IPFS_GATEWAY)
    max_image_size = "20GiB"        # GPURENT_MAX_IMAGE_SIZE

    [engine]
    docker_host = "unix:///run/podman/podman.sock"   # DOCKER_HOST; unset: gpurent's own podman service

    [cache]                         # the provider's image cache
    quota = "100GiB"                # GPURENT_CACHE_QUOTA
    unused_days = 30
    prewarm_minutes = 5
    prewarm_top = 10
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.conffile import read_toml
from gpurent.errors import ConfigurationError

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def state_home() -> Path:
    """The project state folder (deployments, node data, logs); created on first use."""
    home = Path(os.environ.get("GPURENT_HOME") or Path.home() / ".gpurent").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def parse_size(text: str | int) -> int:
    """Bytes from ``"20GiB"``, ``"500 MB"``, ``"1048576"`` or an int."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ConfigurationError(f"{text!r} is not a size (examples: 500MB, 20GiB)")
    return int(float(match.group(1)) * _UNITS[unit])


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


@dataclass(frozen=True)
class Settings:
    ipfs_api: str | None
    ipfs_gateway: str | None
    max_image_bytes: int
    docker_host: str | None
    cache_quota_bytes: int
    cache_unused_days: float
    prewarm_minutes: float
    prewarm_top: int
    indexer_url: str | None = None  # a GraphQL endpoint to search GPUs through


def _config_file() -> dict[str, Any]:
    path = state_home() / "config.toml"
    return read_toml(path) if path.exists() else {}


def load_settings() -> Settings:
    """The settings in force now (environment over config file over defaults)."""
    config = _config_file()
    ipfs, engine, cache, indexer = (config.get(k, {}) for k in ("ipfs", "engine", "cache", "indexer"))
    env = os.environ.get
    return Settings(
        ipfs_api=env("GPURENT_IPFS_API") or ipfs.get("api"),
        ipfs_gateway=env("GPURENT_IPFS_GATEWAY") or ipfs.get("gateway"),
        max_image_bytes=parse_size(env("GPURENT_MAX_IMAGE_SIZE") or ipfs.get("max_image_size", "20GiB")),
        docker_host=env("DOCKER_HOST") or engine.get("docker_host"),
        cache_quota_bytes=parse_size(env("GPURENT_CACHE_QUOTA") or cache.get("quota", "100GiB")),
        cache_unused_days=float(cache.get("unused_days", 30)),
        prewarm_minutes=float(cache.get("prewarm_minutes", 5)),
        prewarm_top=int(cache.get("prewarm_top", 10)),
        indexer_url=env("GPURENT_INDEXER_URL") or indexer.get("url"),
    )
