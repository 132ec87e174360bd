"""Marketplace: a job's life (create, accept, start, settle, dispute, rule) and its reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gpurent.errors import DeadlineNotReached, InvalidInput
from gpurent.limits import MAX_DURATION
from gpurent.sdk.base import Base
from gpurent.sdk.deadlines import JobTerms, NextSteps, renter_steps
from gpurent.sdk.inputs import Tokens, parse_id, tokens_in
from gpurent.sdk.tx import Tx
from gpurent.types import DisputeOutcome, EscrowRecord, HeldEarnings, Job, JobStatus, hex_id
from gpurent.units import to_base_units, to_tokens

MAX_UINT = 2**256 - 1


class MarketCalls(Base):
    # ---------------------------------------------------------------- the renter

    def quote(self, resource_id: str | bytes, duration_s: int) -> Decimal:
        """What a job of ``duration_s`` seconds on the GPU would lock (its max cost)."""
        r = self._call("quote", self.registry.getResource, parse_id(resource_id, "GPU"))
        return to_tokens(int(r.pricePerHour) * int(duration_s) // 3600)

    def create_job(self, resource_id: str | bytes, image_cid: str, duration_s: int, *,
                   max_cost: Tokens | None = None, use_permit: bool = True) -> Tx[Job]:
        """Creates a job, locking its max cost; the transaction's value is the new job. With
        ``use_permit`` (default) one transaction approves and creates; ``max_cost`` caps what
        may be locked (default: today's quote)."""
        rid = parse_id(resource_id, "GPU")
        from gpurent.images.store import validate_cid

        image_cid = validate_cid(image_cid)
        if duration_s <= 0:
            raise InvalidInput(f"invalid duration {duration_s} s: must be positive")
        limit = tokens_in(max_cost, "max cost") if max_cost is not None else to_base_units(
            self.quote(rid, duration_s))
        if use_permit:
            from ape import chain

            from gpurent.wire.permit import sign_permit

            deadline = chain.pending_timestamp + 3600
            v, r, s = sign_permit(self._signer(), self.token, self.marketplace.address, limit, deadline)
            tx = self._send("create a job on", self.marketplace.createJobWithPermit, rid, image_cid, duration_s,
                            limit, deadline, v, r, s)
        else:
            self._ensure_allowance(self.marketplace.address, limit, "create a job")
            tx = self._send("create a job on", self.marketplace.createJob, rid, image_cid, duration_s, limit)
        job_id = tx.events.filter(self.marketplace.JobCreated)[0].jobId
        return tx.with_value(self.job(job_id, image_cid=image_cid))

    def check_extendable(self, job_id: str | bytes, extra_seconds: int, caller: str | None = None) -> tuple[Job, int]:
        """The job and the base units extending it by ``extra_seconds`` would lock
        (:func:`~gpurent.sdk.booking.extension_cost`, as the contract computes it); refuses, before
        anything is signed, what the contract would refuse: not the renter, a job in another state,
        a running job whose booked end has come (its provider is stopping it), or a booking past
        MAX_DURATION."""
        from gpurent.reverts import contract_error
        from gpurent.sdk.booking import OPEN_BOOKING, extension_cost

        if isinstance(extra_seconds, bool) or not isinstance(extra_seconds, int) or extra_seconds <= 0:
            raise InvalidInput(f"invalid extension {extra_seconds!r}: a whole number of seconds above 0")
        job = Job.from_chain(self._raw_job(job_id), None)
        action = "extend"
        caller = caller or self.address  # (a wallet elsewhere signs for ``caller``)
        if caller.lower() != job.user.lower():
            raise contract_error("MarketplaceUnauthorized", {"jobId": job.job_id, "caller": caller}, action)
        if job.status not in OPEN_BOOKING:
            raise contract_error("MarketplaceInvalidJobState", {"jobId": job.job_id, "current": int(job.status)},
                                 action)
        booked_end = job.start_time + job.estimated_duration
        if job.status == JobStatus.RUNNING and self.chain_time() >= booked_end:
            raise contract_error("MarketplaceBookingEnded", {"jobId": job.job_id, "bookedEnd": booked_end}, action)
        room = MAX_DURATION - job.estimated_duration
        if extra_seconds > room:
            raise contract_error("MarketplaceInvalidExtension", {
                "jobId": job.job_id, "extraSeconds": extra_seconds, "maxExtraSeconds": room}, action)
        return job, extension_cost(job, extra_seconds)

    def extend_job(self, job_id: str | bytes, extra_seconds: int, *, use_permit: bool = True) -> Tx[Job]:
        """Books ``extra_seconds`` more of a Created, Accepted or Running job at its own price,
        locking what they cost (checked first by :meth:`check_extendable`); the transaction's
        value is the job as extended. With ``use_permit`` (default) one transaction approves
        exactly that cost and extends."""
        jid = parse_id(job_id, "job")
        _, cost = self.check_extendable(jid, extra_seconds)
        if use_permit:
            from ape import chain

            from gpurent.wire.permit import sign_permit

            deadline = chain.pending_timestamp + 3600
            v, r, s = sign_permit(self._signer(), self.token, self.marketplace.address, cost, deadline)
            tx = self._send("extend", self.marketplace.extendJobWithPermit, jid, extra_seconds, cost, deadline,
                            v, r, s)
        else:
            self._ensure_allowance(self.marketplace.address, cost, "extend a job")
            tx = self._send("extend", self.marketplace.extendJob, jid, extra_seconds)
        return tx.with_value(self.job(jid))

    def cancel_job(self, job_id: str | bytes) -> Tx[None]:
        """Cancels a job that has not started (see :meth:`check_cancellable`)."""
        jid = parse_id(job_id, "job")
        self.check_cancellable(jid)
        return self._send("cancel", self.marketplace.cancelJob, jid)

    def deadlines_of(self, job: Job) -> JobTerms:
        """The deadlines ``job`` keeps (its own terms version, not today's)."""
        return JobTerms.from_chain(self._call("read the terms of", self.marketplace.terms, job.terms_version))

    def next_steps(self, job: Job) -> NextSteps:
        """What the job's renter can do now and from or until when (see :mod:`.deadlines`)."""
        return renter_steps(job, self.deadlines_of(job), self.chain_time())

    def check_cancellable(self, job_id: str | bytes, caller: str | None = None) -> None:
        """Refuses, before sending, a renter's cancel that comes too early: an Accepted job
        can be cancelled by its renter only once its start timeout has passed (DeadlineNotReached,
        saying when). The rest the contract decides."""
        job = Job.from_chain(self._raw_job(job_id), None)
        if job.status != JobStatus.ACCEPTED:
            return
        caller = caller or str(self._signer().address)  # (a wallet elsewhere signs for ``caller``)
        if caller.lower() != job.user.lower():
            return
        now = self.chain_time()
        steps = renter_steps(job, self.deadlines_of(job), now)
        cancel = steps.window("cancel")
        if cancel is not None and not cancel.is_open(now):
            raise DeadlineNotReached(f"cannot cancel job {job.job_id[:10]}… yet: {steps.text()}",
                                     name="MarketplaceDeadlineNotReached",
                                     inputs={"jobId": job.job_id, "availableAt": cancel.opens_at})

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

    def dispute_job(self, job_id: str | bytes, reason: str) -> Tx[None]:
        """Disputes a running job, posting its dispute bond (approved here when needed, after
        checking the job can still be disputed)."""
        jid = parse_id(job_id, "job")
        self.check_disputable(jid)
        bond = int(self._call("read the dispute bond of", self.marketplace.disputeBond, jid))
        if bond:
            self._ensure_allowance(self.marketplace.address, bond, "post the dispute bond")
        return self._send("dispute", self.marketplace.disputeJob, jid, reason)

    def complete_job(self, job_id: str | bytes) -> Tx[None]:
        """Settles a running job by elapsed time (its renter or provider; anyone after the grace)."""
        return self._send("complete", self.marketplace.completeJob, parse_id(job_id, "job"))

    # ---------------------------------------------------------------- the provider

    def complete_job_at(self, job_id: str | bytes, ended_at: int) -> Tx[None]:
        """Settles a running job by the seconds it ran until ``ended_at`` (chain time its container
        ended), as its provider: start <= ended_at <= the block's time, and never below what was
        paid early. It can only lower the provider's own pay, so the contract takes its word."""
        _check_end_time(ended_at)
        return self._send("complete", self.marketplace.completeJobAt, parse_id(job_id, "job"), ended_at)

    def complete_job_with_result(self, job_id: str | bytes, ended_at: int, result_cid: str) -> Tx[None]:
        """As :meth:`complete_job_at`, and commits ``result_cid`` (the job's result folder on
        IPFS) on chain in the same transaction (the ``ResultCommitted`` event); InvalidInput,
        before anything is sent, when it is not a CID of at most MAX_RESULT_CID_LENGTH bytes."""
        _check_end_time(ended_at)
        cid = _checked_result_cid(result_cid, "result CID")
        return self._send("complete", self.marketplace.completeJobWithResult, parse_id(job_id, "job"), ended_at, cid)

    def commit_result(self, job_id: str | bytes, result_cid: str) -> Tx[None]:
        """Commits ``result_cid`` for a job someone else settled before its provider packed it
        (``commitResult``: the provider, within the job's completion grace). The job's first
        committed CID is its result; InvalidInput, before anything is sent, for a non-CID."""
        cid = _checked_result_cid(result_cid, "result CID")
        return self._send("commit the result of", self.marketplace.commitResult, parse_id(job_id, "job"), cid)

    def accept_job(self, job_id: str | bytes) -> Tx[None]:
        return self._send("accept", self.marketplace.acceptJob, parse_id(job_id, "job"))

    def accept_and_start_job(self, job_id: str | bytes) -> Tx[None]:
        """Accepts a Created job and starts its billing in one transaction (its provider, within
        the accept timeout): for a container that already runs, its image and inputs fetched."""
        return self._send("accept and start", self.marketplace.acceptAndStartJob, parse_id(job_id, "job"))

    def start_job(self, job_id: str | bytes) -> Tx[None]:
        return self._send("start", self.marketplace.startJob, parse_id(job_id, "job"))

    def releasable(self, job_id: str | bytes) -> Decimal:
        """What ``partial_release`` can pay now: the accrued cost not yet released, as far as
        the provider's stake still backs pay released early on its open jobs."""
        jid = parse_id(job_id, "job")
        raw = self._raw_job(jid)
        accrued = int(self._call("read cost of", self.marketplace.accruedCost, jid))
        backed = int(self.registry.stakeOf(raw.provider)) - int(self.marketplace.providerStats(raw.provider).releasedOpen)
        return to_tokens(max(0, min(accrued - int(raw.finalCost), backed)))

    def partial_release(self, job_id: str | bytes, amount: Tokens | None = None) -> Tx[None]:
        """Pays the provider what a running job has accrued (by default all that its stake
        backs: what is paid early can be clawed back by a ProviderFault ruling)."""
        jid = parse_id(job_id, "job")
        if amount is None:
            units = to_base_units(self.releasable(jid)) or MAX_UINT  # 0: let the contract say why
        else:
            units = tokens_in(amount, "amount")
        return self._send("release earnings of", self.marketplace.partialRelease, jid, units)

    def held_earnings(self, provider: str | None = None) -> HeldEarnings:
        """What the marketplace holds for ``provider`` (default: this account): settling a job
        credits its pay there instead of transferring it; :meth:`withdraw_earnings` pays it out."""
        amount, fee = self._call("read the earnings of", self.marketplace.earningsOf, provider or self.address)
        return HeldEarnings(amount=to_tokens(int(amount)), fee=to_tokens(int(fee)))

    def check_withdrawable(self, provider: str | None = None) -> HeldEarnings:
        """What ``provider`` (default: this account) may withdraw; InvalidInput when nothing."""
        address = provider or self.address
        held = self.held_earnings(address)
        if held.empty:
            raise InvalidInput(f"nothing to withdraw: the marketplace holds no earnings of {address}")
        return held

    def withdraw_earnings(self) -> Tx[HeldEarnings]:
        """Pays out everything this account earned and has not withdrawn, in one transfer, and
        the platform fee on it to the treasury; the value is what was paid. InvalidInput, before
        anything is sent, when nothing is held."""
        self.check_withdrawable()
        tx = self._send("withdraw the earnings of", self.marketplace.withdrawEarnings)
        (paid,) = tx.events.filter(self.marketplace.EarningsWithdrawn)
        return tx.with_value(HeldEarnings(amount=to_tokens(int(paid.amount)), fee=to_tokens(int(paid.fee))))

    # ---------------------------------------------------------------- the oracle, or anyone

    def resolve_dispute(self, job_id: str | bytes, outcome: DisputeOutcome | str, evidence_cid: str) -> Tx[None]:
        ruling = DisputeOutcome.parse(outcome) if isinstance(outcome, str) else DisputeOutcome(outcome)
        return self._send("resolve", self.marketplace.resolveDispute, parse_id(job_id, "job"), int(ruling),
                          evidence_cid)

    def collect_fees(self, providers: list[str]) -> Tx[Decimal]:
        """Pays the platform fee held on the earnings of ``providers`` to the treasury (anyone
        may: the fees only go there); the value is the total collected."""
        if not providers:
            raise InvalidInput("collect fees of whom? name at least one provider")
        tx = self._send("collect the fees of", self.marketplace.collectFees, list(providers))
        fees = tx.events.filter(self.marketplace.FeesCollected)
        return tx.with_value(to_tokens(sum(int(e.fee) for e in fees)))

    def resolve_expired_dispute(self, job_id: str | bytes) -> Tx[None]:
        return self._send("split the expired dispute of", self.marketplace.resolveExpiredDispute,
                          parse_id(job_id, "job"))

    # ---------------------------------------------------------------- reads of one job

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

    def settlement(self, job_id: str | bytes) -> dict[str, Decimal] | None:
        """Where a settled job's escrow went, from its events: ``provider`` (its share,
        ``FundsReleased``), ``fee`` (the platform's) and ``refund`` (back to the renter,
        ``Refunded``), in tokens; None while nothing has moved."""
        jid = parse_id(job_id, "job")
        released = list(self._logs(self.marketplace.FundsReleased, jobId=jid))
        refunded = list(self._logs(self.marketplace.Refunded, jobId=jid))
        return settlement_of(released, refunded)

    def result_cid(self, job_id: str | bytes) -> str | None:
        """The result CID the job's provider committed at settlement (``ResultCommitted``), or
        None when it committed none. The event is the provider's word: InvalidInput when what it
        committed is not a CID (the message shows it escaped)."""
        jid = parse_id(job_id, "job")
        for log in self._logs(self.marketplace.ResultCommitted, jobId=jid):
            return _checked_result_cid(log.resultCID, f"job {hex_id(jid)} committed a result CID that")
        return None


def settlement_of(released: list[Any], refunded: list[Any]) -> dict[str, Decimal] | None:
    """A job's ``FundsReleased`` and ``Refunded`` events summed: what its provider, the
    platform and its renter got (tokens); None without any."""
    units = settlement_units(released, refunded)
    return None if units is None else {party: to_tokens(amount) for party, amount in units.items()}


def settlement_units(released: list[Any], refunded: list[Any]) -> dict[str, int] | None:
    """:func:`settlement_of` in base units: ``provider`` (the ``providerAmount`` of every
    ``FundsReleased``, early releases included), ``fee`` and ``refund`` (``Refunded``); None
    without any event."""
    if not released and not refunded:
        return None
    return {"provider": sum(int(e.providerAmount) for e in released), "fee": sum(int(e.fee) for e in released),
            "refund": sum(int(e.amount) for e in refunded)}


# The Marketplace's bound on every CID it takes (MAX_CID_LENGTH).
MAX_RESULT_CID_LENGTH = 128


def _check_end_time(ended_at: int) -> None:
    if isinstance(ended_at, bool) or not isinstance(ended_at, int) or ended_at < 0:
        raise InvalidInput(f"invalid end time {ended_at!r}: a Unix timestamp in seconds")


def _checked_result_cid(value: object, what: str) -> str:
    """``value`` when it is a CID of at most MAX_RESULT_CID_LENGTH bytes; else InvalidInput
    naming ``what``, with the value escaped and cut (it may come from the chain)."""
    from gpurent.images.store import validate_cid

    text = value if isinstance(value, str) else ""
    shown = ascii(value)[:80]
    if not text or len(text.encode("utf-8", "replace")) > MAX_RESULT_CID_LENGTH:
        raise InvalidInput(f"{what} {shown} is not a CID of 1 to {MAX_RESULT_CID_LENGTH} bytes")
    try:
        cid = validate_cid(text)
    except InvalidInput:
        raise InvalidInput(f"{what} {shown} is not a CID (expected e.g. bafy…)") from None
    if cid != text:
        raise InvalidInput(f"{what} {shown} is not a bare CID (no /ipfs/ prefix or spaces)")
    return cid
