"""The honest oracle: what it observes of each provider, the evidence it gathers for a dispute,
and its ruling by the project's own rule function.

Observations follow the real oracle (:mod:`gpurent.oracle.oracle`): heartbeat slots of
``HEARTBEAT_S`` seconds, kept while the provider sends heartbeats; one challenge draw per
provider per ``CHALLENGE_S`` seconds, drawn with probability ``CHALLENGE_P`` at a point in the
first half of the interval, on one of the provider's running jobs; an answer from a provider
that holds the job's image passes, from one that does not is wrong ("fraud") or late
("timeout"), and a provider that no longer answers times out. Failed challenges and runs of
missed heartbeats are penalised on chain (Timeout / DataFraud, which burns stake; Downtime), as
the real oracle does, before the oracle rules. The evidence document has the keys
:func:`gpurent.oracle.evidence.decide` reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gpurent.types import DisputeOutcome, PenaltyReason

if TYPE_CHECKING:
    from sim.agents import Job
    from sim.world import World

HEARTBEAT_S = 60
CHALLENGE_S = 600
CHALLENGE_P = 0.5
MISS_LIMIT = 3
PENALTY_OF = {"timeout": PenaltyReason.TIMEOUT, "fraud": PenaltyReason.DATA_FRAUD,
              "bad-signature": PenaltyReason.INVALID_SIGNATURE}

Rule = Callable[[dict[str, Any], int], tuple[DisputeOutcome, str]]


def real_rule() -> Rule:
    """The project's rule function, imported late: another module may be rewriting it."""
    from gpurent.oracle.evidence import decide

    return decide


@dataclass
class Behaviour:
    """What a provider really does (the ground truth the oracle can only partly observe)."""

    heartbeats_until: int | None = None  # stops sending heartbeats at this time (None: never)
    answers_until: int | None = None  # its endpoint stops answering at this time
    holds_image: bool = True  # it pulled the jobs' images (so it can answer challenges)
    answers_junk: bool = False  # without the image: answers wrong bytes (fraud), else nothing
    record: str = "running"  # what its endpoint says of a job: "running", "exited" (fabricated)
    offering_until: int | None = None  # retired its GPUs then: no heartbeat expected after

    def offering(self, t: int) -> bool:
        return self.offering_until is None or t < self.offering_until

    def beating(self, t: int) -> bool:
        return self.heartbeats_until is None or t < self.heartbeats_until

    def answering(self, t: int) -> bool:
        return self.answers_until is None or t < self.answers_until


@dataclass
class Challenge:
    at: int
    job: int
    outcome: str
    nonce: bytes


