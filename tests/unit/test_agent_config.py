"""The provider config file and the renter's signed access, without a chain."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from eth_account import Account

from gpurent.wire.access import AccessDenied, sign_access, verify_access
from gpurent.agent.config import parse_config
from gpurent.agent.runtime import Owner, container_options
from gpurent.errors import ConfigurationError

JOB = "0x" + "ab" * 32
OWNER = Owner(31337, "0x" + "cd" * 20, "0x" + "ef" * 20)


def test_a_minimal_config_gets_safe_defaults():
    config = parse_config({"resources": [{"model": "L4", "vcpu": 4, "memory_gb": 16, "price": "1.5"}]})
    assert (config.listen_host, config.listen_port, config.endpoint) == ("127.0.0.1", 8765, "http://127.0.0.1:8765")
    assert config.resources[0].price == Decimal("1.5") and config.limits.network is False
    assert config.stake == Decimal(100) and config.limits.pids == 256


@pytest.mark.parametrize("doc, message", [
    ({}, "declare at least one"),
    ({"resources": [{"model": "L4", "vcpu": 4, "memory_gb": 16}]}, "needs price"),
    ({"resources": [{"model": "L4", "vcpu": 4, "memory_gb": 16, "price": "cheap"}]}, "must be a token amount"),
    ({"provider": {"listen": "8765"}, "resources": []}, "HOST:PORT"),
])
def test_bad_configs_say_what_is_wrong(doc, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_config(doc)


def test_the_settle_interval_defaults_to_ten_minutes_and_must_be_positive():
    resources = [{"model": "L4", "vcpu": 4, "memory_gb": 16, "price": "1.5"}]
    assert parse_config({"resources": resources}).settle_interval_s == 600
    assert parse_config({"resources": resources, "billing": {"settle_interval": 2}}).settle_interval_s == 2
    assert parse_config({"resources": resources, "billing": {"settle_interval": 0.5}}).settle_interval_s == 0.5
    for bad in (0, -5, "soon", True, float("nan"), float("inf")):
        with pytest.raises(ConfigurationError, match="billing.settle_interval must be a positive number"):
            parse_config({"resources": resources, "billing": {"settle_interval": bad}})


def test_the_documented_example_config_parses():
    """The example in the config module's docstring is a working config (it documents every key)."""
    import tomllib

    from gpurent.agent import config as module

    example = module.__doc__.split("::", 1)[1].split("``settle_interval``")[0]
    doc = tomllib.loads("\n".join(line[4:] for line in example.splitlines()))
    parsed = parse_config(doc)
    assert parsed.settle_interval_s == 600 and parsed.heartbeat_interval_s == 60
    assert parsed.oracle_urls == ("http://127.0.0.1:7300",) and parsed.resources[0].model == "RTX4090"


def test_isolation_options_for_every_container():
    config = parse_config({"resources": [{"model": "L4", "vcpu": 2, "memory_gb": 3, "price": "1"}],
                           "limits": {"pids": 99, "scratch_mb": 64}})
    options = container_options(JOB, config.resources[0], config.limits, None, owner=OWNER)
    assert options["cap_drop"] == ["ALL"] and options["security_opt"][0] == "no-new-privileges"
    assert options["security_opt"][1].startswith("seccomp=") and len(options["security_opt"]) == 2
    assert options["privileged"] is False and options["read_only"] is True
    assert options["network_mode"] == "none" and options["ipc_mode"] == "private"
    assert options["mem_limit"] == options["memswap_limit"] == "3g" and options["nano_cpus"] == 2 * 10**9
    assert options["pids_limit"] == 99 and "size=64m" in options["tmpfs"]["/scratch"]
    assert "volumes" not in options and "device_requests" not in options
    with_gpu = container_options(JOB, config.resources[0], config.limits, "GPU-1234", owner=OWNER)
    (request,) = with_gpu["device_requests"]
    assert request["DeviceIDs"] == ["GPU-1234"] and request["Capabilities"] == [["gpu"]]


