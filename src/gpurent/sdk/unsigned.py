"""Writes that someone else's wallet signs: what a non-custodial service (the gateway) hands a
browser wallet, and what it broadcasts back.

- ``create_permit``: the EIP-2612 permit for a job's most it can cost, as EIP-712 typed data
  (``eth_signTypedData_v4``: numbers as decimal strings, which wallets take for uint256);
- ``create_job``: with that permit's signature, the ``createJobWithPermit`` transaction request
  (``eth_sendTransaction``: to, data, chain id, from; the wallet adds gas and nonce);
- ``end_job``: ``cancelJob`` or ``completeJob``, whichever the job's state allows its renter;
- ``set_paused`` and ``resolve_dispute``: an operator's pause (both contracts, or neither) and a
  dispute's ruling, with the role checked first;
- ``propose_parameter``, ``execute_operation`` and ``cancel_operation``: governance through the
  timelock: a parameter change scheduled (its value checked as the setter will check it), then
  executed once its delay has passed, or cancelled, each with the timelock role checked first;
- ``dispute_job``: the bond's ``approve`` (when the allowance is short) and ``disputeJob``;
- ``set_availability``, ``set_price``, ``withdraw_earnings`` and ``unstake``: a provider's own
  GPUs, earnings and stake, each call run first as the provider would send it (the contract's
  checks, in the SDK's words: NotAuthorized for someone else's GPU);
- ``broadcast``: a transaction signed elsewhere, checked (its sender is the signed-in address,
  it goes to this deployment's marketplace, token, registry or timelock, on this chain) before it is sent, and its
  outcome (the job created, where a settled job's escrow went, or the revert in the SDK's words);
- ``outcome``: the same outcome of a transaction the wallet sent itself (``eth_sendTransaction``,
  what MetaMask does: it signs nothing it does not send), by its hash, with the same checks.

The same checks as the SDK's own writes run first (CID, duration, quote, states), so a wallet is
asked to sign only what the contract would take. No key is held here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpurent.errors import InvalidInput
from gpurent.sdk.inputs import parse_id
from gpurent.sdk.base import ZERO32
from gpurent.types import DisputeOutcome, GovernanceOperation, HeldEarnings, Job, JobStatus
from gpurent.units import to_base_units

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

PERMIT_LIFETIME_S = 1800
RECEIPT_TIMEOUT_S = 60.0
NOT_OURS = "the transaction goes to a contract that is not this deployment's marketplace, token, registry or timelock"
MAX_RAW_TX = 128 * 1024  # bytes: a createJobWithPermit is under 1 KiB


@dataclass(frozen=True)
class TxRequest:
    to: str
    data: str
    chain_id: int
    sender: str
    action: str  # what it does, in words ("create a job on", "cancel")

    def as_json(self) -> dict[str, Any]:
        """What ``eth_sendTransaction`` takes."""
        return {"from": self.sender, "to": self.to, "data": self.data, "value": "0x0", "chainId": hex(self.chain_id)}


@dataclass(frozen=True)
class Outcome:
    tx_hash: str
    ok: bool
    block: int
    job_id: str | None = None
    error: str | None = None
    settlement: dict[str, Any] | None = None  # a settled job's provider share, fee and refund (tokens)

    def as_json(self) -> dict[str, Any]:
        settled = None if self.settlement is None else {k: str(v) for k, v in self.settlement.items()}
        return {"hash": self.tx_hash, "ok": self.ok, "block": self.block, "jobId": self.job_id, "error": self.error,
                "settlement": settled}


class UnsignedCalls:
    def __init__(self, gp: Gpurent):
        self.gp = gp
        self.chain_id = int(gp.manifest.chain_id)

    # ------------------------------------------------------------------ create a job
    def create_permit(self, owner: str, resource_id: str, image_cid: str, duration_s: int) -> dict[str, Any]:
        """The permit ``owner`` signs to lock what ``duration_s`` of the GPU costs at most."""
        from gpurent.images.store import validate_cid

        rid = parse_id(resource_id, "GPU")
        validate_cid(image_cid)
        if isinstance(duration_s, bool) or not isinstance(duration_s, int) or duration_s <= 0:
            raise InvalidInput(f"invalid duration {duration_s!r}: a whole number of seconds above 0")
        limit = to_base_units(self.gp.quote(rid, duration_s))
        balance = int(self.gp.token.balanceOf(owner))
        if balance < limit:
            from gpurent.reverts import insufficient_balance

            raise insufficient_balance("create a job", balance, limit)
        return self._permit(owner, limit)

    def _permit(self, owner: str, value: int) -> dict[str, Any]:
        """EIP-712 typed data of the permit letting the marketplace take ``value`` from ``owner``."""
        deadline = self.gp.chain_time() + PERMIT_LIFETIME_S
        domain = self.gp.token.eip712Domain()
        typed = {
            "types": {
                "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                 {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                           {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                           {"name": "deadline", "type": "uint256"}],
            },
            "primaryType": "Permit",
            "domain": {"name": domain.name, "version": domain.version, "chainId": int(domain.chainId),
                       "verifyingContract": str(domain.verifyingContract)},
            "message": {"owner": owner, "spender": str(self.gp.marketplace.address), "value": str(value),
                        "nonce": str(int(self.gp.token.nonces(owner))), "deadline": str(deadline)},
        }
        return {"typedData": typed, "maxCost": str(value), "deadline": deadline}

    def create_job(self, owner: str, resource_id: str, image_cid: str, duration_s: int, max_cost: int,
                   deadline: int, signature: str) -> TxRequest:
        """``createJobWithPermit`` with the permit's 65-byte ``signature``."""
        from gpurent.images.store import validate_cid

        rid = parse_id(resource_id, "GPU")
        v, r, s = split_signature(signature)
        data = self.gp.marketplace.createJobWithPermit.encode_input(
            rid, validate_cid(image_cid), duration_s, max_cost, deadline, v, r, s)
        return TxRequest(str(self.gp.marketplace.address), _hex(data), self.chain_id, owner, "create a job on")

    # ------------------------------------------------------------------ extend a job
    def extend_permit(self, owner: str, job_id: str, extra_seconds: int) -> dict[str, Any]:
        """The permit for what ``extra_seconds`` more of the job cost (the SDK's checks first:
        the renter, an open booking, within the longest booking)."""
        _, cost = self.gp.check_extendable(job_id, extra_seconds, caller=owner)
        balance = int(self.gp.token.balanceOf(owner))
        if balance < cost:
            from gpurent.reverts import insufficient_balance

            raise insufficient_balance("extend a job", balance, cost)
        return self._permit(owner, cost)

    def extend_job(self, owner: str, job_id: str, extra_seconds: int, max_cost: int, deadline: int,
                   signature: str) -> TxRequest:
        """``extendJobWithPermit`` with the permit's signature."""
        jid = parse_id(job_id, "job")
        v, r, s = split_signature(signature)
        data = self.gp.marketplace.extendJobWithPermit.encode_input(jid, extra_seconds, max_cost, deadline, v, r, s)
        return TxRequest(str(self.gp.marketplace.address), _hex(data), self.chain_id, owner, "extend")

    # ------------------------------------------------------------------ end a job
    def end_job(self, owner: str, job_id: str) -> TxRequest:
        """Cancel (Created, or Accepted past its start timeout) or settle (Running)."""
        from gpurent.reverts import contract_error

        jid = parse_id(job_id, "job")
        job = Job.from_chain(self.gp._raw_job(jid), None)
        if job.user.lower() != owner.lower():
            raise contract_error("MarketplaceUnauthorized", {"jobId": job.job_id, "caller": owner}, "end")
        if job.status == JobStatus.RUNNING:
            method, action = self.gp.marketplace.completeJob, "complete"
        elif job.status in (JobStatus.CREATED, JobStatus.ACCEPTED):
            self.gp.check_cancellable(jid, caller=owner)
            method, action = self.gp.marketplace.cancelJob, "cancel"
        else:
            raise contract_error("MarketplaceInvalidJobState", {"jobId": job.job_id, "current": int(job.status)}, "end")
        return TxRequest(str(self.gp.marketplace.address), _hex(method.encode_input(jid)), self.chain_id, owner, action)

    # ------------------------------------------------------------------ an operator's writes
    def set_paused(self, owner: str, paused: bool) -> list[TxRequest]:
        """``pause`` (or ``unpause``) on the marketplace and the registry, each that is not so
        yet (none when both are): refused unless ``owner`` holds PAUSER_ROLE on every one."""
        from gpurent.sdk.admin import pause_targets

        action = "pause" if paused else "unpause"
        targets = pause_targets((self.gp.marketplace, self.gp.registry), owner, paused)
        return [TxRequest(str(c.address), _hex(getattr(c, action).encode_input()), self.chain_id, owner, action)
                for c in targets]

    def resolve_dispute(self, owner: str, job_id: str, outcome: str, evidence_cid: str) -> TxRequest:
        """``resolveDispute`` with the ruling and the evidence's CID: refused unless ``owner``
        holds ORACLE_ROLE and the job is Disputed."""
        from gpurent.errors import NotAuthorized
        from gpurent.images.store import validate_cid
        from gpurent.reverts import contract_error

        jid = parse_id(job_id, "job")
        try:
            ruling = DisputeOutcome.parse(outcome)
        except ValueError as err:
            raise InvalidInput(str(err)) from None
        cid = validate_cid(evidence_cid)
        market = self.gp.marketplace
        if not market.hasRole(market.ORACLE_ROLE(), owner):
            raise NotAuthorized(f"{owner} lacks the role needed to resolve a dispute (Marketplace needs ORACLE_ROLE)",
                                name="AccessControlUnauthorizedAccount")
        job = Job.from_chain(self.gp._raw_job(jid), None)
        if job.status != JobStatus.DISPUTED:
            raise contract_error("MarketplaceInvalidJobState", {"jobId": job.job_id, "current": int(job.status)},
                                 "resolve")
        data = market.resolveDispute.encode_input(jid, int(ruling), cid)
        return TxRequest(str(market.address), _hex(data), self.chain_id, owner, "resolve")

    # ------------------------------------------------------------------ a provider's writes
    def set_availability(self, owner: str, resource_id: str, available: bool) -> TxRequest:
        """``updateAvailability``: refused unless ``owner`` is the GPU's provider and it is not
        retired (NotAuthorized for someone else's GPU)."""
        if not isinstance(available, bool):
            raise InvalidInput(f"available must be true or false, not {available!r}")
        method = self.gp.registry.updateAvailability
        return self._checked(owner, method, (parse_id(resource_id, "GPU"), available), "change the availability of")

    def set_price(self, owner: str, resource_id: str, price_per_hour: str) -> TxRequest:
        """``updatePricing`` to ``price_per_hour`` tokens (a decimal string, exact): refused unless
        ``owner`` is the GPU's provider, it is not retired and the price is within the registry's
        bounds (above 0, at most MAX_PRICE_PER_HOUR)."""
        from gpurent.sdk.inputs import tokens_in

        units = tokens_in(price_per_hour, "price")
        return self._checked(owner, self.gp.registry.updatePricing, (parse_id(resource_id, "GPU"), units), "reprice")

    def withdraw_earnings(self, owner: str) -> tuple[HeldEarnings, TxRequest]:
        """What the marketplace holds for ``owner`` and the ``withdrawEarnings`` that pays it out
        (InvalidInput when nothing is held, as ``gpurent provider withdraw`` says)."""
        held = self.gp.check_withdrawable(owner)
        return held, self._checked(owner, self.gp.marketplace.withdrawEarnings, (), "withdraw the earnings of")

    def unstake(self, owner: str, step: str) -> TxRequest:
        """A step of taking the stake out: ``request`` (starts the cooldown; every GPU retired),
        ``cancel`` (a pending one) or ``withdraw`` (after the cooldown, no job open)."""
        steps = {"request": ("requestUnstake", "request an unstake"), "cancel": ("cancelUnstake", "cancel the unstake"),
                 "withdraw": ("withdrawStake", "withdraw the stake")}
        if step not in steps:
            raise InvalidInput(f"unknown unstake step {step!r}: request, cancel or withdraw")
        name, action = steps[step]
        return self._checked(owner, getattr(self.gp.registry, name), (), action)

    def _checked(self, owner: str, method: Any, args: tuple[Any, ...], action: str) -> TxRequest:
        """The call as ``owner`` would send it, run first (``eth_call`` from ``owner``): the
        contract's own checks, its revert in the SDK's words, so the wallet is asked to sign only
        what would go through."""
        from gpurent.reverts import RevertData, translate

        to, data = str(method.contract.address), _hex(method.encode_input(*args))
        try:
            self._web3().eth.call({"from": owner, "to": to, "data": data})
        except Exception as err:  # web3 raises several kinds; a revert carries its data
            raw = getattr(err, "data", None)
            if isinstance(raw, str) and raw.startswith("0x"):
                raise translate(RevertData(bytes.fromhex(raw[2:])), action) from None
            raise InvalidInput(f"the node could not check the transaction: {str(err)[:200]}") from None
        return TxRequest(to, data, self.chain_id, owner, action)

    # ------------------------------------------------------------------ governance: the timelock
    def propose_parameter(self, owner: str, key: str, values: tuple[str, ...]) -> tuple[TxRequest, GovernanceOperation]:
        """The timelock's ``schedule`` of one parameter change, and the operation it makes:
        refused unless ``owner`` holds PROPOSER_ROLE; the values read and bounded by the SDK,
        and run as the timelock will run them, so a value the setter refuses is refused now."""
        from gpurent.sdk.admin import require_timelock_role

        timelock = self.gp.timelock
        require_timelock_role(timelock, "PROPOSER_ROLE", owner, "propose a parameter change")
        contract, param, args = self.gp.parameter_call(key, *values)
        data = bytes(getattr(contract, param.method).encode_input(*args))
        schedule, op = self.gp.schedule_of(contract, data, param.action)
        request = TxRequest(str(timelock.address), _hex(timelock.schedule.encode_input(*schedule)), self.chain_id,
                            owner, "schedule")
        return request, op

    def execute_operation(self, owner: str, op_id: str) -> TxRequest:
        """The timelock's ``execute`` of a pending operation: refused unless ``owner`` may
        execute (EXECUTOR_ROLE, or execution open to all) and its delay has passed."""
        from gpurent.sdk.admin import require_timelock_role

        timelock = self.gp.timelock
        require_timelock_role(timelock, "EXECUTOR_ROLE", owner, "execute a timelock operation")
        op = self.gp.ready_operation(op_id)
        data = timelock.execute.encode_input(op.target, 0, bytes.fromhex(op.data[2:]), ZERO32, bytes.fromhex(op.salt[2:]))
        return TxRequest(str(timelock.address), _hex(data), self.chain_id, owner, "execute")

    def cancel_operation(self, owner: str, op_id: str) -> TxRequest:
        """The timelock's ``cancel`` of a pending operation: refused unless ``owner`` holds
        CANCELLER_ROLE (OpenZeppelin 5 gives it to the proposers it is deployed with)."""
        from gpurent.sdk.admin import require_timelock_role

        timelock = self.gp.timelock
        require_timelock_role(timelock, "CANCELLER_ROLE", owner, "cancel a timelock operation")
        op = self.gp.pending_operation(op_id)
        data = timelock.cancel.encode_input(bytes.fromhex(op.op_id[2:]))
        return TxRequest(str(timelock.address), _hex(data), self.chain_id, owner, "cancel")

    # ------------------------------------------------------------------ dispute a job
    def dispute_job(self, owner: str, job_id: str, reason: str) -> tuple[int, list[TxRequest]]:
        """The dispute bond (base units) and what the wallet sends, in order: ``approve`` of
        exactly the bond to the marketplace when the allowance is short of it, then
        ``disputeJob``. The SDK's checks first (a party of the job, Running, its window open, a
        reason of at most MAX_REASON_LENGTH bytes), so the wallet approves nothing for a
        dispute the contract would refuse."""
        from gpurent.limits import MAX_REASON_LENGTH
        from gpurent.reverts import contract_error

        jid = parse_id(job_id, "job")
        raw = self.gp._raw_job(jid)
        job = Job.from_chain(raw, None)
        if owner.lower() not in (job.user.lower(), job.provider.lower()):
            raise contract_error("MarketplaceUnauthorized", {"jobId": job.job_id, "caller": owner}, "dispute")
        if len(reason.encode()) > MAX_REASON_LENGTH:
            raise InvalidInput(f"the reason is {len(reason.encode())} bytes: at most {MAX_REASON_LENGTH}")
        self.gp.check_disputable(jid)
        bond = int(self.gp.marketplace.disputeBond(jid))
        marketplace = str(self.gp.marketplace.address)
        steps = []
        if bond and int(self.gp.token.allowance(owner, marketplace)) < bond:
            steps.append(TxRequest(str(self.gp.token.address), _hex(self.gp.token.approve.encode_input(marketplace, bond)),
                                   self.chain_id, owner, "approve the dispute bond for"))
        data = self.gp.marketplace.disputeJob.encode_input(jid, reason)
        steps.append(TxRequest(marketplace, _hex(data), self.chain_id, owner, "dispute"))
        return bond, steps

    # ------------------------------------------------------------------ broadcast
    def broadcast(self, raw: str, sender: str) -> Outcome:
        """Sends a transaction signed by ``sender`` to this deployment and waits for its receipt."""
        from eth_account import Account

        body = _raw_bytes(raw)
        signer = str(Account.recover_transaction(body))
        if signer.lower() != sender.lower():
            raise InvalidInput(f"the transaction is signed by {signer}, not by the signed-in {sender}")
        to, chain_id = _destination(body)
        if to not in self._allowed():
            raise InvalidInput(NOT_OURS)
        if chain_id not in (None, self.chain_id):
            raise InvalidInput(f"the transaction is for chain {chain_id}, this deployment is on {self.chain_id}")
        web3 = self._web3()
        try:
            tx_hash = web3.eth.send_raw_transaction(body)
        except Exception as err:  # the node's refusal (nonce, funds, gas): its own words
            raise InvalidInput(f"the node refused the transaction: {str(err)[:200]}") from None
        return self._outcome(web3, tx_hash)

    def outcome(self, tx_hash: str, sender: str) -> Outcome:
        """The outcome of a transaction ``sender``'s wallet sent itself: refused unless it is
        ``sender``'s, to this deployment's marketplace, token, registry or timelock; waits for its receipt."""
        raw = tx_hash[2:] if tx_hash.startswith("0x") else tx_hash
        if len(raw) != 64 or any(c not in "0123456789abcdefABCDEF" for c in raw):
            raise InvalidInput("a transaction hash is 32 bytes of hex")
        web3 = self._web3()
        try:
            tx = web3.eth.get_transaction("0x" + raw)
        except Exception:  # TransactionNotFound, or the node's refusal
            raise InvalidInput(f"the chain knows no transaction 0x{raw[:10]}…") from None
        if str(tx["from"]).lower() != sender.lower():
            raise InvalidInput(f"the transaction is sent by {tx['from']}, not by the signed-in {sender}")
        if str(tx.get("to") or "").lower() not in self._allowed():
            raise InvalidInput(NOT_OURS)
        return self._outcome(web3, tx["hash"])

    def _allowed(self) -> set[str]:
        return {str(c.address).lower() for c in (self.gp.marketplace, self.gp.token, self.gp.registry, self.gp.timelock)}

    def _web3(self) -> Any:
        from web3 import Web3

        return Web3(Web3.HTTPProvider(self.gp.rpc_url, request_kwargs={"timeout": 15}))

    def _outcome(self, web3: Any, tx_hash: Any) -> Outcome:
        receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=0.2)
        hash_hex = _hex(tx_hash)
        if receipt["status"] != 1:
            return Outcome(hash_hex, False, int(receipt["blockNumber"]), error=self._revert_reason(web3, receipt))
        job_id, settlement = _job_events(self.gp, hash_hex)
        return Outcome(hash_hex, True, int(receipt["blockNumber"]), job_id=job_id, settlement=settlement)

    def _revert_reason(self, web3: Any, receipt: Any) -> str:
        """The revert in the SDK's words: the call replayed at its block for the revert data."""
        from gpurent.reverts import RevertData, translate

        tx = web3.eth.get_transaction(receipt["transactionHash"])
        try:
            web3.eth.call({"from": tx["from"], "to": tx["to"], "data": tx["input"]}, receipt["blockNumber"] - 1)
        except Exception as err:
            data = getattr(err, "data", None)
            if isinstance(data, str) and data.startswith("0x"):
                return str(translate(RevertData(bytes.fromhex(data[2:])), "send"))
            return str(err)[:200]
        return "the transaction failed (out of gas?)"


