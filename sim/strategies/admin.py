"""Parameter changes on open jobs: governance (through the timelock) and the provider's own
price. An open job settles under the terms it was created with, to the base unit."""

from __future__ import annotations

from collections.abc import Callable

from gpurent.units import TOKEN
from sim.agents import Job, Ledger, Play
from sim.strategies import strategy
from sim.world import b32

TERMS_BOUND = "open jobs settle under their creation terms exactly (loss 0)"


def _open_jobs(play: Play, provider: str, resource: int) -> tuple[Job, Job, Job]:
    """Three open jobs of the honest renter H: Created, Accepted, Running (settling as it goes)."""
    w, H = play.w, play.w.roles.renter
    play.set_price(provider, resource, play.price())
    created = play.create(H, provider, resource, play.duration())
    accepted = play.create(H, provider, resource, play.duration())
    running = play.create(H, provider, resource, play.duration())
    play.accept(accepted)
    play.accept(running)
    w.wait(play.between(1, 60))
    play.start(running)
    w.wait(play.between(60, 1800))
    play.release(running)
    return created, accepted, running


def _finish(play: Play, jobs: tuple[Job, Job, Job]) -> None:
    """P runs every job (the Created one accepted now) and completes each at a random time."""
    w = play.w
    created, accepted, running = jobs
    play.accept(created)
    for job in (created, accepted):
        w.wait(play.between(1, 600))
        play.start(job)
    order = list(jobs)
    play.rng.shuffle(order)
    for job in order:
        end = max(w.now, play.between(job.started_at + 1, job.ends_at))
        play.run_until(job, end, play.between(0, 2))
        play.complete(job)
        job.stop(w.now)


