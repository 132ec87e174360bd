"""The oracle's pure parts: dispute rules, config, signed messages, its database helpers."""

from __future__ import annotations

import pytest
from eth_account import Account

from gpurent.errors import ConfigurationError
from gpurent.oracle.config import parse_config
from gpurent.oracle.evidence import decide
from gpurent.wire.protocol import (
    Challenge,
    Domain,
    Heartbeat,
    SignatureError,
    incident,
    new_heartbeat,
    response_signer,
    sign_response,
)
from gpurent.oracle.state import OracleState
from gpurent.types import DisputeOutcome

DOMAIN = Domain(31337, "0x" + "11" * 20)


JOB = "0x" + "0c" * 32
RENTER, PROVIDER = "0x" + "aa" * 20, "0x" + "bb" * 20
RECORD = {"reachable": True, "job": {"job_id": JOB, "phase": "running", "exit_code": None, "capped": False,
                                     "timeline": [{"phase": "accepted"}, {"phase": "running"}]}}
# finding 6: a provider that never ran the container, healthy by every observation, serving a
# record that says the renter's container "exited with code 1"
EXITED = {"reachable": True, "job": {**RECORD["job"], "phase": "exited", "exit_code": 1,
                                     "timeline": [{"phase": "running"}, {"phase": "exited"}]}}


def evidence(challenges=(), miss_run=0, expected=10, record=None, intact=True, initiator=RENTER):
    """A dispute's evidence document, as the gatherer makes it, with only what the rules read."""
    return {"job": {"id": JOB, "user": RENTER, "provider": PROVIDER},
            "dispute": {"initiator": initiator, "reason": "test"},
            "challenges": list(challenges),
            "heartbeats": {"interval_s": 1, "expected": expected, "kept": expected - miss_run,
                           "longest_miss_run": miss_run},
            "provider_record": RECORD if record is None else record,
            "image": {"intact": intact, "detail": "missing block"}}


P, U, S = DisputeOutcome.PROVIDER_FAULT, DisputeOutcome.USER_FAULT, DisputeOutcome.SPLIT
PASSED = {"outcome": "passed", "job_id": JOB}  # a data-possession challenge of this job's image


@pytest.mark.parametrize("case, outcome, words", [
    # 1. ProviderFault: the oracle saw a fault, or the provider gave no (readable) record
    (evidence([{"outcome": "fraud"}]), P, "challenge"),
    (evidence([{"outcome": "timeout"}], record=EXITED), P, "challenge"),
    (evidence([{"outcome": "bad-signature"}], initiator=PROVIDER), P, "challenge"),
    (evidence([{"outcome": "passed"}], miss_run=4), P, "4 heartbeats"),
    (evidence(miss_run=4, intact=False), P, "4 heartbeats"),  # the provider's fault comes first
    (evidence(record={"reachable": False, "error": "refused"}), P, "no record"),
    (evidence(record={"reachable": True, "error": "HTTP 404: unknown job"}), P, "no record"),
    (evidence(record={"reachable": True, "error": "unreadable record: not JSON"}), P, "unreadable record"),
    (evidence(record={"reachable": True, "error": "unreadable record: larger than 262144 bytes"}, expected=0), P,
     "no record"),
    (evidence(record={"reachable": True, "job": "exited with code 1"}), P, "unreadable record"),
    (evidence(record={"reachable": True, "job": {"phase": "exited", "exit_code": "1"}}), P, "unreadable record"),
    (evidence(record={"reachable": True, "job": {**RECORD["job"], "exit_code": True}}), P, "unreadable record"),
    # 2. UserFault: the image is broken (checked by the oracle itself), whoever disputed
    (evidence(intact=False), U, "not intact"),
    (evidence(intact=False, initiator=PROVIDER, expected=0), U, "not intact"),
    # 3. Split (no fault): the oracle did not watch the job, so it has nothing to rule on
    (evidence(expected=0), S, "did not watch"),
    (evidence(expected=0, initiator=PROVIDER), S, "did not watch"),
    # 4. a healthy provider: the ruling goes against the disputer, once a challenge of this
    # job's image passed (heartbeats alone are the provider's own signed word)
    (evidence([PASSED]), U, "renter's dispute fails"),
    (evidence([PASSED], initiator=RENTER.upper().replace("0X", "0x")), U, "renter's dispute fails"),  # any case
    (evidence([PASSED, {"outcome": "void"}], miss_run=3), U, "1 challenge(s) passed"),
    (evidence([PASSED], record=EXITED), U, "renter's dispute fails"),
    (evidence(), S, "heartbeats alone"),  # found by the adversary simulator: heartbeats only
    (evidence([{"outcome": "passed", "job_id": "0x" + "0d" * 32}]), S, "heartbeats alone"),  # another job's
    (evidence(record=EXITED), S, "heartbeats alone"),
    (evidence(initiator=PROVIDER), S, "provider disputed"),
    (evidence(record=EXITED, initiator=PROVIDER), S, "provider disputed"),
    (evidence(initiator="0x" + "cc" * 20), S, "neither party"),
])
def test_dispute_rules(case, outcome, words):
    ruled, rule = decide(case, miss_limit=3)
    assert ruled == outcome and words in rule, rule


