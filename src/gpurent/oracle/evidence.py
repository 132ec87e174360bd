"""Dispute evidence and the rules that rule on it.

The oracle gathers, for a disputed job: the on-chain timeline (who disputed, when); the
heartbeats and data-possession challenges of the provider during the job, as the oracle itself
observed them; whether the job's image is intact on IPFS, checked by the oracle itself; and the
provider's own record of the job (phase, exit code, timeline, the tail of its log), read from the
provider's endpoint with the oracle's signature, through capped reads (:data:`RECORD_CAP` bytes of
record, :data:`LOG_READ_CAP` of log, all within the evidence timeout). The whole document goes
to IPFS and its CID into ``resolveDispute``, so anyone can audit the ruling.

Evidence the provider alone can fabricate never wins a dispute: what the provider says about
the job (its phase, its exit code, its log) is kept in the document for the record but decides
nothing; only its *absence* counts, against the provider. The rules, first match wins:

1. **ProviderFault** when the provider failed a data-possession challenge during the job, or
   missed more than ``miss_limit`` heartbeats in a row during it, or gave no record of the job
   (an endpoint that does not answer, or answers 502/503/504, is asked again for
   ``record_wait`` seconds first: :func:`await_record`): its endpoint was refused (not of the
   shape :func:`~gpurent.wire.endpoint.parse_endpoint` accepts, or reaching an address this
   network refuses), did not answer, did not know the job, or served an *unreadable* record
   (a body that is not JSON, not a JSON object, lacks the fields of a record or has them of
   the wrong type (see
   :func:`~gpurent.wire.record.parse_record`), names another job, or is larger than
   :data:`RECORD_CAP`).
2. **UserFault** when the job's image is not intact on IPFS (the renter's image is broken).
3. **Split** ("no fault": the provider is paid the cost up to the dispute, every bond goes back,
   neither side gains) when the oracle did not watch the job itself: no heartbeat slot of the
   provider was expected during it, so the oracle has no observation to rule on.
4. Otherwise the provider was healthy by the oracle's own observations, and the ruling goes
   against the disputer: **UserFault** when the renter disputed (its bond goes to the provider)
   and at least one data-possession challenge *of this job's image* passed during the job;
   heartbeats alone are signed by the provider, so without such a challenge a renter's dispute
   is **Split**. **Split** too when the provider disputed a healthy job with an intact image (no
   fault: it is paid what completing at the dispute would have paid it, and gains nothing over
   completing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpurent.capped import CappedBody, capped_error_text, capped_get, loads_bounded
from gpurent.wire.access import sign_access
from gpurent.wire.endpoint import provider_target
from gpurent.wire.record import RECORD_CAP, record_problem
from gpurent.errors import GpurentError, ServiceUnavailable
from gpurent.images.store import ImageStore
from gpurent.wire.protocol import slot_of
from gpurent.oracle.state import ChallengeOutcome, OracleState
from gpurent.types import DisputeOutcome

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

SCHEMA = "gpurent.evidence/1"
LOG_READ_CAP = 1 << 20  # bytes of the job's log read at most (the rest is never fetched) ...
LOG_TAIL = 16_384  # ... of which the last LOG_TAIL go into the evidence
FAILED = tuple(o for o in ChallengeOutcome if o.failed)
RESULT_JSON_CAP = 4096  # bytes of a result's public result.json the oracle reads
RETRY = "retry"  # set in a provider record that is missing for a reason that may pass
_PASSING_STATUS = frozenset({502, 503, 504})  # a proxy before an agent that is restarting


class ProviderUnreachable(GpurentError):
    """Raised while a dispute waits for the provider's record (see :func:`await_record`)."""


def await_record(evidence: dict[str, Any], first_try: float, now: float, wait_s: float) -> None:
    """Raises ProviderUnreachable while the provider's record is missing for a reason that may
    pass (not answering, or a 502/503/504 from a proxy before it: an agent restarting) and
    less than ``wait_s`` has passed since the oracle first asked (``first_try``, same clock as
    ``now``); after that the evidence is ruled on as it is, and says how long it waited. A
    refused endpoint, a record of the wrong shape or an unknown job are ruled on at once. The
    heartbeats and challenges are the oracle's own record up to the dispute: waiting adds none."""
    record = evidence["provider_record"]
    if not record.pop(RETRY, False):
        return
    waited = now - first_try
    if waited < wait_s:
        raise ProviderUnreachable(f"no record from the provider yet ({record.get('error', 'unknown')}); waiting up to "
                                  f"{wait_s:g} s for it ({waited:.0f} s so far)")
    record["waited_s"] = round(waited, 1)