def _exact(play: Play, ledger: Ledger, jobs: tuple[Job, ...], fee_of: Callable[[Job], int], provider: str) -> None:
    """Every amount moved is the one the jobs' creation terms give, exactly."""
    H, T = play.w.roles.renter, play.w.roles.treasury
    fee = sum(g * fee_of(j) // 10_000 for j in jobs for g in j.grosses)
    gross = sum(sum(j.grosses) for j in jobs)
    want = {"renter paid": gross, "provider received": gross - fee, "treasury received": fee}
    got = {"renter paid": ledger.paid(H), "provider received": ledger.received(provider),
           "treasury received": ledger.received(T)}
    for key in want:
        play.v.check(f"{key} exactly what the creation terms give", got[key] == want[key],
                     f"{got[key]} vs {want[key]}")
    play.v.lost(max(got["renter paid"] - want["renter paid"], want["provider received"] - got["provider received"]))
    play.renter_bound(ledger, H, list(jobs))


@strategy("admin.set-fee", "admin", TERMS_BOUND + "; no admin call but through the timelock")
def set_fee(play: Play) -> None:
    """Governance changes the platform fee (up to the 10% cap) while H's jobs are open; the
    admin also tries the call directly, and a fee above the cap."""
    w, P = play.w, play.w.P
    ledger = Ledger(w, P.address, w.roles.renter, w.roles.treasury)
    jobs = _open_jobs(play, P.address, P.resource)
    old = jobs[0].fee_bps
    new = play.rng.choice([0, 1000, play.between(0, 1000)])
    play.must_revert("setFee straight from the admin reverts", "AccessControlUnauthorizedAccount", w.roles.admin,
                     "marketplace", "setFee", new)
    play.v.check("setFee above the cap fails through the timelock too",
                 w.govern("marketplace", "setFee", 1001) is not None)
    play.v.check("setFee through the timelock lands", w.govern("marketplace", "setFee", new) is None)
    _finish(play, jobs)
    _exact(play, ledger, jobs, lambda j: old, P.address)
    probe = play.create(w.roles.renter2, P.address, P.resource, 3600)
    play.v.check("a job created after the change gets the new fee", probe.fee_bps == new, f"{probe.fee_bps} vs {new}")


@strategy("admin.set-timeouts", "admin", TERMS_BOUND + "; each deadline as at creation")
def set_timeouts(play: Play) -> None:
    """Governance changes every deadline (shorter or longer, up to 30 days) while H has a
    Created, an Accepted and a Running job: each still expires, opens and closes exactly when
    its creation terms say."""
    w, P = play.w, play.w.P
    H, K = w.roles.renter, w.roles.keeper
    ledger = Ledger(w, P.address, H, w.roles.treasury)
    created, accepted, running = _open_jobs(play, P.address, P.resource)
    t = created.terms
    new = [play.rng.choice([1, play.between(1, 30 * 86_400), 30 * 86_400]) for _ in range(4)]
    new = [n if n != old else n % (30 * 86_400) + 1 for n, old in
           zip(new, (t["acceptTimeout"], t["startTimeout"], t["completionGrace"], t["disputeTimeout"]))]
    play.v.check("setTimeouts through the timelock lands", w.govern("marketplace", "setTimeouts", *new) is None)
    expires = created.created_at + t["acceptTimeout"]
    opens = accepted.accepted_at + t["startTimeout"]
    closes = running.closes_at
    events: list[tuple[int, int, Callable[[], None]]] = []

    def at(time: int, order: int, fn: Callable[[], None]) -> None:
        events.append((time, order, fn))

    at(expires, 0, lambda: play.must_revert("the Created job has not expired at its accept timeout",
                                            "MarketplaceUnauthorized", K, "marketplace", "cancelJob", b32(created.id)))
    at(expires + 1, 0, lambda: play.v.check("the Created job expires 1 s after its accept timeout",
                                            play.attempt(K, "marketplace", "cancelJob", b32(created.id)) is None))
    at(opens - 1, 0, lambda: play.must_revert("H cannot cancel 1 s before the job's start timeout",
                                              "MarketplaceDeadlineNotReached", H, "marketplace", "cancelJob",
                                              b32(accepted.id)))
    at(opens, 0, lambda: play.v.check("H cancels at the job's start timeout exactly",
                                      play.attempt(H, "marketplace", "cancelJob", b32(accepted.id)) is None))
    at(closes - 1, 0, lambda: play.must_revert("an outsider cannot complete 1 s before end + grace",
                                               "MarketplaceDeadlineNotReached", K, "marketplace", "completeJob",
                                               b32(running.id)))

    def late_dispute() -> None:
        play.approve(H, running.bond)
        play.must_revert("no dispute 1 s after end + grace", "MarketplaceDisputeWindowClosed", H, "marketplace",
                         "disputeJob", b32(running.id), "late")
        play.complete(running, K)

    at(closes + 1, 1, late_dispute)
    for time, _, fn in sorted(events, key=lambda e: (e[0], e[1])):
        w.at(time)
        fn()
    running.run_until = running.ends_at  # it ran the whole booked time (its provider was late to settle)
    running.stop(w.now)
    for job in (created, accepted):
        job.stop(w.now)
    _exact(play, ledger, (running,), lambda j: t["feeBps"], P.address)
    probe = play.create(w.roles.renter2, P.address, P.resource, 3600)
    got = [probe.terms[k] for k in ("acceptTimeout", "startTimeout", "completionGrace", "disputeTimeout")]
    play.v.check("a job created after the change gets the new deadlines", got == new, f"{got} vs {new}")


@strategy("admin.set-dispute-bond", "admin", TERMS_BOUND + "; a dispute posts the bond fixed at creation")
def set_dispute_bond(play: Play) -> None:
    """Governance raises (or drops) the dispute bond while H's job runs; P then has an outage
    and H disputes with an allowance of exactly the creation bond."""
    w, P = play.w, play.w.P
    H = w.roles.renter
    ledger = Ledger(w, H)
    play.set_price(P.address, P.resource, play.price())
    running = play.create(H, P.address, P.resource, play.duration())
    play.accept(running)
    w.wait(play.between(1, 60))
    play.start(running)
    bps, minimum = play.rng.choice([0, 5000, play.between(0, 5000)]), play.between(0, 1000) * TOKEN
    play.v.check("setDisputeBond through the timelock lands",
                 w.govern("marketplace", "setDisputeBond", bps, minimum) is None)
    play.v.check("the open job's bond is unchanged",
                 w.call("marketplace", "disputeBond", b32(running.id)) == running.bond)
    outage = w.now + play.between(60, 1800)
    play.run_until(running, min(outage, running.ends_at - 1), 1)
    running.stop(w.now)
    b = play.oracle.of(P.address)
    b.heartbeats_until = b.answers_until = w.now
    w.wait(play.between(300, 900))
    before = w.balance(H)
    play.dispute(running, H, approve=running.bond)  # an allowance of exactly the creation bond
    posted = before - w.balance(H)
    play.v.check("the dispute pulled exactly the creation bond", posted == running.bond, f"{posted} vs {running.bond}")
    play.v.check("disputeOf shows the creation bond",
                 w.call("marketplace", "disputeOf", b32(running.id))[1] == running.bond)
    w.wait(play.between(30, 900))
    play.resolve(running)
    play.renter_bound(ledger, H, [running])
    A = w.A  # P's stake paid the clawback: a later job goes to another GPU
    probe = play.create(w.roles.renter2, A.address, A.resource, 3600)
    want = min(probe.max_cost, max(minimum, probe.max_cost * bps // 10_000))
    play.v.check("a job created after the change gets the new bond", probe.bond == want, f"{probe.bond} vs {want}")


@strategy("provider.reprice-open-jobs", "provider", TERMS_BOUND + "; open jobs keep their price")
def reprice_open_jobs(play: Play) -> None:
    """A changes its price (down to 1/100 or up to 1000x) while H's jobs on it are open; they
    settle at the price they were created with."""
    w, A = play.w, play.w.A
    ledger = Ledger(w, A.address, w.roles.renter, w.roles.treasury)
    jobs = _open_jobs(play, A.address, A.resource)
    old = jobs[0].price
    new = max(1, old * play.between(1, 100_000) // 100)
    play.set_price(A.address, A.resource, new)
    _finish(play, jobs)
    for job in jobs:
        play.v.check("the job keeps its creation price", w.job(job.id)["pricePerHour"] == job.price == old)
    _exact(play, ledger, jobs, lambda j: j.fee_bps, A.address)
