"""Indexer benchmark: backfill rates into SQLite and PostgreSQL against the same run's "null
indexer" ceiling, head lag while following a chain under load, and GraphQL latency at 100,000
GPUs.

Run as ``.venv/bin/python bench/indexer.py`` from the project root (``make bench-indexer``).
Prints a table, then as its last line one JSON object: ``{"events", "sqlite_events_per_s",
"postgres_events_per_s", "ceiling_events_per_s", "head_lag_p95_blocks", "graphql_id_p95_ms",
"graphql_page_p95_ms", ...}``.

- Load: ``--jobs`` jobs (10,000) created by 6 renters on one GPU and then cancelled: each job
  emits JobCreated, FundsLocked, a token Transfer, JobCancelled, Refunded and a Transfer back:
  six events. The transactions are signed here and sent in JSON-RPC batches, 150 to a block
  (Anvil with automine off), so generating the chain takes a minute, not an hour.
- Ceiling: a "null indexer", the indexer's own code (the same ranges, the same pipelining:
  eth_getLogs, decoding, the batched block headers) with a write step that does nothing.
- Backfill: a fresh index from the deployment block to the head, into SQLite (the default) and
  into a throwaway PostgreSQL server from Debian's packages.
- Head lag: the indexer follows (poll 0.05 s) while blocks of 40 jobs are mined every 0.5 s for
  ``--follow-seconds``; lag = head - indexed block, sampled every 50 ms.
- GraphQL: 100,000 GPUs (of 1,000 providers) applied to the SQLite index through the indexer's
  own projector (the same rows ResourceRegistered events make; registering them on-chain would
  take hours here), then the HTTP API of a ``gpurent-indexer run`` process over that database is
  timed from this one: ``gpu(id)`` and a filtered page of 50 ``gpus`` in price order.

Targets: both backfill rates >= 0.5 x the ceiling and >= 1,000 events/s; lag p95 <= 1 block;
id p95 <= 10 ms; page p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.postgres

RENTERS = 6  # test accounts 4-9
PER_BLOCK = 150


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94] if len(values) >= 20 else max(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--follow-seconds", type=float, default=15.0)
    args = parser.parse_args()

    from ape import accounts, chain, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")

    from eth_account import Account

    from gpurent.deployment import deploy_suite
    from gpurent.indexer.events import EventDecoder
    from gpurent.indexer.db import connect, migrate
    from gpurent.indexer.indexer import Indexer
    from gpurent.manifest import Manifest
    from fixtures import list_gpu
    from gpurent.indexer.rpc import JsonRpc
    from gpurent.units import TOKEN
    from tests.postgres import PostgresServer

    with networks.parse_network_choice("ethereum:local:foundry"):
        test_accounts = accounts.test_accounts
        admin, oracle, treasury, provider = (test_accounts[i] for i in range(4))
        suite = deploy_suite(project, admin, oracle=oracle.address, treasury=treasury.address)
        deployed_at = chain.blocks.height
        manifest = Manifest(chain_id=chain.chain_id, block=1, deployer=admin.address,
                            contracts={n: c.address for n, c in suite.as_dict().items()})
        token, market = suite.token, suite.marketplace
        rid = list_gpu(suite, admin, provider, "A100", 80, 36)
        renters = [test_accounts[4 + i] for i in range(RENTERS)]
        for renter in renters:
            token.transfer(renter, 1_000_000 * TOKEN, sender=admin)
            token.approve(market, 2**255, sender=renter)
        rpc = JsonRpc(chain.provider.http_uri)
        rpc.call("evm_setAutomine", False)
        nonces = {r.address: int(rpc.call("eth_getTransactionCount", r.address, "latest"), 16) for r in renters}

        def send(calls: list[tuple[object, bytes]]) -> None:
            """Signs and sends (sender, calldata) to the Marketplace, PER_BLOCK to a block."""
            for i in range(0, len(calls), PER_BLOCK):
                raws = []
                for sender, data in calls[i:i + PER_BLOCK]:
                    tx = {"to": market.address, "data": data, "nonce": nonces[sender.address], "gas": 250_000,
                          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1, "chainId": chain.chain_id, "type": 2}
                    nonces[sender.address] += 1
                    raws.append(Account.sign_transaction(tx, sender.private_key).raw_transaction)
                rpc.batch([("eth_sendRawTransaction", ["0x" + raw.hex()]) for raw in raws])
                rpc.call("evm_mine")

        began = time.perf_counter()
        send([(renters[i % RENTERS], market.createJob.encode_input(rid, f"bafkreijob{i:08d}", 3600, 2**256 - 1))
              for i in range(args.jobs)])
        decoder = EventDecoder(manifest.contracts)
        created = [e for e in map(decoder.decode, rpc.logs([market.address.lower()], deployed_at, rpc.head()))
                   if e is not None and e.name == "JobCreated"]
        by_user = {r.address.lower(): r for r in renters}
        send([(by_user[e.args["user"]], market.cancelJob.encode_input(e.args["jobId"])) for e in created])
        generated_s = time.perf_counter() - began

        # the ceiling: a null indexer, the same code reading the same ranges (pipelined alike), whose
        # writes do nothing
        from gpurent.indexer.indexer import Cursor

        class NullIndexer(Indexer):
            at = manifest.block - 1

            def cursor(self) -> Cursor:
                return Cursor(self.at, "")

            def check_reorg(self, cursor: Cursor) -> Cursor:
                return cursor

            def _write(self, stop, events, headers, keep_from) -> None:  # type: ignore[no-untyped-def]
                self.at = stop
                self.progress.events += len(events)

        null = NullIndexer(rpc, manifest, connect("sqlite://"), batch=2000)
        began = time.perf_counter()
        null.sync()
        ceiling = null.progress.events / (time.perf_counter() - began)
        events = null.progress.events

        def backfill(url: str) -> tuple[float, Indexer]:
            engine = connect(url)
            migrate(engine)
            indexer = Indexer(rpc, manifest, engine, batch=2000)
            began = time.perf_counter()
            applied = indexer.sync()
            assert applied == events, (applied, events)
            return applied / (time.perf_counter() - began), indexer

        folder = Path(tempfile.mkdtemp(prefix="gpurent-bench-"))
        sqlite_rate, sqlite_indexer = backfill(f"sqlite:///{folder / 'index.db'}")
        postgres = PostgresServer()
        try:
            postgres_rate, _ = backfill(postgres.create_database())
        finally:
            postgres.stop()

        # head lag while following a chain under load
        follower = threading.Thread(target=sqlite_indexer.run, kwargs={"poll_s": 0.05}, daemon=True)
        follower.start()
        lags: list[int] = []
        stop_load = threading.Event()

        def load() -> None:
            i = 0
            while not stop_load.is_set():
                send([(renters[(i + k) % RENTERS], market.createJob.encode_input(rid, f"bafkreilag{i + k:08d}", 60, 2**256 - 1))
                      for k in range(40)])
                i += 40
                stop_load.wait(0.5)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        deadline = time.monotonic() + args.follow_seconds
        while time.monotonic() < deadline:
            lags.append(rpc.head() - sqlite_indexer.progress.cursor if sqlite_indexer.progress.cursor else 0)
            time.sleep(0.05)
        stop_load.set()
        loader.join()
        sqlite_indexer.stop()
        follower.join(timeout=30)
        lags = lags[20:]  # after the first second

        # GraphQL at 100,000 GPUs
        from fixtures import GPU_MODELS as models, fill_gpus
        from gpurent.local.process import free_port

        rng = random.Random(7)
        ids = fill_gpus(sqlite_indexer.engine, args.resources, rpc.head() + 1)
        # the API as it is deployed: its own process (`gpurent-indexer run`) over this database
        import os
        import subprocess

        import requests

        from gpurent.manifest import save_manifest

        home = folder / "home"
        save_manifest(manifest, home=home)
        port = free_port()
        url = f"http://127.0.0.1:{port}/graphql"
        api = subprocess.Popen([str(Path(sys.executable).parent / "gpurent-indexer"), "run", "--rpc",
                                chain.provider.http_uri, "--db", f"sqlite:///{folder / 'index.db'}", "--graphql",
                                f"127.0.0.1:{port}", "--poll", "1"], env={**os.environ, "GPURENT_HOME": str(home)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        session = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                session.post(url, json={"query": "{ indexer { block } }"}, timeout=2)
                break
            except requests.RequestException:
                assert api.poll() is None and time.monotonic() < deadline, "the GraphQL API did not start"
                time.sleep(0.2)

        def timed(document: str, variables: dict) -> float:
            began = time.perf_counter()
            body = session.post(url, json={"query": document, "variables": variables}, timeout=10).json()
            elapsed = (time.perf_counter() - began) * 1000
            assert not body.get("errors"), body
            return elapsed

        by_id = "query($id: String!) { gpu(id: $id) { id gpuModel pricePerHour available reputation } }"
        page = """query($f: GpuFilter, $o: Int!) { gpus(filters: $f, sort: PRICE_ASC, limit: 50, offset: $o) {
                    id gpuModel memoryGb pricePerHour reputation } }"""
        for _ in range(20):  # warm-up
            timed(by_id, {"id": rng.choice(ids)})
        id_times = [timed(by_id, {"id": rng.choice(ids)}) for _ in range(300)]
        page_times = [timed(page, {"f": {"model": rng.choice(models), "minMemoryGb": 40, "maxPrice": 30.0},
                                   "o": rng.choice([0, 50, 100])}) for _ in range(300)]
        api.terminate()
        api.wait(timeout=30)

    result = {
        "events": events, "jobs": args.jobs, "generate_s": round(generated_s, 1),
        "sqlite_events_per_s": round(sqlite_rate), "postgres_events_per_s": round(postgres_rate),
        "ceiling_events_per_s": round(ceiling),
        "sqlite_vs_ceiling": round(sqlite_rate / ceiling, 2), "postgres_vs_ceiling": round(postgres_rate / ceiling, 2),
        "head_lag_p95_blocks": p95([float(x) for x in lags]), "head_lag_max_blocks": max(lags),
        "graphql_resources": args.resources,
        "graphql_id_p95_ms": round(p95(id_times), 2), "graphql_page_p95_ms": round(p95(page_times), 2),
    }
    met = (sqlite_rate >= max(0.5 * ceiling, 1000) and postgres_rate >= max(0.5 * ceiling, 1000)
           and result["head_lag_p95_blocks"] <= 1 and result["graphql_id_p95_ms"] <= 10
           and result["graphql_page_p95_ms"] <= 50)
    print(f"{'measure':<34}{'value':>14}{'target':>22}")
    rows = [("events indexed", f"{events:,}", ">= 50,000"),
            ("ceiling (read + decode) ev/s", f"{ceiling:,.0f}", ""),
            ("SQLite backfill ev/s", f"{sqlite_rate:,.0f}", ">= 0.5x ceiling, 1,000"),
            ("PostgreSQL backfill ev/s", f"{postgres_rate:,.0f}", ">= 0.5x ceiling, 1,000"),
            ("head lag p95 (blocks)", f"{result['head_lag_p95_blocks']:g}", "<= 1"),
            ("GraphQL gpu(id) p95 ms", f"{result['graphql_id_p95_ms']:g}", "<= 10"),
            ("GraphQL page of 50 p95 ms", f"{result['graphql_page_p95_ms']:g}", "<= 50")]
    for name, value, target in rows:
        print(f"{name:<34}{value:>14}{target:>22}")
    print(json.dumps(result))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
