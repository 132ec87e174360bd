import json

import pytest

from gpurent.manifest import Manifest, load_manifest, manifest_path, save_manifest

CONTRACTS = {"GPUToken": "0x1", "ResourceRegistry": "0x2", "Marketplace": "0x3", "ReputationSystem": "0x4",
             "GpurentTimelock": "0x5"}


def test_round_trip(tmp_path):
    m = Manifest(chain_id=31337, block=1, deployer="0xabc", contracts=CONTRACTS, parameters={"fee_bps": 200})
    path = save_manifest(m, home=tmp_path)
    assert path == manifest_path(31337, tmp_path) and path.name == "31337.json"
    assert load_manifest(31337, home=tmp_path) == m
    assert load_manifest(1, home=tmp_path) is None
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".manifest-")]  # no temp left


def test_incomplete_manifest_is_refused(tmp_path):
    path = manifest_path(5, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"chain_id": 5, "block": 0, "deployer": "0x", "contracts": {"GPUToken": "0x1"}}))
    with pytest.raises(ValueError, match="lacks ResourceRegistry, Marketplace, ReputationSystem"):
        load_manifest(5, home=tmp_path)


def test_state_home_from_env(tmp_path, monkeypatch):
    from gpurent.settings import state_home

    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "state"))
    assert state_home() == tmp_path / "state" and (tmp_path / "state").is_dir()
