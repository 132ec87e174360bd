"""The simulated world: the deployed suite driven through web3, a controlled clock, snapshots.

Transactions go straight to Anvil through web3 from its unlocked test accounts (several times
faster than Ape's receipt machinery); every block gets the timestamp of the world's clock
(``evm_setNextBlockTimestamp``), so costs are computed from times the simulator chose. Each
run starts from the same base snapshot (``evm_snapshot`` / ``evm_revert``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from gpurent.units import TOKEN

CONTRACTS = ("token", "registry", "reputation", "marketplace", "timelock")
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
BIG_GAS = 2_000_000

# job status (IMarketplace.JobStatus)
CREATED, ACCEPTED, RUNNING, COMPLETED, CANCELLED, DISPUTED, RESOLVED = range(1, 8)
# field order of IMarketplace.Job
JOB_FIELDS = ("jobId", "user", "provider", "resourceId", "estimatedDuration", "pricePerHour", "maxCost",
              "feeBps", "termsVersion", "startTime", "endTime", "updatedAt", "status", "finalCost")
TERMS_FIELDS = ("acceptTimeout", "startTimeout", "completionGrace", "disputeTimeout", "feeBps", "bondBps", "minBond")
STATS_FIELDS = ("totalJobs", "successfulJobs", "disputesLost", "disputesSplit", "lastJobAt", "openJobs",
                "valueSucceeded", "valueFailed", "valueLost")


class SimError(RuntimeError):
    """A transaction the simulation expected to succeed reverted (a bug in the world, not a
    bound): the run is reported as broken."""


@dataclass
class Roles:
    """Who plays what (addresses). The deployment's own: admin (timelock proposer and executor),
    oracle (index 1), treasury; then the players."""

    admin: str
    oracle: str
    treasury: str
    provider: str  # the honest provider P
    adversary: str  # the adversarial provider A
    renter: str  # the honest renter H
    griefer: str  # the adversarial renter R
    keeper: str  # an outsider (settles jobs past their deadlines); a second honest renter
    wash: str  # A's second account (wash trading)
    renter2: str  # a third honest renter

    @classmethod
    def of(cls, addresses: list[str]) -> Roles:
        if len(addresses) < 10:
            raise ValueError("the simulator needs 10 unlocked accounts (Ape's test accounts 0-9)")
        return cls(*[to_checksum_address(a) for a in addresses[:10]])


@dataclass
class Party:
    """A provider's on-chain set-up in the base state."""

    address: str
    resource: int  # its GPU's resource id (as an int)


