"""Reading commands start fast: `gpurent --help` and the read-only commands never import Ape
(they read over plain JSON-RPC), and say exactly what the Ape-backed path says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gpurent.cli.root import make_root
from gpurent.manifest import save_manifest
from tests.services import session_manifest

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
# runs `gpurent ARGS` and says on its last stderr line whether Ape was imported by the end
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: sys.stderr.write('\\nape imported: %s\\n' % ('ape' in sys.modules)))\n"
         "from gpurent.cli import main\n"
         "sys.argv[0] = 'gpurent'\n"
         "main()\n")


@pytest.fixture
def state(suite, cast, chain, tmp_path, monkeypatch):
    """A state folder with the session's deployment; GPURENT_HOME points at it."""
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    monkeypatch.delenv("GPURENT_READS", raising=False)
    save_manifest(session_manifest(suite, cast, chain))
    return tmp_path


@pytest.fixture
def listed(gp, as_provider, as_renter, cast, chain):
    """Two GPUs, a completed job and an open one (ids: gpu, job, open)."""
    as_provider.register_provider("http://127.0.0.1:8765", stake=100)
    gpu = as_provider.register_resource("RTX4090", 16, 64, 500, "10").value
    as_provider.register_resource("A100", 32, 256, 1000, "4.5")
    job = as_renter.create_job(gpu.resource_id, CID, 3600).value
    as_provider.accept_job(job.job_id)
    as_provider.start_job(job.job_id)
    chain.pending_timestamp = chain.pending_timestamp + 900
    as_provider.complete_job(job.job_id)
    open_job = as_renter.create_job(gpu.resource_id, CID, 1800).value
    return {"gpu": gpu.resource_id, "job": job.job_id, "open": open_job.job_id,
            "renter": cast.renter.address, "provider": cast.provider.address}


def gpurent_subprocess(state, url: str, *args: str) -> tuple[subprocess.CompletedProcess, bool]:
    env = dict(os.environ, GPURENT_HOME=str(state), GPURENT_NETWORK=url)
    env.pop("GPURENT_READS", None)
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=120)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ape imported: "), done.stderr
    return done, last == "ape imported: True"


def test_help_and_gpus_list_never_import_ape(state, listed, chain):
    url = chain.provider.http_uri
    done, ape = gpurent_subprocess(state, url, "--help")
    assert done.returncode == 0 and "gpus" in done.stdout and not ape
    done, ape = gpurent_subprocess(state, url, "--json", "gpus", "list")
    assert done.returncode == 0, done.stderr
    assert [g["model"] for g in json.loads(done.stdout)] == ["A100", "RTX4090"]
    assert not ape, "gpurent gpus list imported Ape"
    for args in (("jobs", "show", listed["job"]), ("wallet", "balance", listed["renter"])):
        done, ape = gpurent_subprocess(state, url, "--json", *args)
        assert done.returncode == 0 and not ape, (args, done.stderr)
    # a bad id is still one line, and still without Ape
    done, ape = gpurent_subprocess(state, url, "jobs", "show", "0x" + "ab" * 32)
    assert (done.returncode, ape) == (1, False)
    assert done.stderr.strip().splitlines()[0] == "Error (UnknownJob): job 0xabababab… does not exist"


def test_both_paths_print_the_same(state, listed, chain, monkeypatch):
    root, runner = make_root(), CliRunner(mix_stderr=False)
    commands = [("gpus", "list"), ("gpus", "list", "--all", "--sort", "reputation"), ("gpus", "show", listed["gpu"]),
                ("jobs", "show", listed["job"]), ("jobs", "show", listed["open"]), ("jobs", "list", "--user", listed["renter"]),
                ("jobs", "list", "--provider", listed["provider"], "--status", "completed"),
                ("wallet", "balance", listed["renter"]), ("provider", "info", listed["provider"]),
                ("jobs", "show", "0x" + "cd" * 32), ("gpus", "show", "0x12")]
    for args in commands:
        for as_json in ((), ("--json",)):
            said = {}
            for reads in ("ape", "rpc"):
                monkeypatch.setenv("GPURENT_READS", reads)
                if reads == "rpc":  # the URL makes the read-only path; Ape reuses its connected provider
                    monkeypatch.setenv("GPURENT_NETWORK", chain.provider.http_uri)
                result = runner.invoke(root, [*as_json, *args])
                # a job's `next` says how long ago or until (by the chain's clock, which moves
                # between the two invocations): "(45 s ago)", "(in 52 min)" compared as one
                stdout = re.sub(r"\((?:in [^()]*|[^()]* ago|now)\)", "(…)", result.stdout)
                said[reads] = (result.exit_code, stdout, result.stderr.strip().splitlines()[-1:])
                monkeypatch.delenv("GPURENT_NETWORK", raising=False)
            assert said["rpc"] == said["ape"], args
            assert said["rpc"][0] == (0 if args[-1] not in ("0x12",) and "cd" * 32 not in args[-1] else 1), said
