"""The provider agent's HTTP endpoint under hostile requests: a real in-process agent on the
session chain with Kubo and podman, one job running. Every route (/health, /jobs/<id>,
/jobs/<id>/logs, /jobs/<id>/metrics, /images/<cid>, /challenge, anything else) answers each malformed request with a JSON 4xx, the
agent stays up with a bounded number of threads, and its log holds no traceback. Challenges are
answered only when an oracle signed them, for the image of a job running here, expiring soon."""

from __future__ import annotations

import base64
import json
import logging
import random
import socket
import threading
import time

import requests
from eth_account import Account

from gpurent.agent.endpoint import LOG_STREAMS_PER_JOB
from gpurent.http import IDLE_TIMEOUT_S
from gpurent.images.store import IMAGE_FILE
from gpurent.wire.access import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_access
from gpurent.wire.protocol import Challenge, response_signer
from tests.http_probes import (
    SEED,
    Probe,
    Tally,
    framing_probes,
    method_and_path_probes,
    mutations,
    request,
    send,
    shape_bodies,
)


def serving(runner) -> int:
    """The agent's endpoint port, once it answers (it starts after the agent's setup)."""
    port = runner.agent.endpoint.port
    deadline = time.monotonic() + 30
    while send(port, request("GET", "/health"), timeout_s=5).status != 200:
        assert time.monotonic() < deadline, "the endpoint did not start"
        time.sleep(0.1)
    time.sleep(0.5)  # the agent's other threads (monitor, first round) are up too
    return port


def no_traceback(caplog, capfd) -> None:
    """Nothing the agent logged (or socketserver printed) carries a traceback or a 500."""
    for record in caplog.records:
        assert record.exc_info is None and "Traceback" not in record.getMessage(), record.getMessage()
        assert record.name != "gpurent.http", record.getMessage()  # the last-resort catch never fired
    assert "Traceback" not in capfd.readouterr().err


def access_probes(path: str, chain_id: int, job_id: str, cast) -> list[Probe]:
    """``path`` with access headers of every wrong shape: each is a 403."""
    now = str(int(time.time()))
    good = sign_access(cast.renter, chain_id, job_id)
    rng = random.Random(SEED)
    shapes: list[dict[str, str]] = [
        {}, {TIMESTAMP_HEADER: now}, {SIGNATURE_HEADER: good[SIGNATURE_HEADER]},
        {TIMESTAMP_HEADER: "", SIGNATURE_HEADER: good[SIGNATURE_HEADER]},
        *({TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: good[SIGNATURE_HEADER]}
          for ts in ("abc", "-1", "1e9", "9" * 30, " 1", "1.5", "0x10", str(2**64), "\u00e9")),
        *({TIMESTAMP_HEADER: now, SIGNATURE_HEADER: sig} for sig in (
            "0x", "zz", "0x" + "00" * 65, "0x" + "ff" * 65, "0x" + "00" * 64 + "1b", "0x" + "11" * 64,
            "0x" + "11" * 66, "0x" + "11" * 64 + "00", "0x" + "11" * 64 + "63", "ab" * 5000, "0x" + "g" * 130,
            "\u00e9" * 65)),
        *({TIMESTAMP_HEADER: now, SIGNATURE_HEADER: "0x" + rng.randbytes(64).hex() + rng.choice(["1b", "1c", "00", "01"])}
          for _ in range(30)),
        sign_access(cast.outsider, chain_id, job_id), sign_access(cast.renter, chain_id, job_id, int(time.time()) - 600),
        sign_access(cast.renter, chain_id, "0x" + "11" * 32), sign_access(cast.renter, chain_id + 1, job_id),
    ]
    return [Probe(f"GET {path} with {sorted(h.items())!r:.80}", request("GET", path, h.items()), (403,))
            for h in shapes]


def log_query_probes(path: str, headers: dict[str, str]) -> list[Probe]:
    bad = ("offset=abc", "offset=-5", f"offset={10**18}", f"offset={10**30}", "offset=1.5", "offset=", "offset=0x10",
           "offset=1&offset=2", "follow=maybe", "follow=1&follow=0", "offset=%00", "&".join(f"a{i}=1" for i in range(20)))
    return [Probe(f"GET logs?{query[:30]}", request("GET", f"{path}?{query}", headers.items()), (400,)) for query in bad]


def metrics_query_probes(path: str, headers: dict[str, str]) -> list[Probe]:
    bad = ("follow=maybe", "follow=", "follow=1&follow=0", "offset=5", "follow=%00", "&".join(f"a{i}=1" for i in range(20)))
    return [Probe(f"GET metrics?{query[:30]}", request("GET", f"{path}?{query}", headers.items()), (400,))
            for query in bad]


