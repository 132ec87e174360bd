"""The provider's secrets key on disk (made once, 0600, rotation keeps the old ones) and the
workload limits of provider.toml."""

from __future__ import annotations

import pytest

from gpurent.agent.config import DEFAULTS, parse_config, render
from gpurent.agent.keys import ProviderKeys
from gpurent.errors import ConfigurationError
from gpurent.workload.seal import SealError, open_secret, seal_secret

RENTER = "0x" + "ab" * 20


def test_the_key_is_made_once_kept_private_and_rotation_keeps_old_keys_that_still_open_secrets(tmp_path):
    keys = ProviderKeys(tmp_path)
    path = tmp_path / "keys" / "secrets.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert ProviderKeys(tmp_path).current.public_b64 == keys.current.public_b64  # the same key on the next run
    sealed = seal_secret(keys.current.public_bytes, "TOKEN", RENTER, "v1")
    old = keys.current.public_b64
    new = keys.rotate().public_b64
    assert new != old and (tmp_path / "keys" / "secrets.key.1").exists()
    again = ProviderKeys(tmp_path)
    assert again.current.public_b64 == new and again.for_public(old) is not None
    assert open_secret(again.for_public(old), sealed, "TOKEN", RENTER) == "v1"  # an open job still runs
    with pytest.raises(SealError):
        open_secret(again.current, sealed, "TOKEN", RENTER)
    assert again.for_public(ProviderKeys(tmp_path / "other").current.public_b64) is None


def test_a_key_rotated_by_another_process_opens_secrets_in_the_running_agent_at_once(tmp_path):
    running = ProviderKeys(tmp_path)  # the agent's, loaded at its start
    old = running.current.public_b64
    new = ProviderKeys(tmp_path).rotate()  # `gpurent-provider rotate-key`, another process
    sealed = seal_secret(new.public_bytes, "TOKEN", RENTER, "v2")  # a renter seals to the published key
    found = running.for_public(new.public_b64)
    assert found is not None and open_secret(found, sealed, "TOKEN", RENTER) == "v2"
    assert running.current.public_b64 == new.public_b64  # what the agent publishes from now on
    assert running.for_public(old) is not None  # jobs sealed to the old key still run


def test_workload_limits_default_render_and_refuse_nonsense():
    doc = {"resources": [{"model": "RTX4090", "vcpu": 1, "memory_gb": 1, "price": "1"}]}
    limits = parse_config(doc).limits
    assert (limits.input_max_mb, limits.output_max_mb, limits.output_slack_mb, limits.result_retention_s) == \
        (20480, 10240, 256, 604800.0)
    custom = parse_config({**doc, "limits": {"output_max_mb": 5, "input_cache_mb": 7}})
    import tomllib
    assert parse_config(tomllib.loads(render(custom))).limits == custom.limits
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ConfigurationError, match="output_max_mb"):
            parse_config({**doc, "limits": {"output_max_mb": bad}})
    assert DEFAULTS.limits.input_cache_mb == 51200
