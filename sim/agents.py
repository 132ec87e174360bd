"""Jobs as the simulator knows them (chain facts plus the ground truth), the moves of the
players, and the money bounds checked after each run.

Ground truth: a job's container runs from ``run_from`` to ``run_until``, set by whoever runs
(or does not run) it: an honest provider runs it from ``startJob`` until the job completes, is
disputed or the container ends on its own; a faking one sets nothing (it ran for 0 s); a
provider that keeps the container running keeps ``run_until`` open until someone settles.

The bounds, in base units, exactly:

- honest renter: paid <= sum over its jobs of floor(price * min(ran, booked) / 3600), plus the
  bond of a dispute it raised and lost;
- honest provider: received >= sum over its jobs of g - floor(g * fee / 10000) with
  g = floor(price * min(ran, booked) / 3600) (what completing when it stopped would pay it),
  and its stake untouched.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gpurent.types import DisputeOutcome
from gpurent.units import TOKEN
from sim.world import CID, World, b32

if TYPE_CHECKING:
    from sim.oracle import HonestOracle

HOUR = 3600
DAY = 86_400
MAX_UINT = 2**256 - 1


@dataclass
class Job:
    id: int
    renter: str
    provider: str
    resource: int
    price: int
    duration: int
    max_cost: int
    fee_bps: int
    bond: int
    terms: dict[str, int]
    created_at: int
    accepted_at: int | None = None
    started_at: int | None = None
    left_running_at: int | None = None  # completed or disputed (billing stopped)
    run_from: int | None = None  # ground truth: the container ran from ...
    run_until: int | None = None  # ... to (None while it still runs)
    disputed_at: int | None = None
    disputed_by: str | None = None
    outcome: DisputeOutcome | None = None
    image_intact: bool = True
    paid: int = 0  # gross released so far (chain: finalCost)
    releases: int = 0  # partial releases so far (each rounds its fee down by < 1 base unit)
    grosses: list[int] = field(default_factory=list)  # every gross amount released, in order

    @property
    def closes_at(self) -> int:
        """End of the dispute window; anyone may complete from then on."""
        assert self.started_at is not None
        return self.started_at + self.duration + self.terms["completionGrace"]

    @property
    def ends_at(self) -> int:
        assert self.started_at is not None
        return self.started_at + self.duration

    def running_on_chain(self, t: int) -> bool:
        return (self.started_at is not None and self.started_at <= t
                and (self.left_running_at is None or t < self.left_running_at))

    def cost_at(self, t: int) -> int:
        if self.started_at is None or t <= self.started_at:
            return 0
        return self.price * min(t - self.started_at, self.duration) // HOUR

    def ran(self) -> int:
        """Seconds the container actually ran, capped at the booked time."""
        if self.run_from is None:
            return 0
        assert self.run_until is not None, f"job {self.id:#x}: the ground truth is still open"
        return max(0, min(self.run_until - self.run_from, self.duration))

    def fair_cost(self) -> int:
        return self.price * self.ran() // HOUR

    def fair_net(self) -> int:
        cost = self.fair_cost()
        return cost - cost * self.fee_bps // 10_000

    def stop(self, t: int) -> None:
        """The container stops at ``t`` (if it runs and has not stopped already)."""
        if self.run_from is not None and self.run_until is None:
            self.run_until = max(self.run_from, t)


class Ledger:
    """Balances and stakes at one moment, to measure what a run moved."""

    def __init__(self, world: World, *who: str):
        self.world = world
        self.balance = {a: world.balance(a) for a in who}
        self.stakes = {a: world.stake(a) for a in who}

    def paid(self, who: str) -> int:
        """Tokens ``who`` paid since (negative: received)."""
        return self.balance[who] - self.world.balance(who)

    def received(self, who: str) -> int:
        return -self.paid(who)

    def stake_lost(self, who: str) -> int:
        return self.stakes[who] - self.world.stake(who)


@dataclass
class Verdict:
    """What one run found: the honest party's worst loss (base units; negative when it gained)
    and every check; the bound held when every check did."""

    loss: int | None = None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, bool(ok), detail))
        return bool(ok)

    def lost(self, amount: int) -> None:
        self.loss = amount if self.loss is None else max(self.loss, amount)

    @property
    def held(self) -> bool:
        return all(ok for _, ok, _ in self.checks)

    def failures(self) -> list[str]:
        return [f"{name}: {detail}" if detail else name for name, ok, detail in self.checks if not ok]


class Play:
    """One run: the world, the honest oracle, the run's random source and its verdict."""

    def __init__(self, world: World, oracle: HonestOracle, rng: random.Random):
        self.w, self.oracle, self.rng = world, oracle, rng
        self.v = Verdict()
        self.jobs = oracle.jobs

    # ------------------------------------------------------------ seeded draws
    def price(self, low: int = 1, high: int = 100) -> int:
        """A price per hour: ``low``..``high`` tokens and random base units."""
        return self.rng.randrange(low, high) * TOKEN + self.rng.randrange(TOKEN)

    def duration(self, low: int = 1800, high: int = 10 * HOUR) -> int:
        return self.rng.randrange(low, high + 1)

    def between(self, low: int, high: int) -> int:
        return self.rng.randrange(int(low), int(high) + 1) if high > low else int(low)

    # ------------------------------------------------------------ moves
    def set_price(self, provider: str, resource: int, price: int) -> None:
        self.w.tx(provider, "registry", "updatePricing", b32(resource), price)

    def approve(self, who: str, amount: int) -> None:
        self.w.tx(who, "token", "approve", self.w.addr("marketplace"), amount)

    def create(self, renter: str, provider: str, resource: int, duration: int, *, limit: int | None = None,
               approve: int | None = None) -> Job:
        """The renter creates a job with its cost limit (by default exactly the maxCost at the
        price it sees) and approves ``approve`` (default: the limit)."""
        w = self.w
        price = w.call("registry", "getResource", b32(resource))[6]
        max_cost = price * duration // HOUR
        limit = max_cost if limit is None else limit
        self.approve(renter, limit if approve is None else approve)
        w.tx(renter, "marketplace", "createJob", b32(resource), CID, duration, limit)
        job_id = (int(renter, 16) << 96) | w.call("marketplace", "jobCount")
        chain = w.job(job_id)
        terms = w.terms(chain["termsVersion"])
        job = Job(job_id, renter, provider, resource, chain["pricePerHour"], duration, chain["maxCost"],
                  chain["feeBps"], w.call("marketplace", "disputeBond", b32(job_id)), terms, w.now)
        self.jobs.append(job)
        return job

    def extend(self, job: Job, extra: int) -> int:
        """The renter approves and books ``extra`` seconds more of the job at its own price;
        returns what that locked. The model's booking (duration, maxCost) follows."""
        cost = job.price * (job.duration + extra) // HOUR - job.max_cost
        self.approve(job.renter, cost)
        self.w.tx(job.renter, "marketplace", "extendJob", b32(job.id), extra)
        job.duration += extra
        job.max_cost += cost
        return cost

    def accept(self, job: Job) -> None:
        self.w.tx(job.provider, "marketplace", "acceptJob", b32(job.id))
        job.accepted_at = self.w.now

    def start(self, job: Job, *, run: bool = True) -> None:
        self.w.tx(job.provider, "marketplace", "startJob", b32(job.id))
        job.started_at = self.w.now
        if run:
            job.run_from = self.w.now

    def release(self, job: Job) -> int:
        """partialRelease of everything accrued, as far as the provider's stake backs early pay
        (nothing if nothing is)."""
        due = job.cost_at(self.w.now) - job.paid
        backed = self.w.call("registry", "stakeOf", job.provider) - self.w.call(
            "marketplace", "providerStats", job.provider)[9]  # releasedOpen
        due = min(due, backed)
        if due <= 0:
            return 0
        self.w.tx(job.provider, "marketplace", "partialRelease", b32(job.id), due)
        job.paid += due
        job.releases += 1
        job.grosses.append(due)
        return due

    def run_until(self, job: Job, until: int, slices: int) -> None:
        """The provider settles as the job runs: ``slices`` partial releases spread over
        (now, until), each at the clock's time."""
        begin = self.w.now
        for i in range(1, slices + 1):
            t = begin + (until - begin) * i // (slices + 1)
            if t >= until:
                break
            self.w.at(t)
            self.release(job)
        self.w.at(until)

    def complete(self, job: Job, who: str | None = None) -> None:
        self.w.tx(who or job.provider, "marketplace", "completeJob", b32(job.id))
        job.left_running_at = self.w.now
        cost = job.cost_at(self.w.now)
        if cost > job.paid:
            job.grosses.append(cost - job.paid)
        job.paid = cost
        job.stop(self.w.now)  # the job is over: its container is stopped

    def dispute(self, job: Job, who: str, *, honest_provider: bool = True, approve: int | None = None) -> None:
        """``who`` approves the bond (``approve``, default the job's bond as the chain states
        it) and disputes; billing stops (an honest provider stops the container: the job is no
        longer being paid for)."""
        w = self.w
        bond = w.call("marketplace", "disputeBond", b32(job.id)) if approve is None else approve
        self.approve(who, bond)
        w.tx(who, "marketplace", "disputeJob", b32(job.id), "simulated dispute")
        job.disputed_at = job.left_running_at = w.now
        job.disputed_by = who
        if honest_provider:
            job.stop(w.now)

    def resolve(self, job: Job) -> DisputeOutcome:
        return self.oracle.resolve(job)

    def cancel(self, job: Job, who: str) -> None:
        self.w.tx(who, "marketplace", "cancelJob", b32(job.id))

    def attempt(self, who: str, contract: str, fn: str, *args: Any) -> str | None:
        return self.w.attempt(who, contract, fn, *args)

    def must_revert(self, name: str, expected: str, who: str, contract: str, fn: str, *args: Any) -> bool:
        got = self.w.attempt(who, contract, fn, *args)
        return self.v.check(name, got == expected, f"expected {expected}, got {got or 'success'}")

    # ------------------------------------------------------------ bounds
    def renter_bound(self, ledger: Ledger, renter: str, jobs: list[Job], allowance: int = 0) -> int:
        """Honest renter: paid <= sum of floor(price * ran / 3600) (+ ``allowance``: the bond of
        a dispute it raised and lost). Returns its loss (paid beyond what it ran)."""
        for job in jobs:
            job.stop(self.w.now)
        paid, fair = ledger.paid(renter), sum(j.fair_cost() for j in jobs)
        self.v.check("renter pays at most price x seconds run (+ bond if it lost)", paid <= fair + allowance,
                     f"{renter[:10]} paid {paid} for {fair} worth of seconds run (+{allowance} bond)")
        self.v.lost(paid - fair)
        return paid - fair

    def provider_bound(self, ledger: Ledger, provider: str, jobs: list[Job]) -> int:
        """Honest provider: received >= (1 - fee) * price * seconds it ran; stake untouched.
        Returns its loss."""
        for job in jobs:
            job.stop(self.w.now)
        got, fair = ledger.received(provider), sum(j.fair_net() for j in jobs)
        lost_stake = ledger.stake_lost(provider)
        self.v.check("provider receives at least (1 - fee) x price x seconds run", got >= fair,
                     f"{provider[:10]} received {got} for {fair} of work")
        self.v.check("provider's stake untouched", lost_stake == 0, f"stake lost {lost_stake}")
        self.v.lost(fair - got + lost_stake)
        return fair - got + lost_stake
