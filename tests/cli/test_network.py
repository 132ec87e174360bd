"""`gpurent network` against the session's Anvil: a deployment read from a file, a URL, an IPFS
CID or the Marketplace on chain, checked against the chain; refusals in one line; a named
network used by other commands; the oracle's heartbeat slot learned by `gpurent-provider init`
and by the agent at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpurent.agent.cli import main as provider_main
from gpurent.agent.config import AgentConfig, ResourceSpec, load_config, render, with_oracle_slot
from gpurent.cli.root import make_root
from gpurent.demo import FOREIGN_ENV
from gpurent.images.kubo import UploadPart
from gpurent.local.process import free_port
from gpurent.manifest import Manifest
from tests.cli.test_cli_speed import PROBE
from tests.oracle.conftest import INTERVAL, PERIOD, start_oracle  # noqa: F401 - the fixture, used below
from tests.services import session_manifest

PEER = "/ip4/10.9.8.7/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_folder(folder: Path, host: str = "127.0.0.1") -> tuple[str, ThreadingHTTPServer]:
    """Serves ``folder`` over HTTP on ``host`` (a free port) on a thread; stop with ``.shutdown()``."""
    httpd = ThreadingHTTPServer((host, 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://{host}:{httpd.server_address[1]}", httpd


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh state folder: no deployments/, no networks (a newcomer's machine)."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("GPURENT_HOME", str(path))
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    return path


@pytest.fixture
def run(home):
    runner = CliRunner(mix_stderr=False)
    root = make_root()

    def invoke(*args: str, code: int = 0, command=None):
        result = runner.invoke(command or root, list(args))
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
        if code:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr
        if code == 0 and "--json" in args:
            return json.loads(result.stdout)
        return result

    return invoke


@pytest.fixture
def deployed(suite, cast, chain) -> Manifest:
    return session_manifest(suite, cast, chain)


@pytest.fixture
def manifest_file(tmp_path, deployed) -> Path:
    path = tmp_path / "published" / "deployment.json"
    path.parent.mkdir()
    path.write_text(deployed.to_json())
    return path


@pytest.fixture
def rpc(chain) -> str:
    return str(chain.provider.http_uri)


def test_add_from_a_file_then_list_show_use_remove(run, rpc, manifest_file, deployed, home):
    added = run("--json", "network", "add", "lab", "--rpc", rpc, "--deployment", str(manifest_file),
                "--ipfs-peer", PEER, "--oracle", "http://10.9.8.7:7300")
    assert added["contracts"] == deployed.contracts and added["chain_id"] == deployed.chain_id
    assert added["ipfs_peers"] == [PEER] and added["oracle_urls"] == ["http://10.9.8.7:7300"]
    assert added["current"]  # the first network added is the one in use
    run("network", "add", "other", "--rpc", rpc, "--deployment", str(manifest_file))
    rows = run("--json", "network", "list")
    assert [(r["name"], r["current"]) for r in rows] == [("lab", True), ("other", False)]
    run("network", "use", "other")
    assert run("--json", "network", "show")["name"] == "other"
    assert run("--json", "network", "show", "lab")["ipfs_peers"] == [PEER]
    run("network", "add", "lab", "--rpc", rpc, "--deployment", str(manifest_file), code=2)  # exists: --force
    run("network", "remove", "other")
    assert [r["name"] for r in run("--json", "network", "list")] == ["lab"]
    assert "no network named 'other'" in run("network", "show", "other", code=1).stderr
    assert not (home / "deployments").exists()  # nothing copied by hand, nothing copied at all


def test_a_named_network_selects_its_rpc_and_deployment(run, rpc, manifest_file, gpu):
    """On main `--network lab` goes to Ape as a network choice and fails; with no network given,
    the one in use is taken (no deployments/ file in the state folder)."""
    run("network", "add", "lab", "--rpc", rpc, "--deployment", str(manifest_file))
    assert [r["id"] for r in run("--json", "--network", "lab", "gpus", "list")] == [gpu.resource_id]
    assert [r["id"] for r in run("--json", "gpus", "list")] == [gpu.resource_id]


def test_add_reads_the_deployment_from_the_marketplace_on_chain(run, rpc, deployed, suite, cast):
    added = run("--json", "network", "add", "lab", "--rpc", rpc, "--deployment", str(suite.marketplace.address))
    assert added["contracts"] == deployed.contracts  # the timelock found through the admin grants
    shown = run("--json", "network", "show", "lab")
    assert shown["block"] >= 0 and shown["marketplace"] == str(suite.marketplace.address)


def test_add_from_the_chain_speaks_plain_json_rpc_without_ape(home, rpc, deployed, suite):
    """`network add` reads the deployment over the SDK's bounded JSON-RPC client: Ape is never
    imported (a join takes a second, not Ape's start-up)."""
    done = subprocess.run([sys.executable, "-c", PROBE, "--json", "network", "add", "lab", "--rpc", rpc,
                           "--deployment", str(suite.marketplace.address)], env=dict(os.environ, GPURENT_HOME=str(home)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["contracts"] == deployed.contracts
    assert done.stderr.strip().splitlines()[-1] == "ape imported: False", done.stderr


def test_add_from_a_url_and_from_an_ipfs_cid(run, rpc, manifest_file, deployed, kubo):
    url, httpd = serve_folder(manifest_file.parent)
    try:
        document = {"deployment": json.loads(deployed.to_json()), "ipfs_peers": [PEER],
                    "oracle_urls": ["http://10.9.8.7:7300"]}
        (manifest_file.parent / "network.json").write_text(json.dumps(document))
        added = run("--json", "network", "add", "web", "--rpc", rpc, "--deployment", f"{url}/network.json")
        assert added["ipfs_peers"] == [PEER] and added["oracle_urls"] == ["http://10.9.8.7:7300"]
        run("network", "add", "gone", "--rpc", rpc, "--deployment", f"{url}/missing.json", code=1)
    finally:
        httpd.shutdown()
    cid = kubo.client().add([UploadPart("deployment.json", [manifest_file.read_bytes()])], wrap=False)[-1].cid
    added = run("--json", "network", "add", "ipfs", "--rpc", rpc, "--deployment", cid, "--ipfs-api", kubo.api_url)
    assert added["contracts"] == deployed.contracts and added["source"] == cid


@pytest.mark.parametrize("change, text", [
    (lambda m: m | {"chain_id": 5}, "the deployment is for chain 5, but"),
    (lambda m: m | {"contracts": m["contracts"] | {"GPUToken": "0x" + "ab" * 20}}, "no contract at GPUToken 0xabab"),
    (lambda m: m | {"extra": 1}, "unknown field(s) 'extra'"),
    (lambda m: {"deployment": m, "ipfs_peers": ["/ip4/1.2.3.4/tcp/1;rm -rf"]}, "is not a peer multiaddr"),
    (lambda m: {"deployment": m, "oracle_urls": ["javascript:alert(1)"]}, "is not an oracle URL"),
    (lambda m: [m], "not a JSON object"),
    # a tampered document: every address a real contract of this deployment, but not in its place
    (lambda m: m | {"contracts": {n: m["contracts"]["GPUToken"] for n in m["contracts"]}},
     "names one address for two contracts"),
    (lambda m: m | {"contracts": m["contracts"] | {"Marketplace": m["contracts"]["ReputationSystem"],
                                                   "ReputationSystem": m["contracts"]["Marketplace"]}},
     "does not answer token()"),
    (lambda m: m | {"contracts": m["contracts"] | {"ReputationSystem": m["contracts"]["GpurentTimelock"],
                                                   "GpurentTimelock": m["contracts"]["ReputationSystem"]}},
     "ResourceRegistry.links() is"),
])
def test_add_refuses_what_does_not_match_the_chain_or_its_shape(run, rpc, manifest_file, change, text):
    manifest_file.write_text(json.dumps(change(json.loads(manifest_file.read_text()))))
    result = run("network", "add", "bad", "--rpc", rpc, "--deployment", str(manifest_file), code=1)
    assert text in result.stderr, result.stderr
    assert run("--json", "network", "list") == []  # nothing recorded


def test_add_refuses_bad_sources_names_and_nodes(run, rpc, manifest_file, suite, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (2 << 20))
    cases = [
        (("Bad Name", "--rpc", rpc, "--deployment", str(manifest_file)), "is not a network name"),
        (("x", "--rpc", rpc, "--deployment", str(big)), "over 1,048,576 bytes"),
        (("x", "--rpc", rpc, "--deployment", "no/such/file"), "is not a file, an http(s) URL, an IPFS CID"),
        (("x", "--rpc", f"http://127.0.0.1:{free_port()}", "--deployment", str(manifest_file)),
         "no JSON-RPC node answers"),
        (("x", "--rpc", "file:///etc/passwd", "--deployment", str(manifest_file)), "--rpc must be an http(s) URL"),
        (("x", "--rpc", rpc, "--deployment", str(suite.token.address)), "does not answer token()"),
        (("x", "--rpc", rpc, "--deployment", "0x" + "12" * 20), "no contract at"),
        (("x", "--rpc", rpc, "--deployment", str(manifest_file), "--ipfs-peer", "nonsense"), "not a peer multiaddr"),
    ]
    for args, text in cases:
        assert text in run("network", "add", *args, code=1).stderr, (args, text)
    assert run("--json", "network", "list") == []
    assert "no network named 'nope'" in run("network", "use", "nope", code=1).stderr


def test_provider_init_writes_the_slot_the_running_oracle_expects(run, home, start_oracle):  # noqa: F811
    """The default that hurt: init wrote 60 s while the stack's oracle expected 10 (here 1)."""
    oracle = start_oracle()
    (home / "oracle.toml").write_text((oracle.home / "oracle.toml").read_text())  # the stack's own oracle
    run("init", command=provider_main)
    config = load_config(home / "provider.toml")
    assert config.heartbeat_interval_s == INTERVAL and config.oracle_urls == (oracle.url,)


def test_provider_init_joins_a_network_only_with_the_oracles_slot(run, home, rpc, manifest_file, start_oracle,  # noqa: F811
                                                                   kubo):
    peer = kubo.swarm_multiaddrs[0]
    dead = f"http://127.0.0.1:{free_port()}"
    run("network", "add", "lab", "--rpc", rpc, "--deployment", str(manifest_file), "--ipfs-peer", peer,
        "--oracle", dead)
    refused = run("init", "--network", "lab", command=provider_main, code=1)
    assert f"no oracle answers at {dead}" in refused.stderr and "provider.toml not written" in refused.stderr
    assert not (home / "provider.toml").exists()

    oracle = start_oracle()
    run("network", "add", "lab", "--force", "--rpc", rpc, "--deployment", str(manifest_file), "--ipfs-peer", peer,
        "--oracle", oracle.url)
    try:
        result = run("init", "--network", "lab", command=provider_main)
        config = load_config(home / "provider.toml")
        assert config.heartbeat_interval_s == INTERVAL and config.oracle_urls == (oracle.url,)
        assert "peered with 1 network node" in result.stdout, result.stdout
        assert (home / "ipfs" / "repo" / "config").exists()  # its own node, in its own state folder
        peering = json.loads((home / "ipfs" / "repo" / "config").read_text())["Peering"]["Peers"]
        assert peering == [{"ID": kubo.peer_id, "Addrs": [peer.rsplit("/p2p/", 1)[0]]}]  # redialled after restarts
    finally:
        run("ipfs", "down")
        run("engine", "down")


def test_the_agent_takes_the_oracles_slot_and_says_so(start_oracle, chain):  # noqa: F811
    oracle = start_oracle()
    config = AgentConfig(oracle_urls=(oracle.url,), heartbeat_interval_s=60)
    adopted, warnings = with_oracle_slot(config, chain.chain_id)
    assert adopted.heartbeat_interval_s == INTERVAL
    assert warnings == [f"the oracle expects a heartbeat every {INTERVAL} s, the provider config says 60 s: "
                        f"sending every {INTERVAL} s (set heartbeat_interval = {INTERVAL} under [oracle])"]
    other, warnings = with_oracle_slot(config, chain.chain_id + 1)
    assert other.heartbeat_interval_s == 60 and "serves chain" in warnings[0]
    dead = f"http://127.0.0.1:{free_port()}"
    kept, warnings = with_oracle_slot(AgentConfig(oracle_urls=(dead,)), chain.chain_id)
    assert kept.heartbeat_interval_s == 60 and warnings == [f"no oracle answers at {dead}"]


def test_the_agent_refuses_an_oracles_slot_for_another_report_period_than_the_chains(start_oracle, chain):  # noqa: F811
    """The agent reads the chain's ReputationSystem.periodLength at start (run_agent): an oracle
    (or a MITM on its plain-http URL) serving another period cannot set the agent's slot."""
    oracle = start_oracle()  # serving PERIOD
    config = AgentConfig(oracle_urls=(oracle.url,), heartbeat_interval_s=60)
    kept, warnings = with_oracle_slot(config, chain.chain_id, period_s=PERIOD * 900)
    assert kept.heartbeat_interval_s == 60 and "the chain's report period" in warnings[0], warnings
    adopted, _ = with_oracle_slot(config, chain.chain_id, period_s=PERIOD)
    assert adopted.heartbeat_interval_s == INTERVAL


def test_provider_init_reads_the_chains_report_period_for_the_oracles_slot(rpc, deployed, start_oracle):  # noqa: F811
    """`gpurent-provider init --network` reads ReputationSystem.periodLength over plain JSON-RPC
    and takes the slot only from an oracle serving that period."""
    from gpurent.agent.prepare import chain_period, learn_slot
    from gpurent.networks import Network

    oracle = start_oracle()
    network = Network("lab", rpc, deployed, "test", oracle_urls=(oracle.url,))
    assert chain_period(network) == PERIOD
    check, slot = learn_slot(network)
    assert check.ready and slot == INTERVAL, check
    lookalike = replace(network, manifest=replace(deployed, contracts=deployed.contracts
                                                  | {"ReputationSystem": deployed.contracts["GPUToken"]}))
    assert chain_period(lookalike) is None  # the token answers no periodLength()


def test_the_agent_says_at_start_that_it_takes_the_oracles_slot(home, rpc, manifest_file, start_oracle, run):  # noqa: F811
    """`gpurent-provider run` with a provider.toml of 60 s and an oracle of 1 s: one warning line
    before anything else (here the agent then stops: no IPFS node is configured)."""

    oracle = start_oracle()
    run("network", "add", "lab", "--rpc", rpc, "--deployment", str(manifest_file))
    (home / "provider.toml").write_text(render(AgentConfig(resources=(ResourceSpec("RTX4090", 1, 1, 1, 1),),
                                                           oracle_urls=(oracle.url,), heartbeat_interval_s=60)))
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV} | {"GPURENT_HOME": str(home)}
    env["GPURENT_IPFS_API"] = f"http://127.0.0.1:{free_port()}"  # nothing there: the agent stops after the check
    result = subprocess.run([str(Path(sys.executable).parent / "gpurent-provider"), "--account", "3", "run"],
                            env=env, capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert lines[0].endswith(f"the oracle expects a heartbeat every {INTERVAL} s, the provider config says 60 s: "
                             f"sending every {INTERVAL} s (set heartbeat_interval = {INTERVAL} under [oracle])"), lines
