"""A settled job's receipt from the index: what was booked, what ran, and where its escrow went
exactly as the chain paid it (the job's ``FundsLocked``, ``FundsReleased``, ``Refunded`` and
``ReleaseClawedBack`` events, in base units), with the transactions that created and settled it.

The split is the SDK's (:func:`gpurent.sdk.market.settlement_units`, over the index's copy of
the events ``gp.settlement`` reads from the chain), so ``provider + fee + refund`` is what was
locked, to the base unit. Amounts are base units as decimal strings (JSON numbers lose digits
past 2**53); times are the blocks' timestamps (Unix seconds).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from gpurent.gateway.errors import ApiError
from gpurent.indexer import schema as s
from gpurent.sdk.booking import billed_seconds
from gpurent.sdk.market import settlement_units
from gpurent.types import JobStatus

# the event that settles a job in each end state (a Resolved job was disputed first)
SETTLING = {"JobCompleted": JobStatus.COMPLETED.label, "JobCancelled": JobStatus.CANCELLED.label,
            "DisputeResolved": JobStatus.RESOLVED.label}
MONEY = ("JobCreated", "FundsLocked", "FundsReleased", "Refunded", "ReleaseClawedBack", *SETTLING)
MAX_EVENTS = 1000  # a job's events read for its receipt (one per extension and early release, besides a few)
SETTLED = tuple(s.label for s in JobStatus if s.terminal)


def job_receipt(engine: Engine, job_id: str, reader: str) -> dict[str, Any]:
    """The receipt of job ``job_id`` for ``reader`` (its renter or its provider). ApiError 404
    for a job not in the index or not ``reader``'s, 409 for one not settled yet."""
    job_id, reader = job_id.lower(), reader.lower()
    j = s.instance_history.c
    with engine.connect() as db:
        job = db.execute(select(s.instance_history).where(j.id == job_id)).mappings().first()
        if job is None or reader not in (job["user_address"], job["provider_address"]):
            raise ApiError(404, f"no job {job_id} of yours in the index")
        if job["status"] not in SETTLED:
            raise ApiError(409, f"job {job_id} is {job['status']}: its receipt comes once it is settled "
                                f"({', '.join(SETTLED)})")
        events = _events(db, job_id, job["created_block"], job["updated_block"])
        gpu = db.execute(select(s.gpu_resources.c.gpu_model).where(s.gpu_resources.c.id == job["resource_id"])).scalar()
        h = s.job_status_history.c
        changes = [(str(r.status), int(r.block_number), int(r.timestamp)) for r in
                   db.execute(select(h.status, h.block_number, h.timestamp).where(h.job_id == job_id)
                              .order_by(h.block_number, h.log_index))]
    return _receipt(dict(job), gpu, events, changes, reader)


def _events(db: Any, job_id: str, first: int, last: int) -> list[tuple[str, int, str, dict[str, Any]]]:
    """The job's money events, oldest first: (name, block, transaction hash, arguments)."""
    e = s.events.c
    rows = db.execute(select(e.name, e.block_number, e.tx_hash, e.args)
                      .where(and_(e.block_number >= first, e.block_number <= last, e.contract == "Marketplace",
                                  e.name.in_(MONEY), e.args.contains(job_id, autoescape=True)))
                      .order_by(e.block_number, e.log_index).limit(MAX_EVENTS + 1)).all()
    if len(rows) > MAX_EVENTS:
        raise ApiError(503, f"job {job_id} has over {MAX_EVENTS} payment events: its receipt is not served here")
    found = []
    for name, block, tx, text in rows:
        args = json.loads(text)
        if str(args.get("jobId", "")).lower() == job_id:
            found.append((str(name), int(block), str(tx), args))
    return found


def _receipt(job: dict[str, Any], gpu_model: str | None, events: list[tuple[str, int, str, dict[str, Any]]],
             changes: list[tuple[str, int, int]], reader: str) -> dict[str, Any]:
    def of(*names: str) -> list[tuple[str, int, str, dict[str, Any]]]:
        return [ev for ev in events if ev[0] in names]

    created, settled = of("JobCreated"), of(*SETTLING)
    if not created or not settled:  # an index that began after the job, or lost its events
        raise ApiError(503, f"the index lacks job {job['id']}'s creation or settlement events")
    name, settled_block, settled_tx, settled_args = settled[-1]
    terms = created[0][3]
    released = [SimpleNamespace(**a) for *_, a in of("FundsReleased")]
    refunded = [SimpleNamespace(**a) for *_, a in of("Refunded")]
    split = settlement_units(released, refunded) or {"provider": 0, "fee": 0, "refund": 0}
    locked = sum(int(a["amount"]) for *_, a in of("FundsLocked"))
    final = 0 if name == "JobCancelled" else int(settled_args["finalCost"])
    price, booked = int(terms["pricePerHour"]), int(job["estimated_duration"])
    at = {block: ts for _, block, ts in changes}
    disputed = next((ts for status, _, ts in changes if status == JobStatus.DISPUTED.label), None)

    def tx(block: int, tx_hash: str) -> dict[str, Any]:
        return {"block": block, "hash": tx_hash, "timestamp": at.get(block)}

    return {
        "jobId": job["id"], "status": job["status"], "role": "renter" if reader == job["user_address"] else "provider",
        "renter": job["user_address"], "provider": job["provider_address"],
        "gpu": {"id": job["resource_id"], "model": gpu_model}, "imageCid": job["image_cid"],
        "createdAt": at.get(created[0][1]), "startedAt": job["start_time"], "disputedAt": disputed,
        "endedAt": at.get(settled_block),
        "bookedSeconds": booked, "usedSeconds": billed_seconds(price, final, booked),
        "pricePerHour": str(price), "maxCost": str(locked), "finalCost": str(final),
        "split": {party: str(amount) for party, amount in split.items()},
        "clawedBack": str(sum(int(a["amount"]) for *_, a in of("ReleaseClawedBack"))),
        "creation": tx(created[0][1], created[0][2]), "settlement": tx(settled_block, settled_tx),
        "payments": [{"event": n, "block": b, "hash": h, **{k: str(v) for k, v in a.items()
                                                           if k in ("amount", "providerAmount", "fee")}}
                     for n, b, h, a in of("FundsLocked", "FundsReleased", "Refunded", "ReleaseClawedBack")],
    }
