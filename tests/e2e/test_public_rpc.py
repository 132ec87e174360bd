"""`gpurent up --public ADDRESS` serves the chain to other machines through a JSON-RPC proxy:
reads and signed transactions pass, Anvil's cheats and signing for its unlocked accounts do not.
A real Anvil and the real proxy process, on a veth address of this machine (not loopback)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import requests
from eth_account import Account

from gpurent.local import devnet
from gpurent.local.process import alive, free_port
from tests.e2e.test_two_machines import machines  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 for a non-loopback address of this machine")
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Anvil's test account 0
REFUSED = [("evm_increaseTime", [3600]), ("evm_mine", []), ("evm_setNextBlockTimestamp", [2_000_000_000]),
           ("anvil_setStorageAt", ["0x" + "11" * 20, "0x0", "0x" + "22" * 32]),
           ("anvil_impersonateAccount", ["0x" + "11" * 20]), ("anvil_setBalance", ["0x" + "11" * 20, "0x1"]),
           ("hardhat_setCode", ["0x" + "11" * 20, "0x00"]), ("eth_accounts", []), ("eth_sign", ["0x" + "11" * 20, "0x00"]),
           ("eth_sendTransaction", [{"from": Account.from_key(KEY0).address, "to": "0x" + "11" * 20, "value": "0x1"}]),
           ("personal_sign", ["0x00", "0x" + "11" * 20]), ("debug_traceTransaction", ["0x" + "00" * 32])]


def call(url: str, method: str, params: list[object]) -> dict[str, object]:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    answer = requests.post(url, json=body, timeout=30).json()
    assert answer["id"] == 7, answer
    return answer


@pytest.fixture
def public_chain(machines, tmp_path, monkeypatch):  # noqa: F811 - the imported fixture
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    chain = devnet.Chain(port=free_port(), public_host=machines.host_ip)
    running = chain.start()
    try:
        yield running
    finally:
        chain.stop()


def test_the_public_address_forwards_reads_and_signed_transactions_only(public_chain):
    url = public_chain.public_url
    assert url == f"http://{public_chain.public_host}:{public_chain.port}"
    assert call(url, "eth_chainId", [])["result"] == hex(public_chain.chain_id)
    assert call(url, "eth_call", [{"to": "0x" + "11" * 20, "data": "0x"}, "latest"])["result"] == "0x"
    assert call(url, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest"}])["result"] == []
    head = call(url, "eth_blockNumber", [])["result"]
    me = Account.from_key(KEY0)
    signed = me.sign_transaction({"to": "0x" + "11" * 20, "value": 1, "gas": 21_000, "gasPrice": 10 ** 10,
                                  "nonce": 0, "chainId": public_chain.chain_id})
    sent = call(url, "eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex().removeprefix("0x")])
    receipt = call(url, "eth_getTransactionReceipt", [sent["result"]])["result"]
    assert receipt["status"] == "0x1", receipt

    for method, params in REFUSED:
        answer = call(url, method, params)
        assert answer.get("error") == {"code": -32601, "message": "method not allowed"}, (method, answer)
        assert "result" not in answer
    batch = requests.post(url, json=[{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                                     {"jsonrpc": "2.0", "id": 2, "method": "evm_mine", "params": []}], timeout=30).json()
    by_id = {answer["id"]: answer for answer in batch}
    assert by_id[2]["error"]["code"] == -32601 and "result" in by_id[1], batch
    assert int(call(url, "eth_blockNumber", [])["result"], 16) == int(head, 16) + 1  # only the signed transfer
    assert call(public_chain.url, "evm_mine", [])["result"] == "0x0"  # this machine keeps Anvil's cheats


def test_the_public_address_bounds_what_it_takes(public_chain):
    url = public_chain.public_url
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(101)]
    assert requests.post(url, json=too_many, timeout=30).json()["error"]["code"] == -32600
    assert requests.post(url, json=[], timeout=30).json()["error"]["code"] == -32600
    huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": ["0" * (1 << 20)]})
    assert requests.post(url, data=huge, headers={"Content-Type": "application/json"}, timeout=30).status_code == 413
    assert requests.post(url, data=b"{not json", timeout=30).status_code == 400
    for odd in ([1, "x"], {"id": 3}, {"id": 4, "method": 5}, {"id": 5, "method": "eth_chainId", "params": 7}):
        answers = requests.post(url, json=odd, timeout=30).json()
        for answer in answers if isinstance(answers, list) else [answers]:
            assert answer["error"]["code"] == -32600, (odd, answers)


def test_the_proxy_stops_with_the_chain(machines, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path))
    chain = devnet.Chain(port=free_port(), public_host=machines.host_ip)
    chain.start()
    proxy = devnet.PROXY.running()
    assert proxy is not None and proxy["listen"] == chain.start().public_url
    assert chain.stop()
    assert not alive(int(proxy["pid"])) and devnet.PROXY.running() is None


def test_up_public_says_the_devnet_is_for_trusted_machines():
    import subprocess
    import sys
    from pathlib import Path

    shown = subprocess.run([str(Path(sys.executable).parent / "gpurent"), "up", "--help"], capture_output=True,
                           text=True, timeout=60)
    assert "trusted machines" in shown.stdout and "test keys" in shown.stdout, shown.stdout
