"""The oracle's pure parts: dispute rules, config, signed messages, its database helpers."""

from __future__ import annotations

import pytest
from eth_account import Account

from gpurent.errors import ConfigurationError
from gpurent.oracle.config import parse_config
from gpurent.oracle.evidence import decide
from gpurent.oracle.protocol import (
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


def evidence(challenges=(), miss_run=0, record=None, intact=True):
    record = record if record is not None else {"reachable": True, "job": {"exit_code": None, "timeline": []}}
    return {"challenges": list(challenges), "heartbeats": {"longest_miss_run": miss_run}, "provider_record": record,
            "image": {"intact": intact, "detail": "missing block"}}


EXITED = {"reachable": True, "job": {"exit_code": 7, "capped": False,
                                     "timeline": [{"phase": "running"}, {"phase": "exited"}]}}


@pytest.mark.parametrize("case, outcome, words", [
    (evidence([{"outcome": "fraud"}]), DisputeOutcome.PROVIDER_FAULT, "challenge"),
    (evidence([{"outcome": "timeout"}], record=EXITED), DisputeOutcome.PROVIDER_FAULT, "challenge"),
    (evidence([{"outcome": "passed"}], miss_run=4), DisputeOutcome.PROVIDER_FAULT, "4 heartbeats"),
    (evidence(record={"reachable": False, "error": "refused"}), DisputeOutcome.PROVIDER_FAULT, "no record"),
    (evidence(record={"reachable": True, "error": "unknown job"}), DisputeOutcome.PROVIDER_FAULT, "no record"),
    (evidence(miss_run=3, record=EXITED), DisputeOutcome.USER_FAULT, "code 7"),
    (evidence(intact=False), DisputeOutcome.USER_FAULT, "not intact"),
    (evidence([{"outcome": "passed"}, {"outcome": "void"}], miss_run=3), DisputeOutcome.SPLIT, "split"),
    # stopped at the booked duration: not the renter's failure
    (evidence(record={"reachable": True, "job": {**EXITED["job"], "capped": True}}), DisputeOutcome.SPLIT, "split"),
    # exit code 0 is no failure
    (evidence(record={"reachable": True, "job": {**EXITED["job"], "exit_code": 0}}), DisputeOutcome.SPLIT, "split"),
])
def test_dispute_rules(case, outcome, words):
    ruled, rule = decide(case, miss_limit=3)
    assert ruled == outcome and words in rule


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

    def incident_recorded(self, name: bytes) -> bool:
        return name in self.recorded

    def apply_penalty(self, provider: str, reason: object, name: bytes) -> None:
        self.sends += 1
        if self.sends == 1:
            raise RuntimeError("(-32003) Nonce '9' is too low")
        self.recorded.add(name)


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
        assert chain.sends == 2 and name in chain.recorded
        assert [a[4] for a in oracle.state.actions("penalty")] == ["applied"]
        oracle.retry_pending()  # nothing left to send
        assert chain.sends == 2
        assert oracle.penalise(provider, PenaltyReason.DOWNTIME, name, "4 missed") == "already"
    finally:
        oracle.state.close()
