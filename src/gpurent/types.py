"""Models mirroring the contracts' types: enums and frozen dataclasses, tokens as Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any

from gpurent.units import to_tokens


_NUMERIC_FORMATS = frozenset("bcdoxXneEfFgG%")  # format types that ask for the number


class NamedIntEnum(IntEnum):
    """An IntEnum that prints as its Solidity name (``JobStatus.RUNNING`` → "Running",
    ``DisputeOutcome.PROVIDER_FAULT`` → "ProviderFault") in ``str()`` and in f-strings (padded
    by a width: ``{status:<10}``); a numeric format (``{status:d}``, ``{status:x}``) still gives
    the number, and JSON and the chain still get the int."""

    @property
    def label(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    def __str__(self) -> str:
        return self.label

    def __format__(self, spec: str) -> str:
        if spec[-1:] and spec[-1] in _NUMERIC_FORMATS:
            return int.__format__(int(self), spec)
        return format(self.label, spec)



class JobStatus(NamedIntEnum):
    """`IMarketplace.JobStatus`."""

    NONE = 0
    CREATED = 1
    ACCEPTED = 2
    RUNNING = 3
    COMPLETED = 4
    CANCELLED = 5
    DISPUTED = 6
    RESOLVED = 7

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.RESOLVED)


class AgentPhase(StrEnum):
    """A job's phase in its provider agent's records: stored in the agent's SQLite and served at
    its ``/jobs/<id>`` (JSON) as the value, so the string form is the wire form.

    queued -> pulling -> pulled -> accepting -> accepted -> starting -> running -> exited -> completing
    -> completed; any open phase -> cancelled | declined | failed | disputed
    """

    QUEUED = "queued"
    ACCEPTING = "accepting"
    ACCEPTED = "accepted"
    PULLING = "pulling"
    PULLED = "pulled"
    STARTING = "starting"
    RUNNING = "running"
    EXITED = "exited"
    COMPLETING = "completing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    FAILED = "failed"
    DISPUTED = "disputed"

    @property
    def final(self) -> bool:
        """Whether the agent is done with the job (it holds no GPU and no container)."""
        return self in _FINAL_PHASES


_FINAL_PHASES = frozenset({AgentPhase.COMPLETED, AgentPhase.CANCELLED, AgentPhase.DECLINED, AgentPhase.FAILED,
                           AgentPhase.DISPUTED})


class DisputeOutcome(NamedIntEnum):
    """`IMarketplace.DisputeOutcome`."""

    NONE = 0
    PROVIDER_FAULT = 1
    USER_FAULT = 2
    SPLIT = 3

    @classmethod
    def parse(cls, text: str) -> DisputeOutcome:
        """Accepts "provider-fault", "ProviderFault", "PROVIDER_FAULT", "split", ..."""
        key = text.replace("-", "_").upper()
        aliases = {"PROVIDERFAULT": "PROVIDER_FAULT", "USERFAULT": "USER_FAULT"}
        key = aliases.get(key, key)
        if key not in cls.__members__ or key == "NONE":
            raise ValueError(f"unknown dispute outcome {text!r}: use provider-fault, user-fault or split")
        return cls[key]


class PenaltyReason(NamedIntEnum):
    """`IReputationSystem.PenaltyReason`."""

    DOWNTIME = 0
    DATA_FRAUD = 1
    TIMEOUT = 2
    INVALID_SIGNATURE = 3
    LOST_DISPUTE = 4


def cli_names(enum: type[IntEnum]) -> list[str]:
    """How the CLI spells an enum's members: lower case with dashes ("provider-fault"), NONE left out."""
    return [member.name.lower().replace("_", "-") for member in enum if member.name != "NONE"]


def hex_id(value: Any) -> str:
    """A 0x-prefixed hex string from bytes or text (ids, hashes)."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


@dataclass(frozen=True)
class Resource:
    """A GPU offer in the registry."""

    resource_id: str
    provider: str
    gpu_model: str
    vcpu: int
    memory_gb: int
    storage_gb: int
    price_per_hour: Decimal
    available: bool
    retired: bool
    total_uptime: int
    reputation: int
    registered_at: int

    @classmethod
    def from_chain(cls, r: Any) -> Resource:
        return cls(
            resource_id=hex_id(r.resourceId),
            provider=str(r.provider),
            gpu_model=r.gpuModel,
            vcpu=int(r.vcpu),
            memory_gb=int(r.memoryGB),
            storage_gb=int(r.storageGB),
            price_per_hour=to_tokens(r.pricePerHour),
            available=bool(r.available),
            retired=bool(r.retired),
            total_uptime=int(r.totalUptime),
            reputation=int(r.reputation),
            registered_at=int(r.registeredAt),
        )


@dataclass(frozen=True)
class ProviderInfo:
    """A provider's registration, agent endpoint and stake."""

    address: str
    registered: bool
    endpoint: str
    stake: Decimal
    unlock_at: int
    active_resources: int
    slash_debt: Decimal = Decimal(0)  # slashed, not yet burnt (it backs early pay): burnt on withdrawal

    @classmethod
    def from_chain(cls, address: str, p: Any) -> ProviderInfo:
        return cls(
            address=str(address),
            registered=bool(p.registered),
            endpoint=p.endpoint,
            stake=to_tokens(p.stake),
            unlock_at=int(p.unlockAt),
            active_resources=int(p.activeResources),
            slash_debt=to_tokens(p.slashDebt),
        )


