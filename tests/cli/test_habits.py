"""Habits people bring from gh and kubectl, on a real Anvil (and a real Kubo node): global
options after the subcommand, stdout that is data only, id prefixes, amounts rounded for people,
a status readable when piped, Ctrl-C that says what it kept, errors that tell a newcomer what to do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpurent.cli.root import make_root
from gpurent.types import DisputeOutcome, JobStatus, PenaltyReason
from tests.cli.test_cli import CID, PROVIDER, RENTER, assert_one_line_error, cli, listed_gpu  # noqa: F401

BIN = Path(sys.executable).parent
BOX = set("│┃┏┓┗┛━─┡┩╇┳┻┼┬┴└┘┌┐╭╮╰╯")


def gpurent(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """The console script as a user runs it (its own process: its stdout is a real file descriptor)."""
    return subprocess.run([str(BIN / "gpurent"), *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def shell_env(cli, chain, tmp_path) -> dict[str, str]:
    """The environment of a shell on the session's chain (the cli fixture wrote the manifest)."""
    env = dict(os.environ, GPURENT_HOME=str(tmp_path), GPURENT_NETWORK=chain.provider.http_uri)
    env.pop("GPURENT_ACCOUNT", None)
    return env


# ------------------------------------------------------------------ global options anywhere

def test_global_options_work_after_the_subcommand(cli, listed_gpu):
    rows = cli("gpus", "list", "--json")  # parsed as JSON by the fixture: --json took effect
    assert [r["id"] for r in rows] == [listed_gpu]
    assert cli("gpus", "show", listed_gpu, "--json")["id"] == listed_gpu
    assert cli("gpus", "--json", "show", listed_gpu)["id"] == listed_gpu  # at a group's level too
    job = cli("jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "1", "--yes", "--account", RENTER,
              "--json")
    assert job["status"] == "Created"
    listed = cli("jobs", "list", "--account", RENTER, "--json")
    assert [j["id"] for j in listed] == [job["id"]]
    # the last one given wins, as with any option
    assert cli("--account", PROVIDER, "jobs", "list", "--account", RENTER, "--json") == listed
    # a command's own option of the same name keeps it: `images push --network` is the image's flag
    helped = cli("images", "push", "-h")
    assert "The job needs network access" in helped.stdout and "--json" in helped.stdout


# ------------------------------------------------------------------ stdout is data only

def test_a_revert_trace_never_reaches_stdout(shell_env):
    for args in (("--json", "gpus", "show", "0x" + "11" * 32), ("gpus", "show", "0x" + "11" * 32, "--json")):
        done = gpurent(shell_env, *args)
        assert done.returncode == 1, done
        assert done.stdout == "", done.stdout  # Ape's call trace of the revert went to stderr, if anywhere
        assert "Error (UnknownResource): GPU 0x11111111… does not exist" in done.stderr
    listed = gpurent(shell_env, "gpus", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # data still reaches stdout


# ------------------------------------------------------------------ wallet balance: whose?

def test_wallet_balance_without_an_account_asks_whose(cli, cast):
    result = cli("wallet", "balance", code=2)
    assert_one_line_error(result, "give an ADDRESS")
    assert "sign" not in result.stderr  # it signs nothing
    shown = cli("wallet", "balance", cast.renter.address)
    assert "eth " in shown.stdout and "eth_wei" not in shown.stdout  # ETH for a person
    assert "10,000" in shown.stdout and "10000000000000000000000" not in shown.stdout
    exact = cli("wallet", "balance", cast.renter.address, "--json")
    assert exact["eth_wei"] > 10**18 and exact["gpu"] == "10000"  # exact for machines


# ------------------------------------------------------------------ id prefixes

def test_unique_id_prefixes_are_accepted(cli, listed_gpu, cast):
    shown = cli("--json", "gpus", "show", listed_gpu[:10])
    assert shown["id"] == listed_gpu
    assert cli("--json", "gpus", "show", f"{listed_gpu[:8]}…{listed_gpu[-4:]}")["id"] == listed_gpu
    assert cli("--json", "gpus", "show", f"{listed_gpu[:8]}...{listed_gpu[-4:]}")["id"] == listed_gpu
    first = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu[:10], "--image", CID,
                "--hours", "1", "--yes")
    second = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
                 "--hours", "1", "--yes")
    assert first["gpu"] == listed_gpu
    # a renter's job ids share their head (the renter's address): the README's 0x9965…0001 form
    head = first["id"][:10]
    assert second["id"].startswith(head)
    assert cli("--json", "jobs", "show", f"{head}…{first['id'][-6:]}")["id"] == first["id"]
    assert cli("--json", "--account", RENTER, "jobs", "cancel", f"{head}…{second['id'][-6:]}")["status"] == "Cancelled"
    ambiguous = cli("jobs", "show", head, code=1)
    assert_one_line_error(ambiguous, f"'{head}' matches 2 jobs: give more digits")
    unknown = cli("jobs", "show", "0xabcdef12", code=1)
    assert_one_line_error(unknown, "no job matches '0xabcdef12'")
    info = cli("--json", "provider", "info", cast.provider.address[:8])
    assert info["provider"]["address"].lower() == cast.provider.address.lower()


