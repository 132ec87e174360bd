"""Probes: faking providers that go beyond the core strategies' assumptions (the faker lacks
the image, does not settle the job itself, and has one job against its stake). Each keeps the
honest renter's bound as stated; a probe whose bound breaks is a finding, reported in its row."""

from __future__ import annotations

from gpurent.types import DisputeOutcome
from sim.agents import Job, Ledger, Play
from sim.strategies import strategy
from sim.strategies.provider import RENTER_BOUND, _book, _greedy, dispute_when_evidence
from sim.world import b32


def _faking(play: Play, job: Job, *, image: bool = False) -> None:
    b = play.oracle.of(job.provider)
    b.holds_image, b.record, b.answers_junk = image, "exited", play.rng.random() < 0.5
    play.w.wait(play.between(1, 120))
    play.accept(job)
    play.w.wait(play.between(5, 300))
    play.start(job, run=False)



def _ruled(play: Play, ledger: Ledger, renter: str, job) -> None:
    """The honest oracle rules a little later; the renter's bound is checked against it."""
    play.w.wait(play.between(30, 900))
    outcome = play.resolve(job)
    play.renter_bound(ledger, renter, [job], allowance=job.bond if outcome == DisputeOutcome.USER_FAULT else 0)
    play.v.notes.append(f"ruled {outcome.name}: {play.oracle.rulings[-1][2]}")

@strategy("provider.fake-then-complete", "provider", RENTER_BOUND, probe=True)
def fake_then_complete(play: Play) -> None:
    """A starts without running anything and completes the job itself before the renter
    notices: a Completed job cannot be disputed."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play, price=(1, 40), duration=(3600, 10 * 3600))
    _faking(play, job)
    noticed = job.started_at + play.between(120, 1800)
    done = play.between(job.started_at + 60, noticed - 1)
    _greedy(play, job, done)
    play.complete(job)
    w.at(noticed)
    play.approve(H, job.bond)
    play.must_revert("the renter can no longer dispute a Completed job", "MarketplaceInvalidJobState", H,
                     "marketplace", "disputeJob", b32(job.id), "nothing ran")
    play.renter_bound(ledger, H, [job])


@strategy("provider.fake-before-challenge", "provider", RENTER_BOUND, probe=True)
def fake_before_challenge(play: Play) -> None:
    """As fake-completion, but the honest renter disputes as soon as it notices nothing runs,
    before the oracle has (by chance) challenged the faker: the oracle sees kept heartbeats,
    a well-formed record and no failed challenge."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play, price=(1, 40), duration=(3600, 10 * 3600))
    _faking(play, job)
    noticed = job.started_at + play.between(60, 900)
    _greedy(play, job, noticed)
    play.dispute(job, H, honest_provider=False)
    _ruled(play, ledger, H, job)


@strategy("provider.fake-with-image", "provider", RENTER_BOUND, probe=True)
def fake_with_image(play: Play) -> None:
    """A fetches the job's image (so it answers every data-possession challenge), sends
    heartbeats and serves a well-formed record, and runs nothing. The renter notices and
    disputes; no challenge ever fails."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play, price=(1, 40), duration=(3600, 10 * 3600))
    _faking(play, job, image=True)
    dispute_when_evidence(play, job, job.started_at + play.between(60, 1800), H)
    _ruled(play, ledger, H, job)


@strategy("provider.fake-many-jobs", "provider", RENTER_BOUND, probe=True)
def fake_many_jobs(play: Play) -> None:
    """A fakes several renters' jobs at once with one minimum stake, releasing greedily on all;
    every renter disputes once the oracle saw A fail, and the clawbacks share A's one stake."""
    w, A = play.w, play.w.A
    renters = [w.roles.renter, w.roles.keeper, w.roles.renter2, w.roles.griefer][:play.between(2, 4)]
    ledger = Ledger(w, *renters)
    b = play.oracle.of(A.address)
    b.holds_image, b.record, b.answers_junk = False, "exited", play.rng.random() < 0.5
    jobs = []
    for renter in renters:
        job = _book(play, renter, price=(20, 100), duration=(2 * 3600, 10 * 3600))
        play.accept(job)
        jobs.append(job)
    w.wait(play.between(5, 300))
    for job in jobs:
        play.start(job, run=False)
    plan = []
    for job in jobs:
        noticed = job.started_at + play.between(60, 1800)
        fail = play.oracle.first_failure(A.address, job.started_at, job.closes_at)
        t_d = max(noticed, fail + play.between(1, 120)) if fail is not None else job.closes_at
        plan.append((min(t_d, job.closes_at), job))
    plan.sort(key=lambda p: p[0])
    for t_d, job in plan:
        while w.now + 60 < t_d:
            w.at(min(t_d - 1, w.now + play.between(60, 900)))
            for other in jobs:
                if other.left_running_at is None:
                    play.release(other)
        w.at(t_d)
        play.dispute(job, job.renter, honest_provider=False)
    w.wait(play.between(30, 900))
    for _, job in plan:
        play.resolve(job)
    for job in jobs:
        play.renter_bound(ledger, job.renter, [job])
    play.v.notes.append(f"{len(jobs)} jobs released {sum(j.paid for j in jobs)} against a stake of "
                        f"{ledger.stakes[A.address] if A.address in ledger.stakes else w.call('registry', 'minStake')}")
