"""Each daemon's config is defined once (its dataclass's defaults): the file it renders, and the
example its module documents, read back to those values."""

from __future__ import annotations

import tomllib
from decimal import Decimal

from gpurent.agent import config as agent_config
from gpurent.oracle import config as oracle_config


def documented_example(module: object, stop: str | None = None) -> dict:
    example = module.__doc__.split("::", 1)[1]
    if stop:
        example = example.split(stop)[0]
    return tomllib.loads("\n".join(line[4:] for line in example.splitlines()))


def test_the_oracle_documents_and_renders_exactly_its_defaults():
    defaults = oracle_config.OracleConfig()
    assert oracle_config.parse_config(documented_example(oracle_config)) == defaults
    assert oracle_config.parse_config(tomllib.loads(oracle_config.render(defaults))) == defaults


def test_an_oracle_config_renders_back_to_itself():
    config = oracle_config.OracleConfig(listen_port=7400, providers=("0xabc",), secret="s", max_failures=3,
                                        heartbeat_interval_s=5, period_s=60, challenge_probability=0.25)
    assert oracle_config.parse_config(tomllib.loads(oracle_config.render(config))) == config


def test_a_provider_config_renders_back_to_itself_every_key_included():
    spec = agent_config.ResourceSpec("L4", vcpu=4, memory_gb=8, storage_gb=50, price=Decimal("2.5"), gpu="GPU-1")
    config = agent_config.AgentConfig(resources=(spec, spec), oracle_urls=("http://10.0.0.2:7300",), max_failures=4,
                                      limits=agent_config.Limits(pids=64, scratch_mb=128, network=True, log_mb=8),
                                      settle_interval_s=30, heartbeat_interval_s=15)
    text = agent_config.render(config)
    assert agent_config.parse_config(tomllib.loads(text)) == config
    documented = set(documented_example(agent_config, "``settle_interval``"))
    assert documented == set(tomllib.loads(text))  # the same sections, documented and rendered