# ------------------------------------------------------------------ amounts for people

def test_amounts_are_rounded_for_people_and_exact_in_json(cli, listed_gpu):
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "0.0041666", "--yes")  # 14 s at 10 GPU/h
    assert job["max_cost"] == "0.038888888888888888" and job["hours"].startswith("0.0038888888")
    shown = cli("jobs", "show", job["id"]).stdout
    assert "0.03889" in shown and "0.003889" in shown
    assert "0.0388888" not in shown and "0.0038888" not in shown
    created = cli("--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "0.0041666",
                  "--yes")
    assert "0.03889 GPU locked" in created.stderr and "0.038888" not in created.stderr


# ------------------------------------------------------------------ status when piped

def test_status_is_readable_piped_and_at_80_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "a-rather-long-state-folder-name-that-a-user-might-have-made"))
    result = CliRunner(mix_stderr=False).invoke(make_root(), ["status"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not BOX & set(result.stdout)  # piped: no box drawing
    assert all(len(line) <= 80 for line in lines), lines
    assert "…" not in result.stdout  # nothing cut short
    for service in ("chain", "ipfs", "engine", "indexer", "oracle", "provider"):
        assert any(line.startswith(f"{service} ") and "down" in line for line in lines), (service, lines)
    assert any("log provider/provider.log" in line for line in lines)
    assert "chain head    unknown" in result.stdout


# ------------------------------------------------------------------ a newcomer's first error

def test_not_deployed_tells_a_newcomer_to_run_up(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))  # a state folder that knows no deployment
    result = CliRunner(mix_stderr=False).invoke(make_root(), ["--network", chain.provider.http_uri, "jobs", "show",
                                                              "0x" + "11" * 32])
    assert result.exit_code == 1
    assert_one_line_error(result, "Error (NotDeployedError): no gpurent deployment on chain")
    assert "run `gpurent up`" in result.stderr


def test_the_sdk_enums_print_as_names():
    assert str(JobStatus.RUNNING) == "Running" and f"{JobStatus.RUNNING}" == "Running"
    assert f"{DisputeOutcome.PROVIDER_FAULT}" == "ProviderFault" and str(PenaltyReason.DATA_FRAUD) == "DataFraud"
    assert f"{JobStatus.RUNNING:d}" == "3" and int(JobStatus.RUNNING) == 3  # the number when asked for
    assert f"[{JobStatus.RUNNING:<9}]" == "[Running  ]"  # a width pads the name
    assert json.dumps({"status": JobStatus.RUNNING}) == '{"status": 3}'  # what the wire carries is unchanged
    assert JobStatus.RUNNING.label == "Running" and DisputeOutcome.USER_FAULT.label == "UserFault"


# ------------------------------------------------------------------ Ctrl-C during a push

def sparse_archive(path: Path, size: int) -> Path:
    """A docker-archive tar whose one layer is ``size`` zero bytes, written sparse (no disk used)."""
    manifest = json.dumps([{"Config": "sha256:" + "ab" * 32 + ".json", "RepoTags": ["gpurent-test/big:1"],
                            "Layers": ["layer.tar"]}]).encode()
    with path.open("wb") as out:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        out.write(info.tobuf(format=tarfile.USTAR_FORMAT) + manifest + b"\0" * (-len(manifest) % 512))
        info = tarfile.TarInfo("layer.tar")
        info.size = size
        out.write(info.tobuf(format=tarfile.USTAR_FORMAT))
        out.seek(size, os.SEEK_CUR)  # a hole: reads as zeros
        out.write(b"\0" * 1024)
    return path


def test_ctrl_c_during_a_push_says_it_stopped_and_what_was_kept(kubo, tmp_path):
    archive = sparse_archive(tmp_path / "big.tar", 6 << 30)
    pins = kubo.client().pins()
    env = dict(os.environ, GPURENT_HOME=str(tmp_path / "home"), GPURENT_IPFS_API=kubo.api_url)
    push = subprocess.Popen([str(BIN / "gpurent"), "images", "push", str(archive)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(6)  # started and uploading (6 GiB takes far longer)
    assert push.poll() is None, push.communicate()
    push.send_signal(signal.SIGINT)
    out, err = push.communicate(timeout=120)
    assert push.returncode == 130, (out, err)
    assert out == ""  # no CID
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"stopped: the push of {archive} was interrupted after ")
    assert "nothing was pinned and no CID was made" in lines[0]
    assert kubo.client().pins() == pins  # true: the node pinned nothing


# ------------------------------------------------------------------ the provider's agent: status and Ctrl-C

def test_provider_status_lists_its_gpus_and_ctrl_c_marks_them_unavailable(suite, cast, chain, gp, kubo, engine_host,
                                                                         tmp_path):
    from tests.agent.test_agent_process import PROVIDER_INDEX, agent_home

    home, port, env = agent_home(suite, cast, chain, kubo, engine_host, tmp_path)
    log = home / "agent.out"
    with log.open("ab") as out:
        agent = subprocess.Popen([str(BIN / "gpurent-provider"), "--account", PROVIDER_INDEX, "run"], env=env,
                                 stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not (resources := gp.provider_resources(cast.provider.address)) or not resources[0].available:
            assert agent.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        gpu = resources[0].resource_id
        status = subprocess.run([str(BIN / "gpurent-provider"), "status"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert status.returncode == 0, status.stderr
        assert "Serving 1 GPU" in status.stdout and gpu in status.stdout and "RTX4090" in status.stdout
        served = json.loads(subprocess.run([str(BIN / "gpurent-provider"), "status", "--json"], env=env,
                                           capture_output=True, text=True, timeout=60).stdout)["served"]
        assert served == [{"gpu": gpu, "model": "RTX4090", "vcpu": 1, "memory_gb": 1, "price_per_hour": "36",
                           "accepting": True}]
        agent.send_signal(signal.SIGINT)  # Ctrl-C
        assert agent.wait(timeout=90) == 0, log.read_text()
    finally:
        if agent.poll() is None:
            agent.kill()
    text = log.read_text()
    assert "marking 1 GPU unavailable…" in text and "marking 1 GPU unavailable… done" in text, text
    assert "Traceback" not in text, text
    assert gp.resource(gpu).available is False


# ------------------------------------------------------------------ up remembers its ports

def test_a_plain_up_comes_back_on_the_ports_of_the_first(tmp_path):
    from gpurent.local.ipfs import kubo_binary
    from gpurent.local.process import free_port

    root = Path(__file__).resolve().parents[2]
    chain_port, api, gateway, swarm = (free_port() for _ in range(4))
    # no podman on PATH: each `up` starts the chain and the IPFS node, then stops at the engine
    # (and stops again what it started), which is all this needs
    env = dict(os.environ, GPURENT_HOME=str(tmp_path / "state"), GPURENT_IPFS_BIN=kubo_binary(),
               PATH=f"{root / 'node_modules' / '.bin'}:{BIN}")
    for key in ("GPURENT_NETWORK", "GPURENT_IPFS_API", "DOCKER_HOST"):
        env.pop(key, None)
    first = gpurent(env, "up", "--chain-port", str(chain_port), "--ipfs-ports", f"{api},{gateway},{swarm}",
                    "--indexer-port", "0", "--oracle-port", "0", "--agent-port", "0", timeout=300)
    assert first.returncode == 1 and "podman not found" in first.stderr, first
    assert f"anvil at http://127.0.0.1:{chain_port}" in first.stderr
    assert f"Kubo API at http://127.0.0.1:{api}" in first.stderr
    again = gpurent(env, "up", timeout=300)  # plain: the first up's ports, not 8545 and 5101
    assert again.returncode == 1 and "podman not found" in again.stderr, again
    assert f"anvil at http://127.0.0.1:{chain_port}" in again.stderr, again.stderr
    assert f"Kubo API at http://127.0.0.1:{api}" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr
    saved = json.loads((tmp_path / "state" / "ports.json").read_text())
    assert saved["chain_port"] == chain_port and saved["ipfs_ports"] == [api, gateway, swarm]


def test_a_port_clash_names_the_option_that_exists(tmp_path):
    import socket

    env = dict(os.environ, GPURENT_HOME=str(tmp_path / "state"))
    env.pop("GPURENT_NETWORK", None)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        done = gpurent(env, "up", "--chain-port", str(port))
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error (PortTaken): port {port} is taken by another process "
                                                   "(wanted for the chain)"), done.stderr
    assert "`gpurent up --chain-port N`" in lines[0]  # `up` has no --port: the line names what `up` takes
