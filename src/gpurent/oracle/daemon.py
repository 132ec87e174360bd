"""Building and running the oracle: shared by ``gpurent-oracle run`` and ``ape run oracle``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gpurent.oracle.config import OracleConfig, load_config
from gpurent.oracle.oracle import Oracle, check_period
from gpurent.local.process import serve
from gpurent.settings import state_home

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

log = logging.getLogger("gpurent.oracle")


def oracle_home() -> Path:
    return state_home() / "oracle"


def build_oracle(gp: Gpurent, config: OracleConfig | None = None, config_path: Path | None = None,
                 home: Path | None = None) -> Oracle:
    """The oracle for ``gp`` (a Gpurent holding an account with ORACLE_ROLE) whose config's
    report period is the chain's (ConfigurationError otherwise)."""
    from gpurent.errors import NotAuthorized
    from gpurent.local.ipfs import ipfs_client
    from gpurent.images.store import ImageStore

    config = config or load_config(config_path)
    roles = gp.has_role("ORACLE_ROLE", gp.address)
    if not (roles.get("Marketplace") and roles.get("ReputationSystem")):
        raise NotAuthorized(f"{gp.address} lacks ORACLE_ROLE (grant it with `gpurent admin grant oracle ADDRESS`)")
    check_period(gp, config)
    return Oracle(gp, config, home or oracle_home(), ImageStore(ipfs_client()))


def run_forever(oracle: Oracle) -> None:
    serve(oracle, log, "the next start resumes from its database")