def split_signature(signature: str) -> tuple[int, bytes, bytes]:
    raw = signature[2:] if signature.startswith("0x") else signature
    if len(raw) != 130:
        raise InvalidInput("the permit signature must be 65 bytes of hex")
    try:
        data = bytes.fromhex(raw)
    except ValueError:
        raise InvalidInput("the permit signature must be 65 bytes of hex") from None
    v = data[64] if data[64] >= 27 else data[64] + 27
    return v, data[:32], data[32:64]


def _raw_bytes(raw: str) -> bytes:
    text = raw[2:] if raw.startswith("0x") else raw
    if not text or len(text) > 2 * MAX_RAW_TX:
        raise InvalidInput(f"a signed transaction is 1 to {MAX_RAW_TX:,} bytes of hex")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidInput("the signed transaction is not hex") from None


def _destination(body: bytes) -> tuple[str, int | None]:
    """The ``to`` and chain id of a signed transaction (typed: EIP-2718; or legacy RLP)."""
    try:
        if body[0] < 0x7F:
            from eth_account.typed_transactions.typed_transaction import TypedTransaction
            from hexbytes import HexBytes

            fields = TypedTransaction.from_bytes(HexBytes(body)).as_dict()
            return _hex(fields.get("to") or b"").lower(), int(fields["chainId"])
        import rlp  # type: ignore[import-untyped]

        items = rlp.decode(body)
        v = int.from_bytes(items[6], "big")
        return _hex(items[3]).lower(), ((v - 35) // 2 if v >= 35 else None)
    except Exception:
        raise InvalidInput("not a signed Ethereum transaction") from None


def _job_events(gp: Gpurent, tx_hash: str) -> tuple[str | None, dict[str, Any] | None]:
    """The job a transaction created (``JobCreated``), and where the escrow of a job it settled
    went (``FundsReleased``, ``Refunded``)."""
    from ape import chain

    from gpurent.sdk.market import settlement_of

    receipt = chain.provider.get_receipt(tx_hash)
    created = [_hex(event.jobId) for event in receipt.events.filter(gp.marketplace.JobCreated)]
    settled = settlement_of(list(receipt.events.filter(gp.marketplace.FundsReleased)),
                            list(receipt.events.filter(gp.marketplace.Refunded)))
    return (created[0] if created else None), settled


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()
