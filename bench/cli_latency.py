"""Wall time of gpurent's reading commands, as a user runs them: the console script in a fresh
process, against a local chain.

Run as ``.venv/bin/python bench/cli_latency.py`` from the project root (``make bench-cli`` puts
anvil on PATH). It starts its own devnet (``gpurent devnet up`` on a free port, a temporary state
folder, no IPFS node, no indexer), lists two GPUs and creates a job through the CLI, then runs each
command ``--runs`` times both ways in the same run: the new path (reads over plain JSON-RPC,
Ape never imported) and the baseline, the Ape-backed SDK that every command used before
(``GPURENT_READS=ape``). Both must print the same. Medians are reported; the last line printed is
one JSON object: ``{"gpus_list_s": …, "gpus_list_ape_s": …, "jobs_show_s": …, …, "help_s": …}``, wall
seconds, with the CPU seconds the command itself used beside each (``…_cpu_s``: steadier than wall
time on a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RENTER, PROVIDER = "5", "3"  # test-account indexes
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cli:
    """Runs the ``gpurent`` console script with its own state folder (this checkout's code)."""

    def __init__(self, home: Path):
        self.env = dict(os.environ, GPURENT_HOME=str(home), PYTHONPATH=str(ROOT / "src"))
        self.env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}:{BIN}:{self.env['PATH']}"
        for name in ("GPURENT_NETWORK", "GPURENT_ACCOUNT", "GPURENT_READS"):
            self.env.pop(name, None)
        script = BIN / "gpurent"
        self.argv = [str(script)] if script.exists() else [sys.executable, "-c", "from gpurent.cli import main; main()"]

    def run(self, *args: str, reads: str = "rpc", check: bool = True) -> tuple[float, float, str]:
        """(wall seconds, CPU seconds, stdout) of ``gpurent ARGS``. The CPU time (user + system,
        the command and its children) says what the wall time would be on an idle machine."""
        cpu = _children_cpu()
        began = time.perf_counter()
        done = subprocess.run([*self.argv, *args], env={**self.env, "GPURENT_READS": reads}, capture_output=True,
                              text=True, timeout=300)
        took = time.perf_counter() - began
        if check and done.returncode != 0:
            raise SystemExit(f"gpurent {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return took, _children_cpu() - cpu, done.stdout

    def json(self, *args: str) -> dict[str, str]:
        return dict(json.loads(self.run("--json", *args)[2]))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command each way")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="gpurent-bench-cli-"))
    cli = Cli(home)
    try:
        cli.run("--json", "devnet", "up", "--port", str(free_port()), "--instant", "--no-ipfs", "--no-indexer")
        cli.run("--account", PROVIDER, "provider", "register", "--endpoint", "http://127.0.0.1:8765")
        gpu = cli.json("--account", PROVIDER, "provider", "add-gpu", "--model", "RTX4090", "--vcpu", "16",
                       "--memory", "64", "--storage", "500", "--price", "10")["id"]
        cli.run("--account", PROVIDER, "provider", "add-gpu", "--model", "A100", "--vcpu", "32", "--memory", "256",
                "--price", "4.5")
        job = cli.json("--account", RENTER, "jobs", "create", "--gpu", gpu, "--image", CID, "--hours", "1",
                       "--yes")["id"]
        renter = cli.json("--account", RENTER, "wallet", "balance")["address"]
        commands = {
            "help": ("--help",),
            "gpus_list": ("gpus", "list"),
            "gpus_show": ("gpus", "show", gpu),
            "jobs_show": ("jobs", "show", job),
            "jobs_list": ("jobs", "list", "--user", renter),
            "wallet_balance": ("wallet", "balance", renter),
            "status": ("status",),  # the stack's health: no SDK, no Ape either way
        }
        figures: dict[str, float] = {}
        print(f"wall s (CPU s), median of {args.runs}")
        print(f"{'command':<38} {'JSON-RPC':>13}   {'Ape':>13}")
        for key, argv in commands.items():
            ways = ("rpc",) if key in ("help", "status") else ("rpc", "ape")
            times: dict[str, list[float]] = {way: [] for way in ways}
            cpus: dict[str, list[float]] = {way: [] for way in ways}
            said: dict[str, set[str]] = {way: set() for way in ways}
            for _ in range(args.runs):
                for way in ways:  # interleaved, so load on the machine falls on both alike
                    took, cpu, out = cli.run(*argv, reads=way)
                    times[way].append(took)
                    cpus[way].append(cpu)
                    said[way].add(out)
            if len(ways) == 2 and said["rpc"] != said["ape"]:
                raise SystemExit(f"gpurent {' '.join(argv)}: the two paths printed different things")
            for way, suffix in (("rpc", ""), ("ape", "_ape")):
                if way in ways:
                    figures[f"{key}{suffix}_s"] = round(statistics.median(times[way]), 3)
                    figures[f"{key}{suffix}_cpu_s"] = round(statistics.median(cpus[way]), 3)
            label = "gpurent " + " ".join(a if len(a) < 20 else a[:10] + "…" for a in argv)
            print(f"{label:<38} " + "   ".join(
                f"{figures[f'{key}{suffix}_s']:>6.2f} ({figures[f'{key}{suffix}_cpu_s']:.2f})"
                if f"{key}{suffix}_s" in figures else f"{'–':>13}" for suffix in ("", "_ape")))
        print(json.dumps(figures))
        return 0
    finally:
        cli.run("devnet", "down", "--reset", check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