@pytest.mark.parametrize("base", [
    evidence([PASSED]), evidence(initiator=PROVIDER), evidence(expected=0), evidence(expected=0, initiator=PROVIDER),
    evidence(intact=False), evidence(miss_run=4), evidence([{"outcome": "fraud"}], initiator=PROVIDER),
], ids=["renter-healthy", "provider-healthy", "renter-unwatched", "provider-unwatched", "broken-image",
        "silent-provider", "failed-challenge"])
def test_the_providers_exit_code_never_decides(base):
    """Finding 6: what the provider says happened to the container (exit code, phase, capped,
    timeline) is its own word: the same evidence with any such record gets the same ruling,
    with the same rule."""
    rulings = set()
    for code in (None, 0, 1, 7, 137):
        for phase, capped in (("running", False), ("exited", False), ("exited", True), ("completed", False)):
            job = {**RECORD["job"], "phase": phase, "exit_code": code, "capped": capped,
                   "timeline": [{"phase": "running"}] + ([{"phase": phase}] if phase != "running" else [])}
            rulings.add(decide({**base, "provider_record": {"reachable": True, "job": job}}, miss_limit=3))
    assert len(rulings) == 1, rulings
    (ruling,) = rulings
    assert "code" not in ruling[1] and "exit" not in ruling[1]


def test_a_record_that_is_not_a_record_counts_as_none():
    """Unreadable records (as the gatherer reports them, or a record document that does not
    read as one) rule like no record at all, however healthy the provider looked."""
    from gpurent.oracle.evidence import record_problem

    assert record_problem(RECORD["job"], JOB) is None
    assert record_problem(RECORD["job"], JOB.upper().replace("0X", "0x")) is None
    assert "another job" in record_problem(RECORD["job"], "0x" + "0d" * 32)
    for junk in ([], "text", 7, None, {}, {**RECORD["job"], "timeline": "none"},
                 {**RECORD["job"], "timeline": [{"phase": 3}]}, {**RECORD["job"], "capped": "no"},
                 {k: v for k, v in RECORD["job"].items() if k != "exit_code"}):
        assert record_problem(junk) is not None, junk
        assert decide(evidence(record={"reachable": True, "job": junk}), 3)[0] == P
    # the provider disputing its own healthy job with an unreadable record loses it
    assert decide(evidence(record={"reachable": True, "error": "unreadable record: not JSON"}, initiator=PROVIDER),
                  3)[0] == P


def test_the_oracle_refuses_a_report_period_other_than_the_chains():
    from types import SimpleNamespace

    from gpurent.oracle.config import OracleConfig
    from gpurent.oracle.oracle import check_period

    chain = SimpleNamespace(reputation_system=SimpleNamespace(periodLength=lambda: 4))
    check_period(chain, OracleConfig(heartbeat_interval_s=1, period_s=4))
    with pytest.raises(ConfigurationError, match=r"report period \(3600 s\) differs from the chain's \(4 s") as err:
        check_period(chain, OracleConfig())
    assert "\n" not in str(err.value) and "period = 4" in str(err.value)

    def broken():
        raise RuntimeError("execution reverted\nmore lines")

    with pytest.raises(ConfigurationError, match="cannot read the chain's report period") as err:
        check_period(SimpleNamespace(reputation_system=SimpleNamespace(periodLength=broken)), OracleConfig())
    assert "\n" not in str(err.value)


def test_config_defaults_and_errors():
    config = parse_config({})
    assert (config.heartbeat_interval_s, config.miss_limit, config.period_s, config.slots_per_period) == (60, 3, 3600,
                                                                                                          60)
    assert parse_config({"oracle": {"providers": ["0xABC"]}}).providers == ("0xabc",)
    with pytest.raises(ConfigurationError, match="whole number of heartbeat intervals"):
        parse_config({"heartbeats": {"interval": 7}})
    with pytest.raises(ConfigurationError, match="HOST:PORT"):
        parse_config({"oracle": {"listen": "7300"}})
    with pytest.raises(ConfigurationError, match="probability"):
        parse_config({"challenges": {"probability": 2}})
    with pytest.raises(ConfigurationError):
        parse_config({"heartbeats": {"interval": "soon"}})


