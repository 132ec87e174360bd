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

Target: p95 through the gateway ≤ 1.3 × direct + 2 ms, for both. The last line printed is one
JSON object: ``{"gpus", "clients", "page_p95_ms", "direct_page_p95_ms", "id_p95_ms",
"direct_id_p95_ms", ...}``.
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


def wait_for(url: str, process: subprocess.Popen[bytes], what: str, body: dict[str, Any] | None = None) -> None:
    import requests

    deadline = time.monotonic() + 120
    while True:
        try:
            answer = requests.post(url, json=body, timeout=2) if body else requests.get(url, timeout=2)
            if answer.status_code == 200:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the {what} did not start")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench-gateway` installs it (apt-get install wrk)")

    from ape import accounts, chain, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")
    from fixtures import GPU_MODELS, deploy_funded, fill_gpus
    from gpurent.indexer.db import connect, migrate
    from gpurent.local.process import free_port
    from gpurent.manifest import save_manifest

    work = Path(tempfile.mkdtemp(prefix="gpurent-bench-gateway-"))
    processes: list[subprocess.Popen[bytes]] = []
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
                 "--per-ip", str(10**9)],  # one IP is every client here
                env=env, stdout=logs[1], stderr=logs[1]))
            direct, gateway = f"http://127.0.0.1:{graphql_port}", f"http://127.0.0.1:{gateway_port}"
            wait_for(f"{direct}/graphql", processes[0], "indexer's GraphQL API", {"query": "{ indexer { block } }"})
            wait_for(f"{gateway}/api/v1/health", processes[1], "gateway")

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
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)

    result: dict[str, Any] = {"gpus": args.gpus, "clients": args.clients}
    for name, got in figures.items():
        result[f"{name}_p50_ms"] = round(got["p50_ms"], 2)
        result[f"{name}_p95_ms"] = round(got["p95_ms"], 2)
        result[f"{name}_rps"] = round(got["rps"])
    result["fill_s"] = round(filled_s, 1)
    page_ok = result["page_p95_ms"] <= 1.3 * result["direct_page_p95_ms"] + 2
    id_ok = result["id_p95_ms"] <= 1.3 * result["direct_id_p95_ms"] + 2
    print(f"{args.gpus:,} GPUs, {args.clients} clients: page p95 {result['page_p95_ms']} ms through the gateway vs "
          f"{result['direct_page_p95_ms']} ms direct ({'met' if page_ok else 'MISSED'}: ≤ 1.3× + 2 ms); by id p95 "
          f"{result['id_p95_ms']} ms vs {result['direct_id_p95_ms']} ms ({'met' if id_ok else 'MISSED'})")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
