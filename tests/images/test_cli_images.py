"""`gpurent ipfs`, `gpurent images` and `gpurent engine` as a user types them: a real Kubo node
under the state folder, a real podman engine; mistakes end in one line and exit code 1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gpurent.cli.root import make_root
from gpurent.local import ipfs as node_mod

TEST_ACCOUNT_5 = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"


@pytest.fixture
def gpurent(tmp_path, monkeypatch, engine_host):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_HOST", engine_host)
    for name in ("GPURENT_IPFS_API", "GPURENT_MAX_IMAGE_SIZE", "GPURENT_NETWORK"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner(mix_stderr=False)
    root = make_root()

    def run(*args: str, code: int = 0):
        result = runner.invoke(root, list(args))
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
        assert "Traceback" not in result.stderr + result.stdout
        if code == 0 and "--json" in args:
            return json.loads(result.stdout)
        return result

    yield run
    node_mod.stop()


def one_line(result, text: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], result.stderr


def test_node_lifecycle_push_pull_and_errors(gpurent, image_factory, engine, monkeypatch):
    assert gpurent("--json", "ipfs", "status") == {"running": False}
    one_line(gpurent("images", "ls", code=1), "no IPFS node is running: start one with `gpurent ipfs up`")

    up = gpurent("--json", "ipfs", "up", "--api-port", "0", "--gateway-port", "0", "--swarm-port", "0")
    assert up["running"] and up["api"].startswith("http://127.0.0.1:") and up["version"] == "0.42.0"
    assert gpurent("--json", "ipfs", "status")["pid"] == up["pid"]
    assert gpurent("--json", "ipfs", "up")["pid"] == up["pid"]  # already up: the same node

    path, info = image_factory("gpurent-test/cli:1")
    pushed = gpurent("--json", "--account", "5", "images", "push", str(path))
    cid = pushed["cid"]
    assert (pushed["name"], pushed["tag"], pushed["uploader"]) == ("gpurent-test/cli", "1", TEST_ACCOUNT_5)
    plain = gpurent("images", "push", str(path))  # without --json: the CID alone on stdout
    assert plain.stdout.strip().startswith("bafy") and "pushed gpurent-test/cli:1" in plain.stderr

    assert [i["cid"] for i in gpurent("--json", "images", "ls")].count(cid) == 1
    details = gpurent("--json", "images", "inspect", cid)
    assert details["pinned"] and details["image_id"] == info.image_id
    pulled = gpurent("--json", "images", "pull", cid)
    assert pulled["image_id"] == info.image_id and engine.images.get(info.image_id)

    one_line(gpurent("images", "pull", "not-a-cid", code=1), "'not-a-cid' is not a CID")
    one_line(gpurent("images", "inspect", "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn", code=1),
             "is not an image pushed by gpurent")
    one_line(gpurent("images", "push", "no-such/image:1", code=1), "no image 'no-such/image:1'")
    monkeypatch.setenv("GPURENT_MAX_IMAGE_SIZE", "1KB")
    one_line(gpurent("images", "push", str(path), code=1), "over the 1000 B limit")
    monkeypatch.delenv("GPURENT_MAX_IMAGE_SIZE")

    # a restart keeps the repo, and so the pins
    assert gpurent("--json", "ipfs", "down") == {"running": False}
    assert gpurent("--json", "ipfs", "status") == {"running": False}
    gpurent("ipfs", "up", "--api-port", "0", "--gateway-port", "0", "--swarm-port", "0")
    assert cid in [i["cid"] for i in gpurent("--json", "images", "ls")]

    gpurent("images", "rm", cid)
    assert cid not in [i["cid"] for i in gpurent("--json", "images", "ls")]
    one_line(gpurent("images", "rm", cid, code=1), "is not pinned on this node")


def test_another_kubo_endpoint_by_configuration(gpurent, kubo, image_factory, monkeypatch, tmp_path):
    path, _ = image_factory()
    monkeypatch.setenv("GPURENT_IPFS_API", kubo.api_url)
    cid = gpurent("--json", "images", "push", str(path))["cid"]
    assert kubo.client().is_pinned(cid)
    monkeypatch.delenv("GPURENT_IPFS_API")
    home = tmp_path / "home"
    (home / "config.toml").write_text(f'[ipfs]\napi = "{kubo.api_url}"\nmax_image_size = "1KB"\n')
    one_line(gpurent("images", "push", str(path), code=1), "over the 1000 B limit")
    assert cid in [i["cid"] for i in gpurent("--json", "images", "ls")]


def test_push_an_engine_image_through_gpurents_own_podman_service(gpurent, kubo, image_factory, engine,
                                                                   monkeypatch):
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.setenv("GPURENT_IPFS_API", kubo.api_url)
    up = gpurent("--json", "engine", "up")
    try:
        assert up["running"] and up["managed"] and up["engine"] == "Podman Engine"
        path, info = image_factory("gpurent-test/engine:2")
        with path.open("rb") as handle:
            engine.images.load(handle)  # podman's storage is shared by both services
        pushed = gpurent("--json", "images", "push", "gpurent-test/engine:2")
        assert (pushed["name"], pushed["tag"], pushed["image_id"]) == ("gpurent-test/engine", "2", info.image_id)
    finally:
        assert gpurent("--json", "engine", "down") == {"running": False}
    status = gpurent("--json", "engine", "status")
    assert status["running"] is False or status["managed"] is False