@dataclass
class HonestOracle:
    world: World
    seed: int
    rule: Rule
    miss_limit: int = MISS_LIMIT
    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)  # every job of the run (their running spans)
    penalised: set[bytes] = field(default_factory=set)
    rulings: list[tuple[int, DisputeOutcome, str]] = field(default_factory=list)
    origin: int = -1  # the run's start: slots and challenge rounds count from it, so a seed
    # replays the same schedule whatever the wall clock the chain started at

    def __post_init__(self) -> None:
        if self.origin < 0:
            self.origin = self.world.now

    def of(self, provider: str) -> Behaviour:
        return self.behaviour.setdefault(provider, Behaviour())

    # ------------------------------------------------------------ observations
    def challenges(self, provider: str, t_from: int, t_to: int) -> list[Challenge]:
        """The challenges of ``provider`` in [t_from, t_to] and their outcomes."""
        b, o = self.of(provider), self.origin
        found = []
        for round_ in range((t_from - o) // CHALLENGE_S, (t_to - o) // CHALLENGE_S + 1):
            draw = hashlib.sha256(f"{self.seed}:{provider.lower()}:{round_}".encode()).digest()
            if int.from_bytes(draw[:8], "big") / 2**64 >= CHALLENGE_P:
                continue
            at = o + round_ * CHALLENGE_S + int.from_bytes(draw[8:16], "big") % (CHALLENGE_S // 2)
            if not t_from <= at <= t_to:
                continue
            running = [j for j in self.jobs if j.provider == provider and j.running_on_chain(at)]
            if not running:
                continue
            job = running[int.from_bytes(draw[16:24], "big") % len(running)]
            if not b.answering(at):
                outcome = "timeout"
            elif not b.holds_image:
                outcome = "fraud" if b.answers_junk else "timeout"
            else:
                outcome = "passed"
            found.append(Challenge(at, job.id, outcome, hashlib.sha256(draw + b"/nonce").digest()))
        return found

    def first_failure(self, provider: str, t_from: int, t_to: int) -> int | None:
        """When the oracle first saw ``provider`` fail a challenge in [t_from, t_to] (the
        renter sees it on chain: PenaltyApplied)."""
        failed = [c.at for c in self.challenges(provider, t_from, t_to) if c.outcome != "passed"]
        return min(failed) if failed else None

    def slots(self, provider: str, t_from: int, t_to: int) -> tuple[int, int, int]:
        """(expected, kept, longest run of misses) over the heartbeat slots finished in
        [t_from, t_to]."""
        b, o = self.of(provider), self.origin
        first, last = (t_from - o) // HEARTBEAT_S, (t_to - o) // HEARTBEAT_S - 1
        expected = kept = longest = streak = 0
        for slot in range(first, last + 1):
            begins = o + slot * HEARTBEAT_S
            if not b.offering(begins):
                continue
            expected += 1
            if b.beating(begins):
                kept, streak = kept + 1, 0
            else:
                streak += 1
                longest = max(longest, streak)
        return expected, kept, longest

    def record(self, job: Job, at: int) -> dict[str, Any]:
        b = self.of(job.provider)
        if not b.answering(at):
            return {"reachable": False, "error": f"provider endpoint of {job.provider} is not answering"}
        jid = f"0x{job.id:064x}"
        if b.record == "exited":  # fabricated: "the renter's container failed"
            rec = {"job_id": jid, "phase": "exited", "exit_code": 1, "capped": False,
                   "timeline": [{"phase": "pulling"}, {"phase": "running"}, {"phase": "exited"}]}
        else:
            rec = {"job_id": jid, "phase": "running", "exit_code": None, "capped": False,
                   "timeline": [{"phase": "pulling"}, {"phase": "running"}]}
        return {"reachable": True, "job": rec, "log_bytes": 0}

    def evidence(self, job: Job, at: int) -> dict[str, Any]:
        assert job.disputed_at is not None and job.accepted_at is not None
        t_from, t_to = job.accepted_at, job.disputed_at
        expected, kept, longest = self.slots(job.provider, t_from, t_to)
        return {
            "schema": "gpurent.evidence/1",
            "job": {"id": f"0x{job.id:064x}", "user": job.renter, "provider": job.provider,
                    "estimated_duration": job.duration, "price_per_hour": str(job.price),
                    "max_cost": str(job.max_cost), "start_time": job.started_at, "status": "disputed"},
            "dispute": {"initiator": job.disputed_by, "reason": "simulated", "at": job.disputed_at},
            "heartbeats": {"interval_s": HEARTBEAT_S, "expected": expected, "kept": kept,
                           "longest_miss_run": longest},
            "challenges": [{"nonce": c.nonce.hex(), "job_id": f"0x{c.job:064x}", "outcome": c.outcome}
                           for c in self.challenges(job.provider, t_from, t_to)],
            "provider_record": self.record(job, at),
            "image": {"intact": job.image_intact, "detail": "simulated image" if job.image_intact else "broken"},
        }

    # ------------------------------------------------------------ actions
    def penalise(self, provider: str, until: int) -> None:
        """The penalties the oracle has applied by ``until`` for what it saw of ``provider`` in
        this run (failed challenges; runs of missed heartbeats longer than the limit)."""
        w = self.world
        spans = [j for j in self.jobs if j.provider == provider and j.accepted_at is not None]
        if not spans:
            return
        t_from = min(j.accepted_at for j in spans)  # type: ignore[type-var]
        for c in self.challenges(provider, t_from, until):
            if c.outcome in PENALTY_OF and c.nonce not in self.penalised:
                self.penalised.add(c.nonce)
                w.tx(w.roles.oracle, "reputation", "applyPenalty", provider, int(PENALTY_OF[c.outcome]), c.nonce)
        b = self.of(provider)
        if b.heartbeats_until is not None and until - b.heartbeats_until > (self.miss_limit + 1) * HEARTBEAT_S:
            name = hashlib.sha256(f"downtime:{self.seed}:{provider}:{b.heartbeats_until}".encode()).digest()
            if name not in self.penalised:
                self.penalised.add(name)
                w.tx(w.roles.oracle, "reputation", "applyPenalty", provider, int(PenaltyReason.DOWNTIME), name)

    def resolve(self, job: Job) -> DisputeOutcome:
        """Rules the disputed ``job`` now (the world's clock) and sends the ruling."""
        w = self.world
        self.penalise(job.provider, w.now)
        outcome, rule = self.rule(self.evidence(job, w.now), self.miss_limit)
        outcome = DisputeOutcome(int(outcome))
        self.rulings.append((job.id, outcome, rule))
        w.tx(w.roles.oracle, "marketplace", "resolveDispute", job.id.to_bytes(32, "big"), int(outcome),
             "bafkreisimulatedevidence")
        job.outcome = outcome
        return outcome
