"""What the contracts' events tell since the deployment: every GPU and provider, a renter's
and a provider's jobs, disputes, earnings, a job's timeline, the popular images."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, NamedTuple

from gpurent.sdk.market import MarketCalls
from gpurent.sdk.registry import RegistryCalls
from gpurent.sdk.inputs import parse_id
from gpurent.types import Dispute, DisputeOutcome, Job, JobStatus, Resource, hex_id
from gpurent.units import to_tokens

JOB_EVENTS = ("JobCreated", "JobExtended", "JobAccepted", "JobStarted", "ResultCommitted", "JobCompleted",
              "JobCancelled", "JobDisputed", "DisputeResolved", "FundsReleased", "Refunded")


class GpuLoad(NamedTuple):
    """A GPU's open jobs: ``running`` (started) and ``waiting`` (created or accepted, not started)."""

    running: int = 0
    waiting: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.running or self.waiting)


class HistoryCalls(RegistryCalls, MarketCalls):
    # ---------------------------------------------------------------- the registry's

    def resources(self) -> list[Resource]:
        """Every GPU ever registered (from ResourceRegistered events since deployment)."""
        return [self.resource(log.resourceId) for log in self._logs(self.registry.ResourceRegistered)]

    def resource_ids(self) -> list[str]:
        """The id of every GPU ever registered, in registration order (one event query)."""
        return [hex_id(log.resourceId) for log in self._logs(self.registry.ResourceRegistered)]

    def job_ids(self) -> list[str]:
        """The id of every job ever created, in creation order (one event query)."""
        return [hex_id(log.jobId) for log in self._logs(self.marketplace.JobCreated)]

    def providers(self) -> list[str]:
        """Every address that ever registered as a provider, in registration order."""
        seen: dict[str, None] = {}
        for log in self._logs(self.registry.ProviderRegistered):
            seen[str(log.event_arguments["provider"])] = None  # (log.provider is Ape's provider)
        return list(seen)

    # ---------------------------------------------------------------- the marketplace's

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

    def gpu_loads(self) -> dict[str, GpuLoad]:
        """Each GPU's open jobs (lower-case resource id → :class:`GpuLoad`), from the
        marketplace's events alone (five log queries, no call per job): a job is open from
        JobCreated until JobCompleted, JobCancelled or JobDisputed, and running once JobStarted."""
        market = self.marketplace
        created = {bytes(log.jobId): hex_id(log.resourceId).lower() for log in self._logs(market.JobCreated)}
        closed = {bytes(log.jobId) for name in ("JobCompleted", "JobCancelled", "JobDisputed")
                  for log in self._logs(getattr(market, name))}
        started = {bytes(log.jobId) for log in self._logs(market.JobStarted)}
        counts: dict[str, list[int]] = {}
        for jid, rid in created.items():
            if jid not in closed:
                counts.setdefault(rid, [0, 0])[0 if jid in started else 1] += 1
        return {rid: GpuLoad(running, waiting) for rid, (running, waiting) in counts.items()}

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

    def jobs_extended(self, start_block: int, stop_block: int) -> dict[str, int]:
        """Jobs extended in blocks [start_block, stop_block]: job id -> the seconds booked after
        its last extension there (``JobExtended.newDuration``)."""
        found: dict[str, int] = {}
        for log in self.marketplace.JobExtended.range(max(start_block, self.manifest.block), stop_block + 1):
            job_id = hex_id(log.jobId)
            found[job_id] = max(found.get(job_id, 0), int(log.newDuration))
        return found

    def disputes_raised(self, start_block: int, stop_block: int) -> list[str]:
        """Job ids disputed in blocks [start_block, stop_block], in order."""
        return [hex_id(log.jobId) for log in
                self.marketplace.JobDisputed.range(max(start_block, self.manifest.block), stop_block + 1)]

    def job_events(self, job_id: str | bytes) -> list[dict[str, Any]]:
        """The job's on-chain timeline: each event with its block, timestamp and arguments."""
        from ape import chain

        jid = parse_id(job_id, "job")
        found: list[dict[str, Any]] = []
        for name in JOB_EVENTS:
            for log in self._logs(getattr(self.marketplace, name), jobId=jid):
                args = {k: (hex_id(v) if isinstance(v, bytes) else v if isinstance(v, int | str | bool) else str(v))
                        for k, v in dict(log.event_arguments).items()}
                found.append({"event": name, "block": int(log.block_number), "log_index": int(log.log_index),
                              "timestamp": int(chain.blocks[int(log.block_number)].timestamp), "args": args})
        return sorted(found, key=lambda e: (e["block"], e["log_index"]))

    def image_popularity(self, top: int | None = None, since_block: int | None = None) -> list[tuple[str, int]]:
        """Image CIDs by how many jobs asked for them (JobCreated events), most rented first."""
        start = self.manifest.block if since_block is None else max(since_block, self.manifest.block)
        counts = Counter(str(log.imageCID) for log in
                         self.marketplace.JobCreated.range(start, self.head_block() + 1))
        return counts.most_common(top)

    def paid_image_popularity(self, provider: str | None = None, top: int | None = None) -> list[tuple[str, int]]:
        """Image CIDs by how many of the provider's own jobs paid it something (a FundsReleased
        to it above zero), most paid first: what a provider may pre-warm. Jobs on anyone else's
        GPUs and jobs never paid (cancelled, or created on a 1-wei GPU by the thousand) do not
        count, so no one can have a provider fetch a CID of their choosing for free."""
        provider = provider or self.address
        paid = {bytes(log.jobId) for log in self._logs(self.marketplace.FundsReleased, provider=provider)
                if int(log.providerAmount) > 0}
        counts: Counter[str] = Counter()
        if paid:
            for rid in self.registry.getProviderResources(provider):
                counts.update(str(log.imageCID) for log in self._logs(self.marketplace.JobCreated, resourceId=rid)
                              if bytes(log.jobId) in paid)
        return counts.most_common(top)

    def earnings(self, provider: str | None = None) -> Decimal:
        """What the provider has earned in all (FundsReleased events, net of fees): paid out
        or still held for it (see ``held_earnings``)."""
        logs = self._logs(self.marketplace.FundsReleased, provider=provider or self.address)
        return to_tokens(sum(int(log.providerAmount) for log in logs))

    def pending_disputes(self) -> list[Job]:
        """Jobs currently Disputed (from JobDisputed events)."""
        seen: dict[bytes, None] = {}
        for log in self._logs(self.marketplace.JobDisputed):
            seen[bytes(log.jobId)] = None
        jobs = [self.job(jid) for jid in seen]
        return [j for j in jobs if j.status == JobStatus.DISPUTED]
