"""The oracle reading a rogue provider's evidence (finding 6): a real HTTP server on 127.0.0.1
serving a record that is not a record, a 48 MB log, a body without end. The gatherer reads at
most its caps, within its time bound, calls an unreadable record unreadable (no record: the
provider's fault), and a dispute that cannot be resolved yet is tried again with backoff, not
every round."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import tracemalloc
from types import SimpleNamespace

import pytest
from eth_account import Account

from gpurent.errors import ServiceUnavailable
from gpurent.oracle.config import OracleConfig
from gpurent.oracle.evidence import LOG_READ_CAP, LOG_TAIL, RECORD_CAP, EvidenceGatherer, decide
from gpurent.oracle.oracle import Oracle
from gpurent.types import DisputeOutcome, JobStatus
from tests.oracle.rogue_provider import MB, RogueProvider

JOB = "0x" + "0c" * 32
RENTER, PROVIDER = "0x" + "aa" * 20, "0x" + "bb" * 20
GOOD = {"job_id": JOB, "phase": "running", "bytes_done": 0, "bytes_total": 0, "exit_code": None, "capped": False,
        "error": None, "image_cid": "bafy", "timeline": [{"phase": "running", "at": 1.0, "detail": ""}]}


class Endpoint:
    """What the gatherer asks the chain for: the provider's endpoint, the chain id, a key to
    sign its requests with."""

    def __init__(self, url: str):
        self.url = url
        self.account = Account.create()
        self.address = self.account.address
        self.manifest = SimpleNamespace(chain_id=31337, block=0)

    def provider(self, address: str) -> SimpleNamespace:
        return SimpleNamespace(endpoint=self.url)


@pytest.fixture
def rogue():
    servers: list[RogueProvider] = []

    def start(**kwargs) -> RogueProvider:
        servers.append(RogueProvider(**kwargs).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def read(server: RogueProvider, timeout_s: float = 10.0) -> dict:
    gatherer = EvidenceGatherer(Endpoint(server.url), None, None, 1.0, timeout_s)  # type: ignore[arg-type]
    return gatherer.provider_record(PROVIDER, JOB)


@pytest.mark.parametrize("body, words", [
    (b"<html>500 but said 200</html>", "not JSON"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'"exited with code 1"', "not a JSON object"),
    (json.dumps({"phase": "exited", "exit_code": 1}).encode(), "no job_id"),
    (json.dumps({**GOOD, "job_id": "0x" + "0d" * 32}).encode(), "another job"),
    (json.dumps({**GOOD, "exit_code": "1"}).encode(), "exit_code"),
    (json.dumps({**GOOD, "timeline": {"phase": "exited"}}).encode(), "timeline"),
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32"),  # would break a recursive parser
    (json.dumps({**GOOD, "error": "x" * RECORD_CAP}).encode(), f"larger than {RECORD_CAP} bytes"),
], ids=["html", "binary", "list", "string", "no-job-id", "other-job", "exit-code-text", "timeline-object", "nested",
        "oversized"])
def test_an_unreadable_record_is_reported_as_such_and_counts_as_none(rogue, body, words):
    server = rogue(record=body, log_size=MB)
    record = read(server)
    assert record["reachable"] and "job" not in record
    assert record["error"].startswith("unreadable record: ") and words in record["error"], record
    assert server.requests == {"record": 1}  # the log of a job without a record is never read
    ruled, rule = decide({"challenges": [], "heartbeats": {"longest_miss_run": 0, "expected": 10, "kept": 10},
                          "provider_record": record, "image": {"intact": True, "detail": ""},
                          "dispute": {"initiator": PROVIDER}, "job": {"user": RENTER, "provider": PROVIDER}}, 3)
    assert ruled == DisputeOutcome.PROVIDER_FAULT and "no record" in rule


def test_an_oversized_record_is_not_read_past_the_cap(rogue):
    server = rogue(record=json.dumps({**GOOD, "error": "x" * (40 * MB)}).encode())
    tracemalloc.start()
    try:
        record = read(server)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert record["error"] == f"unreadable record: larger than {RECORD_CAP} bytes"
    assert peak < 4 * MB, peak  # the 40 MB body never came into memory


def test_a_48_mb_log_is_read_up_to_the_cap_and_only_its_tail_kept(rogue):
    size = 48 * MB
    server = rogue(record=json.dumps(GOOD).encode(), log_size=size)
    tracemalloc.start()
    began = time.monotonic()
    try:
        record = read(server)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - began < 10
    assert record["job"] == GOOD and "log_error" not in record
    assert record["log_bytes"] == LOG_READ_CAP and record["log_truncated"] is True
    tail = base64.b64decode(record["log_tail_b64"])
    assert len(tail) == LOG_TAIL
    line = b"".join(b"log line %07d of a job that prints without end\n" % i for i in range(1024))
    served = (line * (LOG_READ_CAP // len(line) + 1))[:LOG_READ_CAP]
    assert tail == served[-LOG_TAIL:] and record["log_sha256"] == hashlib.sha256(served).hexdigest()
    assert peak < 8 * MB, peak  # never the whole log in memory
    time.sleep(0.5)  # let the server notice the oracle hung up
    assert server.sent["logs"] < size // 2, server.sent  # most of the 48 MB was never even sent
    assert server.requests == {"record": 1, "logs": 1}


def test_a_short_log_is_kept_whole(rogue):
    server = rogue(record=json.dumps(GOOD).encode(), log_size=1000)
    record = read(server)
    assert record["log_bytes"] == 1000 and record["log_truncated"] is False
    assert len(base64.b64decode(record["log_tail_b64"])) == 1000


def test_a_record_without_end_is_cut_at_the_time_bound(rogue):
    server = rogue(record="drip", drip_every=0.1)
    began = time.monotonic()
    record = read(server, timeout_s=1.5)
    elapsed = time.monotonic() - began
    assert 1.4 < elapsed < 4, elapsed
    assert "job" not in record and record["error"].startswith("unreadable record: not read within 1.5 s"), record


def test_errors_and_silence_are_no_record(rogue):
    server = rogue(record=json.dumps({"error": "job 0x0c is not known to this provider"}).encode(), status=404)
    record = read(server)
    assert record == {"reachable": True, "error": "HTTP 404: job 0x0c is not known to this provider"}
    server.stop()
    gone = read(server, timeout_s=2)
    assert gone["reachable"] is False and "is not answering" in gone["error"]


def test_a_challenge_answer_without_end_is_not_read_past_its_cap(rogue, tmp_path):
    """The same caps hold for data-possession answers: 48 MB of answer is read up to
    ANSWER_CAP and counts as no valid answer (a timeout, penalised as one)."""
    from gpurent.oracle.oracle import ANSWER_CAP
    from gpurent.wire.protocol import Challenge

    server = rogue(log_size=48 * MB)
    chain = DisputedChain(server.url)
    oracle = Oracle(chain, OracleConfig(listen_port=0, secret="unit"), tmp_path, store=None)  # type: ignore[arg-type]
    try:
        challenge = Challenge(JOB, "bafyimage", 0, 1024, b"\x01" * 32, time.time() + 10)
        tracemalloc.start()
        try:
            outcome, _, detail = oracle.ask(PROVIDER, challenge, b"\0" * 1024)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert outcome == "timeout" and f"over {ANSWER_CAP} bytes" in detail, detail
        assert peak < 8 * MB and server.requests["challenge"] == 1
    finally:
        oracle.shutdown()


class DisputedChain:
    """The chain side of one disputed job (renter disputed) whose provider serves ``url``; it
    records the ruling it is sent."""

    def __init__(self, url: str):
        self.url, self.account = url, Account.create()
        self.address = self.account.address
        self.manifest = SimpleNamespace(chain_id=31337, block=0)
        self.reputation_system = SimpleNamespace(address="0x" + "ab" * 20)
        now = int(time.time())
        self.events = [
            {"event": "JobCreated", "block": 1, "log_index": 0, "timestamp": now - 30, "args": {}},
            {"event": "JobAccepted", "block": 2, "log_index": 0, "timestamp": now - 29, "args": {}},
            {"event": "JobStarted", "block": 3, "log_index": 0, "timestamp": now - 28, "args": {}},
            {"event": "JobDisputed", "block": 4, "log_index": 0, "timestamp": now - 1,
             "args": {"initiator": RENTER, "reason": "it says exited with code 1"}}]
        self.status = JobStatus.DISPUTED
        self.rulings: list[tuple[str, DisputeOutcome, str]] = []

    def provider(self, address: str) -> SimpleNamespace:
        return SimpleNamespace(endpoint=self.url)

    def job(self, job_id: str) -> SimpleNamespace:
        return SimpleNamespace(job_id=JOB, user=RENTER, provider=PROVIDER, resource_id="0x01", image_cid="bafyimage",
                               estimated_duration=3600, price_per_hour=36, max_cost=36, start_time=0,
                               status=self.status)

    def job_events(self, job_id: str) -> list[dict]:
        return self.events

    def chain_time(self) -> int:
        return int(time.time())

    def head_block(self) -> int:
        return 4

    def disputes_raised(self, start: int, stop: int) -> list[str]:
        return [JOB] if start <= 4 <= stop else []

    def resolve_dispute(self, job_id: str, outcome: DisputeOutcome, cid: str) -> None:
        self.rulings.append((job_id, outcome, cid))
        self.status = JobStatus.RESOLVED


class OwnNode:
    """The oracle's own IPFS node: down until ``up`` is set."""

    def __init__(self) -> None:
        self.up = False
        self.ipfs = SimpleNamespace(add=lambda parts, wrap: [SimpleNamespace(cid="bafyevidence")])

    def metadata(self, cid: str, timeout_s: float | None = None) -> SimpleNamespace:
        if not self.up:
            raise ServiceUnavailable("the IPFS node at http://127.0.0.1:5001 does not answer")
        return SimpleNamespace(size=10, digest="sha256:00")

    def fetch(self, cid: str, metadata: object, dest: object) -> None:
        pass