def decide(evidence: dict[str, Any], miss_limit: int) -> tuple[DisputeOutcome, str]:
    """The outcome and the rule that gave it (see the module's docstring). What the provider
    says in its record (phase, exit code, log) is never read here: only whether it gave one."""
    failed = [c for c in evidence["challenges"] if c["outcome"] in FAILED]
    if failed:
        return DisputeOutcome.PROVIDER_FAULT, (f"provider failed {len(failed)} data-possession challenge(s) during "
                                               f"the job ({', '.join(sorted({c['outcome'] for c in failed}))})")
    beats = evidence["heartbeats"]
    streak = beats["longest_miss_run"]
    if streak > miss_limit:
        return DisputeOutcome.PROVIDER_FAULT, f"provider missed {streak} heartbeats in a row during the job"
    record = evidence["provider_record"]
    if not record.get("reachable") or "job" not in record:
        return DisputeOutcome.PROVIDER_FAULT, f"provider gave no record of the job: {record.get('error', 'unknown')}"
    if (problem := record_problem(record["job"])) is not None:
        return DisputeOutcome.PROVIDER_FAULT, f"provider gave no record of the job: unreadable record: {problem}"
    if not evidence["image"]["intact"]:
        return DisputeOutcome.USER_FAULT, f"the job's image is not intact on IPFS: {evidence['image']['detail']}"
    expected = int(beats.get("expected", 0))
    if expected <= 0:
        return DisputeOutcome.SPLIT, ("no fault: the oracle did not watch the job (no heartbeat slot expected during "
                                      "it), so it has no observation to rule on")
    job = evidence.get("job", {})
    job_id = str(job.get("id") or "").lower()
    passed = sum(c["outcome"] == ChallengeOutcome.PASSED for c in evidence["challenges"])
    of_job = sum(c["outcome"] == ChallengeOutcome.PASSED and str(c.get("job_id") or "").lower() == job_id
                 for c in evidence["challenges"])
    healthy = (f"provider healthy by the oracle's own observations ({beats.get('kept', 0)}/{expected} heartbeat "
               f"slots kept, {passed} challenge(s) passed, {of_job} of them on this job's image, image intact)")
    initiator = str(evidence.get("dispute", {}).get("initiator") or "").lower()
    if initiator and initiator == str(job.get("user") or "").lower():
        if of_job == 0:  # heartbeats alone are the provider's own word: they cannot win
            return DisputeOutcome.SPLIT, (f"no fault: {healthy}; but no challenge of this job's data passed, and "
                                          "heartbeats alone are the provider's word")
        return DisputeOutcome.USER_FAULT, f"{healthy}: the renter's dispute fails"
    if initiator and initiator == str(job.get("provider") or "").lower():
        return DisputeOutcome.SPLIT, f"no fault: {healthy}; the provider disputed a job it could have completed"
    return DisputeOutcome.SPLIT, f"no fault: {healthy}; the disputer {initiator or 'unknown'} is neither party"


