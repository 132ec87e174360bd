"""An address's activity in the index: every status change of the jobs it rented or served,
newest first, with the job's money (what it may cost, what it cost), for a wallet's history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, or_, select

from gpurent.indexer import schema as s

MAX_PAGE = 100


def account_activity(engine: Engine, address: str, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Status changes of ``address``'s jobs (as renter or provider), newest first: one page of
    at most :data:`MAX_PAGE`."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValueError(f"limit is 1 to {MAX_PAGE} and offset at least 0")
    who = address.lower()
    jobs, changes = s.instance_history, s.job_status_history
    query = (select(changes.c.job_id, changes.c.status, changes.c.block_number, changes.c.timestamp,
                    jobs.c.user_address, jobs.c.price_per_hour_tokens, jobs.c.max_cost_tokens,
                    jobs.c.total_cost_tokens, jobs.c.status.label("current"))
             .join(jobs, jobs.c.id == changes.c.job_id)
             .where(or_(jobs.c.user_address == who, jobs.c.provider_address == who))
             .order_by(changes.c.block_number.desc(), changes.c.log_index.desc())
             .limit(limit).offset(offset))
    with engine.connect() as db:
        rows = db.execute(query).all()
    return [{"jobId": r.job_id, "status": r.status, "block": r.block_number, "timestamp": r.timestamp,
             "role": "renter" if r.user_address == who else "provider", "jobStatus": r.current,
             "pricePerHour": r.price_per_hour_tokens, "maxCost": r.max_cost_tokens, "totalCost": r.total_cost_tokens}
            for r in rows]