def challenge_probes(valid: dict, job, oracle, renter, domain) -> list[Probe]:
    post = lambda body: request("POST", "/challenge", [("Content-Type", "application/json")], body)  # noqa: E731
    probes = [Probe(f"challenge body {name!r}", post(body), (400, 413)) for name, body in shape_bodies()]
    probes += [Probe(f"challenge {note}", post(body), (400, 403, 413)) for note, body in mutations(valid, 300)]
    soon = time.time() + 30

    def signed(signer, **change) -> bytes:
        fields = {"job_id": job.job_id, "cid": job.image_cid, "offset": 7, "length": 16, "nonce": b"\x05" * 32,
                  "expiry": soon, **change}
        return json.dumps(Challenge(**fields).signed(signer, domain).to_json()).encode()

    refused = {  # well-formed, each answered 403 without asking IPFS
        "unsigned": json.dumps({**valid, "signature": ""}).encode(),
        "no signature field": json.dumps({k: v for k, v in valid.items() if k != "signature"}).encode(),
        "signed by the renter": signed(renter),
        "signed by a stranger": signed(Account.create()),
        "for a job unknown here": signed(oracle, job_id="0x" + "77" * 32),
        "for another image": signed(oracle, cid="bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
        "expiring in 11 days": signed(oracle, expiry=time.time() + 10**6),
        "expiring in 10 minutes": signed(oracle, expiry=time.time() + 600),
        "expired": signed(oracle, expiry=time.time() - 1),
        "tampered offset": json.dumps({**json.loads(signed(oracle)), "offset": 8}).encode(),
        "tampered expiry": json.dumps({**json.loads(signed(oracle)), "expiry": soon + 1}).encode(),
        "signature junk": json.dumps({**valid, "signature": "0x" + "11" * 65}).encode(),
    }
    probes += [Probe(f"challenge {name}", post(body), (403,)) for name, body in refused.items()]
    malformed = {"cid a path": {"cid": "../../etc"}, "cid with a slash": {"cid": f"{job.image_cid}/x"},
                 "cid empty": {"cid": ""}, "offset a string": {"offset": "7"}, "offset -1": {"offset": -1},
                 "offset 2**64": {"offset": 2**64}, "length 0": {"length": 0}, "length 10**9": {"length": 10**9},
                 "expiry a string": {"expiry": "soon"}, "expiry 1e300": {"expiry": 1e300}, "expiry true": {"expiry": True},
                 "job id short": {"job_id": "0x12"}, "nonce short": {"nonce": "0x12"}, "signature a number": {"signature": 5}}
    probes += [Probe(f"challenge {name}", post(json.dumps({**valid, **change}).encode()), (400,))
               for name, change in malformed.items()]
    for spelt in ("Infinity", "NaN", "1e400"):
        text = json.dumps({**valid, "expiry": "@"}).replace('"@"', spelt).encode()
        probes.append(Probe(f"challenge expiry {spelt}", post(text), (400,)))
    # what grew the agent's threads for good: unsigned challenges with far expiries for CIDs nowhere
    for i in range(30):
        body = {**valid, "cid": f"bafkrei{i:02d}" + "a" * 52, "expiry": time.time() + 10**6, "signature": ""}
        probes.append(Probe(f"challenge far expiry {i}", post(json.dumps(body).encode()), (403,)))
    return probes


def test_every_agent_route_answers_hostile_requests_with_json_4xx(start_agent, push_image, renter_rent, cast, kubo,
                                                                  caplog, capfd):
    caplog.set_level(logging.DEBUG)
    runner = start_agent()
    agent, port = runner.agent, serving(runner)
    job = renter_rent.create_job(runner.gpu, push_image("sleep 600"), 3600).value
    record = runner.wait_phase(job.job_id, "running")
    chain_id, domain = renter_rent.manifest.chain_id, agent.oracle.domain
    jobs, logs, metrics = f"/jobs/{job.job_id}", f"/jobs/{job.job_id}/logs", f"/jobs/{job.job_id}/metrics"
    threads = threading.active_count()
    capfd.readouterr()

    tally = Tally("agent")
    tally.run(port, framing_probes("POST", "/challenge"))
    image = f"/images/{record.image_cid}"
    for path in ("/health", "/metrics", jobs, logs, metrics, image):
        tally.run(port, framing_probes("GET", path))
    tally.run(port, method_and_path_probes(["/health", "/metrics", jobs, logs, metrics, "/challenge", image]))
    for bad in ("not-a-cid", "a" * 129, "%00", "bafy%20x", "%2e%2e"):
        tally.check(port, Probe(f"GET /images/{bad[:20]}", request("GET", f"/images/{bad}"), (400,)))
    for bad in ("0x12", "zz", "0x" + "g" * 64, "0x" + "ab" * 40, "%00", "0x" + "ab" * 32 + "%20"):
        tally.check(port, Probe(f"GET /jobs/{bad[:20]}", request("GET", f"/jobs/{bad}"), (400,)))
    tally.check(port, Probe("GET an unknown job", request("GET", "/jobs/0x" + "77" * 32), (404,)))
    for path in (jobs, logs, metrics):
        tally.run(port, access_probes(path, chain_id, job.job_id, cast))
    tally.run(port, log_query_probes(logs, sign_access(cast.renter, chain_id, job.job_id)))
    tally.run(port, metrics_query_probes(metrics, sign_access(cast.renter, chain_id, job.job_id)))
    valid = Challenge(job.job_id, record.image_cid, 7, 16, b"\x06" * 32, time.time() + 60).signed(
        cast.oracle, domain).to_json()
    tally.run(port, challenge_probes(valid, record, cast.oracle, cast.renter, domain))

    # a job's followers hold at most LOG_STREAMS_PER_JOB workers (all jobs' at most LOG_STREAMS):
    # the oracle's challenge still gets one
    followers = []
    for _ in range(LOG_STREAMS_PER_JOB):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(request("GET", logs + "?follow=1", sign_access(cast.renter, chain_id, job.job_id).items()))
        assert sock.recv(12) == b"HTTP/1.0 200"
        followers.append(sock)
    tally.check(port, Probe("a log stream too many", request("GET", logs, sign_access(
        cast.renter, chain_id, job.job_id).items()), (429,)))

    # the right answers still come
    assert tally.check(port, Probe("GET /health", request("GET", "/health"), (200,))).json()
    shown = tally.check(port, Probe("GET the job", request("GET", jobs, sign_access(cast.renter, chain_id,
                                                                                   job.job_id).items()), (200,)))
    assert shown.json()["phase"] == "running"
    fresh = Challenge(job.job_id, record.image_cid, 7, 16, b"\x07" * 32, time.time() + 30).signed(cast.oracle, domain)
    answer = tally.check(port, Probe("the oracle's challenge", request("POST", "/challenge", body=json.dumps(
        fresh.to_json()).encode()), (200,))).json()
    data = base64.b64decode(answer["data"])
    assert data == kubo.client().cat_bytes(f"{record.image_cid}/{IMAGE_FILE}", offset=7, length=16)
    assert response_signer(domain, agent.gp.address, fresh, data, answer["signature"]) == agent.gp.address
    for sock in followers:  # followers that leave free their workers while the job still runs
        sock.close()
    deadline = time.monotonic() + 10
    while send(port, request("GET", logs, sign_access(cast.renter, chain_id, job.job_id).items())).status != 200:
        assert time.monotonic() < deadline, "the log streams of clients gone were not freed"
        time.sleep(0.2)

    assert runner.thread.is_alive() and requests.get(f"{agent.config.endpoint}/health", timeout=5).status_code == 200
    time.sleep(0.5)
    assert threading.active_count() <= threads + 2, (threads, threading.active_count())
    no_traceback(caplog, capfd)
    assert tally.refused >= 500
    with capfd.disabled():
        print("\n" + tally.line())


def test_stalled_clients_are_dropped_and_hold_no_threads(start_agent, caplog, capfd):
    """Forty clients that send half a request and wait: no thread each (the pool is fixed), each
    dropped after the idle timeout, and the endpoint answers again once they are gone."""
    caplog.set_level(logging.DEBUG)
    runner = start_agent()
    port = serving(runner)
    threads = threading.active_count()
    halves = [b"GET /health HTTP/1.0\r\n", b"POST /challenge HTTP/1.0\r\nContent-Length: 100\r\n\r\n{\"cid\":", b"G"]
    stalled = []
    for i in range(40):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(halves[i % len(halves)])
        stalled.append(sock)
    time.sleep(1.0)
    assert threading.active_count() <= threads + 2, (threads, threading.active_count())
    deadline = time.monotonic() + 4 * IDLE_TIMEOUT_S + 30  # 40 clients, 16 at a time, 10 s each
    for sock in stalled:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            assert sock.recv(1024) == b""  # dropped without an answer
        except ConnectionResetError:
            pass
        sock.close()
    assert time.monotonic() < deadline
    assert send(port, request("GET", "/health")).status == 200
    assert threading.active_count() <= threads + 2
    no_traceback(caplog, capfd)
