"""The oracle's HTTP surface under hostile requests: a real `gpurent-oracle run` process on the
session chain. Every route (/heartbeat, /health, /providers, anything else) answers each
malformed request with a JSON 4xx, the process stays up with a bounded number of threads, its
log holds no traceback, and a burst of honest heartbeats from many clients is answered in full."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import requests

from gpurent.http import BACKLOG, WORKERS
from gpurent.wire.protocol import new_heartbeat
from tests.http_probes import (
    Probe,
    Tally,
    framing_probes,
    method_and_path_probes,
    mutations,
    request,
    send,
    shape_bodies,
)

HEARTBEAT_REFUSED = (400, 401, 403, 409)


def threads_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("Threads:")).split()[1])


def listen_backlog(port: int) -> int:
    """The listening socket's backlog as the kernel reports it (``ss``: Send-Q of a listener)."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[2])


def heartbeat_probes(valid: dict) -> list[Probe]:
    post = lambda body: request("POST", "/heartbeat", [("Content-Type", "application/json")], body)  # noqa: E731
    probes = [Probe(f"heartbeat body {name!r}", post(body), (400, 413)) for name, body in shape_bodies()]
    probes += [Probe(f"heartbeat {note}", post(body), HEARTBEAT_REFUSED) for note, body in mutations(valid, 300)]
    named = {"provider not an address": {"provider": "not-an-address"}, "provider too short": {"provider": "0x12"},
             "timestamp 2**70": {"timestamp": 2**70}, "timestamp 2**64": {"timestamp": 2**64},
             "timestamp a string": {"timestamp": str(valid["timestamp"])}, "timestamp a float": {"timestamp": 1.5},
             "timestamp true": {"timestamp": True}, "jobs_running 2**40": {"jobs_running": 2**40},
             "gpu_util_bps -1": {"gpu_util_bps": -1}, "uptime_s 2**64": {"uptime_s": 2**64},
             "signature a number": {"signature": 5}, "signature 10k hex": {"signature": "ab" * 5000},
             "nonce short": {"nonce": "0x12"}, "nonce a list": {"nonce": []}}
    probes += [Probe(f"heartbeat {name}", post(json.dumps({**valid, **change}).encode()), (400,))
               for name, change in named.items()]
    for spelt in ("Infinity", "NaN", "-Infinity", "1e400"):
        text = json.dumps({**valid, "timestamp": "@"}).replace('"@"', spelt).encode()
        probes.append(Probe(f"heartbeat timestamp {spelt}", post(text), (400,)))
    probes.append(Probe("heartbeat over 16 KiB", post(json.dumps({**valid, "pad": "x" * 20_000}).encode()), (413,)))
    probes.append(Probe("heartbeat without a length", request("POST", "/heartbeat", body=b"{}", length=None), (411,)))
    return probes


def test_every_oracle_route_answers_hostile_requests_with_json_4xx(start_oracle, start_agent, cast, capsys):
    oracle = start_oracle()
    runner = start_agent()  # registers the provider, so a well-formed heartbeat could count
    domain = runner.agent.oracle.domain
    pid = oracle.process.pid
    threads = threads_of(pid)
    valid = new_heartbeat(cast.provider.address, 1, 0.5, 10).signed(cast.provider, domain).to_json()

    tally = Tally("oracle")
    tally.run(oracle.port, framing_probes("POST", "/heartbeat"))
    tally.run(oracle.port, framing_probes("GET", "/health"))
    tally.run(oracle.port, framing_probes("GET", "/metrics"))
    tally.run(oracle.port, method_and_path_probes(["/heartbeat", "/health", "/providers", "/metrics"]))
    tally.run(oracle.port, heartbeat_probes(valid))
    tally.check(oracle.port, Probe("GET /metrics", request("GET", "/metrics"), (200,)))
    for view in ("/health", "/providers", "/health?x=1", "/providers/"):
        assert tally.check(oracle.port, Probe(f"GET {view}", request("GET", view), (200,))).json() is not None
    fresh = new_heartbeat(cast.provider.address, 1, 0.5, 10).signed(cast.provider, domain).to_json()
    good = tally.check(oracle.port, Probe("a valid heartbeat", request("POST", "/heartbeat", body=json.dumps(
        fresh).encode()), (200,)))
    assert "slot" in good.json()

    assert oracle.process.poll() is None, oracle.log.read_text()[-3000:]
    assert threads_of(pid) <= threads + 2, (threads, threads_of(pid))  # no thread per request left behind
    log = oracle.log.read_text()
    assert "Traceback" not in log and "gpurent-oracle: " not in log, log[-3000:]  # no traceback, no 500
    assert tally.refused >= 400 and requests.get(f"{oracle.url}/health", timeout=5).status_code == 200
    with capsys.disabled():
        print("\n" + tally.line())


def test_a_burst_of_heartbeats_from_20_clients_is_answered_in_full(start_oracle, start_agent, cast, capsys):
    oracle = start_oracle()
    runner = start_agent()  # registers the provider; it sends no heartbeats itself
    domain = runner.agent.oracle.domain
    assert listen_backlog(oracle.port) >= BACKLOG  # the kernel holds a burst (it held 5)

    def one() -> int:
        body = new_heartbeat(cast.provider.address, 0, 0.1, 10).signed(cast.provider, domain).to_json()
        return send(oracle.port, request("POST", "/heartbeat", body=json.dumps(body).encode())).status

    deadline = time.monotonic() + 30
    while one() != 200:  # the oracle has found the newly registered provider on chain
        assert time.monotonic() < deadline, oracle.log.read_text()[-3000:]
        time.sleep(0.5)
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(100):
            body = new_heartbeat(cast.provider.address, 0, 0.1, 10).signed(cast.provider, domain).to_json()
            reply = send(oracle.port, request("POST", "/heartbeat", body=json.dumps(body).encode()), timeout_s=60)
            with lock:
                statuses.append(reply.status)

    began = time.monotonic()
    clients = [threading.Thread(target=client) for _ in range(20)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    counts = {s: statuses.count(s) for s in set(statuses)}
    with capsys.disabled():
        print(f"\noracle burst: 2,000 heartbeats from 20 clients in {time.monotonic() - began:.1f} s: {counts}")
    assert len(statuses) == 2000 and counts.get(0, 0) == 0, counts  # none dropped
    assert counts == {200: 2000}, counts
    assert threads_of(oracle.process.pid) <= WORKERS + 24  # the pool, the loop and its helpers: no more
    assert oracle.state().query("SELECT COUNT(*) FROM heartbeats")[0][0] == 2001
