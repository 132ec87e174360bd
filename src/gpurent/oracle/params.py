"""``GET /v1/params``: what a provider needs to know of this oracle's clock (read-only).

See :mod:`gpurent.wire.params` for the reader; ``gpurent-provider init`` and the agent use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpurent.oracle.config import OracleConfig
from gpurent.wire.params import PARAMS_PATH, OracleParams

__all__ = ["PARAMS_PATH", "params_view"]


def params_view(config: OracleConfig, chain_id: int) -> Callable[[], dict[str, Any]]:
    """The view serving the heartbeat slot length, report period and chain of this oracle."""
    body = OracleParams(config.heartbeat_interval_s, config.period_s, chain_id).to_json()
    return lambda: dict(body)
