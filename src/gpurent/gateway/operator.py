"""What the operator pages read: an address's roles on each contract (and on the timelock) and
the chain's parameters, pause state and the timelock's pending operations, each told in words
(all from the chain, as the SDK's ``gpurent admin`` reads them), and the disputes with their
evidence CIDs (from the index)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from gpurent.indexer import schema as s
from gpurent.sdk.admin import ROLES, TIMELOCK_ROLES, holds_timelock_role
from gpurent.types import GovernanceOperation

MAX_DISPUTES = 100
MAX_OPERATIONS = 100  # pending timelock operations shown, oldest first
OPERATOR_ROLES = ("DEFAULT_ADMIN_ROLE", "ORACLE_ROLE", "PAUSER_ROLE", "SLASHER_ROLE")  # MINTER_ROLE is the token's


def disputes(engine: Engine) -> list[dict[str, Any]]:
    """The newest disputes, open ones first."""
    d = s.disputes.c
    with engine.connect() as db:
        rows = db.execute(select(s.disputes).order_by(d.outcome.is_not(None), d.raised_block.desc())
                          .limit(MAX_DISPUTES)).mappings().all()
    return [{"jobId": r["job_id"], "initiator": r["initiator"], "reason": r["reason"], "raisedBlock": r["raised_block"],
             "outcome": r["outcome"], "finalCost": r["final_cost_tokens"], "resolver": r["resolver"],
             "evidenceCid": r["evidence_cid"], "resolvedBlock": r["resolved_block"]} for r in rows]


def with_deadlines(gp: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each open dispute with when it was raised and from when anyone may settle it as a split
    (its job's own terms' dispute timeout, read from the chain); resolved ones as they are."""
    out = []
    for dispute in found:
        if dispute["outcome"] is None:
            job = gp.job(dispute["jobId"])
            raised = int(job.updated_at)
            dispute = {**dispute, "raisedAt": raised, "expiresAt": raised + gp.deadlines_of(job).dispute_timeout}
        out.append(dispute)
    return out


def operation_row(gp: Any, op: GovernanceOperation, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """A timelock operation as the page shows it: what it changes in words, the call, from when
    (chain time) it may be executed."""
    return {"opId": op.op_id, "target": op.target, "change": gp.describe_operation(op, current),
            "call": gp.call_text(op), "readyAt": op.ready_at, "ready": gp.chain_time() >= op.ready_at}


def overview(gp: Any, engine: Engine, address: str) -> dict[str, Any]:
    roles = {role: gp.has_role(role, address) for role in OPERATOR_ROLES if role in ROLES}
    roles |= {role: {"GpurentTimelock": holds_timelock_role(gp.timelock, role, address)} for role in TIMELOCK_ROLES}
    held = sorted(role for role, where in roles.items() if any(where.values()))
    current = gp.parameters()
    params = {key: str(value) if isinstance(value, Decimal) else value for key, value in current.items()}
    operations = [operation_row(gp, op, current) for op in gp.pending_operations()[:MAX_OPERATIONS]]
    return {"address": address.lower(), "roles": roles, "held": held, "parameters": params,
            "paused": params["paused"], "operations": operations, "disputes": with_deadlines(gp, disputes(engine)),
            "chainTime": gp.chain_time()}