@dataclass(frozen=True)
class Job:
    """A job. `image_cid` comes from its JobCreated event (the contract stores no strings)."""

    job_id: str
    user: str
    provider: str
    resource_id: str
    image_cid: str | None
    estimated_duration: int
    price_per_hour: Decimal
    max_cost: Decimal
    fee_bps: int
    start_time: int
    end_time: int
    updated_at: int
    status: JobStatus
    final_cost: Decimal
    terms_version: int = 0  # the Terms (deadlines, fee, bond) the job keeps

    @classmethod
    def from_chain(cls, j: Any, image_cid: str | None) -> Job:
        return cls(
            job_id=hex_id(j.jobId),
            user=str(j.user),
            provider=str(j.provider),
            resource_id=hex_id(j.resourceId),
            image_cid=image_cid,
            estimated_duration=int(j.estimatedDuration),
            price_per_hour=to_tokens(j.pricePerHour),
            max_cost=to_tokens(j.maxCost),
            fee_bps=int(j.feeBps),
            start_time=int(j.startTime),
            end_time=int(j.endTime),
            updated_at=int(j.updatedAt),
            status=JobStatus(int(j.status)),
            final_cost=to_tokens(j.finalCost),
            terms_version=int(j.termsVersion),
        )


@dataclass(frozen=True)
class GovernanceOperation:
    """A call scheduled on the timelock: executable from ``ready_at`` (chain time) on."""

    op_id: str
    target: str
    data: str
    salt: str
    ready_at: int
    action: str


@dataclass(frozen=True)
class EscrowRecord:
    """The escrow of a job (derived from the job on chain)."""

    job_id: str
    user: str
    provider: str
    locked: Decimal
    released: Decimal
    refunded: Decimal
    completed: bool

    @classmethod
    def from_chain(cls, e: Any) -> EscrowRecord:
        return cls(
            job_id=hex_id(e.jobId),
            user=str(e.user),
            provider=str(e.provider),
            locked=to_tokens(e.lockedAmount),
            released=to_tokens(e.releasedAmount),
            refunded=to_tokens(e.refundedAmount),
            completed=bool(e.completed),
        )


@dataclass(frozen=True)
class HeldEarnings:
    """What the marketplace holds for a provider: its pay released and not withdrawn, and the
    platform fee on it not yet collected by the treasury."""

    amount: Decimal
    fee: Decimal

    @property
    def empty(self) -> bool:
        return not self.amount and not self.fee


def _ratio(bps: int) -> Decimal:
    return Decimal(int(bps)) / Decimal(10_000)


@dataclass(frozen=True)
class Reputation:
    """A provider's reputation with the four components of the SPEC formula (0-1 each)."""

    provider: str
    score: int
    total_jobs: int
    successful_jobs: int
    disputes_lost: int
    last_updated: int
    uptime: Decimal
    response: Decimal
    completion: Decimal
    dispute_rate: Decimal
    penalties: int
    rewards: int

    @classmethod
    def from_chain(cls, provider: str, r: Any) -> Reputation:
        return cls(
            provider=str(provider),
            score=int(r.score),
            total_jobs=int(r.totalJobs),
            successful_jobs=int(r.successfulJobs),
            disputes_lost=int(r.disputes),
            last_updated=int(r.lastUpdated),
            uptime=_ratio(r.uptimeBps),
            response=_ratio(r.responseBps),
            completion=_ratio(r.completionBps),
            dispute_rate=_ratio(r.disputeRateBps),
            penalties=int(r.penalties),
            rewards=int(r.rewards),
        )


@dataclass(frozen=True)
class ValidationReport:
    """One period's measurements of a provider, as the oracle reports them on-chain."""

    heartbeats_kept: int
    heartbeats_expected: int
    challenges_passed: int = 0
    challenges_failed: int = 0
    avg_response_ms: int = 0

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.heartbeats_kept, self.heartbeats_expected, self.challenges_passed,
                self.challenges_failed, self.avg_response_ms)


@dataclass(frozen=True)
class Validation:
    """Heartbeats and challenges reported on a provider, summed over all periods."""

    heartbeats_kept: int
    heartbeats_expected: int
    challenges_passed: int
    challenges_failed: int
    reports: int
    last_period: int | None

    @classmethod
    def from_chain(cls, v: Any) -> Validation:
        return cls(int(v.heartbeatsKept), int(v.heartbeatsExpected), int(v.challengesPassed),
                   int(v.challengesFailed), int(v.reports), int(v.lastPeriod) if int(v.reports) else None)


@dataclass(frozen=True)
class Dispute:
    """A dispute as the events tell it: raised, and resolved once ruled."""

    job_id: str
    initiator: str
    reason: str
    raised_block: int
    outcome: DisputeOutcome | None = None
    final_cost: Decimal | None = None
    resolver: str | None = None
    evidence_cid: str | None = None
