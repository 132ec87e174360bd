"""A provider's dashboard from the index: its GPUs, stake and reputation, the jobs it ran, its
earnings by day (its ``FundsReleased`` events, dated by the job's status change in the same
block) and its reputation history (score, uptime and response over blocks)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from gpurent.indexer import schema as s
from gpurent.indexer.project import tokens
from gpurent.units import to_tokens

MAX_GPUS = 100  # the index's page
MAX_HISTORY = 500  # reputation entries, the newest kept
ENDED = ("Completed", "Resolved")


def earnings_by_day(db: Any, address: str) -> list[dict[str, Any]]:
    """The provider's share of each settled job, summed per UTC day, oldest first."""
    e = s.events.c
    rows = db.execute(select(e.block_number, e.args).where(and_(e.name == "FundsReleased",
                                                                func.lower(e.args).contains(address)))).all()
    paid: list[tuple[str, int, int, int]] = []  # job, block, provider's amount, fee
    for block, args in rows:
        a = json.loads(args)
        if str(a.get("provider", "")).lower() == address:
            paid.append((str(a["jobId"]).lower(), block, int(a["providerAmount"]), int(a["fee"])))
    if not paid:
        return []
    h = s.job_status_history.c
    dated = db.execute(select(h.job_id, h.block_number, h.timestamp)
                       .where(h.job_id.in_({job for job, *_ in paid}))).all()
    when = {(job.lower(), block): ts for job, block, ts in dated}
    days: dict[str, dict[str, int]] = {}
    for job, block, amount, fee in paid:
        ts = when.get((job, block))
        if ts is None:
            continue
        day = datetime.fromtimestamp(ts, timezone.utc).date().isoformat()
        bucket = days.setdefault(day, {"amount": 0, "fee": 0, "jobs": 0})
        bucket["amount"] += amount
        bucket["fee"] += fee
        bucket["jobs"] += 1
    return [{"day": day, "earned": tokens(b["amount"]), "fee": tokens(b["fee"]), "jobs": b["jobs"]}
            for day, b in sorted(days.items())]


def reputation_history(db: Any, address: str) -> list[dict[str, Any]]:
    """Score changes, reports, penalties, rewards and slashes, oldest first (the newest 500)."""
    r = s.reputation_history.c
    rows = db.execute(select(r.block_number, r.log_index, r.kind, r.detail).where(r.provider_address == address)
                      .order_by(r.block_number.desc(), r.log_index.desc()).limit(MAX_HISTORY)).all()
    return [{"block": block, "kind": kind, "detail": json.loads(detail)} for block, _, kind, detail in reversed(rows)]


def dashboard(engine: Engine, address: str) -> dict[str, Any] | None:
    """None when the index has no such provider."""
    from gpurent.gateway.app import camel
    from gpurent.indexer.api import GpuFilter, find_gpus, find_provider

    address = address.lower()
    provider = find_provider(engine, address)
    if provider is None:
        return None
    gpus = find_gpus(engine, GpuFilter(provider=address, available=None, include_retired=True), limit=MAX_GPUS)
    j = s.instance_history.c
    with engine.connect() as db:
        statuses: Counter[str] = Counter(dict(db.execute(select(j.status, func.count()).where(j.provider_address == address)
                                           .group_by(j.status)).all()))
        earnings = earnings_by_day(db, address)
        history = reputation_history(db, address)
    return {**camel(provider), "gpus": [camel(g) for g in gpus],
            "jobs": {"total": sum(statuses.values()), "ended": sum(statuses[k] for k in ENDED),
                     "byStatus": dict(sorted(statuses.items()))},
            "earningsByDay": earnings, "reputationHistory": history}


