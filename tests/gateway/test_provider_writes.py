"""A provider's writes through the gateway, as the web app's provider dashboard makes them: a
GPU's availability and price, the withdrawal of its earnings and the steps of its unstake, each
prepared for the wallet with the contract's own checks run first (someone else's GPU: 403),
signed by the provider's own key and broadcast back, then read again from the chain and the
index; on Anvil, with a real index."""

from __future__ import annotations

from decimal import Decimal

import requests
from web3 import Web3

from tests.gateway.test_gateway import index_db, indexed, sign_in, wallet_send, writable  # noqa: F401 - fixtures
from tests.gateway.test_operator_writes import send


def board(url: str, address: str) -> dict:
    answer = requests.get(f"{url}/api/v1/providers/{address}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def post(url: str, path: str, auth: dict[str, str], body: dict | None = None) -> requests.Response:
    return requests.post(f"{url}/api/v1/provider/{path}", headers=auth, json=body if body is not None else {}, timeout=30)


def test_a_provider_toggles_and_reprices_only_its_own_gpus_and_the_index_shows_it(writable, cast, gp):
    server, indexer = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    gpus = {g["gpuModel"]: g for g in board(url, cast.provider.address)["gpus"]}
    active, retired = gpus["RTX4090"]["id"], gpus["A100"]["id"]  # busy_chain retired its A100
    assert gpus["RTX4090"]["available"] and gpus["A100"]["retired"]
    mine = {"Authorization": f"Bearer {sign_in(url, cast.provider)}"}
    other = {"Authorization": f"Bearer {sign_in(url, cast.provider2)}"}

    assert post(url, f"gpus/{active}/availability", {}, {"available": False}).status_code == 401
    refused = post(url, f"gpus/{active}/availability", other, {"available": False})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == f"{cast.provider2.address.lower()} is not the provider of GPU {active[:10]}…"
    assert post(url, f"gpus/{active}/price", other, {"pricePerHour": "1"}).status_code == 403
    for path, body, words in (
            (f"gpus/{retired}/availability", {"available": True}, "is retired"),
            (f"gpus/{retired}/price", {"pricePerHour": "5"}, "is retired"),
            (f"gpus/{active}/availability", {"available": "no"}, "available"),  # a boolean, not a string
            (f"gpus/{active}/price", {"pricePerHour": "0"}, "invalid price 0 GPU per hour: must be above 0 and at most 1208925.819614629174706175 GPU"),
            (f"gpus/{active}/price", {"pricePerHour": "2000000"}, "must be above 0 and at most"),  # over 2**80 - 1 base units
            (f"gpus/{active}/price", {"pricePerHour": 2.5}, "pricePerHour"),  # a float: never
            (f"gpus/{active}/price", {"pricePerHour": "-1"}, "pricePerHour"),
            (f"gpus/{active}/price", {"pricePerHour": "1e99999999"}, "pricePerHour"),
            (f"gpus/{active}/price", {"pricePerHour": "0." + "1" * 19}, "pricePerHour"),  # more than 18 decimals
            (f"gpus/0x{'0' * 64}/availability", {"available": True}, "does not exist")):
        answer = post(url, path, mine, body)
        assert answer.status_code == 400 and words in answer.json()["error"], (path, body, answer.text)
        assert "\n" not in answer.json()["error"]

    prepared = post(url, f"gpus/{active}/availability", mine, {"available": False})
    assert prepared.status_code == 200, prepared.text
    request = prepared.json()["transaction"]
    assert request["to"] == str(gp.registry.address) and request["from"] == cast.provider.address
    assert send(url, web3, cast.provider, mine, request)["ok"]
    assert gp.resource(active).available is False
    price = post(url, f"gpus/{active}/price", mine, {"pricePerHour": "12.5"}).json()["transaction"]
    assert send(url, web3, cast.provider, mine, price)["ok"]
    assert gp.resource(active).price_per_hour == Decimal("12.5")
    assert board(url, cast.provider.address)["indexedBlock"] < web3.eth.block_number  # not indexed yet: the page waits
    indexer.sync()
    assert board(url, cast.provider.address)["indexedBlock"] == web3.eth.block_number
    shown = {g["id"]: g for g in board(url, cast.provider.address)["gpus"]}[active]
    assert shown["available"] is False and shown["pricePerHour"] == "12.5"


def test_a_provider_withdraws_its_earnings_and_walks_its_stake_through_the_cooldown(writable, cast, gp, suite, chain):
    server, _ = writable
    url, web3 = server.url, Web3(Web3.HTTPProvider(gp.rpc_url))
    mine = {"Authorization": f"Bearer {sign_in(url, cast.provider)}"}
    held = gp.held_earnings(cast.provider.address)
    state = board(url, cast.provider.address)["chain"]
    assert Decimal(state["withdrawable"]) == held.amount > 0 and Decimal(state["feeHeld"]) == held.fee
    assert state["unlockAt"] == 0 and state["unstakeCooldownS"] == 7 * 24 * 3600 and state["activeGpus"] == 1
    assert state["maxPricePerHour"] == "1208925.819614629174706175"  # 2**80 - 1 base units

    assert post(url, "earnings/withdraw", {}).status_code == 401
    renter = {"Authorization": f"Bearer {sign_in(url, cast.renter)}"}
    nothing = post(url, "earnings/withdraw", renter)
    assert nothing.status_code == 400 and nothing.json()["error"].startswith("nothing to withdraw"), nothing.text
    prepared = post(url, "earnings/withdraw", mine)
    assert prepared.status_code == 200 and Decimal(prepared.json()["amount"]) == held.amount, prepared.text
    before = gp.balance(cast.provider.address)
    assert send(url, web3, cast.provider, mine, prepared.json()["transaction"])["ok"]
    assert gp.balance(cast.provider.address) == before + held.amount
    assert board(url, cast.provider.address)["chain"]["withdrawable"] == "0"
    assert post(url, "earnings/withdraw", mine).status_code == 400  # nothing held any more

    busy = post(url, "stake/unstake", mine, {"step": "request"})
    assert busy.status_code == 400 and "retire all 1 active GPU(s)" in busy.json()["error"], busy.text
    assert post(url, "stake/unstake", mine, {"step": "later"}).status_code == 400
    assert post(url, "stake/unstake", mine, {"step": "cancel"}).json()["error"] == "no unstake is pending: request one first"
    (active,) = [g["id"] for g in board(url, cast.provider.address)["gpus"] if not g["retired"]]
    suite.registry.retireResource(active, sender=cast.provider)
    step = post(url, "stake/unstake", mine, {"step": "request"}).json()["transaction"]
    assert send(url, web3, cast.provider, mine, step)["ok"]
    state = board(url, cast.provider.address)["chain"]
    assert 0 < state["unlockAt"] - state["chainTime"] <= state["unstakeCooldownS"]
    locked = post(url, "stake/unstake", mine, {"step": "withdraw"})
    assert locked.status_code == 400 and f"locked until timestamp {state['unlockAt']}" in locked.json()["error"]
    assert send(url, web3, cast.provider, mine, post(url, "stake/unstake", mine, {"step": "cancel"}).json()["transaction"])["ok"]
    assert board(url, cast.provider.address)["chain"]["unlockAt"] == 0

    assert send(url, web3, cast.provider, mine, post(url, "stake/unstake", mine, {"step": "request"}).json()["transaction"])["ok"]
    chain.mine(1, timestamp=board(url, cast.provider.address)["chain"]["unlockAt"] + 1)  # the cooldown over
    before = gp.balance(cast.provider.address)
    out = post(url, "stake/unstake", mine, {"step": "withdraw"})
    assert out.status_code == 200, out.text
    assert send(url, web3, cast.provider, mine, out.json()["transaction"])["ok"]
    assert gp.balance(cast.provider.address) == before + 100 and gp.provider(cast.provider.address).stake == 0
