"""Fees and the transaction pool of a real node (geth, a public chain), the same on Anvil.

Ape caps a transaction's fee at the next block's base fee on a network given by URL, which a
node refuses as soon as the base fee moves (``max fee per gas less than block base fee``): every
transaction here is capped at twice the next base fee plus the node's suggested tip (the rule of
web3.py and ethers), paying only what the block asks.

There Ape also sends a transaction with the gas its estimate at the latest block says; mined in
the next block (a later timestamp: a job billed by its seconds) it can take more, so
:func:`gas_fields` estimates at the pending block and adds ``GAS_MARGIN``.

Ape numbers a transaction from the sender's mined count, so a transaction of the same account
still in the pool (sent by an earlier run of a daemon that was stopped or restarted before it
was mined) takes that nonce: the node refuses ours as an underpriced replacement. :func:`send`
then waits for the pool's one to be mined (ours gets the next nonce), and replaces it with 25 %
higher fees only if it is not mined within ``STUCK_S`` (one that never will be).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")
FEE_CAP_BASE_MULTIPLE = 2
BUMP = 1.25  # a replacement must pay at least 10 % more (geth's default price bump)
STUCK_S = 12.0  # how long the pool's transaction may take before ours replaces it
ATTEMPTS = 4
GAS_MARGIN = 1.25
TAKEN_NONCE = ("replacement transaction underpriced", "already known", "nonce too low", "known transaction")


def fee_fields(bump: float = 1.0) -> dict[str, int]:
    """``max_fee`` and ``max_priority_fee`` for a transaction sent now (``bump``: times more)."""
    from ape import chain

    provider = chain.provider
    tip = int(provider.priority_fee)
    fees = {"max_priority_fee": tip, "max_fee": FEE_CAP_BASE_MULTIPLE * int(provider.base_fee) + tip}
    return {key: int(value * bump) + (1 if bump > 1 else 0) for key, value in fees.items()}


def gas_fields(method: Any, args: tuple[Any, ...], sender: Any) -> dict[str, int]:
    """``gas_limit`` for ``method(*args)`` sent by ``sender`` on a network given by URL: the
    node's estimate at the pending block plus ``GAS_MARGIN``; none on Ape's own local network
    (it gives the block's limit), nor when the estimate fails (Ape's own then reports why)."""
    from ape import chain

    provider = chain.provider
    web3 = getattr(provider, "web3", None)
    if provider.network.is_local or web3 is None:
        return {}
    call = {"from": str(sender.address), "to": str(method.contract.address), "data": method.encode_input(*args)}
    try:
        estimate = int(web3.eth.estimate_gas(call, "pending"))
    except Exception:  # a revert (web3 raises several kinds): Ape's estimate raises it as its own
        return {}
    return {"gas_limit": int(estimate * GAS_MARGIN)}


def nonce_taken(err: BaseException) -> bool:
    """Whether the node refused a transaction because the pool (or the chain) already holds its nonce."""
    text = str(err).lower()
    return any(phrase in text for phrase in TAKEN_NONCE)


def send(transact: Callable[[dict[str, int]], R], sender: Any, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> R:
    """``transact(fees)`` (it sends one transaction as ``sender``), again while the node says its
    nonce is taken: at the next nonce once the pool's transaction is mined, with higher fees
    (replacing it) when it is not mined within ``STUCK_S``; at most ``ATTEMPTS`` retries."""
    bump = 1.0
    for _ in range(ATTEMPTS):
        nonce = int(sender.nonce)
        try:
            return transact(fee_fields(bump))
        except Exception as err:  # Ape wraps the node's refusal in several kinds; its words decide
            if not nonce_taken(err):
                raise
        deadline = clock() + STUCK_S
        while clock() < deadline and int(sender.nonce) == nonce:
            sleep(0.25)
        if int(sender.nonce) == nonce:  # still pending: replace it
            bump *= BUMP
    return transact(fee_fields(bump))