def on_chain(gp: Any, address: str) -> dict[str, Any]:
    """What the dashboard's writes need from the chain, as the SDK reads it: the earnings the
    marketplace holds (withdrawable now) and its fee, the stake's unstake state (``unlockAt``
    0: none pending) with the registry's cooldown, GPUs not retired, the highest price a GPU may
    ask, and the chain's clock."""
    held = gp.held_earnings(address)
    info = gp.provider(address)
    return {"withdrawable": str(held.amount), "feeHeld": str(held.fee), "stake": str(info.stake),
            "unlockAt": info.unlock_at, "unstakeCooldownS": int(gp.registry.unstakeCooldown()),
            "activeGpus": info.active_resources, "maxPricePerHour": str(to_tokens(int(gp.registry.MAX_PRICE_PER_HOUR()))),
            "chainTime": gp.chain_time()}


MAX_RELIABILITY = 50  # providers in one reliability answer (a marketplace page has at most that many)
RECENT_JOBS = 200  # a provider's newest jobs its starts, abandons and time to start are read from


def reliability(engine: Engine, addresses: list[str]) -> dict[str, dict[str, Any]]:
    """Each provider's record from its jobs' chain events, by address (lower case): jobs
    completed and disputes raised and lost (ruled ``provider_fault``), all of them; of its newest
    ``RECENT_JOBS`` jobs, those started and those abandoned (accepted, then cancelled before
    starting), and its time to start: the median seconds from a job's creation to its start
    (``JobStarted``) over those started (None before its first). A provider the index has no
    job of gets zeros."""
    wanted = sorted({a.lower() for a in addresses})[:MAX_RELIABILITY]
    j, h, d = s.instance_history.c, s.job_status_history.c, s.disputes.c
    out: dict[str, dict[str, Any]] = {a: {"completed": 0, "started": 0, "abandoned": 0, "disputes": 0, "disputesLost": 0,
                                          "medianStartS": None, "startSamples": 0, "recentJobs": RECENT_JOBS}
                                      for a in wanted}
    if not wanted:
        return out
    with engine.connect() as db:
        for provider, count in db.execute(select(j.provider_address, func.count())
                                          .where(and_(j.provider_address.in_(wanted), j.status == "Completed"))
                                          .group_by(j.provider_address)).all():
            out[provider]["completed"] = count
        for provider, outcome, count in db.execute(select(j.provider_address, d.outcome, func.count())
                                                   .join(s.disputes, d.job_id == j.id).where(j.provider_address.in_(wanted))
                                                   .group_by(j.provider_address, d.outcome)).all():
            out[provider]["disputes"] += count
            if outcome == "provider_fault":
                out[provider]["disputesLost"] += count
        recent = [job for provider in wanted for job in db.execute(
            select(j.id).where(j.provider_address == provider).order_by(j.created_block.desc(), j.id)
            .limit(RECENT_JOBS)).scalars()]
        changes = db.execute(select(j.provider_address, h.job_id, h.status, h.timestamp).join(s.job_status_history, h.job_id == j.id)
                             .where(and_(h.job_id.in_(recent),
                                         h.status.in_(("Created", "Accepted", "Running", "Cancelled"))))
                             .order_by(h.block_number, h.log_index)).all()
    seen: dict[str, dict[str, int]] = {}  # job -> status -> its first time
    owner: dict[str, str] = {}
    for provider, job, status, at in changes:
        seen.setdefault(job, {}).setdefault(status, at)
        owner[job] = provider
    waits: dict[str, list[int]] = {}  # provider -> seconds from creation to start
    for job, times in seen.items():
        provider = owner[job]
        if "Running" in times:
            out[provider]["started"] += 1
            if "Created" in times:
                waits.setdefault(provider, []).append(times["Running"] - times["Created"])
        elif "Accepted" in times and "Cancelled" in times:
            out[provider]["abandoned"] += 1
    for provider, started in waits.items():
        out[provider]["medianStartS"] = _median(started)
        out[provider]["startSamples"] = len(started)
    return out


def _median(values: list[int]) -> float:
    ordered, mid = sorted(values), len(values) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
