"""gateway.toml: what `gpurent-gateway init` writes parses back to the defaults, an edited file
is read as written, options given on the command line win, and a bad value is one clear error."""

from __future__ import annotations

import pytest

from gpurent.errors import ConfigurationError
from gpurent.gateway import config
from gpurent.gateway.guard import Limits


def test_the_rendered_file_parses_back_to_the_same_settings(tmp_path):
    edited = config.GatewaySettings(listen_host="0.0.0.0", listen_port=9000, public_url="https://api.example",
                                    origins=("https://app.example", "http://localhost:5173"), redis="redis://r:6379/0",
                                    limits=Limits(per_ip=50, per_address=20, sign_in_per_ip=5, streams_per_address=2))
    for settings in (config.DEFAULTS, edited):
        path = tmp_path / "gateway.toml"
        path.write_text(config.render(settings))
        assert config.load_config(path) == settings


def test_the_command_line_wins_over_the_file():
    settings = config.GatewaySettings(public_url="https://api.example", limits=Limits(per_ip=50))
    given = settings.overridden(listen_host=None, listen_port=9100, origins=(), redis=None, per_ip=None,
                                streams_per_address=500)
    assert (given.listen_port, given.public_url, given.limits.per_ip, given.limits.streams_per_address) == (
        9100, "https://api.example", 50, 500)
    assert given.url == "https://api.example"
    assert config.GatewaySettings(listen_port=9100).url == "http://127.0.0.1:9100"


@pytest.mark.parametrize("text, says", [
    ('[gateway]\nlisten = "nowhere"\n', "listen must be HOST:PORT"),
    ('[gateway]\npublic_url = "ftp://x"\n', "the public URL must be http(s)://HOST[:PORT]"),
    ('[gateway]\npublic_url = "https://x/app"\n', "the public URL must be http(s)://HOST[:PORT]"),
    ('[gateway]\norigins = "https://app.example"\n', "origins must be a list of strings"),
    ('[gateway]\norigins = ["https://app.example/"]\n', "an origin is scheme://HOST[:PORT] (no path)"),
    ('[gateway]\nredis = "localhost:6379"\n', "redis must be a redis:// URL"),
    ('[limits]\nper_ip = 0\n', "limits.per_ip must be a whole number, at least 1"),
    ('[limits]\nstreams_per_address = "8"\n', "limits.streams_per_address must be a whole number"),
    ('[limits]\nper_address = true\n', "limits.per_address must be a whole number"),
    ('gateway = 3\n', "[gateway] and [limits] are tables"),
    ('[gateway\n', "is not valid TOML"),
])
def test_a_bad_file_is_one_clear_error_naming_it(tmp_path, text, says):
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as err:
        config.load_config(path)
    assert says in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_an_absent_file_is_the_defaults_unless_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    assert config.load_config() == config.DEFAULTS
    with pytest.raises(ConfigurationError, match="no gateway config at"):
        config.load_config(tmp_path / "missing.toml")
