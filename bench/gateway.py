"""The API gateway against the indexer's GraphQL it sits on, in one run.

Run as ``.venv/bin/python bench/gateway.py`` from the project root (``make bench-gateway``).

- An Anvil chain (through Ape) with the suite deployed; an index (SQLite) holding ``--gpus``
  GPUs (100,000, of 1,000 providers) applied through the indexer's own projector (see
  ``fixtures.fill_gpus``).
- Two processes over that one database, as deployed: ``gpurent-indexer run`` (its GraphQL API:
  the direct baseline) and ``gpurent-gateway run``.
- The load: ``wrk`` (Debian's package) with two threads and ``--clients`` connections (200) for
  ``--seconds`` per query, each request a random GPU id or a random filtered page (a model,
  at least 40 GB, at most 30 tokens an hour, page 1-3 of 50, in price order). p50 and p95 from
  wrk's own latency histogram (its Lua ``done`` hook), every answer a 200.

  - ``GET /api/v1/gpus?model=…&min_memory_gb=40&max_price=30&limit=50&offset=…`` vs the
    GraphQL ``gpus(filters, sort: PRICE_ASC, limit: 50, offset)`` POST with the same fields;
  - ``GET /api/v1/gpus/<id>`` vs ``gpu(id)``.

Target: p95 through the gateway ≤ 1.3 × direct + 2 ms, for both.

The WebSocket half, same run (``--subscribers`` 500, ``--ws-seconds`` 10; ``--skip-http`` runs
it alone): a real provider agent (podman's Docker API, its own Kubo node) runs a static C job
that prints its line number and the wall-clock time in ns every 20 ms, rented through the SDK.
The subscribers (one process, asyncio + websockets) sign in once and follow its log through
``WS /api/v1/instances/<id>/logs``; the gateway runs with ``--streams-per-address`` raised to
let them in. Per delivered line: lag = receipt − the line's stamp (one clock). Reported: lag
p50/p95/p99, lines delivered vs expected (drops), a line's first → last subscriber, the
gateway's VmRSS (peak, sampled every 50 ms) and CPU, and the baseline: the agent's own stream
read by the SDK in the same run. Measured (2 cores, 500 subscribers, 10 s): lag p50 / p95
44 / 89 ms vs 1.0 / 7.3 ms straight from the agent, 0 drops of 249,500, gateway
202 → 218 MB. (Before the agent attached to its containers and woke its followers on each
write, podman's ``logs -f`` poll of 250 ms and the agent's own of 200 ms put the floor at
360 ms, and the gateway at 411.)

The last line printed is one JSON object: ``{"gpus", "clients", "page_p95_ms",
"direct_page_p95_ms", "id_p95_ms", "direct_id_p95_ms", "ws_subscribers", "ws_lag_p95_ms",
"gateway_rss_mb", ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent

FIELDS = "id providerAddress gpuModel vcpu memoryGb storageGb pricePerHour available retired reputation totalUptime"

LUA = r"""
local lines = {}
for line in io.lines("%(requests)s") do lines[#lines + 1] = line end
local method, n = "%(method)s", 0
request = function()
  n = n %% #lines + 1
  if method == "GET" then
    return wrk.format("GET", lines[n])
  end
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, lines[n])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""


def wrk(url: str, method: str, path: str, requests: list[str], work: Path, args: argparse.Namespace) -> dict[str, float]:
    """p50 / p95 ms and answers per second of ``requests`` (paths for GET, bodies for POST)."""
    name = f"{len(list(work.glob('*.lua')))}"
    listing = work / f"{name}.txt"
    listing.write_text("\n".join(requests) + "\n")
    script = work / f"{name}.lua"
    script.write_text(LUA % {"requests": listing, "method": method, "path": path})
    out = subprocess.run(["wrk", "-t2", f"-c{args.clients}", f"-d{args.seconds:g}s", "--timeout", "10s", "-s", str(script),
                          url], capture_output=True, text=True, timeout=600)
    found = re.search(r"RESULT (\d+) (\d+) (\d+) ([0-9.]+) ([0-9.]+)", out.stdout)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed: {out.stdout[-400:]} {out.stderr[-300:]}")
    count, errors, micros, p50, p95 = found.groups()
    if int(errors) or "Non-2xx" in out.stdout or int(count) == 0:
        raise SystemExit(f"wrk saw {errors} errors (or non-2xx answers) at {url}{path}: {out.stdout[-400:]}")
    return {"p50_ms": float(p50), "p95_ms": float(p95), "rps": int(count) / (int(micros) / 1e6)}


