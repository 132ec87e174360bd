"""Requests through the agent's ingress to an HTTP server in a job, against the same server
reached directly on the host, in one run.

Run as ``.venv/bin/python bench/ingress.py`` from the project root (``make bench-ingress`` does).
It starts an Anvil chain (through Ape) with the suite deployed, a Kubo node, a podman API
service and the provider's agent in this process; a job serves busybox ``httpd`` on its
declared port 8000 (inside its own network namespace, no network of its own), and the same
busybox ``httpd`` binary serves the same file on a host port. The load comes from a separate
process (``--client``), so it never shares this process's interpreter with the agent:

- latency: ``--requests`` requests one after another, each on a new connection (busybox httpd
  closes after each answer), p50 and p95 in ms: through the ingress (with the renter's access
  token) and direct;
- throughput: ``--clients`` concurrent connections for ``--seconds`` each way, answers per second,
  from ``wrk`` (Debian's package; ``make bench-ingress`` installs it) with two threads, so the
  load takes little of the two cores the agent and busybox need; without ``wrk``, from Python
  threads (which take a core of their own and so understate the ingress). Every answer must be
  a 200 (wrk's count of others must be 0).

The agent relays with the compiled relay when `make setup` built it (``$GPURENT_RELAY``: its path,
or ``python`` for the front's own relay; see :mod:`gpurent.agent.native`); the JSON says which.
With Go at hand, ``floor_rps`` is the same load through ``bench/floor``, a bare compiled proxy
(accept, dial, copy: nothing read, decided or bounded) to the direct server: what a second
connection per request costs this machine, the ceiling of any proxy here. ``agent_cpu_us`` and
``relay_cpu_us``: CPU time (user and system) of this process (the agent, mostly) and of the
relay's, per request served through the ingress (wrk's and the latency client's).

Targets: ``p50_ms ≤ 1.3 × direct_p50_ms + 1`` and ``rps ≥ 0.7 × direct_rps``. The last line printed
is one JSON object: ``{"p50_ms", "p95_ms", "direct_p50_ms", "direct_p95_ms", "rps", "direct_rps",
"clients"}``.
"""

from __future__ import annotations

import argparse
import os
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

BODY = b"x" * 1024 + b"\n"
SERVE = ("mkdir -p /scratch/www; /bin/busybox head -c 1024 /dev/zero | /bin/busybox tr '\\0' x > /scratch/www/i; "
         "echo >> /scratch/www/i; exec /bin/busybox httpd -f -p 8000 -h /scratch/www")


# ------------------------------------------------------------------ the load (its own process)

def one_request(host: str, port: int, head: bytes) -> float:
    """Seconds for one GET on a new connection, the whole answer read (asserted to be ours)."""
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    elapsed = time.perf_counter() - started
    if not data.startswith(b"HTTP/1.") or b" 200 " not in data[:16] or not data.endswith(BODY):
        raise SystemExit(f"unexpected answer: {data[:200]!r}")
    return elapsed


