"""The devnet on geth (``gpurent devnet up --chain geth``): geth's own execution client in
developer mode, with its real transaction pool and fee market. The chain as configured (30M gas
from block 0, a block every 2 s, the test accounts funded), the suite deployed and a job's whole
lifecycle through the SDK, and a sender that finds its account's nonce taken in the pool or a
gap in it (a daemon restarted before its transaction was mined)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from gpurent.local import devnet as devnet_mod
from gpurent.local.process import free_port
from gpurent.sdk import Gpurent
from gpurent.types import JobStatus
from tests.geth_chain import needs_geth

pytestmark = needs_geth
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
GAS_LIMIT = 30_000_000


@pytest.fixture(scope="module")
def devnet(tmp_path_factory) -> Iterator[devnet_mod.Devnet]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GPURENT_HOME", str(tmp_path_factory.mktemp("geth-home")))
        chain = devnet_mod.Chain(port=free_port(), block_time=2, kind="geth")
        running = chain.start()
        try:
            devnet_mod.deploy(running)
            yield running
        finally:
            chain.stop()


@pytest.fixture
def gp(devnet) -> Iterator[Gpurent]:
    sdk = Gpurent.connect(devnet.url)
    try:
        yield sdk
    finally:
        sdk.close()


def rpc(devnet: devnet_mod.Devnet, method: str, *params: Any) -> Any:
    return devnet_mod.rpc(devnet.url, method, list(params), timeout=10)


def block(devnet: devnet_mod.Devnet, number: str) -> dict[str, Any]:
    result = rpc(devnet, "eth_getBlockByNumber", number, False)
    assert isinstance(result, dict)
    return result


def test_the_chain_is_geth_with_30m_gas_from_block_0_and_2_s_blocks(devnet):
    assert str(rpc(devnet, "web3_clientVersion")).startswith("Geth/")
    assert int(rpc(devnet, "eth_chainId"), 16) == 31337 == devnet.chain_id
    assert int(block(devnet, "0x0")["gasLimit"], 16) == GAS_LIMIT
    head = int(rpc(devnet, "eth_blockNumber"), 16)
    assert head > 20  # the deployment's transactions, each waiting for its block
    assert {int(block(devnet, hex(n))["gasLimit"], 16) for n in (1, head // 2, head)} == {GAS_LIMIT}
    stamps = [int(block(devnet, hex(n))["timestamp"], 16) for n in range(head - 5, head + 1)]
    assert {b - a for a, b in zip(stamps, stamps[1:])} == {2}


def test_the_test_accounts_are_funded_in_the_genesis(devnet):
    from ape import accounts

    for i in range(10):
        balance = int(rpc(devnet, "eth_getBalance", accounts.test_accounts[i].address, "0x0"), 16)
        assert balance == 10_000 * 10**18


def test_geth_metrics_are_scrapeable(devnet):
    import requests

    from gpurent.local.geth import METRICS_PATH

    text = requests.get(f"http://127.0.0.1:{devnet.metrics_port}{METRICS_PATH}", timeout=10).text
    assert "# TYPE chain_head_block gauge" in text


def test_a_job_lifecycle_through_the_sdk_settles_98_2(gp):
    from ape import accounts

    provider, renter = gp.with_account(accounts.test_accounts[3]), gp.with_account(accounts.test_accounts[5])
    treasury = accounts.test_accounts[2].address
    provider.register_provider("http://127.0.0.1:8765", stake=100)
    gpu = provider.register_resource("RTX4090", 16, 64, 500, "3.6").value
    job = renter.create_job(gpu.resource_id, CID, 3600).value  # with a permit
    assert job.status is JobStatus.CREATED and job.max_cost == Decimal("3.6")
    provider.accept_job(job.job_id)
    provider.start_job(job.job_id)
    provider.complete_job(job.job_id)
    done = gp.job(job.job_id)
    assert done.status is JobStatus.COMPLETED
    assert Decimal("0.002") <= done.final_cost <= Decimal("0.02")  # a few 2 s blocks at 0.001 GPU/s
    escrow = gp.escrow(job.job_id)
    assert escrow.completed and escrow.released + escrow.refunded == escrow.locked == Decimal("3.6")
    held = provider.held_earnings()
    assert held.amount == done.final_cost * Decimal("0.98") and held.fee == done.final_cost * Decimal("0.02")
    before = (provider.balance(), gp.balance(treasury))
    paid = provider.withdraw_earnings().value
    assert (provider.balance() - before[0], gp.balance(treasury) - before[1]) == (paid.amount, paid.fee)


def _raw_transfer(devnet: devnet_mod.Devnet, account: Any, nonce: int, to: str) -> str:
    """A plain ETH transfer signed apart from the SDK (as an earlier run of a daemon sent it)."""
    from eth_account import Account

    base = int(block(devnet, "latest")["baseFeePerGas"], 16)
    signed = Account.sign_transaction({"chainId": devnet.chain_id, "nonce": nonce, "to": to, "value": 1,
                                       "gas": 21_000, "maxFeePerGas": 4 * base + 10 * 10**9,
                                       "maxPriorityFeePerGas": 10 * 10**9, "type": 2}, account.private_key)
    return str(rpc(devnet, "eth_sendRawTransaction", "0x" + signed.raw_transaction.hex().removeprefix("0x")))


def _receipt(devnet: devnet_mod.Devnet, tx_hash: str, timeout_s: float = 30) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if receipt := rpc(devnet, "eth_getTransactionReceipt", tx_hash):
            return dict(receipt)
        time.sleep(0.5)
    raise AssertionError(f"{tx_hash} not mined within {timeout_s} s")


def test_a_transaction_still_in_the_pool_does_not_wedge_the_sender(devnet, gp):
    """A daemon restarted before its transaction was mined: the pool holds that nonce."""
    from ape import accounts

    account = accounts.test_accounts[6]
    nonce = int(rpc(devnet, "eth_getTransactionCount", account.address, "latest"), 16)
    earlier = _raw_transfer(devnet, account, nonce, accounts.test_accounts[7].address)
    assert rpc(devnet, "eth_getTransactionCount", account.address, "pending") != hex(nonce)
    sent = gp.with_account(account).transfer(accounts.test_accounts[8].address, "1")
    assert sent.receipt.nonce == nonce + 1  # after the pool's one, not replacing it
    assert int(_receipt(devnet, earlier)["status"], 16) == 1


def test_a_nonce_gap_left_in_the_pool_is_filled_not_waited_on(devnet, gp):
    """A transaction queued past a nonce that was dropped: the next one sent fills the gap."""
    from ape import accounts

    account = accounts.test_accounts[7]
    nonce = int(rpc(devnet, "eth_getTransactionCount", account.address, "latest"), 16)
    queued = _raw_transfer(devnet, account, nonce + 1, accounts.test_accounts[8].address)
    sent = gp.with_account(account).transfer(accounts.test_accounts[8].address, "1")
    assert sent.receipt.nonce == nonce
    assert int(_receipt(devnet, queued)["status"], 16) == 1  # the gap filled, the queued one follows
