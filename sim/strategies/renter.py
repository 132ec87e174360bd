"""A renter against an honest provider P (and the honest oracle)."""

from __future__ import annotations

from gpurent.types import DisputeOutcome
from sim.agents import MAX_UINT, Ledger, Play
from sim.strategies import strategy
from sim.world import ACCEPTED, b32

PROVIDER_BOUND = "provider gets >= (1-fee) x price x seconds run; stake untouched"


def _booked(play: Play, duration_range: tuple[int, int] = (1800, 10 * 3600)):
    """The adversarial renter R books P's GPU at a seeded price; P accepts and starts (runs)."""
    w, P = play.w, play.w.P
    assert P is not None
    play.set_price(P.address, P.resource, play.price())
    job = play.create(w.roles.griefer, P.address, P.resource, play.duration(*duration_range))
    w.wait(play.between(1, 30))
    play.accept(job)
    w.wait(play.between(5, 120))
    play.start(job)
    return job


@strategy("renter.dispute-last-second", "renter", PROVIDER_BOUND + "; the disputer's bond goes to P")
def dispute_last_second(play: Play) -> None:
    """R disputes in the last slice of the job, just before P's completion lands (or at the
    window's very last second), hoping to cut the bill. P settles as it runs."""
    w, P = play.w, play.w.P
    ledger = Ledger(w, P.address, w.roles.griefer)
    job = _booked(play)
    lag = play.between(0, job.terms["completionGrace"])  # P's completion lands this late
    pick = play.rng.random()
    if pick < 0.3:
        t_d = job.ends_at - 1
    elif pick < 0.5:
        t_d = min(job.closes_at, job.ends_at + lag)  # the last second before P completes
    else:
        t_d = play.between(job.ends_at - job.duration // 5, job.ends_at + lag)
    t_d = min(t_d, job.closes_at)
    play.run_until(job, t_d, play.between(2, 6))
    job.stop(min(t_d, job.ends_at))  # the container's work ends at the booked end at the latest
    play.dispute(job, w.roles.griefer)
    w.wait(play.between(30, 900))
    outcome = play.resolve(job)
    play.provider_bound(ledger, P.address, [job])
    play.v.check("a healthy job's renter dispute is ruled against the renter (bond to P)",
                 outcome == DisputeOutcome.USER_FAULT or _unwatched(play, job), f"ruled {outcome.name}")


def _unwatched(play: Play, job) -> bool:
    """The oracle has nothing of its own to rule on: it expected no heartbeat during the job, or
    no challenge of this job's image passed (heartbeats alone are the provider's word)."""
    expected, _, _ = play.oracle.slots(job.provider, job.accepted_at, job.disputed_at)
    passed = [c for c in play.oracle.challenges(job.provider, job.accepted_at, job.disputed_at)
              if c.outcome == "passed" and c.job == job.id]
    return expected == 0 or not passed


@strategy("renter.dispute-after-end", "renter", PROVIDER_BOUND + "; disputes revert after end + grace")
def dispute_after_end(play: Play) -> None:
    """P ran the whole booked time but its completion is late (its agent was down); R tries to
    dispute after the window closed, then the job is settled by P, R or an outsider."""
    w, P = play.w, play.w.P
    ledger = Ledger(w, P.address)
    job = _booked(play)
    play.run_until(job, job.ends_at, play.between(2, 6))
    job.stop(job.ends_at)
    late = job.closes_at + play.between(1, 2 * 3600)
    w.at(job.closes_at + 1)
    play.must_revert("dispute at end + grace + 1 s reverts", "MarketplaceDisputeWindowClosed",
                     w.roles.griefer, "marketplace", "disputeJob", b32(job.id), "late")
    w.at(play.between(job.closes_at + 1, late))
    play.approve(w.roles.griefer, job.bond)
    play.must_revert("dispute long after the end reverts", "MarketplaceDisputeWindowClosed",
                     w.roles.griefer, "marketplace", "disputeJob", b32(job.id), "late")
    w.at(late)
    settler = play.rng.choice([P.address, w.roles.griefer, w.roles.keeper])
    play.complete(job, settler)
    play.provider_bound(ledger, P.address, [job])


@strategy("renter.extend-at-the-end", "renter", PROVIDER_BOUND + "; an extension at or past the booked end reverts")
def extend_at_the_end(play: Play) -> None:
    """R books more time of a running job late: in its last seconds (it lands, and P runs on to
    the new end, paid for it), or at or after its booked end, when P's agent stops the job
    (it reverts, so the stopped job is never billed for time nobody ran); then R stops early or
    P runs to the end."""
    w, P = play.w, play.w.P
    ledger = Ledger(w, P.address)
    job = _booked(play)
    extra = play.between(60, 2 * 3600)
    if play.rng.random() < 0.5:
        play.run_until(job, job.ends_at - play.between(1, 30), play.between(1, 4))
        cost = play.extend(job, extra)
        play.v.check("the extension locked price x extra seconds (to the booking's rounding)",
                     w.job(job.id)["maxCost"] == job.max_cost and cost >= job.price * extra // 3600)
    else:
        play.run_until(job, job.ends_at, play.between(1, 4))
        job.stop(job.ends_at)  # P's agent stops it at the booked end
        w.at(play.between(job.ends_at, job.closes_at))
        play.approve(w.roles.griefer, job.price * extra // 3600 + 1)
        play.must_revert("an extension at or past the booked end reverts", "MarketplaceBookingEnded",
                         w.roles.griefer, "marketplace", "extendJob", b32(job.id), extra)
    if job.run_until is None and play.rng.random() < 0.5:  # R stops early, within the new booking
        play.run_until(job, play.between(w.now + 1, job.ends_at), play.between(1, 4))
        play.complete(job, w.roles.griefer)
    else:
        if job.run_until is None:  # P runs to the new end, where its agent stops the job
            play.run_until(job, job.ends_at, play.between(1, 4))
            job.stop(job.ends_at)
        play.complete(job)
    play.provider_bound(ledger, P.address, [job])


@strategy("renter.cancel-race", "renter", PROVIDER_BOUND + "; cancel/dispute of an Accepted job revert")
def cancel_race(play: Play) -> None:
    """R tries to cancel P's accepted job before the start timeout, and to dispute it while
    Accepted (both revert); after P starts, a cancel reverts too; R then stops early or P runs
    to the end."""
    w, P = play.w, play.w.P
    assert P is not None
    ledger = Ledger(w, P.address)
    play.set_price(P.address, P.resource, play.price())
    job = play.create(w.roles.griefer, P.address, P.resource, play.duration())
    w.wait(play.between(1, 60))
    play.accept(job)
    start_delay = play.between(2, job.terms["startTimeout"] - 1)
    w.wait(play.between(0, start_delay - 1))
    play.must_revert("renter's cancel before the start timeout reverts", "MarketplaceDeadlineNotReached",
                     w.roles.griefer, "marketplace", "cancelJob", b32(job.id))
    play.approve(w.roles.griefer, job.bond)
    play.must_revert("dispute of an Accepted job reverts", "MarketplaceInvalidJobState",
                     w.roles.griefer, "marketplace", "disputeJob", b32(job.id), "race")
    play.v.check("the job is still Accepted", w.job(job.id)["status"] == ACCEPTED)
    w.at(job.accepted_at + start_delay)
    play.start(job)
    w.wait(play.between(0, 60))
    play.must_revert("cancel of a Running job reverts", "MarketplaceInvalidJobState",
                     w.roles.griefer, "marketplace", "cancelJob", b32(job.id))
    if play.rng.random() < 0.5:  # R stops early: it completes, P is paid for the seconds run
        t = play.between(w.now + 1, job.ends_at)
        play.run_until(job, t, play.between(1, 4))
        play.complete(job, w.roles.griefer)
    else:
        play.run_until(job, job.ends_at, play.between(1, 4))
        play.complete(job)
    job.stop(w.now)
    play.provider_bound(ledger, P.address, [job])


@strategy("renter.price-limit-evasion", "renter", "no job below the provider's price: createJob reverts; P loses 0")
def price_limit_evasion(play: Play) -> None:
    """R tries to book P's GPU with a cost limit below the job's maxCost (and with a limit of
    0, and with an allowance short of the maxCost): every try reverts; a job it does create
    pays P's price."""
    w, P = play.w, play.w.P
    assert P is not None
    ledger = Ledger(w, P.address, w.roles.griefer)
    price = play.price()
    play.set_price(P.address, P.resource, price)
    duration = play.duration()
    max_cost = price * duration // 3600
    count = w.call("marketplace", "jobCount")
    play.approve(w.roles.griefer, MAX_UINT)
    for limit in (max_cost - 1, play.between(0, max_cost - 1), 0):
        play.must_revert(f"createJob with limit maxCost-{max_cost - limit} reverts", "MarketplaceCostAboveLimit",
                         w.roles.griefer, "marketplace", "createJob", b32(P.resource), "bafy", duration, limit)
    play.approve(w.roles.griefer, max_cost - 1)
    play.must_revert("createJob with an allowance short of maxCost reverts", "ERC20InsufficientAllowance",
                     w.roles.griefer, "marketplace", "createJob", b32(P.resource), "bafy", duration, MAX_UINT)
    play.v.check("no job was created", w.call("marketplace", "jobCount") == count)
    play.v.check("nothing moved", ledger.paid(w.roles.griefer) == 0 and ledger.paid(P.address) == 0)
    job = play.create(w.roles.griefer, P.address, P.resource, duration, limit=MAX_UINT, approve=max_cost)
    play.v.check("the job keeps P's price", job.price == price and job.max_cost == max_cost)
    w.wait(play.between(1, 30))
    play.accept(job)
    play.start(job)
    play.run_until(job, job.ends_at, play.between(1, 4))
    play.complete(job)
    play.provider_bound(ledger, P.address, [job])


@strategy("renter.grief-disputes", "renter",
          PROVIDER_BOUND + "; P's score does not drop; the griefer forfeits its bonds (when the oracle watched)")
def grief_disputes(play: Play) -> None:
    """R, a competitor, books P's GPU several times and disputes every job at a random moment,
    to cost P money or reputation; the honest oracle rules."""
    w, P = play.w, play.w.P
    ledger = Ledger(w, P.address, w.roles.griefer)
    score = w.score(P.address)
    jobs, bonds = [], 0
    for _ in range(play.between(2, 4)):
        job = _booked(play, (1800, 4 * 3600))
        t_d = play.between(job.started_at + 1, job.closes_at)
        play.run_until(job, t_d, play.between(0, 3))
        job.stop(min(t_d, job.ends_at))
        play.dispute(job, w.roles.griefer)
        w.wait(play.between(30, 900))
        outcome = play.resolve(job)
        forfeited = outcome == DisputeOutcome.USER_FAULT
        bonds += job.bond if forfeited else 0
        play.v.check("the griefer's dispute of a healthy job the oracle proved is ruled against it",
                     forfeited or _unwatched(play, job), f"ruled {outcome.name}")
        jobs.append(job)
        w.wait(play.between(1, 600))
        if w.stake(P.address) < w.call("registry", "minStake"):
            break  # P can take no more jobs (only a broken ruling takes its stake)
    play.provider_bound(ledger, P.address, jobs)
    after = w.score(P.address)
    play.v.check("P's score does not drop", after >= score, f"{score} -> {after}")
    spent = ledger.paid(w.roles.griefer)
    play.v.check("the griefer paid the jobs' cost and its forfeited bonds",
                 spent == sum(j.cost_at(j.disputed_at) for j in jobs) + bonds, f"spent {spent}, bonds {bonds}")
    play.v.notes.append(f"griefer forfeited {bonds} base units of bonds over {len(jobs)} disputes")


@strategy("renter.stake-lock", "renter", "P's stake exit cannot be blocked: declined or expired jobs free it (loss 0)")
def stake_lock(play: Play) -> None:
    """R floods P's GPU with Created jobs to keep P's stake locked (open jobs lock it). P
    retires its GPU (no new job can be created), asks to unstake, and either declines R's jobs
    at once or lets them expire and clears them after the cooldown; it withdraws its whole
    stake."""
    w, P = play.w, play.w.P
    R = w.roles.griefer
    ledger = Ledger(w, P.address, R)
    play.set_price(P.address, P.resource, play.price())
    jobs = [play.create(R, P.address, P.resource, play.duration()) for _ in range(play.between(2, 5))]
    w.wait(play.between(1, 3600))
    stake = w.stake(P.address)
    w.tx(P.address, "registry", "retireResource", b32(P.resource))
    play.approve(R, MAX_UINT)
    play.must_revert("no new job on a retired GPU", "RegistryResourceRetired", R, "marketplace", "createJob",
                     b32(P.resource), "bafy", 3600, MAX_UINT)
    w.tx(P.address, "registry", "requestUnstake")
    unlock = w.now + w.call("registry", "unstakeCooldown")
    decline = play.rng.random() < 0.5
    if decline:
        for job in jobs:
            play.cancel(job, P.address)
    w.at(unlock + play.between(0, 3600))
    if not decline:
        play.must_revert("withdrawStake with the expired jobs still open reverts", "RegistryOpenJobs", P.address,
                         "registry", "withdrawStake")
        for job in jobs:  # expired long ago: anyone may clear them, the refund goes to R
            play.cancel(job, play.rng.choice([P.address, w.roles.keeper]))
    play.v.check("P withdraws its whole stake", play.attempt(P.address, "registry", "withdrawStake") is None)
    play.v.check("P got its stake back, to the base unit", ledger.received(P.address) == stake)
    play.v.check("R got every job refunded", ledger.paid(R) == 0)
    play.v.lost(stake - ledger.received(P.address))
