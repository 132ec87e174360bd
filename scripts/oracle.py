"""`ape run oracle`: the oracle as an Ape script (same as `gpurent-oracle run`).

    ape run oracle --network http://127.0.0.1:8545 --account 1 [--config oracle.toml] [--max-failures N] [--log-format json]
"""

from __future__ import annotations

from gpurent.command import daemon_script
from gpurent.sdk import Gpurent


def run(gp: Gpurent, **options: object) -> None:
    from gpurent.oracle.daemon import run_oracle

    run_oracle(gp, **options)


cli = daemon_script("oracle", "An Ape account alias (or test index) with ORACLE_ROLE", "oracle.toml", run)