@dataclass
class World:
    w3: Web3
    contracts: dict[str, Any]
    roles: Roles
    errors: dict[bytes, str] = field(default_factory=dict)
    now: int = 0
    P: Party | None = None
    A: Party | None = None
    base: str | None = None
    period: int = 0  # ReputationSystem.periodLength
    last_receipt: Any = None

    # ------------------------------------------------------------ construction
    @classmethod
    def connect(cls, w3: Web3, suite: Any, accounts: list[Any]) -> World:
        """A world over a deployed :class:`gpurent.deployment.Suite` (Ape contract instances)
        and the test accounts (Ape accounts or addresses), on the chain ``w3`` talks to."""
        contracts, errors = {}, {}
        for name in CONTRACTS:
            ape_contract = getattr(suite, name)
            abi = [entry.model_dump(mode="json", by_alias=True) for entry in ape_contract.contract_type.abi]
            contracts[name] = w3.eth.contract(address=to_checksum_address(str(ape_contract.address)), abi=abi)
            for entry in abi:
                if entry["type"] == "error":
                    sig = f"{entry['name']}({','.join(_abi_type(i) for i in entry['inputs'])})"
                    errors[keccak(text=sig)[:4]] = entry["name"]
        roles = Roles.of([getattr(a, "address", a) for a in accounts])
        world = cls(w3=w3, contracts=contracts, roles=roles, errors=errors)
        world.period = world.call("reputation", "periodLength")
        return world

    def setup(self, funds: int = 1_000_000 * TOKEN) -> None:
        """The base state every run starts from: everyone funded, the honest provider P and the
        adversarial provider A registered with the minimum stake and one GPU each."""
        self.now = self.head_time() + 1
        r = self.roles
        for who in (r.provider, r.adversary, r.renter, r.griefer, r.keeper, r.wash, r.renter2):
            have = self.balance(who)
            if have < funds:
                self.tx(r.admin, "token", "transfer", who, funds - have)
        self.P = Party(r.provider, self._list_gpu(r.provider))
        self.A = Party(r.adversary, self._list_gpu(r.adversary))
        self.base = self.snapshot()

    def _list_gpu(self, provider: str) -> int:
        registry = "registry"
        min_stake = self.call(registry, "minStake")
        info = self.call(registry, "getProvider", provider)
        if not info[0]:
            self.tx(provider, "token", "approve", self.addr(registry), min_stake)
            self.tx(provider, registry, "registerProvider", "http://127.0.0.1:8765", min_stake)
        elif info[2] < min_stake:
            self.tx(provider, "token", "approve", self.addr(registry), min_stake - info[2])
            self.tx(provider, registry, "stake", min_stake - info[2])
        self.tx(provider, registry, "registerResource", "RTX4090", 16, 64, 500, 10 * TOKEN)
        return (int(provider, 16) << 96) | self.call(registry, "resourceCount")

    # ------------------------------------------------------------ chain access
    def rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)
        if "error" in response:
            raise SimError(f"{method}: {response['error']}")
        return response.get("result")

    def snapshot(self) -> str:
        return self.rpc("evm_snapshot", [])

    def revert(self, snap: str) -> None:
        if not self.rpc("evm_revert", [snap]):
            raise SimError(f"snapshot {snap} is gone")

    def reset(self) -> None:
        """Back to the base state (and a fresh base snapshot: Anvil consumes one on revert)."""
        assert self.base is not None, "setup() first"
        self.revert(self.base)
        self.base = self.snapshot()
        self.now = self.head_time() + 1

    def head_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def addr(self, contract: str) -> str:
        return self.contracts[contract].address

    def at(self, t: int) -> int:
        """Moves the clock to ``t`` (never back); the next transactions carry it."""
        self.now = max(self.now, int(t))
        return self.now

    def wait(self, seconds: int) -> int:
        return self.at(self.now + int(seconds))

    def call(self, contract: str, fn: str, *args: Any) -> Any:
        return getattr(self.contracts[contract].functions, fn)(*args).call()

    def tx(self, sender: str, contract: str, fn: str, *args: Any, gas: int | None = None) -> dict[str, Any]:
        """Sends a transaction mined at the clock's time; raises :class:`SimError` on revert."""
        error = self.attempt(sender, contract, fn, *args, gas=gas)
        if error is not None:
            raise SimError(f"{contract}.{fn}{_short(args)} from {sender[:10]} reverted: {error}")
        return self.last_receipt

    def attempt(self, sender: str, contract: str, fn: str, *args: Any, gas: int | None = None) -> str | None:
        """Tries a transaction at the clock's time: None if it was mined and succeeded, else the
        name of the custom error it reverted with (nothing changes on chain then).

        The gas estimate runs against the pending block, which carries the clock's timestamp
        (a plain estimate would run at the latest block's time and misjudge every deadline)."""
        self.rpc("evm_setNextBlockTimestamp", [self.now])
        c = self.contracts[contract]
        tx = {"from": sender, "to": c.address, "data": c.encode_abi(fn, args=list(args))}
        if gas is None:
            response = self.w3.provider.make_request("eth_estimateGas", [tx, "pending"])
            if "error" in response:
                return self.revert_name(response["error"])
            gas = int(response["result"], 16) * 5 // 4 + 10_000
        tx_hash = self.w3.eth.send_transaction({**tx, "gas": gas})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        self.last_receipt = receipt
        if receipt["status"] != 1:
            return "reverted"
        return None

    def revert_name(self, error: dict[str, Any]) -> str:
        data = error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            return self.errors.get(bytes.fromhex(data[2:10]), f"unknown error {data[:10]}")
        return str(error.get("message", error))[:120]

    def same_block(self, calls: list[tuple[str, str, str, tuple[Any, ...], int]], gas: int = BIG_GAS) -> list[bool]:
        """Mines ``calls`` (sender, contract, fn, args, gas price in wei) in one block at the
        clock's time, in the order the node picks (by fee, then arrival); returns whether each
        succeeded."""
        self.rpc("evm_setAutomine", [False])
        try:
            hashes = [getattr(self.contracts[c].functions, fn)(*args).transact(
                {"from": sender, "gas": gas, "gasPrice": price}) for sender, c, fn, args, price in calls]
            self.rpc("evm_setNextBlockTimestamp", [self.now])
            self.rpc("evm_mine", [])
        finally:
            self.rpc("evm_setAutomine", [True])
        receipts = [self.w3.eth.wait_for_transaction_receipt(h) for h in hashes]
        if len({r["blockNumber"] for r in receipts}) != 1:
            raise SimError("same_block: the calls were not mined in one block")
        return [r["status"] == 1 for r in receipts]

    # ------------------------------------------------------------ views
    def balance(self, who: str) -> int:
        """What ``who`` owns in tokens: its balance plus its earnings the marketplace holds (a
        provider is credited at settlement and withdraws later); for the treasury, plus the
        fees held on every provider's earnings."""
        amount, _ = self.call("marketplace", "earningsOf", who)
        owned = self.call("token", "balanceOf", who) + amount
        if who == self.roles.treasury:
            owned += sum(self.call("marketplace", "earningsOf", p)[1] for p in (self.roles.provider, self.roles.adversary))
        return owned

    def stake(self, provider: str) -> int:
        return self.call("registry", "getProvider", provider)[2]

    def job(self, job_id: int) -> dict[str, Any]:
        return dict(zip(JOB_FIELDS, self.call("marketplace", "getJob", b32(job_id))))

    def terms(self, version: int | None = None) -> dict[str, int]:
        if version is None:
            version = self.call("marketplace", "termsVersion")
        return dict(zip(TERMS_FIELDS, self.call("marketplace", "terms", version)))

    def stats(self, provider: str) -> dict[str, int]:
        return dict(zip(STATS_FIELDS, self.call("marketplace", "providerStats", provider)))

    def score(self, provider: str) -> int:
        return self.call("reputation", "getScore", provider)

    def penalty(self, provider: str) -> int:
        return self.call("reputation", "getPenalty", provider)

    # ------------------------------------------------------------ governance
    def govern(self, contract: str, fn: str, *args: Any) -> str | None:
        """An admin call through the timelock (schedule, then execute: the simulated deployments
        have no delay); returns the revert of the execution, None on success."""
        target = self.addr(contract)
        data = self.contracts[contract].encode_abi(fn, args=list(args))
        salt = os.urandom(32)
        self.tx(self.roles.admin, "timelock", "schedule", target, 0, data, bytes(32), salt, 0)
        return self.attempt(self.roles.admin, "timelock", "execute", target, 0, data, bytes(32), salt)


def b32(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _abi_type(entry: dict[str, Any]) -> str:
    if entry["type"].startswith("tuple"):
        return f"({','.join(_abi_type(c) for c in entry['components'])}){entry['type'][5:]}"
    return entry["type"]


def _short(args: tuple[Any, ...]) -> str:
    text = ", ".join(f"0x{a.hex()[:8]}.." if isinstance(a, bytes) else str(a)[:24] for a in args)
    return f"({text})"