def test_heartbeat_signatures_bind_every_field_and_the_domain():
    key = Account.create()
    beat = new_heartbeat(key.address, 2, 0.75, 3600).signed(key, DOMAIN)
    assert beat.gpu_util_bps == 7500
    again = Heartbeat.from_json(beat.to_json())
    assert again.signer(DOMAIN) == key.address
    assert Heartbeat(**{**again.__dict__, "uptime_s": 1}).signer(DOMAIN) != key.address
    assert again.signer(Domain(1, DOMAIN.contract)) != key.address
    assert again.signer(Domain(31337, "0x" + "22" * 20)) != key.address
    for broken in ({**beat.to_json(), "nonce": "0x12"}, {k: v for k, v in beat.to_json().items() if k != "nonce"},
                   {**beat.to_json(), "gpu_util_bps": 10_001}):
        with pytest.raises(SignatureError):
            Heartbeat.from_json(broken)
    with pytest.raises(SignatureError, match="malformed signature"):
        Heartbeat(**{**beat.__dict__, "signature": "0x1234"}).signer(DOMAIN)


def test_challenge_answers_bind_the_bytes():
    key = Account.create()
    challenge = Challenge("0x01", "bafyimage", 4096, 4, b"\x07" * 32, 0.0)
    signature = sign_response(key, DOMAIN, challenge, b"data")
    assert response_signer(DOMAIN, key.address, challenge, b"data", signature) == key.address
    assert response_signer(DOMAIN, key.address, challenge, b"date", signature) != key.address
    moved = Challenge("0x01", "bafyimage", 4097, 4, b"\x07" * 32, 0.0)
    assert response_signer(DOMAIN, key.address, moved, b"data", signature) != key.address
    with pytest.raises(ValueError):
        Challenge.from_json({"cid": "x", "offset": 0, "length": 10**9, "nonce": "0x" + "00" * 32, "expiry": 0})


def test_incident_names_are_the_same_for_every_instance_and_distinct_per_thing():
    a = incident("downtime", 1, "0xAbC", 5)
    assert a == incident("downtime", 1, "0xabc", 5) and len(a) == 32
    assert len({a, incident("downtime", 1, "0xabc", 6), incident("downtime", 2, "0xabc", 5),
                incident("challenge", 1, "0xabc", 5)}) == 4


def test_state_refuses_replays_and_measures_miss_runs(tmp_path):
    state = OracleState(tmp_path / "oracle.db")
    key = Account.create()
    beat = new_heartbeat(key.address, 0, 0, 0).signed(key, DOMAIN)
    assert state.add_heartbeat(beat, 10) and not state.add_heartbeat(beat, 10)
    state.start_watch(key.address, 0)
    for slot, kept in enumerate([1, 0, 0, 1, 0, 0, 0, 0, 1], start=1):
        state.judge(key.address, slot, True, bool(kept), None, 0)
    state.judge(key.address, 10, False, False, None, 0)  # not offering: not expected
    assert state.slot_counts(key.address, 1, 10) == (3, 9)
    assert state.longest_miss_run(key.address, 1, 10) == 4
    assert state.longest_miss_run(key.address, 1, 4) == 2
    state.close()


class FlakyChain:
    """The two calls a penalty makes; the first send fails like a nonce taken by another
    instance of the same oracle account."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.manifest = SimpleNamespace(chain_id=31337, block=0)
        self.reputation_system = SimpleNamespace(address="0x" + "ab" * 20)
        self.recorded: set[bytes] = set()
        self.sends = 0

    def incident_recorded(self, provider: str, name: bytes) -> bool:
        return (provider, name) in self.recorded

    def apply_penalty(self, provider: str, reason: object, name: bytes) -> None:
        self.sends += 1
        if self.sends == 1:
            raise RuntimeError("(-32003) Nonce '9' is too low")
        self.recorded.add((provider, name))


def test_a_penalty_whose_transaction_fails_stays_pending_and_is_sent_next_round(tmp_path):
    from gpurent.oracle.config import OracleConfig
    from gpurent.oracle.oracle import Oracle
    from gpurent.types import PenaltyReason

    chain = FlakyChain()
    oracle = Oracle(chain, OracleConfig(listen_port=0, secret="unit"), tmp_path, store=None)  # type: ignore[arg-type]
    provider, name = "0x" + "11" * 20, incident("downtime", 31337, "0x" + "11" * 20, 7)
    try:
        assert oracle.penalise(provider, PenaltyReason.DOWNTIME, name, "4 missed") == "pending"
        assert [a[4] for a in oracle.state.actions("penalty")] == ["pending"]
        oracle.retry_pending()
        assert chain.sends == 2 and (provider, name) in chain.recorded
        assert [a[4] for a in oracle.state.actions("penalty")] == ["applied"]
        oracle.retry_pending()  # nothing left to send
        assert chain.sends == 2
        assert oracle.penalise(provider, PenaltyReason.DOWNTIME, name, "4 missed") == "already"
    finally:
        oracle.state.close()