def client_main(args: argparse.Namespace) -> int:
    head = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n" + (f"Authorization: Bearer {args.token}\r\n"
            if args.token else "") + "Connection: close\r\n\r\n").encode()
    for _ in range(20):  # warm up
        one_request(args.host, args.port, head)
    latencies = sorted(one_request(args.host, args.port, head) for _ in range(args.requests))
    done = [0] * args.clients
    stop = time.perf_counter() + args.seconds

    def load(i: int) -> None:
        while time.perf_counter() < stop:
            one_request(args.host, args.port, head)
            done[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=load, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    print(json.dumps({"p50_ms": statistics.median(latencies) * 1000,
                      "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
                      "rps": sum(done) / elapsed if args.clients else 0.0}))
    return 0


def wrk_rps(host: str, port: int, path: str, token: str | None, args: argparse.Namespace) -> float | None:
    """Answers per second from wrk, or None without it."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    command = [wrk, "-t2", f"-c{args.clients}", f"-d{args.seconds:g}s", "--timeout", "10s", "-H", "Connection: close"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*command, f"http://{host}:{port}{path}"], capture_output=True, text=True, timeout=600)
    if out.returncode != 0 or "Non-2xx" in out.stdout or "Socket errors" in out.stdout:
        with socket.create_connection((host, port), timeout=10) as probe:  # what a request gets now
            probe.sendall(f"GET {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            answer = probe.recv(300)
        raise SystemExit(f"wrk failed or saw errors: {out.stdout.strip()[-300:]} {out.stderr.strip()[-200:]}; "
                         f"a request now: {answer!r}")
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout).group(1))  # type: ignore[union-attr]


def measure(host: str, port: int, path: str, token: str | None, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--client", "--host", host, "--port", str(port), "--path", path,
               "--requests", str(args.requests), "--clients", str(args.clients), "--seconds", str(args.seconds)]
    if token:
        command += ["--token", token]
    rps = wrk_rps(host, port, path, token, args)
    if rps is not None:
        command += ["--clients", "0"]  # the latency part only: wrk measures the throughput
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"the load client failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    if rps is not None:
        figures["rps"] = rps
    return figures


def _cpu_s(pid: int) -> float:
    """CPU seconds (user and system) process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def floor(work: Path, direct_port: int, args: argparse.Namespace) -> float | None:
    """Answers per second through ``bench/floor`` (a bare compiled proxy) to the direct server:
    what any proxy on this machine reaches; None without Go or wrk."""
    from gpurent.local.process import free_port

    go = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).exists()), None)
    if go is None or shutil.which("wrk") is None:
        return None
    binary = work / "floor"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "floor", check=True, timeout=300,
                   env={**os.environ, "GOTOOLCHAIN": "local"}, capture_output=True)
    port = free_port()
    proxy = subprocess.Popen([str(binary), f"127.0.0.1:{port}", f"127.0.0.1:{direct_port}"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        return wrk_rps("127.0.0.1", port, "/i", None, args)
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


# ------------------------------------------------------------------ the stack

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="/i", help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    if args.client:
        return client_main(args)

    import docker
    from ape import accounts, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")  # Ape logs to stdout; the last line must be the JSON object
    from fixtures import deploy_funded
    from gpurent.agent.agent import Agent
    from gpurent.agent.config import AgentConfig, Limits, ResourceSpec
    from gpurent.images.archive import LayerFile, build_archive
    from gpurent.images.store import ImageStore
    from gpurent.local import engine as engine_mod
    from gpurent.local import ipfs as node_mod
    from gpurent.local.process import free_port
    from gpurent.sdk.access import JobAccess
    from gpurent.sdk.provider import ProviderEndpoint
    from gpurent.workload.spec import JobSpec, PortSpec

    work = Path(tempfile.mkdtemp(prefix="gpurent-bench-ingress-"))
    service = engine_mod.start(folder=work / "engine")
    node = node_mod.start(0, 0, 0, repo=work / "kubo" / "repo")
    engine = docker.DockerClient(base_url=service.docker_host, timeout=600)
    agent = direct = None
    figures: dict[str, Any] = {}
    try:
        www = work / "www"
        www.mkdir()
        (www / "i").write_bytes(BODY)
        with networks.parse_network_choice("ethereum:local:foundry"):  # (Ape picks its port first)
            direct_port = free_port()
            direct = subprocess.Popen(["/bin/busybox", "httpd", "-f", "-p", f"127.0.0.1:{direct_port}", "-h", str(www)])
            deployed = deploy_funded(project, accounts.test_accounts)
            gp, provider = deployed.gp, deployed.provider
            # a renter of its own: its job id is no test's, so a test's agent on the same podman
            # (same chain id, addresses and provider) never takes this job's container for its own
            renter = accounts.test_accounts[8]
            deployed.suite.token.transfer(renter, 1_000 * 10**18, sender=deployed.admin)
            as_renter = gp.with_account(renter)
            archive = work / "image.tar"
            build_archive(archive, [LayerFile("bin/busybox", Path("/bin/busybox"), 0o755)], "gpurent-bench/ingress:1",
                          ["/bin/busybox", "sh", "-c", SERVE])
            image_cid = ImageStore(node.client(), lambda: engine).push_archive(archive).cid
            port = free_port()
            config = AgentConfig(endpoint=f"http://127.0.0.1:{port}", listen_host="127.0.0.1", listen_port=port,
                                 stake=Decimal(100), poll_interval_s=1.0,  # the default
                                 resources=(ResourceSpec("RTX4090", 1, 4, 10, Decimal(36)),),
                                 limits=Limits(pids=256, scratch_mb=64))
            agent = Agent(gp.with_account(provider), config, work / "provider", ImageStore(node.client(), lambda: engine),
                          [])
            thread = threading.Thread(target=agent.run, daemon=True)
            thread.start()
            while not agent.accepting:
                time.sleep(0.05)
            job = as_renter.create_job(next(iter(agent.slots)), JobSpec(image=image_cid, ports=(PortSpec(8000),)),
                                       3600, ipfs=node.client()).value
            while (record := agent.state.job(job.job_id)) is None or record.phase != "running":
                if record is not None and record.phase in ("declined", "failed"):
                    raise SystemExit(f"job {record.phase}: {record.error}")
                time.sleep(0.05)
            access = JobAccess(ProviderEndpoint.for_job(as_renter, as_renter.job(job.job_id)), job.job_id)
            token = access.token()
            path = f"/jobs/{job.job_id}/ports/8000/i"
            deadline = time.monotonic() + 30
            while True:
                try:
                    one_request("127.0.0.1", port, f"GET {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
                    break
                except SystemExit:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            native = agent.endpoint._front.native if agent.endpoint._front is not None else None
            relay = "compiled" if native is not None and native.alive else "python"  # (gpurent.agent.native)
            direct_figures = measure("127.0.0.1", direct_port, "/i", None, args)
            floor_rps = floor(work, direct_port, args)
            cpu = (time.process_time(), _cpu_s(native.process.pid) if native is not None else 0.0)
            try:
                proxied = measure("127.0.0.1", port, path, token, args)
            except SystemExit:
                print(agent.state.history(job.job_id), agent.state.job(job.job_id), file=sys.stderr)
                raise
            served = proxied["rps"] * args.seconds + args.requests + 20  # wrk's, then the latency client's
            agent_us = (time.process_time() - cpu[0]) / served * 1e6
            relay_us = ((_cpu_s(native.process.pid) - cpu[1]) / served * 1e6) if native is not None else 0.0
            figures = {"p50_ms": proxied["p50_ms"], "p95_ms": proxied["p95_ms"],
                       "direct_p50_ms": direct_figures["p50_ms"], "direct_p95_ms": direct_figures["p95_ms"],
                       "rps": proxied["rps"], "direct_rps": direct_figures["rps"], "clients": args.clients,
                       "load": "wrk" if shutil.which("wrk") else "python", "relay": relay, "floor_rps": floor_rps,
                       "agent_cpu_us": agent_us, "relay_cpu_us": relay_us}
            agent.stop()
            thread.join(timeout=60)
    finally:
        if agent is not None:
            agent.stop()
        if direct is not None:
            direct.terminate()
        node_mod.stop_node(node)
        engine_mod.stop_service(service)
        shutil.rmtree(work, ignore_errors=True)

    result = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
    latency_ok = result["p50_ms"] <= 1.3 * result["direct_p50_ms"] + 1
    rps_ok = result["rps"] >= 0.7 * result["direct_rps"]
    print(f"through the ingress: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, {result['rps']} req/s at "
          f"{args.clients} clients; direct: p50 {result['direct_p50_ms']} ms, p95 {result['direct_p95_ms']} ms, "
          f"{result['direct_rps']} req/s; relayed in {relay} (CPU per request: the agent's process "
          f"{result['agent_cpu_us']} µs, the relay's {result['relay_cpu_us']} µs); a bare proxy: {result['floor_rps']} req/s "
          f"(targets: p50 ≤ 1.3× + 1 ms: {'met' if latency_ok else 'MISSED'}; "
          f"throughput ≥ 0.7×: {'met' if rps_ok else 'MISSED'})")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
