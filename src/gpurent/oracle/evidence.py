"""Dispute evidence and the rules that rule on it.

The oracle gathers, for a disputed job: the on-chain timeline; the provider's own record of the
job (phase, exit code, timeline, the tail of its log) read from the provider's endpoint with the
oracle's signature; the heartbeats and data-possession challenges of the provider during the
job; and whether the job's image is intact on IPFS. The whole document goes to IPFS and its CID
into ``resolveDispute``, so anyone can audit the ruling. The rules, first match wins:

1. **ProviderFault** when the provider failed a data-possession challenge during the job, or
   missed more than ``miss_limit`` heartbeats in a row during it, or has no record of the job
   (its endpoint does not answer or does not know the job).
2. **UserFault** when the provider was healthy (rule 1 did not match) and the renter's container
   exited on its own with a non-zero code before the dispute, or the job's image is not intact
   on IPFS (the renter's image is broken).
3. **Split** otherwise: nothing decisive.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from gpurent.access import sign_access
from gpurent.errors import GpurentError, ServiceUnavailable
from gpurent.http import call, error_text
from gpurent.images.store import ImageStore
from gpurent.oracle.protocol import slot_of
from gpurent.oracle.state import OracleState
from gpurent.types import DisputeOutcome

SCHEMA = "gpurent.evidence/1"
LOG_TAIL = 16_384
FAILED = ("timeout", "fraud", "bad-signature")


def decide(evidence: dict[str, Any], miss_limit: int) -> tuple[DisputeOutcome, str]:
    """The outcome and the rule that gave it (see the module's docstring)."""
    failed = [c for c in evidence["challenges"] if c["outcome"] in FAILED]
    if failed:
        return DisputeOutcome.PROVIDER_FAULT, (f"provider failed {len(failed)} data-possession challenge(s) during "
                                               f"the job ({', '.join(sorted({c['outcome'] for c in failed}))})")
    streak = evidence["heartbeats"]["longest_miss_run"]
    if streak > miss_limit:
        return DisputeOutcome.PROVIDER_FAULT, f"provider missed {streak} heartbeats in a row during the job"
    record = evidence["provider_record"]
    if not record.get("reachable") or "job" not in record:
        return DisputeOutcome.PROVIDER_FAULT, f"provider gave no record of the job: {record.get('error', 'unknown')}"
    job = record["job"]
    code = job.get("exit_code")
    if code not in (None, 0) and not job.get("capped") and any(t["phase"] == "exited" for t in job.get("timeline", [])):
        return DisputeOutcome.USER_FAULT, f"the renter's container exited on its own with code {code}; provider healthy"
    if not evidence["image"]["intact"]:
        return DisputeOutcome.USER_FAULT, f"the job's image is not intact on IPFS: {evidence['image']['detail']}"
    return DisputeOutcome.SPLIT, "no rule was decisive: split"


class EvidenceGatherer:
    def __init__(self, rent: Any, state: OracleState, store: ImageStore, heartbeat_interval_s: float,
                 timeout_s: float = 20.0):
        self.rent, self.state, self.store = rent, state, store
        self.interval, self.timeout_s = heartbeat_interval_s, timeout_s

    def gather(self, job_id: str) -> dict[str, Any]:
        job = self.rent.job(job_id)
        events = self.rent.job_events(job_id)
        stamps = {e["event"]: e["timestamp"] for e in events}
        disputed = next(e for e in events if e["event"] == "JobDisputed")
        # heartbeats and challenges carry the oracle's clock, events the chain's: line them up
        skew = self.rent.chain_time() - time.time()
        chain_start = stamps.get("JobAccepted", stamps.get("JobCreated", disputed["timestamp"]))
        window_start, window_end = chain_start - skew, disputed["timestamp"] - skew
        first, last = slot_of(window_start, self.interval), slot_of(window_end, self.interval)
        kept, expected = self.state.slot_counts(job.provider, first, last)
        challenges = [{"nonce": c.nonce, "job_id": c.job_id, "cid": c.cid, "offset": c.offset,
                       "outcome": c.outcome, "response_ms": c.response_ms, "detail": c.detail}
                      for c in self.state.challenges(job.provider, window_start, window_end + 1)
                      if c.outcome is not None]
        return {
            "schema": SCHEMA,
            "job": {"id": job.job_id, "user": job.user, "provider": job.provider, "resource": job.resource_id,
                    "image_cid": job.image_cid, "estimated_duration": job.estimated_duration,
                    "price_per_hour": str(job.price_per_hour), "max_cost": str(job.max_cost),
                    "start_time": job.start_time, "status": job.status.label},
            "dispute": {"initiator": disputed["args"].get("initiator"), "reason": disputed["args"].get("reason"),
                        "at": disputed["timestamp"], "block": disputed["block"]},
            "chain_timeline": events,
            "window": {"from": round(window_start, 3), "to": round(window_end, 3), "chain_from": chain_start,
                       "chain_to": disputed["timestamp"], "chain_clock_ahead_s": round(skew, 3)},
            "heartbeats": {"interval_s": self.interval, "expected": expected, "kept": kept,
                           "longest_miss_run": self.state.longest_miss_run(job.provider, first, last)},
            "challenges": challenges,
            "provider_record": self._provider_record(job.provider, job.job_id),
            "image": self._image(job.image_cid),
            "gathered_at": int(time.time()),
            "oracle": self.rent.address,
        }

    def _provider_record(self, provider: str, job_id: str) -> dict[str, Any]:
        endpoint = self.rent.provider(provider).endpoint.rstrip("/")
        chain_id = self.rent.manifest.chain_id
        headers = sign_access(self.rent.account, chain_id, job_id)
        try:
            response = call("GET", f"{endpoint}/jobs/{job_id}", f"provider endpoint {endpoint} is not answering",
                            headers=headers, timeout=self.timeout_s)
            if response.status_code != 200:
                return {"reachable": True, "error": error_text(response, "error")}
            logs = call("GET", f"{endpoint}/jobs/{job_id}/logs", "logs unavailable", headers=headers,
                        timeout=self.timeout_s).content
        except GpurentError as err:
            return {"reachable": False, "error": str(err)}
        return {"reachable": True, "job": response.json(), "log_bytes": len(logs),
                "log_sha256": hashlib.sha256(logs).hexdigest(),
                "log_tail_b64": base64.b64encode(logs[-LOG_TAIL:]).decode()}

    def _image(self, cid: str | None) -> dict[str, Any]:
        if not cid:
            return {"intact": False, "detail": "the job names no image"}
        try:
            metadata = self.store.metadata(cid, timeout_s=self.timeout_s)
            self.store.fetch(cid, metadata, Path(os.devnull))
        except ServiceUnavailable:
            raise  # the oracle's own node is down: no ruling now, the dispute stays pending
        except GpurentError as err:
            return {"intact": False, "detail": str(err)}
        return {"intact": True, "detail": f"{metadata.size} bytes, {metadata.digest}"}


def to_document(evidence: dict[str, Any], outcome: DisputeOutcome, rule: str) -> bytes:
    """The evidence and the ruling as one canonical JSON document."""
    ruled = dict(evidence, ruling={"outcome": outcome.name.lower(), "rule": rule})
    return json.dumps(ruled, sort_keys=True, indent=1, default=str).encode()
