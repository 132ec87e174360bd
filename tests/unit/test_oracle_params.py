"""An oracle's /v1/params is untrusted: its heartbeat slot and report period are held to the bounds
the oracle's own config is held to (wire.params.slot_problem), so a hostile or tampered answer
cannot make an agent beat a billion times a second or once a day."""

from __future__ import annotations

import re

import pytest

from gpurent.errors import ConfigurationError
from gpurent.oracle.config import OracleConfig
from gpurent.wire.params import MAX_PERIOD_S, OracleParamsError, parse_params


def test_an_oracles_heartbeat_slot_of_a_nanosecond_is_refused():
    with pytest.raises(OracleParamsError, match="heartbeat slot must be 1 to 86400 seconds"):
        parse_params({"heartbeat_interval_s": 1e-9, "period_s": 1e-9, "chain_id": 31337})


@pytest.mark.parametrize("slot, period, text", [
    (0.5, 4, "heartbeat slot must be 1 to 86400"),
    (86_401, 86_401 * 2, "heartbeat slot must be 1 to 86400"),
    (10, 5, "report period must be 10 (one slot) to"),
    (10, MAX_PERIOD_S + 10, "report period must be 10 (one slot) to"),
    (10, 25, "whole number of heartbeat intervals"),
    (float("nan"), 4, "must be a number of seconds"),
    (True, 4, "must be a number of seconds"),
])
def test_a_slot_or_period_out_of_bounds_is_refused_by_agent_and_oracle_alike(slot, period, text):
    with pytest.raises(OracleParamsError, match=re.escape(text)):
        parse_params({"heartbeat_interval_s": slot, "period_s": period, "chain_id": 1})
    if isinstance(slot, float) and slot != slot or slot is True:
        return  # not a number: the oracle's config reads floats
    with pytest.raises(ConfigurationError, match=re.escape(text)):
        OracleConfig(heartbeat_interval_s=slot, period_s=period)


def test_the_bounds_admit_what_the_oracle_serves():
    assert parse_params({"heartbeat_interval_s": 1, "period_s": 4, "chain_id": 1}).period_s == 4
    assert parse_params({"heartbeat_interval_s": 60, "period_s": 3600, "chain_id": 1}).heartbeat_interval_s == 60
