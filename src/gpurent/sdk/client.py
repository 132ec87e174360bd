"""The SDK facade: one object that holds the deployed contracts and an optional signer.

    import gpurent
    gp = gpurent.connect(network="ethereum:local:foundry", account="alice")
    job = gp.create_job(resource_id, "bafy...", hours=1)

Every external contract function has a method here, named for what a user does. Amounts go in
and come out as ``Decimal`` tokens; errors come out as ``gpurent.errors`` exceptions.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

from gpurent.artifacts import contract_type
from gpurent.errors import (
    ConfigurationError,
    ContractRevert,
    GpurentError,
    InvalidInput,
    NotAuthorized,
    NotDeployedError,
)
from gpurent.limits import BPS
from gpurent.manifest import CONTRACTS, Manifest, load_manifest, node_chain_id
from gpurent.reverts import RevertData, insufficient_balance, translate
from gpurent.wire.permit import sign_permit
from gpurent.types import (
    Dispute,
    DisputeOutcome,
    EscrowRecord,
    GovernanceOperation,
    Job,
    JobStatus,
    PenaltyReason,
    ProviderInfo,
    Reputation,
    Resource,
    Validation,
    ValidationReport,
    hex_id,
)
from gpurent.units import to_base_units, to_tokens

MAX_UINT = 2**256 - 1
ZERO32 = bytes(32)
ROLES = ("DEFAULT_ADMIN_ROLE", "ORACLE_ROLE", "PAUSER_ROLE", "SLASHER_ROLE", "MINTER_ROLE")


def parse_id(value: str | bytes, what: str) -> bytes:
    """A 32-byte id from 0x-hex (job and resource ids); InvalidInput otherwise."""
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        text = str(value).strip()
        try:
            raw = bytes.fromhex(text[2:] if text.lower().startswith("0x") else text)
        except ValueError as err:
            raise InvalidInput(f"malformed {what} id {text!r}: expected 32 bytes of hex") from err
    if len(raw) != 32:
        raise InvalidInput(f"malformed {what} id {value!r}: expected 32 bytes, got {len(raw)}")
    return raw


def _tokens_in(amount: Decimal | int | str, what: str) -> int:
    try:
        units = to_base_units(amount)
    except ValueError as err:
        raise InvalidInput(f"invalid {what}: {err}") from err
    if units < 0:
        raise InvalidInput(f"invalid {what}: must not be negative")
    return units


class Gpurent:
    """The deployed gpurent contracts on one chain, and the account that signs (if any)."""

    def __init__(self, manifest: Manifest, contracts: dict[str, Any], account: Any = None,
                 network_context: AbstractContextManager | None = None):
        self.manifest = manifest
        self.token = contracts["GPUToken"]
        self.registry = contracts["ResourceRegistry"]
        self.marketplace = contracts["Marketplace"]
        self.reputation_system = contracts["ReputationSystem"]
        self.contracts = contracts
        self.account = account
        self.last_receipt: Any = None  # the latest transaction this object sent
        # Ape's providers print a call trace to the process's stdout when a transaction reverts
        # (unconditionally, to the stdout of import time). quiet_traces keeps it off fd 1 and in
        # last_trace_output instead: for single-threaded programs like the CLI, whose stdout
        # is data (--json).
        self.quiet_traces = False
        self.last_trace_output = ""
        self._network_context = network_context

    # ================================================================ construction

    @classmethod
    def connect(cls, network: str | None = None, account: Any = None, *,
                manifest: Manifest | None = None) -> Gpurent:
        """Connects to ``network`` (an Ape network choice; default: the one already connected,
        else Ape's default) and loads the deployment manifest of its chain."""
        from ape import networks

        context = None
        active = networks.active_provider
        reuse = active is not None and active.is_connected and (
            network is None or network in (active.network_choice, f"{active.network_choice}".rsplit(":", 1)[0]))
        if not reuse:
            context = networks.parse_network_choice(network or networks.default_ecosystem.name)
            context.__enter__()
        try:
            from ape import chain

            chain_id = node_chain_id()
            manifest = manifest or load_manifest(chain_id)
            if manifest is None or not chain.provider.get_code(manifest.contracts["Marketplace"]):
                raise NotDeployedError(chain_id)
            contracts = {
                name: chain.contracts.instance_at(manifest.contracts[name], contract_type=contract_type(name),
                                                  fetch_from_explorer=False, detect_proxy=False)
                for name in CONTRACTS
            }
            return cls(manifest, contracts, resolve_account(account), context)
        except BaseException:
            if context is not None:
                context.__exit__(None, None, None)
            raise

    def with_account(self, account: Any) -> Gpurent:
        """The same deployment, signing as ``account`` (alias, test-account index or account)."""
        return Gpurent(self.manifest, dict(self.contracts), resolve_account(account))

    def close(self) -> None:
        """Disconnects if ``connect`` opened the connection."""
        if self._network_context is not None:
            self._network_context.__exit__(None, None, None)
            self._network_context = None

    def __enter__(self) -> Gpurent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================ plumbing

    @property
    def address(self) -> str:
        return str(self._signer().address)

    def _signer(self) -> Any:
        if self.account is None:
            raise ConfigurationError("this needs an account: pass account= (an Ape alias or test-account index)")
        return self.account

    def _send(self, action: str, method: Callable[..., Any], *args: Any) -> Any:
        from ape.exceptions import ApeException

        sender = self._signer()
        with _captured_stdout(self.quiet_traces) as captured:
            try:
                self.last_receipt = method(*args, sender=sender)
            except ApeException as err:
                raise translate(err, action) from err
            finally:
                self.last_trace_output = captured()
        return self.last_receipt

    def _call(self, action: str, method: Callable[..., Any], *args: Any) -> Any:
        from ape.exceptions import ApeException

        try:
            return method(*args)
        except ApeException as err:
            translated = translate(err, action)
            if type(translated) is ContractRevert and (data := self._revert_bytes(method, args)):
                translated = translate(RevertData(data), action)
            raise translated from err

    @staticmethod
    def _revert_bytes(method: Any, args: tuple[Any, ...]) -> bytes | None:
        """Re-runs a failed view call through web3 to get the exact revert data (Anvil's
        message for a custom error it cannot name is lossy text)."""
        from ape import chain

        web3 = getattr(chain.provider, "web3", None)
        if web3 is None:
            return None
        try:
            web3.eth.call({"to": method.contract.address, "data": method.encode_input(*args)})
        except Exception as err:  # web3 raises several kinds; all carry .data when there is any
            data = getattr(err, "data", None)
            if isinstance(data, str) and data.startswith("0x"):
                return bytes.fromhex(data[2:])
        return None

    def _logs(self, event: Any, **topics: Any) -> Iterator[Any]:
        from ape import chain

        yield from event.range(self.manifest.block, chain.blocks.height + 1, search_topics=topics or None)

    # ================================================================ token

    def balance(self, address: str | None = None) -> Decimal:
        """GPU token balance of ``address`` (default: the account)."""
        return to_tokens(self.token.balanceOf(address or self.address))

    def allowance(self, owner: str, spender: str) -> Decimal:
        return to_tokens(self.token.allowance(owner, spender))

    def approve(self, spender: str, amount: Decimal | int | str) -> Any:
        return self._send("approve", self.token.approve, spender, _tokens_in(amount, "amount"))

    def transfer(self, to: str, amount: Decimal | int | str) -> Any:
        return self._send("transfer", self.token.transfer, to, _tokens_in(amount, "amount"))

    def burn(self, amount: Decimal | int | str) -> Any:
        """Burns the account's own tokens."""
        return self._send("burn", self.token.burn, _tokens_in(amount, "amount"))

    def mint(self, to: str, amount: Decimal | int | str) -> Any:
        """Mints tokens (MINTER_ROLE; the devnet faucet)."""
        return self._send("mint", self.token.mint, to, _tokens_in(amount, "amount"))

    # ================================================================ registry: providers

    def register_provider(self, endpoint: str, stake: Decimal | int | str = 0) -> Any:
        """Registers the account as a provider with its agent endpoint, staking ``stake``."""
        units = _tokens_in(stake, "stake")
        if units:
            self._ensure_allowance(self.registry.address, units, "stake")
        return self._send("register as a provider", self.registry.registerProvider, endpoint, units)

    def update_endpoint(self, endpoint: str) -> Any:
        return self._send("update the endpoint", self.registry.updateEndpoint, endpoint)

    def stake(self, amount: Decimal | int | str) -> Any:
        units = _tokens_in(amount, "stake")
        self._ensure_allowance(self.registry.address, units, "stake")
        return self._send("stake", self.registry.stake, units)

    def request_unstake(self) -> Any:
        return self._send("request an unstake", self.registry.requestUnstake)

    def cancel_unstake(self) -> Any:
        return self._send("cancel the unstake", self.registry.cancelUnstake)

    def withdraw_stake(self) -> Any:
        return self._send("withdraw the stake", self.registry.withdrawStake)

    def slash(self, provider: str, amount: Decimal | int | str, reason: str) -> Any:
        """Burns up to ``amount`` of a provider's stake (SLASHER_ROLE)."""
        return self._send("slash", self.registry.slash, provider, _tokens_in(amount, "amount"), reason)

    def provider(self, address: str | None = None) -> ProviderInfo:
        address = address or self.address
        return ProviderInfo.from_chain(address, self.registry.getProvider(address))

    # ================================================================ registry: resources

    def register_resource(self, gpu_model: str, vcpu: int, memory_gb: int, storage_gb: int,
                          price_per_hour: Decimal | int | str) -> Resource:
        tx = self._send("register a GPU", self.registry.registerResource, gpu_model, vcpu, memory_gb,
                        storage_gb, _tokens_in(price_per_hour, "price"))
        resource_id = tx.events.filter(self.registry.ResourceRegistered)[0].resourceId
        return self.resource(resource_id)

    def update_availability(self, resource_id: str | bytes, available: bool) -> Any:
        return self._send("change the availability of", self.registry.updateAvailability,
                          parse_id(resource_id, "GPU"), available)

    def update_pricing(self, resource_id: str | bytes, price_per_hour: Decimal | int | str) -> Any:
        return self._send("reprice", self.registry.updatePricing, parse_id(resource_id, "GPU"),
                          _tokens_in(price_per_hour, "price"))

    def retire_resource(self, resource_id: str | bytes) -> Any:
        return self._send("retire", self.registry.retireResource, parse_id(resource_id, "GPU"))

    def update_uptime(self, resource_id: str | bytes, additional_seconds: int) -> Any:
        return self._send("report uptime of", self.registry.updateUptime, parse_id(resource_id, "GPU"),
                          additional_seconds)

    def update_resource_reputation(self, resource_id: str | bytes, reputation: int) -> Any:
        return self._send("set the reputation of", self.registry.updateReputation,
                          parse_id(resource_id, "GPU"), reputation)

    def resource(self, resource_id: str | bytes) -> Resource:
        return Resource.from_chain(self._call("read GPU", self.registry.getResource,
                                              parse_id(resource_id, "GPU")))

    def provider_resources(self, provider: str | None = None) -> list[Resource]:
        ids = self.registry.getProviderResources(provider or self.address)
        return [self.resource(rid) for rid in ids]

    def job_terms(self, resource_id: str | bytes) -> tuple[str, Decimal]:
        """(provider, price per hour) a new job on the GPU would get; raises if not bookable."""
        provider, price = self._call("book", self.registry.getJobTerms, parse_id(resource_id, "GPU"))
        return str(provider), to_tokens(price)

    def resource_count(self) -> int:
        return int(self.registry.resourceCount())

    def resources(self) -> list[Resource]:
        """Every GPU ever registered (from ResourceRegistered events since deployment)."""
        return [self.resource(log.resourceId) for log in self._logs(self.registry.ResourceRegistered)]

    # ================================================================ marketplace: renter

    def quote(self, resource_id: str | bytes, duration_s: int) -> Decimal:
        """What a job of ``duration_s`` seconds on the GPU would lock (its max cost)."""
        r = self._call("quote", self.registry.getResource, parse_id(resource_id, "GPU"))
        return to_tokens(int(r.pricePerHour) * int(duration_s) // 3600)

    def create_job(self, resource_id: str | bytes, image_cid: str, duration_s: int, *,
                   max_cost: Decimal | int | str | None = None, use_permit: bool = True) -> Job:
        """Creates a job, locking its max cost. With ``use_permit`` (default) one transaction
        approves and creates; ``max_cost`` caps what may be locked (default: today's quote)."""
        rid = parse_id(resource_id, "GPU")
        from gpurent.images.store import validate_cid

        image_cid = validate_cid(image_cid)
        if duration_s <= 0:
            raise InvalidInput(f"invalid duration {duration_s} s: must be positive")
        limit = _tokens_in(max_cost, "max cost") if max_cost is not None else to_base_units(
            self.quote(rid, duration_s))
        if use_permit:
            from ape import chain

            deadline = chain.pending_timestamp + 3600
            v, r, s = sign_permit(self._signer(), self.token, self.marketplace.address, limit, deadline)
            tx = self._send("create a job on", self.marketplace.createJobWithPermit, rid, image_cid, duration_s,
                            limit, deadline, v, r, s)
        else:
            self._ensure_allowance(self.marketplace.address, limit, "create a job")
            tx = self._send("create a job on", self.marketplace.createJob, rid, image_cid, duration_s, limit)
        job_id = tx.events.filter(self.marketplace.JobCreated)[0].jobId
        return self.job(job_id, image_cid=image_cid)

    def cancel_job(self, job_id: str | bytes) -> Any:
        return self._send("cancel", self.marketplace.cancelJob, parse_id(job_id, "job"))

    def dispute_bond(self, job_id: str | bytes) -> Decimal:
        """The bond a dispute of the job costs its disputer (returned unless the ruling goes
        against the disputer)."""
        return to_tokens(self._call("read the dispute bond of", self.marketplace.disputeBond,
                                    parse_id(job_id, "job")))

    def _raw_job(self, job_id: str | bytes) -> Any:
        """The job as the contract returns it (one call; no event scan for its image CID)."""
        return self._call("read job", self.marketplace.getJob, parse_id(job_id, "job"))

    def _dispute_closes_at(self, raw: Any) -> int:
        start = int(raw.startTime)
        if not start:
            return 0
        return start + int(raw.estimatedDuration) + int(self.marketplace.terms(raw.termsVersion).completionGrace)

    def dispute_closes_at(self, job_id: str | bytes) -> int:
        """Chain time after which the job can no longer be disputed: its start plus its booked
        duration plus its own completion grace (0 while it has not started)."""
        return self._dispute_closes_at(self._raw_job(job_id))

    def check_disputable(self, job_id: str | bytes) -> None:
        """Refuses, before any token is approved, what the contract would refuse: a job that is
        not Running, or whose dispute window has closed."""
        from gpurent.reverts import contract_error

        raw = self._raw_job(job_id)
        jid = hex_id(raw.jobId)
        if int(raw.status) != JobStatus.RUNNING:
            raise contract_error("MarketplaceInvalidJobState", {"jobId": jid, "current": int(raw.status)}, "dispute")
        closes_at = self._dispute_closes_at(raw)
        if self.chain_time() > closes_at:
            raise contract_error("MarketplaceDisputeWindowClosed", {"jobId": jid, "closedAt": closes_at}, "dispute")

    def dispute_job(self, job_id: str | bytes, reason: str) -> Any:
        """Disputes a running job, posting its dispute bond (approved here when needed, after
        checking the job can still be disputed)."""
        jid = parse_id(job_id, "job")
        self.check_disputable(jid)
        bond = int(self._call("read the dispute bond of", self.marketplace.disputeBond, jid))
        if bond:
            self._ensure_allowance(self.marketplace.address, bond, "post the dispute bond")
        return self._send("dispute", self.marketplace.disputeJob, jid, reason)

    def complete_job(self, job_id: str | bytes) -> Any:
        """Settles a running job by elapsed time (its renter or provider; anyone after the grace)."""
        return self._send("complete", self.marketplace.completeJob, parse_id(job_id, "job"))

    # ================================================================ marketplace: provider

    def accept_job(self, job_id: str | bytes) -> Any:
        return self._send("accept", self.marketplace.acceptJob, parse_id(job_id, "job"))

    def start_job(self, job_id: str | bytes) -> Any:
        return self._send("start", self.marketplace.startJob, parse_id(job_id, "job"))

    def releasable(self, job_id: str | bytes) -> Decimal:
        """What ``partial_release`` can pay now: the accrued cost not yet released, as far as
        the provider's stake still backs pay released early on its open jobs."""
        jid = parse_id(job_id, "job")
        raw = self._raw_job(jid)
        accrued = int(self._call("read cost of", self.marketplace.accruedCost, jid))
        backed = int(self.registry.stakeOf(raw.provider)) - int(self.marketplace.providerStats(raw.provider).releasedOpen)
        return to_tokens(max(0, min(accrued - int(raw.finalCost), backed)))

    def partial_release(self, job_id: str | bytes, amount: Decimal | int | str | None = None) -> Any:
        """Pays the provider what a running job has accrued (by default all that its stake
        backs: what is paid early can be clawed back by a ProviderFault ruling)."""
        jid = parse_id(job_id, "job")
        if amount is None:
            units = to_base_units(self.releasable(jid)) or MAX_UINT  # 0: let the contract say why
        else:
            units = _tokens_in(amount, "amount")
        return self._send("release earnings of", self.marketplace.partialRelease, jid, units)

    # ================================================================ marketplace: oracle / anyone

    def resolve_dispute(self, job_id: str | bytes, outcome: DisputeOutcome | str, evidence_cid: str) -> Any:
        ruling = DisputeOutcome.parse(outcome) if isinstance(outcome, str) else DisputeOutcome(outcome)
        return self._send("resolve", self.marketplace.resolveDispute, parse_id(job_id, "job"), int(ruling),
                          evidence_cid)

    def resolve_expired_dispute(self, job_id: str | bytes) -> Any:
        return self._send("split the expired dispute of", self.marketplace.resolveExpiredDispute,
                          parse_id(job_id, "job"))

    # ================================================================ marketplace: reads

    def job(self, job_id: str | bytes, *, image_cid: str | None = None) -> Job:
        jid = parse_id(job_id, "job")
        raw = self._call("read job", self.marketplace.getJob, jid)
        if image_cid is None:
            image_cid = next((log.imageCID for log in self._logs(self.marketplace.JobCreated, jobId=jid)), None)
        return Job.from_chain(raw, image_cid)

    def escrow(self, job_id: str | bytes) -> EscrowRecord:
        return EscrowRecord.from_chain(self._call("read escrow of", self.marketplace.getEscrow,
                                                  parse_id(job_id, "job")))

    def accrued_cost(self, job_id: str | bytes) -> Decimal:
        return to_tokens(self._call("read cost of", self.marketplace.accruedCost, parse_id(job_id, "job")))

    def job_count(self) -> int:
        return int(self.marketplace.jobCount())

    def dispute(self, job_id: str | bytes) -> Dispute | None:
        """The dispute of a job as its events tell it (None if it was never disputed)."""
        jid = parse_id(job_id, "job")
        raised = next(iter(self._logs(self.marketplace.JobDisputed, jobId=jid)), None)
        if raised is None:
            return None
        ruled = next(iter(self._logs(self.marketplace.DisputeResolved, jobId=jid)), None)
        return Dispute(
            job_id=hex_id(jid),
            initiator=str(raised.initiator),
            reason=raised.reason,
            raised_block=int(raised.block_number),
            outcome=DisputeOutcome(int(ruled.outcome)) if ruled else None,
            final_cost=to_tokens(ruled.finalCost) if ruled else None,
            resolver=str(ruled.resolver) if ruled else None,
            evidence_cid=ruled.evidenceCID if ruled else None,
        )

    def jobs_of_user(self, user: str | None = None) -> list[Job]:
        """Jobs a renter created (from JobCreated events, indexed by user)."""
        logs = list(self._logs(self.marketplace.JobCreated, user=user or self.address))
        return [self.job(log.jobId, image_cid=log.imageCID) for log in logs]

    def jobs_of_provider(self, provider: str | None = None) -> list[Job]:
        """Jobs on a provider's GPUs (from JobCreated events, indexed by resource)."""
        jobs: list[Job] = []
        for rid in self.registry.getProviderResources(provider or self.address):
            jobs += [self.job(log.jobId, image_cid=log.imageCID)
                     for log in self._logs(self.marketplace.JobCreated, resourceId=rid)]
        return sorted(jobs, key=lambda j: int(j.job_id[-24:], 16))

    def chain_time(self) -> int:
        """The timestamp the next block will carry (what a transaction sent now is billed at)."""
        from ape import chain

        return int(chain.pending_timestamp)

    @property
    def rpc_url(self) -> str:
        """The HTTP JSON-RPC URL of the connected node (for bulk readers such as the indexer)."""
        from ape import chain

        return str(chain.provider.http_uri)

    def head_block(self) -> int:
        from ape import chain

        return int(chain.blocks.height)

    def jobs_created(self, start_block: int, stop_block: int, resource_ids: set[str] | None = None) -> list[dict[str, Any]]:
        """JobCreated events in blocks [start_block, stop_block], optionally only for some GPUs."""
        found = []
        for log in self.marketplace.JobCreated.range(max(start_block, self.manifest.block), stop_block + 1):
            rid = hex_id(log.resourceId)
            if resource_ids is not None and rid not in resource_ids:
                continue
            found.append({"job_id": hex_id(log.jobId), "renter": str(log.user), "resource_id": rid,
                          "image_cid": str(log.imageCID), "price_per_hour": to_tokens(log.pricePerHour),
                          "duration_s": int(log.estimatedDuration), "block": int(log.block_number)})
        return found

    def disputes_raised(self, start_block: int, stop_block: int) -> list[str]:
        """Job ids disputed in blocks [start_block, stop_block], in order."""
        return [hex_id(log.jobId) for log in
                self.marketplace.JobDisputed.range(max(start_block, self.manifest.block), stop_block + 1)]

    def job_events(self, job_id: str | bytes) -> list[dict[str, Any]]:
        """The job's on-chain timeline: each event with its block, timestamp and arguments."""
        from ape import chain

        jid = parse_id(job_id, "job")
        names = ("JobCreated", "JobAccepted", "JobStarted", "JobCompleted", "JobCancelled", "JobDisputed",
                 "DisputeResolved", "FundsReleased", "Refunded")
        found = []
        for name in names:
            for log in self._logs(getattr(self.marketplace, name), jobId=jid):
                args = {k: (hex_id(v) if isinstance(v, bytes) else v if isinstance(v, int | str | bool) else str(v))
                        for k, v in dict(log.event_arguments).items()}
                found.append({"event": name, "block": int(log.block_number), "log_index": int(log.log_index),
                              "timestamp": int(chain.blocks[int(log.block_number)].timestamp), "args": args})
        return sorted(found, key=lambda e: (e["block"], e["log_index"]))

    def image_popularity(self, top: int | None = None, since_block: int | None = None) -> list[tuple[str, int]]:
        """Image CIDs by how many jobs asked for them (JobCreated events), most rented first."""
        from ape import chain

        start = self.manifest.block if since_block is None else max(since_block, self.manifest.block)
        counts = Counter(str(log.imageCID) for log in
                         self.marketplace.JobCreated.range(start, chain.blocks.height + 1))
        return counts.most_common(top)

    def earnings(self, provider: str | None = None) -> Decimal:
        """What the provider has been paid by the escrow (FundsReleased events, net of fees)."""
        logs = self._logs(self.marketplace.FundsReleased, provider=provider or self.address)
        return to_tokens(sum(int(log.providerAmount) for log in logs))

    def pending_disputes(self) -> list[Job]:
        """Jobs currently Disputed (from JobDisputed events)."""
        seen: dict[bytes, None] = {}
        for log in self._logs(self.marketplace.JobDisputed):
            seen[bytes(log.jobId)] = None
        jobs = [self.job(jid) for jid in seen]
        return [j for j in jobs if j.status == JobStatus.DISPUTED]

    # ================================================================ reputation

    def reputation(self, provider: str | None = None) -> Reputation:
        provider = provider or self.address
        return Reputation.from_chain(provider, self.reputation_system.getReputation(provider))

    def update_reputation(self, provider: str, uptime: Decimal | str, avg_response_ms: int) -> Any:
        """Overrides a provider's measurements (governance, through the timelock): uptime as a
        0-1 ratio."""
        bps = int(Decimal(str(uptime)) * BPS)
        if not 0 <= bps <= BPS:
            raise InvalidInput(f"uptime {uptime} must be between 0 and 1")
        return self._govern("override the reputation of", self.reputation_system, "updateReputation", provider,
                            (bps, int(avg_response_ms), 0, 0))

    def calculate_score(self, uptime: Decimal | str, avg_response_ms: int, completion: Decimal | str,
                        dispute_rate: Decimal | str) -> int:
        """The SPEC formula on given components (0-1 ratios), as the contract computes it."""
        bps = [int(Decimal(str(x)) * BPS) for x in (uptime, completion, dispute_rate)]
        return int(self._call("calculate a score", self.reputation_system.calculateScore,
                              (bps[0], int(avg_response_ms), bps[1], bps[2])))

    def apply_penalty(self, provider: str, reason: PenaltyReason | str, incident: bytes | None = None) -> Any:
        """Penalises `provider` (ORACLE_ROLE) for `incident`, which the contract penalises once;
        without one a fresh random incident is used (a manual, one-off penalty)."""
        if isinstance(reason, str):
            key = reason.replace("-", "_").upper()
            if key not in PenaltyReason.__members__:
                raise InvalidInput(f"unknown penalty {reason!r}: one of "
                                   + ", ".join(r.name.lower().replace("_", "-") for r in PenaltyReason))
            reason = PenaltyReason[key]
        incident = incident if incident is not None else os.urandom(32)
        if len(incident) != 32:
            raise InvalidInput("an incident is 32 bytes")
        return self._send("penalise", self.reputation_system.applyPenalty, provider, int(reason), incident)

    def incident_recorded(self, provider: str, incident: bytes) -> bool:
        """Whether a penalty for `incident` was already applied to `provider` (by any oracle)."""
        return bool(self._call("read an incident", self.reputation_system.incidentRecorded, provider, incident))

    def submit_validation_report(self, provider: str, period: int, report: ValidationReport, *,
                                 gas: int | None = None) -> Any:
        """Stores one period's report on `provider` (ORACLE_ROLE); once per provider and period.
        ``gas`` sends it with that limit instead of an estimate (a node estimates on its latest
        block, which on a chain that mines on demand may be older than the period's end)."""
        method = self.reputation_system.submitValidationReport
        if gas is not None:
            method = functools.partial(method, gas=gas)
        return self._send("report on", method, provider, period, report.as_tuple())

    def validation(self, provider: str | None = None) -> Validation:
        """Heartbeats and challenges reported on `provider`, summed over periods."""
        provider = provider or self.address
        return Validation.from_chain(self._call("read the validation of",
                                                self.reputation_system.getValidation, provider))

    def set_priors(self, heartbeat_prior: int, challenge_prior: int) -> Any:
        return self._govern("set the reputation priors", self.reputation_system, "setPriors",
                            heartbeat_prior, challenge_prior)

    def providers(self) -> list[str]:
        """Every address that ever registered as a provider, in registration order."""
        seen: dict[str, None] = {}
        for log in self._logs(self.registry.ProviderRegistered):
            seen[str(log.event_arguments["provider"])] = None  # (log.provider is Ape's provider)
        return list(seen)

    def reward(self, provider: str, bonus: int) -> Any:
        return self._send("reward", self.reputation_system.reward, provider, bonus)

    # ================================================================ governance

    def set_fee(self, fee_bps: int) -> Any:
        return self._govern("set the fee", self.marketplace, "setFee", fee_bps)

    def set_treasury(self, treasury: str) -> Any:
        return self._govern("set the treasury", self.marketplace, "setTreasury", treasury)

    def set_timeouts(self, accept_timeout: int, start_timeout: int, completion_grace: int,
                     dispute_timeout: int) -> Any:
        """Deadlines for jobs created from now on (open jobs keep theirs)."""
        return self._govern("set the timeouts", self.marketplace, "setTimeouts", accept_timeout, start_timeout,
                            completion_grace, dispute_timeout)

    def set_dispute_bond(self, bond_bps: int, min_bond: Decimal | int | str) -> Any:
        """Dispute bond of jobs created from now on: max(min_bond, maxCost * bond_bps / 10000)."""
        return self._govern("set the dispute bond", self.marketplace, "setDisputeBond", bond_bps,
                            _tokens_in(min_bond, "bond"))

    def set_min_stake(self, amount: Decimal | int | str) -> Any:
        return self._govern("set the minimum stake", self.registry, "setMinStake", _tokens_in(amount, "stake"))

    def set_unstake_cooldown(self, seconds: int) -> Any:
        return self._govern("set the unstake cooldown", self.registry, "setUnstakeCooldown", seconds)

    def set_penalty_points(self, reason: PenaltyReason, points: int) -> Any:
        return self._govern("set penalty points", self.reputation_system, "setPenaltyPoints", int(reason), points)

    def set_fraud_slash_bps(self, bps: int) -> Any:
        return self._govern("set the fraud slash", self.reputation_system, "setFraudSlashBps", bps)

    def set_max_response_time(self, ms: int) -> Any:
        return self._govern("set the max response time", self.reputation_system, "setMaxResponseTimeMs", ms)

    # ---------------------------------------------------------------- the timelock

    @property
    def timelock(self) -> Any:
        return self.contracts["GpurentTimelock"]

    def timelock_delay(self) -> int:
        """Seconds a governance change waits on the timelock before it can be executed."""
        return int(self.timelock.getMinDelay())

    def _govern(self, action: str, contract: Any, method: str, *args: Any) -> Any:
        """Runs an admin call: directly when this account holds DEFAULT_ADMIN_ROLE itself,
        else through the timelock, scheduled now and executed at once when the delay is zero
        (a local chain); otherwise the operation is left scheduled and returned, for
        :meth:`execute_operation` once it is ready."""
        admin = contract.DEFAULT_ADMIN_ROLE()
        if contract.hasRole(admin, self.address):
            return self._send(action, getattr(contract, method), *args)
        timelock = self.timelock
        if not contract.hasRole(admin, timelock.address):
            raise NotAuthorized(f"nobody can {action}: neither {self.address} nor the timelock holds "
                                f"DEFAULT_ADMIN_ROLE on {contract.contract_type.name}",
                                name="AccessControlUnauthorizedAccount")
        data = getattr(contract, method).encode_input(*args)
        salt = os.urandom(32)
        delay = self.timelock_delay()
        self._send(f"schedule ({action})", timelock.schedule, contract.address, 0, data, ZERO32, salt, delay)
        op = bytes(timelock.hashOperation(contract.address, 0, data, ZERO32, salt))
        if delay == 0:
            return self._send(action, timelock.execute, contract.address, 0, data, ZERO32, salt)
        return GovernanceOperation(op_id="0x" + op.hex(), target=str(contract.address), data="0x" + bytes(data).hex(),
                                   salt="0x" + salt.hex(), ready_at=self.chain_time() + delay, action=action)

    def pending_operations(self) -> list[GovernanceOperation]:
        """Operations scheduled on the timelock and not yet executed or cancelled."""
        done = {bytes(log.id) for log in self._logs(self.timelock.CallExecuted)}
        done |= {bytes(log.id) for log in self._logs(self.timelock.Cancelled)}
        salts = {bytes(log.id): bytes(log.salt) for log in self._logs(self.timelock.CallSalt)}
        pending = []
        for log in self._logs(self.timelock.CallScheduled):
            op = bytes(log.id)
            if op in done:
                continue
            ready = int(self.timelock.getTimestamp(op))
            pending.append(GovernanceOperation(op_id="0x" + op.hex(), target=str(log.target),
                                               data="0x" + bytes(log.data).hex(),
                                               salt="0x" + salts.get(op, ZERO32).hex(), ready_at=ready,
                                               action="scheduled call"))
        return pending

    def execute_operation(self, op_id: str) -> Any:
        """Executes a scheduled timelock operation once its delay has passed."""
        for op in self.pending_operations():
            if op.op_id.lower() == op_id.lower():
                return self._send("execute", self.timelock.execute, op.target, 0, bytes.fromhex(op.data[2:]),
                                  ZERO32, bytes.fromhex(op.salt[2:]))
        raise InvalidInput(f"no pending timelock operation {op_id}")

    def pause(self) -> list[Any]:
        """Pauses new jobs (Marketplace) and registrations (Registry): both or neither."""
        return self._set_paused(True)

    def unpause(self) -> list[Any]:
        return self._set_paused(False)

    def _set_paused(self, paused: bool) -> list[Any]:
        action = "pause" if paused else "unpause"
        targets = [c for c in (self.marketplace, self.registry) if bool(c.paused()) != paused]
        # check every role first, so a missing one never leaves one contract paused alone
        for contract in targets:
            if not contract.hasRole(contract.PAUSER_ROLE(), self.address):
                raise NotAuthorized(f"{self.address} lacks the role needed to {action} "
                                    f"({contract.contract_type.name} needs PAUSER_ROLE)",
                                    name="AccessControlUnauthorizedAccount")
        return [self._send(action, getattr(c, action)) for c in targets]

    def paused(self) -> bool:
        return bool(self.marketplace.paused())

    def _role_target(self, role: str, contract: str | None) -> tuple[Any, list[Any]]:
        role_key = role.upper().replace("-", "_")
        if not role_key.endswith("_ROLE"):
            role_key += "_ROLE"
        if role_key not in ROLES:
            raise InvalidInput(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        targets = {"token": [self.token], "registry": [self.registry], "marketplace": [self.marketplace],
                   "reputation": [self.reputation_system]}
        chosen = targets[contract] if contract else [c for c in (self.token, self.registry, self.marketplace,
                                                                   self.reputation_system)
                                                     if hasattr(c, role_key)]
        return role_key, chosen

    def grant_role(self, role: str, account: str, contract: str | None = None) -> list[Any]:
        """Grants ``role`` on every contract that has it (or on ``contract``)."""
        key, contracts = self._role_target(role, contract)
        return [self._govern(f"grant {key}", c, "grantRole", getattr(c, key)(), account) for c in contracts]

    def revoke_role(self, role: str, account: str, contract: str | None = None) -> list[Any]:
        key, contracts = self._role_target(role, contract)
        return [self._govern(f"revoke {key}", c, "revokeRole", getattr(c, key)(), account) for c in contracts]

    def renounce_role(self, role: str, contract: str | None = None) -> list[Any]:
        """Gives up ``role`` held by the account itself."""
        key, contracts = self._role_target(role, contract)
        return [self._send(f"renounce {key}", c.renounceRole, getattr(c, key)(), self.address) for c in contracts]

    def has_role(self, role: str, account: str) -> dict[str, bool]:
        key, contracts = self._role_target(role, None)
        return {c.contract_type.name: bool(c.hasRole(getattr(c, key)(), account)) for c in contracts}

    def parameters(self) -> dict[str, Any]:
        accept, start, grace, dispute = self.marketplace.timeouts()
        terms = self.marketplace.terms(self.marketplace.termsVersion())
        return {
            "fee_bps": int(self.marketplace.feeBps()),
            "treasury": str(self.marketplace.treasury()),
            "terms_version": int(self.marketplace.termsVersion()),
            "accept_timeout_s": int(accept),
            "dispute_bond_bps": int(terms.bondBps),
            "dispute_min_bond": to_tokens(terms.minBond),
            "timelock_delay_s": self.timelock_delay(),
            "start_timeout_s": int(start),
            "completion_grace_s": int(grace),
            "dispute_timeout_s": int(dispute),
            "min_stake": to_tokens(self.registry.minStake()),
            "unstake_cooldown_s": int(self.registry.unstakeCooldown()),
            "fraud_slash_bps": int(self.reputation_system.fraudSlashBps()),
            "max_response_time_ms": int(self.reputation_system.maxResponseTimeMs()),
            "paused": self.paused(),
        }

    # ================================================================ helpers

    def _ensure_allowance(self, spender: str, units: int, action: str) -> None:
        owner = self.address
        balance = int(self.token.balanceOf(owner))
        if balance < units:
            raise insufficient_balance(action, balance, units)
        if int(self.token.allowance(owner, spender)) < units:
            self._send("approve", self.token.approve, spender, units)


@contextlib.contextmanager
def _captured_stdout(enabled: bool) -> Iterator[Callable[[], str]]:
    """Points file descriptor 1 at a temporary file while active; yields a reader of it."""
    stream = sys.__stdout__
    try:
        fd = stream.fileno() if (enabled and stream is not None) else -1
    except (AttributeError, ValueError, OSError):
        fd = -1
    if fd < 0:
        yield lambda: ""
        return
    stream.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)

        def read() -> str:
            stream.flush()
            tmp.seek(0)
            return tmp.read().decode(errors="replace")

        try:
            yield read
        finally:
            stream.flush()
            os.dup2(saved, fd)
            os.close(saved)


def resolve_account(account: Any) -> Any:
    """An Ape account from an alias, a test-account index, an address of a test account, or
    an account object; None stays None (read-only)."""
    if account is None or hasattr(account, "sign_message"):
        return account
    from ape import accounts

    if isinstance(account, int) or (isinstance(account, str) and account.isdigit()):
        return accounts.test_accounts[int(account)]
    text = str(account)
    if text.startswith("0x") and len(text) == 42:
        for candidate in accounts.test_accounts:
            if candidate.address.lower() == text.lower():
                return candidate
        raise ConfigurationError(f"no local account holds {text}: import it with `ape accounts import`")
    try:
        return accounts.load(text)
    except Exception as err:  # ape raises several kinds for an unknown alias
        raise ConfigurationError(f"unknown account {text!r}: see `ape accounts list`") from err


def connect(network: str | None = None, account: Any = None) -> Gpurent:
    """Module-level shortcut for :meth:`Gpurent.connect`."""
    return Gpurent.connect(network=network, account=account)


__all__ = ["Gpurent", "GpurentError", "connect", "parse_id", "resolve_account"]