class EvidenceGatherer:
    def __init__(self, gp: Gpurent, state: OracleState, store: ImageStore, heartbeat_interval_s: float,
                 timeout_s: float = 20.0):
        self.gp, self.state, self.store = gp, state, store
        self.interval, self.timeout_s = heartbeat_interval_s, timeout_s

    def gather(self, job_id: str) -> dict[str, Any]:
        job = self.gp.job(job_id)
        events = self.gp.job_events(job_id)
        stamps = {e["event"]: e["timestamp"] for e in events}
        disputed = next(e for e in events if e["event"] == "JobDisputed")
        # heartbeats and challenges carry the oracle's clock, events the chain's: line them up
        skew = self.gp.chain_time() - time.time()
        chain_start = stamps.get("JobAccepted", stamps.get("JobCreated", disputed["timestamp"]))
        window_start, window_end = chain_start - skew, disputed["timestamp"] - skew
        first, last = slot_of(window_start, self.interval), slot_of(window_end, self.interval)
        kept, expected = self.state.slot_counts(job.provider, first, last)
        challenges = [{"nonce": c.nonce, "job_id": c.job_id, "cid": c.cid, "offset": c.offset,
                       "outcome": c.outcome, "response_ms": c.response_ms, "detail": c.detail}
                      for c in self.state.challenges(job.provider, window_start, window_end + 1)
                      if c.outcome is not None]
        record = self.provider_record(job.provider, job.job_id)
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
            "provider_record": record,
            "image": self._image(job.image_cid),
            "result": self._result(job.job_id, record),
            "gathered_at": int(time.time()),
            "oracle": self.gp.address,
        }

    def provider_record(self, provider: str, job_id: str) -> dict[str, Any]:
        """The provider's record of the job and the tail of its log, read with caps: at most
        RECORD_CAP bytes of record and LOG_READ_CAP bytes of log, all within ``timeout_s``. A
        record that does not read as one comes back as ``{"reachable": True, "error":
        "unreadable record: ..."}``, which the rules count as no record."""
        chain_id = self.gp.manifest.chain_id
        headers = sign_access(self.gp.account, chain_id, job_id)
        deadline = time.monotonic() + self.timeout_s
        try:  # an endpoint of the wrong shape, or reaching an address refused here, is no record
            target = provider_target(self.gp.provider(provider).endpoint, chain_id)
        except GpurentError as err:
            return {"reachable": False, "error": str(err)}
        try:  # not answering may pass (the agent restarting): RETRY marks what is asked again
            got = capped_get(target.url("jobs", job_id), f"provider endpoint {target.endpoint} is not answering",
                             max_bytes=RECORD_CAP, deadline=deadline, headers=headers, session=target.session())
        except GpurentError as err:
            return {"reachable": False, "error": str(err), RETRY: True}
        if got.status != 200:
            return {"reachable": True, "error": capped_error_text(got), **({RETRY: True} if got.status in
                                                                            _PASSING_STATUS else {})}
        if got.truncated:
            return {"reachable": True, "error": f"unreadable record: larger than {RECORD_CAP} bytes"}
        if got.timed_out:
            return {"reachable": True, "error": f"unreadable record: not read within {self.timeout_s:g} s "
                                                f"({len(got.body)} bytes; {got.error})"}
        try:
            job = loads_bounded(got.body)
        except ValueError as err:  # UnicodeDecodeError and json's errors are ValueErrors
            return {"reachable": True, "error": f"unreadable record: not JSON ({str(err)[:120]})"}
        if (problem := record_problem(job, job_id)) is not None:
            return {"reachable": True, "error": f"unreadable record: {problem}"}
        record: dict[str, Any] = {"reachable": True, "job": job}
        try:
            logs = capped_get(target.url("jobs", job_id, "logs"), "logs unavailable", max_bytes=LOG_READ_CAP,
                              deadline=deadline, headers=headers, session=target.session())
        except GpurentError as err:
            logs = CappedBody(0, b"", False, True, str(err))
        data = logs.body if logs.status == 200 else b""
        record.update({"log_bytes": len(data), "log_sha256": hashlib.sha256(data).hexdigest(),
                       "log_tail_b64": base64.b64encode(data[-LOG_TAIL:]).decode(),
                       "log_truncated": logs.truncated})  # True: more than LOG_READ_CAP on offer, unread
        if logs.status != 200 or logs.timed_out:
            record["log_error"] = (capped_error_text(logs) if logs.status not in (0, 200) else logs.error)[:300]
        return record

    def _image(self, cid: str | None) -> dict[str, Any]:
        if not cid:
            return {"intact": False, "detail": "the job names no image"}
        try:
            metadata = self.store.metadata(cid, timeout_s=self.timeout_s)
            # a transfer that broke off while this node answers is the image's (ImageError, see
            # KuboClient.broke_off); one that broke off as this node went down is not ruled on now
            self.store.fetch(cid, metadata, Path(os.devnull))
        except ServiceUnavailable:
            raise  # the oracle's own node is down: no ruling now, the dispute stays pending
        except GpurentError as err:
            return {"intact": False, "detail": str(err)}
        return {"intact": True, "detail": f"{metadata.size} bytes, {metadata.digest}"}


    def _result(self, job_id: str, record: dict[str, Any]) -> dict[str, Any]:
        """The job's result: its CID (committed on chain with the settlement, else the one the
        provider's record names) and whether its public ``result.json`` is retrievable (at most
        RESULT_JSON_CAP bytes, within the evidence timeout). Kept for the record; the rules do
        not read it."""
        committed = getattr(self.gp, "result_cid", None)
        cid = committed(job_id) if callable(committed) else None
        source = "chain"
        if cid is None:
            cid, source = (record.get("job") or {}).get("result_cid"), "provider record"
        if not cid:
            return {"cid": None, "retrievable": False, "detail": "no result named"}
        try:
            data = self.store.ipfs.cat_bytes(f"{cid}/result.json", length=RESULT_JSON_CAP + 1, timeout=self.timeout_s)
        except ServiceUnavailable:
            raise  # the oracle's own node is down: no ruling now
        except GpurentError as err:
            return {"cid": cid, "source": source, "retrievable": False, "detail": str(err)[:300]}
        ok = len(data) <= RESULT_JSON_CAP
        return {"cid": cid, "source": source, "retrievable": ok,
                "detail": f"result.json {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}" if ok
                else f"result.json larger than {RESULT_JSON_CAP} bytes"}


def to_document(evidence: dict[str, Any], outcome: DisputeOutcome, rule: str) -> bytes:
    """The evidence and the ruling as one canonical JSON document."""
    ruled = dict(evidence, ruling={"outcome": outcome.name.lower(), "rule": rule})
    return json.dumps(ruled, sort_keys=True, indent=1, default=str).encode()
