"""`ape run provider`: the provider agent as an Ape script (same as `gpurent-provider run`).

    ape run provider --network http://127.0.0.1:8545 --account 3 [--config provider.toml] [--max-failures N] [--log-format json]
"""

from __future__ import annotations

from gpurent.command import daemon_script
from gpurent.sdk import Gpurent


def run(gp: Gpurent, **options: object) -> None:
    from gpurent.agent.daemon import run_agent

    run_agent(gp, **options)


cli = daemon_script("provider agent", "The provider's Ape account alias (or test index)", "provider.toml", run)