# the job: its line number and the wall-clock time in ns, every 20 ms, flushed line by line (a
# static C program: busybox's date has no %N)
TICKER_C = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec now, pause = {0, 20 * 1000 * 1000};
    for (long i = 0;; i++) {
        clock_gettime(CLOCK_REALTIME, &now);
        printf("%ld %lld\n", i, (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
        fflush(stdout);
        nanosleep(&pause, NULL);
    }
}
"""


def raise_nofile(want: int = 8192) -> None:
    """Lifts the soft RLIMIT_NOFILE towards ``want`` (a subscriber is a socket on both ends)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def rss_kb(pid: int) -> int:
    """The process's VmRSS (kB) from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """The process's user + system CPU seconds so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """The gateway's VmRSS every 50 ms on a thread, while ``with`` lasts: the peak."""

    def __init__(self, pid: int):
        import threading

        self.pid, self.peak_kb, self._stop = pid, rss_kb(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid))

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def subscribe(url: str, hello: str, count: int, seconds: float) -> dict[str, Any]:
    """In a process of its own: ``count`` WebSocket subscribers of one job's log, for ``seconds``
    once every one is in; what each got."""
    import asyncio

    raise_nofile(count * 2 + 256)
    return asyncio.run(_subscribe(url, hello, count, seconds))


async def _subscribe(url: str, hello: str, count: int, seconds: float) -> dict[str, Any]:
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    got: list[list[tuple[int, int, int]]] = [[] for _ in range(count)]  # (line, stamped ns, received ns)
    ended: list[str] = []  # how subscribers' streams ended before the window did (close codes, end frames)
    ready = [asyncio.Event() for _ in range(count)]  # in, and a first frame received
    gate = asyncio.Semaphore(50)  # handshakes at once
    sockets: list[Any] = []

    async def one(k: int) -> None:
        async with gate:
            ws = await connect(url, open_timeout=60, max_size=2**20, ping_interval=None, close_timeout=2)
            sockets.append(ws)
            await ws.send(hello)
        rest, mine = b"", got[k]
        try:
            async for frame in ws:
                now = time.time_ns()
                if isinstance(frame, str):  # {"end": …} or {"error": …}
                    ended.append(frame[:120])
                    return
                ready[k].set()
                *complete, rest = (rest + frame).split(b"\n")
                for line in complete:
                    parts = line.split()
                    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                        mine.append((int(parts[0]), int(parts[1]), now))
            ended.append(f"closed {ws.close_code}")
        except ConnectionClosed as err:
            ended.append(f"closed {err.rcvd.code if err.rcvd else '?'}")

    began = time.monotonic()
    tasks = [asyncio.ensure_future(one(k)) for k in range(count)]
    waiting = asyncio.ensure_future(asyncio.gather(*(r.wait() for r in ready)))
    await asyncio.wait({waiting, *tasks}, timeout=180, return_when=asyncio.FIRST_COMPLETED)  # a task done: it failed
    if not waiting.done():
        failed = next((t.exception() for t in tasks if t.done() and t.exception()), None)
        raise SystemExit(f"only {sum(r.is_set() for r in ready)} of {count} subscribers got a first frame "
                         f"({failed!r}; ended: {ended[:3]})")
    joined_s = time.monotonic() - began
    start = time.time_ns()
    await asyncio.sleep(seconds)
    end = time.time_ns()
    await asyncio.sleep(2.0)  # the window's last lines on their way
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    window = {line for mine in got for line, stamped, _ in mine if start <= stamped <= end}
    lags = [(received - stamped) / 1e6 for mine in got for line, stamped, received in mine if line in window]
    per = [len({line for line, _, _ in mine} & window) for mine in got]
    first: dict[int, int] = {}  # line → its first and last receipt across the subscribers
    last: dict[int, int] = {}
    for mine in got:
        for line, _, received in mine:
            if line in window:
                first[line], last[line] = min(first.get(line, received), received), max(last.get(line, 0), received)
    spread = [(last[line] - first[line]) / 1e6 for line in first]
    return {"subscribers": count, "joined_s": joined_s, "start_ns": start, "end_ns": end, "window_s": (end - start) / 1e9, "lines": len(window),
            "source_gaps": (max(window) - min(window) + 1 - len(window)) if window else 0,
            "delivered": sum(per), "expected": len(window) * count, "short_subscribers": sum(p < len(window) for p in per),
            "lag_p50_ms": percentile(lags, 0.50), "lag_p95_ms": percentile(lags, 0.95),
            "lag_p99_ms": percentile(lags, 0.99), "lag_max_ms": max(lags) if lags else float("nan"),
            "spread_p50_ms": percentile(spread, 0.5), "spread_p95_ms": percentile(spread, 0.95),
            "ended_early": ended[:5], "ended_early_count": len(ended)}


def sign_in(url: str, account: Any) -> str:
    """A session token for ``account`` (EIP-4361 through the gateway, as a wallet does it)."""
    import requests

    challenge = requests.post(f"{url}/api/v1/auth/challenge", json={"address": account.address}, timeout=10).json()
    signature = "0x" + account.sign_message(challenge["message"]).encode_rsv().hex()
    answer = requests.post(f"{url}/api/v1/auth/login", json={"message": challenge["message"], "signature": signature},
                           timeout=10)
    if answer.status_code != 200:
        raise SystemExit(f"sign-in refused: {answer.text[:200]}")
    return str(answer.json()["token"])


def fan_out(deployed: Any, work: Path, gateway: str, direct: str, gateway_pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """A real provider agent runs the ticker job (podman), rented through the SDK; ``--subscribers``
    follow its log through the gateway's WebSocket for ``--ws-seconds``."""
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from decimal import Decimal
    from multiprocessing import get_context

    import docker
    import requests

    from gpurent.agent.agent import Agent
    from gpurent.agent.config import AgentConfig, Limits as AgentLimits, ResourceSpec
    from gpurent.images.archive import LayerFile, build_archive
    from gpurent.images.store import ImageStore
    from gpurent.local import engine as engine_mod
    from gpurent.local import ipfs as node_mod
    from gpurent.local.process import free_port
    from gpurent.sdk.provider import DelegatedEndpoint
    from gpurent.wire.access import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_access

    gp = deployed.gp
    service = engine_mod.start(folder=work / "engine")
    kubo = node_mod.start(0, 0, 0, repo=work / "kubo" / "repo")
    engine = docker.DockerClient(base_url=service.docker_host, timeout=300)
    agent: Any = None
    thread: threading.Thread | None = None
    try:
        (work / "ticker.c").write_text(TICKER_C)
        subprocess.run(["gcc", "-static", "-O1", "-o", str(work / "ticker"), str(work / "ticker.c")], check=True)
        archive = work / "ticker.tar"
        build_archive(archive, [LayerFile("ticker", work / "ticker", 0o755)], "gpurent-bench/ticker:1", ["/ticker"])
        store = ImageStore(kubo.client(), lambda: engine, workdir=work / "staging")
        cid = store.push_archive(archive).cid
        port = free_port()
        config = AgentConfig(endpoint=f"http://127.0.0.1:{port}", listen_host="127.0.0.1", listen_port=port,
                             stake=Decimal(100), poll_interval_s=0.5,
                             resources=(ResourceSpec("RTX4090", 1, 1, 10, Decimal(36)),),
                             limits=AgentLimits(pids=64, scratch_mb=16))
        agent = Agent(gp.with_account(deployed.provider), config, work / "provider", store, [])
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 120
        while not agent.accepting:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the provider agent did not start")
            time.sleep(0.05)
        job_id = gp.with_account(deployed.renter).create_job(next(iter(agent.slots)), cid, 3600).value.job_id
        deadline = time.monotonic() + 120
        while (record := agent.state.job(job_id)) is None or record.phase != "running":
            if not thread.is_alive() or time.monotonic() > deadline:
                raise SystemExit(f"the job did not start ({record.phase if record else 'unseen'})")
            time.sleep(0.1)
        query = {"query": "query($id: String!) { job(id: $id) { provider } }", "variables": {"id": job_id}}
        while not (requests.post(f"{direct}/graphql", json=query, timeout=10).json().get("data") or {}).get("job"):
            if time.monotonic() > deadline:
                raise SystemExit("the index did not see the job")
            time.sleep(0.2)

        signed = sign_access(deployed.renter, gp.manifest.chain_id, job_id)  # what the renter's wallet signs
        hello = json.dumps({"token": sign_in(gateway, deployed.renter),
                            "access": {"timestamp": signed[TIMESTAMP_HEADER], "signature": signed[SIGNATURE_HEADER]}})
        url = gateway.replace("http://", "ws://") + f"/api/v1/instances/{job_id}/logs"
        # the baseline, in the same run: the provider's own log stream, read straight from the agent
        # by the SDK (the provider's second stream of the job; the gateway holds the first)
        direct_lines: list[tuple[int, int, int]] = []
        reading = threading.Event()

        def read_direct() -> None:
            rest = b""
            for chunk in DelegatedEndpoint(config.endpoint, gp.manifest.chain_id, signed).logs(job_id, follow=True):
                now = time.time_ns()
                *complete, rest = (rest + chunk).split(b"\n")
                direct_lines.extend((int(a), int(b), now) for a, b in (line.split() for line in complete))
                if not reading.is_set():
                    return

        reading.set()
        threading.Thread(target=read_direct, daemon=True).start()
        idle_kb, cpu_before, began = rss_kb(gateway_pid), cpu_s(gateway_pid), time.monotonic()
        with Sampler(gateway_pid) as sampler, ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            got = pool.submit(subscribe, url, hello, args.subscribers, args.ws_seconds).result(timeout=600)
        reading.clear()
        direct = [(received - stamped) / 1e6 for _, stamped, received in direct_lines
                  if got["start_ns"] <= stamped <= got["end_ns"]]
        got.update(direct_lines=len(direct), direct_lag_p50_ms=percentile(direct, 0.5),
                   direct_lag_p95_ms=percentile(direct, 0.95))
        got["gateway_cpu_pct"] = 100 * (cpu_s(gateway_pid) - cpu_before) / (time.monotonic() - began)
        got["gateway_idle_rss_mb"], got["gateway_rss_mb"] = idle_kb / 1024, sampler.peak_kb / 1024
        return got
    finally:
        if agent is not None:
            agent.stop()
            if thread is not None:
                thread.join(timeout=30)
            for job in agent.state.jobs():
                if job.container_id:
                    agent.runtime.remove(job.container_id)
        node_mod.stop_node(kubo)
        engine_mod.stop_service(service)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--subscribers", type=int, default=500, help="WebSocket subscribers of the one job's log")
    parser.add_argument("--ws-seconds", type=float, default=10.0, help="the fan-out's measurement window")
    parser.add_argument("--skip-http", action="store_true", help="only the WebSocket half (development)")
    parser.add_argument("--skip-ws", action="store_true", help="only the HTTP half (development)")
    args = parser.parse_args()
    if not args.skip_http and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench-gateway` installs it (apt-get install wrk)")
    raise_nofile()  # the gateway inherits it: 500 subscribers are 500 sockets there too

    from ape import accounts, chain, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")
    from fixtures import GPU_MODELS, deploy_funded, fill_gpus, wait_for
    from gpurent.indexer.db import connect, migrate
    from gpurent.local.process import free_port
    from gpurent.manifest import save_manifest

    work = Path(tempfile.mkdtemp(prefix="gpurent-bench-gateway-"))
    processes: list[subprocess.Popen[bytes]] = []
    figures: dict[str, dict[str, float]] = {}
    ws: dict[str, Any] = {}
    try:
        with networks.parse_network_choice("ethereum:local:foundry"):
            deployed = deploy_funded(project, accounts.test_accounts)
            manifest = deployed.gp.manifest
            home = work / "home"
            save_manifest(manifest, home=home)
            db_url = f"sqlite:///{work / 'index.db'}"
            engine = connect(db_url)
            migrate(engine)
            began = time.monotonic()
            ids = fill_gpus(engine, args.gpus, chain.blocks.height + 1)
            filled_s = time.monotonic() - began
            env = {**os.environ, "GPURENT_HOME": str(home)}
            logs = (work / "indexer.log").open("wb"), (work / "gateway.log").open("wb")
            graphql_port, gateway_port = free_port(), free_port()
            processes.append(subprocess.Popen(
                [str(BIN / "gpurent-indexer"), "run", "--rpc", chain.provider.http_uri, "--db", db_url,
                 "--graphql", f"127.0.0.1:{graphql_port}", "--poll", "1"], env=env, stdout=logs[0], stderr=logs[0]))
            processes.append(subprocess.Popen(
                [str(BIN / "gpurent-gateway"), "--network", chain.provider.http_uri, "run", "--db", db_url,
                 "--listen", f"127.0.0.1:{gateway_port}", "--key-file", str(work / "session.key"),
                 "--per-ip", str(10**9),  # one IP is every client here
                 "--streams-per-address", str(max(8, args.subscribers))],  # and one renter every subscriber
                env=env, stdout=logs[1], stderr=logs[1]))
            direct, gateway = f"http://127.0.0.1:{graphql_port}", f"http://127.0.0.1:{gateway_port}"
            wait_for(f"{direct}/graphql", processes[0], "indexer's GraphQL API", {"query": "{ indexer { block } }"})
            wait_for(f"{gateway}/api/v1/health", processes[1], "gateway")

            if not args.skip_http:
                rng = random.Random(11)
                pages = [(rng.choice(GPU_MODELS), rng.choice([0, 50, 100])) for _ in range(500)]
                picks = [rng.choice(ids) for _ in range(2000)]
                page_doc = f"""query($f: GpuFilter, $o: Int!) {{ gpus(filters: $f, sort: PRICE_ASC, limit: 50, offset: $o) {{
                             {FIELDS} }} }}"""
                id_doc = (f"query($id: String!) {{ gpu(id: $id) {{ {FIELDS} provider {{ address endpoint stake score uptimeBps "
                          "responseBps penaltyPoints reports } } }")
                figures = {
                    "page": wrk(gateway, "GET", "", [f"/api/v1/gpus?model={m}&min_memory_gb=40&max_price=30&limit=50&offset={o}"
                                                     for m, o in pages], work, args),
                    "direct_page": wrk(direct, "POST", "/graphql", [json.dumps({"query": " ".join(page_doc.split()), "variables": {
                        "f": {"model": m, "minMemoryGb": 40, "maxPrice": 30.0, "available": True}, "o": o}}) for m, o in pages],
                                       work, args),
                    "id": wrk(gateway, "GET", "", [f"/api/v1/gpus/{i}" for i in picks], work, args),
                    "direct_id": wrk(direct, "POST", "/graphql", [json.dumps({"query": id_doc, "variables": {"id": i}})
                                                                 for i in picks], work, args),
                }
            if not args.skip_ws:
                ws = fan_out(deployed, work, gateway, direct, processes[1].pid, args)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if os.environ.get("GPURENT_BENCH_KEEP"):
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    result: dict[str, Any] = {"gpus": args.gpus, "clients": args.clients}
    for name, got in figures.items():
        result[f"{name}_p50_ms"] = round(got["p50_ms"], 2)
        result[f"{name}_p95_ms"] = round(got["p95_ms"], 2)
        result[f"{name}_rps"] = round(got["rps"])
    result["fill_s"] = round(filled_s, 1)
    if figures:
        page_ok = result["page_p95_ms"] <= 1.3 * result["direct_page_p95_ms"] + 2
        id_ok = result["id_p95_ms"] <= 1.3 * result["direct_id_p95_ms"] + 2
        print(f"{args.gpus:,} GPUs, {args.clients} clients: page p95 {result['page_p95_ms']} ms through the gateway vs "
              f"{result['direct_page_p95_ms']} ms direct ({'met' if page_ok else 'MISSED'}: ≤ 1.3× + 2 ms); by id p95 "
              f"{result['id_p95_ms']} ms vs {result['direct_id_p95_ms']} ms ({'met' if id_ok else 'MISSED'})")
    if ws:
        drops = ws["expected"] - ws["delivered"]
        result.update({
            "ws_subscribers": ws["subscribers"], "ws_lag_p50_ms": round(ws["lag_p50_ms"], 1),
            "ws_lag_p95_ms": round(ws["lag_p95_ms"], 1), "ws_lag_p99_ms": round(ws["lag_p99_ms"], 1),
            "ws_lag_max_ms": round(ws["lag_max_ms"], 1), "direct_ws_lag_p50_ms": round(ws["direct_lag_p50_ms"], 1),
            "direct_ws_lag_p95_ms": round(ws["direct_lag_p95_ms"], 1), "ws_seconds": round(ws["window_s"], 1),
            "ws_lines": ws["lines"], "ws_delivered": ws["delivered"], "ws_expected": ws["expected"],
            "ws_drops": drops, "ws_spread_p95_ms": round(ws["spread_p95_ms"], 1), "ws_join_s": round(ws["joined_s"], 1),
            "gateway_rss_mb": round(ws["gateway_rss_mb"], 1), "gateway_idle_rss_mb": round(ws["gateway_idle_rss_mb"], 1),
            "gateway_cpu_pct": round(ws["gateway_cpu_pct"]),
        })
        rows = [
            ("subscribers in (all had a first frame)", f"{ws['subscribers']} in {ws['joined_s']:.1f} s"),
            ("window; lines the job printed in it", f"{ws['window_s']:.1f} s; {ws['lines']:,} (source gaps {ws['source_gaps']})"),
            ("lines delivered / expected (drops)", f"{ws['delivered']:,} / {ws['expected']:,} ({drops:,}; "
                                                   f"{ws['short_subscribers']} subscribers short)"),
            ("delivery lag p50 / p95 / p99 / max", f"{ws['lag_p50_ms']:.1f} / {ws['lag_p95_ms']:.1f} / "
                                                   f"{ws['lag_p99_ms']:.1f} / {ws['lag_max_ms']:.1f} ms"),
            ("a line's first → last subscriber, p50 / p95", f"{ws['spread_p50_ms']:.1f} / {ws['spread_p95_ms']:.1f} ms"),
            ("baseline: the agent's own stream (SDK), p50 / p95", f"{ws['direct_lag_p50_ms']:.1f} / "
                                                                  f"{ws['direct_lag_p95_ms']:.1f} ms ({ws['direct_lines']} lines)"),
            ("target: lag p95 ≤ 250 ms", "met" if ws["lag_p95_ms"] <= 250 else "MISSED"),
            ("gateway VmRSS: before / peak during the fan-out", f"{ws['gateway_idle_rss_mb']:.1f} / "
                                                                f"{ws['gateway_rss_mb']:.1f} MB"),
            ("gateway CPU during the fan-out", f"{ws['gateway_cpu_pct']:.0f}% of a core"),
            ("streams that ended early", f"{ws['ended_early_count']} {ws['ended_early']}"),
        ]
        width = max(len(name) for name, _ in rows)
        print(f"WebSocket fan-out of one job's log to {ws['subscribers']} subscribers:")
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