def test_a_dispute_that_cannot_be_resolved_is_retried_with_backoff_not_every_round(rogue, tmp_path):
    """The review saw the oracle fetch a rogue provider's record and 48 MB log 89 times in 60 s:
    once per round while the ruling kept failing. Now a failed resolution waits 2 s, 4 s, 8 s...
    before the next try; once it can go through, the unreadable record rules against the
    provider."""
    server = rogue(record=b"<html>not json</html>", log_size=48 * MB)
    chain, node = DisputedChain(server.url), OwnNode()
    oracle = Oracle(chain, OracleConfig(listen_port=0, secret="unit", heartbeat_interval_s=1, period_s=4,
                                        evidence_timeout_s=5), tmp_path, store=node)  # type: ignore[arg-type]
    try:
        rounds, began = 0, time.monotonic()
        while time.monotonic() - began < 7.0:  # 0.05 s rounds: ~140 of them
            oracle.follow_disputes()
            rounds += 1
            time.sleep(0.05)
        assert rounds > 50
        assert 2 <= server.requests["record"] <= 3, server.requests  # tries at 0 s, 2 s, 6 s
        assert server.requests["logs"] == 0 and not chain.rulings
        ((_, key, _, detail, status),) = oracle.state.actions("dispute")
        assert key == JOB and status == "pending" and "failed" in detail and "IPFS node" in detail

        node.up = True  # the oracle's own node is back: the next try rules
        deadline = time.monotonic() + 15
        while not chain.rulings:
            assert time.monotonic() < deadline, oracle.state.actions("dispute")
            oracle.follow_disputes()
            time.sleep(0.05)
        ((job_id, outcome, cid),) = chain.rulings
        assert (job_id, outcome, cid) == (JOB, DisputeOutcome.PROVIDER_FAULT, "bafyevidence")
        ((_, _, _, detail, status),) = oracle.state.actions("dispute")
        assert status == "resolved" and "unreadable record: not JSON" in detail
        assert server.requests["record"] <= 4 and server.requests["logs"] == 0
    finally:
        oracle.pool.shutdown(wait=True)
        oracle.server.stop()
        oracle.state.close()


