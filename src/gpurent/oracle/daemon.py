"""Building and running the oracle: shared by ``gpurent-oracle run`` and ``ape run oracle``."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gpurent.oracle.config import OracleConfig, load_config, oracle_home
from gpurent.oracle.oracle import Oracle, check_period
from gpurent.runner import run_daemon

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

__all__ = ["build_oracle", "oracle_home", "run_oracle"]


log = logging.getLogger("gpurent.oracle")


def build_oracle(gp: Gpurent, config: OracleConfig | None = None, config_path: Path | None = None,
                 home: Path | None = None, max_failures: int | None = None) -> Oracle:
    """The oracle for ``gp`` (a Gpurent holding an account with ORACLE_ROLE) whose config's
    report period is the chain's (ConfigurationError otherwise); ``max_failures`` overrides
    the config's."""
    from gpurent.errors import NotAuthorized
    from gpurent.images.store import ImageStore
    from gpurent.local.ipfs import ipfs_client

    config = config or load_config(config_path)
    if max_failures is not None:
        config = dataclasses.replace(config, max_failures=max_failures)
    roles = gp.has_role("ORACLE_ROLE", gp.address)
    if not (roles.get("Marketplace") and roles.get("ReputationSystem")):
        raise NotAuthorized(f"{gp.address} lacks ORACLE_ROLE (grant it with `gpurent admin grant oracle ADDRESS`)")
    check_period(gp, config)
    return Oracle(gp, config, home or oracle_home(), ImageStore(ipfs_client()))


def run_oracle(gp: Gpurent, config: OracleConfig | None = None, config_path: Path | None = None,
               max_failures: int | None = None) -> None:
    """Runs the oracle in the foreground until SIGTERM/SIGINT."""
    run_daemon(build_oracle(gp, config, config_path, max_failures=max_failures), log,
               "the next start resumes from its database")
