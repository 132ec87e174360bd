"""The API gateway and, when asked for, its Redis, as services of the local stack (see
:mod:`gpurent.local.service`): ``gpurent-gateway run`` detached over the stack's index and Kubo
node, with gateway.toml's settings and the stack's port; ``redis-server`` on loopback, its data
in memory only (nonces and rate counts are worth nothing after a restart)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import requests

from gpurent.errors import ConfigurationError, PortTaken
from gpurent.gateway import config as gateway_config
from gpurent.local.process import Managed, daemon_binary, free_port, port_free
from gpurent.local.service import ManagedService, probe
from gpurent.settings import state_home

DEFAULT_PORT = gateway_config.GATEWAY_PORT
REDIS_PORT = 6380  # beside, not on, a system Redis' 6379


def redis_home() -> Path:
    return state_home() / "redis"


class LocalRedis(ManagedService):
    """``redis-server`` for the stack's gateway (``gpurent up --redis``): loopback only, nothing
    saved to disk."""

    name = "redis"
    process = Managed("redis", redis_home)

    def __init__(self, port: int = REDIS_PORT, timeout_s: float = 20.0):
        self.port, self.timeout_s = port, timeout_s

    def start(self) -> dict[str, Any]:
        existing = self.running()
        if existing:
            return existing
        binary = shutil.which("redis-server")
        if binary is None:
            raise ConfigurationError("redis-server is not installed: `make setup` (or Debian's redis-server package)")
        port = self.port or free_port()
        if not port_free(port):
            raise PortTaken(port, "redis")
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.process.folder)]
        url = f"redis://127.0.0.1:{port}/0"
        return self.process.start(args, lambda: _pong(port), {"url": url, "port": port}, self.timeout_s)

    def status(self) -> dict[str, Any]:
        record = self.running()
        if record is None:
            return {"running": False}

        def measure() -> dict[str, Any]:
            if not _pong(int(record["port"])):
                raise ConnectionError("redis does not answer PING")
            return {}

        return probe(measure, (OSError,), url=record["url"])


def _pong(port: int) -> bool:
    """Whether a Redis on loopback ``port`` answers PING (RESP, one round trip)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class LocalGateway(ManagedService):
    """``gpurent-gateway run`` on ``network`` over the index at ``db`` and the Kubo node at
    ``ipfs``, on loopback ``port`` (0: any free port), sharing nonces and limits through
    ``redis`` if given; gateway.toml (state folder) holds the rest of its settings."""

    name = "gateway"
    process = Managed("gateway", gateway_config.gateway_home)

    def __init__(self, network: str | None = None, port: int = DEFAULT_PORT, db: str | None = None,
                 ipfs: str | None = None, redis: str | None = None, timeout_s: float = 90.0):
        self.network, self.port, self.db, self.ipfs, self.redis = network, port, db, ipfs, redis
        self.timeout_s = timeout_s

    def start(self) -> dict[str, Any]:
        existing = self.running()
        if existing:
            return existing
        port = self.port or free_port()
        if not port_free(port):
            raise PortTaken(port, "gateway")
        url = f"http://127.0.0.1:{port}"
        args = [daemon_binary("gpurent-gateway"), *(["--network", self.network] if self.network else []), "run",
                "--listen", f"127.0.0.1:{port}", *(["--db", self.db] if self.db else []),
                *(["--ipfs", self.ipfs] if self.ipfs else []), *(["--redis", self.redis] if self.redis else [])]
        settings = gateway_config.load_config()  # a bad gateway.toml fails here, in one line, not in the log
        public = settings.public_url or url
        return self.process.start(args, lambda: _healthy(url), {"url": url, "public_url": public, "redis": self.redis},
                                  self.timeout_s)

    def status(self) -> dict[str, Any]:
        record = self.running()
        if record is None:
            return {"running": False}

        def measure() -> dict[str, Any]:
            response = requests.get(f"{record['url']}/api/v1/health", timeout=5)
            response.raise_for_status()
            health = response.json()
            return {"block": health.get("block"), "chain_id": health.get("chainId"),
                    "store": "redis" if record.get("redis") else "memory", "docs": f"{record['url']}/docs",
                    "web": bool(health.get("web"))}

        return probe(measure, (requests.RequestException, ValueError), public_url=record.get("public_url"))


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False