class LocalAccount:
    """An eth-account key standing in for an Ape account (same sign_message contract)."""

    def __init__(self):
        self._account = Account.create()
        self.address = self._account.address

    def sign_message(self, message):
        return self._account.sign_message(message).signature


def test_signed_access_checks_signer_job_chain_and_time():
    renter, other = LocalAccount(), LocalAccount()
    now = int(time.time())
    headers = sign_access(renter, 31337, JOB, now)
    verify_access(headers, 31337, JOB, renter.address, now=now + 30)
    with pytest.raises(AccessDenied, match="only the job's renter"):
        verify_access(sign_access(other, 31337, JOB, now), 31337, JOB, renter.address, now=now)
    with pytest.raises(AccessDenied, match="stale"):
        verify_access(headers, 31337, JOB, renter.address, now=now + 61)
    with pytest.raises(AccessDenied, match="only the job's renter"):  # signed for another chain
        verify_access(headers, 1, JOB, renter.address, now=now)
    with pytest.raises(AccessDenied, match="a signed request is needed"):
        verify_access({}, 31337, JOB, renter.address)
    with pytest.raises(AccessDenied, match="malformed"):
        verify_access({**headers, "X-Gpurent-Signature": "0xzz"}, 31337, JOB, renter.address, now=now)


def test_a_job_log_stops_growing_at_its_limit(tmp_path):
    from gpurent.agent.endpoint import LogStore

    store = LogStore(tmp_path, max_bytes=100)
    store.reset(JOB)
    store.append(JOB, b"a" * 60)
    store.append(JOB, b"b" * 60)  # crosses the limit: cut, marked once
    store.append(JOB, b"c" * 60)  # past it: dropped
    data = store.read(JOB)
    assert data.startswith(b"a" * 60 + b"b" * 40) and data.endswith(LogStore.TRUNCATED)
    assert b"c" * 10 not in data and store.read(JOB, offset=90).startswith(b"b" * 10)


@pytest.mark.parametrize("bad", [0, -1, "ten", 2.5, True])
def test_a_failure_limit_must_be_a_whole_number_of_rounds(bad):
    """A daemon's max_failures below 1 (or not a number) would halt it on its first failed round
    or crash it with a traceback: both configs refuse it in one line."""
    from gpurent.oracle.config import parse_config as parse_oracle

    resources = [{"model": "L4", "vcpu": 4, "memory_gb": 16, "price": "1.5"}]
    with pytest.raises(ConfigurationError, match="provider.max_failures must be a whole number of rounds"):
        parse_config({"provider": {"max_failures": bad}, "resources": resources})
    with pytest.raises(ConfigurationError, match="oracle.max_failures must be a whole number of rounds"):
        parse_oracle({"oracle": {"max_failures": bad}})
    assert parse_config({"provider": {"max_failures": 3}, "resources": resources}).max_failures == 3


@pytest.mark.parametrize("section, message", [
    ({"public_ports": "yes"}, "public_ports must be true or false"),
    ({"connections": 0}, "ingress.connections must be a whole number above 0"),
    ({"per_job": 1.5}, "ingress.per_job must be a whole number"),
    ({"connections": 10, "per_job": 20}, "is above ingress.connections"),
    ({"idle_s": -1}, "ingress.idle_s"),
    ({"shells": True}, "ingress.shells"),
])
def test_the_ingress_section_is_checked_and_round_trips(section, message):
    from gpurent.agent.config import render

    base = {"resources": [{"model": "L4", "vcpu": 4, "memory_gb": 16, "price": "1.5"}]}
    config = parse_config({**base, "ingress": {"public_ports": False, "per_job": 8, "idle_s": 60}})
    assert (config.ingress.public_ports, config.ingress.per_job, config.ingress.idle_s, config.ingress.connections) == (
        False, 8, 60.0, 512)
    import tomllib

    assert parse_config(tomllib.loads(render(config))).ingress == config.ingress
    with pytest.raises(ConfigurationError, match=message):
        parse_config({**base, "ingress": section})
