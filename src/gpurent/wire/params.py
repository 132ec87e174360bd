"""What an oracle tells a provider about its clock: ``GET /v1/params`` and the reader of it.

A provider must send one heartbeat per slot of the oracle's length; a provider configured for
another length is counted as missing slots (and penalised). The oracle serves its slot length
and report period; ``gpurent-provider init`` writes what it learns, and the agent checks it at
start. The body is untrusted: bounded in size and time, and refused unless of exactly this shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gpurent.capped import fetch_whole
from gpurent.errors import GpurentError, ServiceUnavailable
from gpurent.safejson import loads_bounded

PARAMS_PATH = "v1/params"
PARAMS_MAX_BYTES = 4096  # the body is about 150 bytes
PARAMS_TIMEOUT_S = 5.0
MIN_INTERVAL_S = 1.0  # a heartbeat slot shorter than a second is a flood of signed beats, not a slot
MAX_INTERVAL_S = 86_400.0  # a heartbeat slot longer than a day is not one an oracle means
MAX_PERIOD_S = 30 * 86_400.0  # the ReputationSystem's MAX_PERIOD_LENGTH (30 days)


class OracleParamsError(GpurentError):
    """Raised when an oracle's parameters cannot be read or are not of their shape."""


@dataclass(frozen=True)
class OracleParams:
    """An oracle's heartbeat slot length and report period, in seconds, and its chain."""

    heartbeat_interval_s: float
    period_s: float
    chain_id: int

    def to_json(self) -> dict[str, Any]:
        return {"heartbeat_interval_s": self.heartbeat_interval_s, "period_s": self.period_s,
                "chain_id": self.chain_id}


def slot_problem(heartbeat_interval_s: float, period_s: float) -> str | None:
    """What is wrong with a heartbeat slot and report period (the bounds the oracle's config and
    an oracle's ``/v1/params`` are both held to), or None: a slot of ``MIN_INTERVAL_S`` to
    ``MAX_INTERVAL_S`` seconds, a period of at most ``MAX_PERIOD_S`` and a whole number of slots."""
    if not MIN_INTERVAL_S <= heartbeat_interval_s <= MAX_INTERVAL_S:
        return f"the heartbeat slot must be {MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g} seconds, not {heartbeat_interval_s:g}"
    if not heartbeat_interval_s <= period_s <= MAX_PERIOD_S:
        return (f"the report period must be {heartbeat_interval_s:g} (one slot) to {MAX_PERIOD_S:.0f} seconds (30 days), "
                f"not {period_s:g}")
    ratio = period_s / heartbeat_interval_s
    if abs(ratio - round(ratio)) > 1e-9:
        return (f"the report period ({period_s:g} s) must be a whole number of heartbeat intervals "
                f"({heartbeat_interval_s:g} s)")
    return None


def _seconds(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise OracleParamsError(f"{key} must be a number of seconds, not {str(value)[:40]!r}")
    return float(value)


def parse_params(body: Any) -> OracleParams:
    """The parameters in a decoded ``/v1/params`` body; OracleParamsError unless of its shape and
    within :func:`slot_problem`'s bounds."""
    if not isinstance(body, dict):
        raise OracleParamsError(f"not a JSON object but {type(body).__name__}")
    chain_id = body.get("chain_id")
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**64:
        raise OracleParamsError(f"chain_id must be a positive whole number, not {str(chain_id)[:40]!r}")
    params = OracleParams(_seconds(body, "heartbeat_interval_s"), _seconds(body, "period_s"), chain_id)
    if problem := slot_problem(params.heartbeat_interval_s, params.period_s):
        raise OracleParamsError(problem)
    return params


def fetch_params(url: str, timeout_s: float = PARAMS_TIMEOUT_S) -> OracleParams:
    """The parameters the oracle at ``url`` serves; OracleParamsError (one line) if it does not
    answer in ``timeout_s``, answers too much, or answers something else."""
    try:
        data = fetch_whole(f"{url.rstrip('/')}/{PARAMS_PATH}", "the oracle's parameters (an oracle older than /v1/params?)",
                           max_bytes=PARAMS_MAX_BYTES, timeout_s=timeout_s)
    except ServiceUnavailable:
        raise OracleParamsError(f"no oracle answers at {url}") from None
    except ValueError as err:
        raise OracleParamsError(str(err)) from None
    try:
        return parse_params(loads_bounded(data, 4, max_bytes=PARAMS_MAX_BYTES))
    except OracleParamsError as err:
        raise OracleParamsError(f"the oracle at {url} answered bad parameters: {err}") from None
    except ValueError as err:
        raise OracleParamsError(f"the oracle at {url} did not answer JSON parameters ({str(err)[:80]})") from None