def test_an_honest_agents_record_before_any_transfer_is_a_record(tmp_path):
    """A job whose image came from the cache's fast path (or one still queued) has no transfer
    yet: the agent's own record says bytes_total null, and the record's parser (the oracle's and
    the SDK's) must take it, or an honest provider loses the dispute for "no record"."""
    from gpurent.agent.endpoint import Endpoint as AgentEndpoint, LogStore
    from gpurent.agent.state import AgentState
    from gpurent.wire.record import parse_record

    state = AgentState(tmp_path / "agent.db")
    state.record_new_jobs([{"job_id": JOB, "resource_id": "0x" + "01" * 32, "renter": RENTER, "image_cid": "bafy",
                            "duration_s": 60, "priority": 1.0, "block": 1}], 1)
    served = AgentEndpoint(state, LogStore(tmp_path / "logs"), 31337, PROVIDER, "127.0.0.1", 0, dict)
    try:
        shown = json.loads(json.dumps(served.describe(JOB)))  # as it crosses the wire
    finally:
        served.stop()
    assert shown["bytes_total"] is None
    record = parse_record(shown, JOB)
    assert (record["bytes_done"], record["bytes_total"], record["phase"]) == (0, None, "queued")


def test_a_bad_private_endpoint_setting_stops_the_oracle_before_it_blames_anyone(tmp_path, monkeypatch):
    """A typo in GPURENT_PRIVATE_ENDPOINTS would make every challenge and evidence read fail on
    the oracle's side, counted against each provider: the oracle refuses to start instead."""
    from gpurent.errors import ConfigurationError
    from gpurent.wire.endpoint import PRIVATE_ENV

    monkeypatch.setenv(PRIVATE_ENV, "yes")
    gp = SimpleNamespace(manifest=SimpleNamespace(chain_id=31337))
    with pytest.raises(ConfigurationError, match="allow or refuse"):
        Oracle(gp, OracleConfig(), tmp_path, None)


def test_a_flood_of_strangers_signatures_never_evicts_the_oracle_from_the_agents_cache():
    """Anyone can sign a request with a fresh key; each stranger costs one role lookup, and the
    remembered strangers are bounded, but the oracle stays remembered (its reads stay cheap)."""
    from gpurent.agent.oracle_link import ORACLE_CACHE_MAX, OracleLink

    oracle, asked = "0x" + "0a" * 20, []

    def has_role(role: str, address: str) -> dict[str, bool]:
        asked.append(address)
        return {"Marketplace": address == oracle}

    gp = SimpleNamespace(manifest=SimpleNamespace(chain_id=31337), reputation_system=SimpleNamespace(address=PROVIDER),
                         has_role=has_role)
    agent = SimpleNamespace(gp=gp, config=SimpleNamespace(oracle_urls=(), heartbeat_interval_s=60.0))
    link = OracleLink(agent)  # type: ignore[arg-type]
    assert link.is_oracle(oracle)
    for n in range(ORACLE_CACHE_MAX + 100):
        assert not link.is_oracle(f"0x{n:040x}")
    asked.clear()
    assert link.is_oracle(oracle) and asked == []  # still remembered: no lookup
    assert len(link._oracles) <= ORACLE_CACHE_MAX + 1
