"""The configs `gpurent up` writes: each parses with its daemon's own parser, and the two agree
(the agent's heartbeats go to the oracle's listen address, at the oracle's interval)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpurent.local import stack
from gpurent.agent.config import default_path as agent_default_path
from gpurent.agent.config import load_config as load_agent_config
from gpurent.errors import ConfigurationError
from gpurent.oracle.config import default_path as oracle_default_path
from gpurent.oracle.config import load_config as load_oracle_config
from gpurent.local.process import free_port


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    return tmp_path


def own_ports(**changes) -> stack.StackOptions:
    """The defaults, on ports free now (a gpurent stack may hold the default ones on this machine)."""
    return stack.StackOptions(oracle_port=free_port(), agent_port=free_port(), **changes)


@pytest.mark.parametrize("options", [own_ports(), stack.StackOptions.any_ports(
    heartbeat_interval_s=2, report_period_s=10, gpus=3, price=Decimal("0.5"))])
def test_written_configs_parse_and_agree(options):
    stack.write_configs(options)
    oracle = load_oracle_config(oracle_default_path())
    agent = load_agent_config(agent_default_path())
    assert agent.oracle_urls == (oracle.url,)
    assert agent.heartbeat_interval_s == oracle.heartbeat_interval_s == options.heartbeat_interval_s
    assert oracle.period_s == options.report_period_s
    assert len(agent.resources) == options.gpus and {r.price for r in agent.resources} == {options.price}
    assert agent.endpoint == f"http://{agent.listen_host}:{agent.listen_port}"
    if options.oracle_port:
        assert (oracle.listen_port, agent.listen_port) == (options.oracle_port, options.agent_port)
    else:  # picked by the OS, and distinct
        assert oracle.listen_port != agent.listen_port and 0 not in (oracle.listen_port, agent.listen_port)


def test_edited_configs_are_kept(home):
    stack.write_configs(own_ports())
    edited = agent_default_path().read_text().replace('price = "3.6"', 'price = "9"')
    agent_default_path().write_text(edited)
    stack.write_configs(own_ports(price=Decimal(1)))
    assert load_agent_config(agent_default_path()).resources[0].price == Decimal(9)


def test_a_taken_port_is_refused_before_anything_is_written():
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"port {port} is taken"):
            stack.write_configs(stack.StackOptions(oracle_port=port, agent_port=free_port()))
    assert not oracle_default_path().exists() and not agent_default_path().exists()


@pytest.mark.parametrize("text", ["[]", "3", '"ports"', "null", '{"ipfs_ports": 5}'])
def test_a_ports_file_not_of_up_s_shape_is_a_configuration_error(home, text):
    """ports.json that is valid JSON but not the object `up` writes: the one-line error naming
    the file (not an AttributeError out of `up`), and `up` remembers nothing over it."""
    stack.ports_path().write_text(text)
    with pytest.raises(ConfigurationError, match="is not what `gpurent up` writes"):
        stack.remembered_ports()
    with pytest.raises(ConfigurationError, match="is not what `gpurent up` writes"):
        stack.remember_ports(chain_port=8545)
    assert stack.ports_path().read_text() == text


def test_remembered_ports_are_written_whole(home):
    stack.remember_ports(chain_port=8545, ipfs_ports=(5001, 8080, 4001))
    stack.remember_ports(public_host=None)
    assert stack.remembered_ports() == {"chain_port": 8545, "ipfs_ports": (5001, 8080, 4001)}
    assert [p.name for p in home.iterdir()] == ["ports.json"]  # no temporary file left beside it
