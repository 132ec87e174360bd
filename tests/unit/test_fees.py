"""gpurent.sdk.fees.send: what a sender does when the node says its nonce is taken (a transaction
of the same account still in the pool), with a fake node and clock."""

from __future__ import annotations

from typing import Any

import pytest

from gpurent.sdk import fees


class Sender:
    def __init__(self, nonce: int):
        self.nonce = nonce


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def fixed_fees(monkeypatch):
    monkeypatch.setattr(fees, "fee_fields", lambda bump=1.0: {"max_fee": round(100 * bump), "max_priority_fee": 10})


def test_waits_for_the_pools_transaction_then_sends_at_the_next_nonce():
    sender, clock, sent = Sender(4), Clock(), []

    def transact(fee: dict[str, int]) -> Any:
        sent.append((sender.nonce, fee["max_fee"]))
        if len(sent) == 1:
            raise RuntimeError("(-32000) replacement transaction underpriced")
        return "receipt"

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= 2:  # the pool's transaction is mined after a block
            sender.nonce = 5

    assert fees.send(transact, sender, clock, sleep) == "receipt"
    assert sent == [(4, 100), (5, 100)]  # the same fees: nothing replaced
    assert clock.now < fees.STUCK_S


def test_replaces_a_transaction_that_is_never_mined_with_higher_fees():
    sender, clock, sent = Sender(4), Clock(), []

    def transact(fee: dict[str, int]) -> Any:
        sent.append(fee["max_fee"])
        if len(sent) < 3:
            raise RuntimeError("already known")
        return "receipt"

    assert fees.send(transact, sender, clock, clock.sleep) == "receipt"
    assert sent == [100, 125, 156] and sender.nonce == 4


def test_other_refusals_and_a_lasting_one_are_raised():
    clock = Clock()

    def refused(fee: dict[str, int]) -> Any:
        raise RuntimeError("insufficient funds for gas * price + value")

    with pytest.raises(RuntimeError, match="insufficient funds"):
        fees.send(refused, Sender(0), clock, clock.sleep)
    calls = []

    def taken(fee: dict[str, int]) -> Any:
        calls.append(fee)
        raise RuntimeError("replacement transaction underpriced")

    with pytest.raises(RuntimeError, match="underpriced"):
        fees.send(taken, Sender(0), clock, clock.sleep)
    assert len(calls) == fees.ATTEMPTS + 1
