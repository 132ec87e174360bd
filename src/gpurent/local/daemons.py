"""The two daemons that sign, as services of the local stack (see :mod:`gpurent.local.service`):
the oracle (``gpurent-oracle run``) and a provider agent (``gpurent-provider run``), each
started detached against the devnet with a test account, its config read by the daemon's own
parser, its health read from its ``/health``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from gpurent.agent import config as agent_config
from gpurent.local.process import Managed, daemon_binary
from gpurent.local.service import ManagedService, probe
from gpurent.oracle import config as oracle_config


def get_json(url: str, timeout_s: float = 2.0) -> Any:
    response = requests.get(url, timeout=timeout_s)
    response.raise_for_status()
    return response.json()


class Daemon(ManagedService):
    """``command run`` as ``account`` on ``network``; ``url(config)`` is where it answers,
    ``ready(health)`` says it is up, ``detail(health)`` what `gpurent status` shows of it."""

    def __init__(self, name: str, folder: Callable[[], Path], command: str, config_path: Callable[[], Path],
                 url: Callable[[Path], str], ready: Callable[[dict[str, Any]], bool],
                 detail: Callable[[dict[str, Any]], dict[str, Any]], network: str | None = None,
                 account: str | None = None, timeout_s: float = 120.0):
        self.name, self.process, self.command = name, Managed(name, folder), command
        self.config_path, self.url, self.ready, self.detail = config_path, url, ready, detail
        self.network, self.account, self.timeout_s = network, account, timeout_s

    def start(self) -> dict[str, Any]:
        """Starts the daemon detached (the running one's record if up); waits for its /health."""
        config = self.config_path()
        url = self.url(config)

        def answered() -> bool:
            try:
                return self.ready(get_json(f"{url}/health"))
            except (requests.RequestException, ValueError):
                return False

        args = [daemon_binary(self.command), *(["--network", self.network] if self.network else []),
                *(["--account", self.account] if self.account else []), "run", "--config", str(config)]
        return self.process.start(args, answered, {"url": url, "config": str(config)}, timeout_s=self.timeout_s)

    def status(self) -> dict[str, Any]:
        url = self.endpoint()
        if url is None:
            return {"running": False}
        return probe(lambda: self.detail(get_json(f"{url}/health", timeout_s=5)),
                     (requests.RequestException, ValueError))


def oracle(network: str | None = None, account: str | None = None) -> Daemon:
    return Daemon("oracle", oracle_config.oracle_home, "gpurent-oracle", oracle_config.default_path,
                  lambda path: oracle_config.load_config(path).url, lambda health: True,
                  lambda h: {"providers": h.get("providers"), "heartbeat_interval_s": h.get("heartbeat_interval_s"),
                             "period_s": h.get("period_s")},
                  network, account)


def _agent_url(path: Path) -> str:
    config = agent_config.load_config(path)
    return f"http://{config.listen_host}:{config.listen_port}"


def provider(network: str | None = None, account: str | None = None) -> Daemon:
    return Daemon("provider", agent_config.agent_home, "gpurent-provider", agent_config.default_path, _agent_url,
                  lambda health: bool(health.get("accepting") and health.get("slots")),
                  lambda h: {"address": h.get("provider"), "gpus": h.get("slots"), "accepting": h.get("accepting"),
                             "jobs_running": h.get("jobs_running", []), "jobs_open": h.get("jobs_open")},
                  network, account)
