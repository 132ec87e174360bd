"""A provider A against honest renters (and the honest oracle)."""

from __future__ import annotations

from gpurent.types import DisputeOutcome
from gpurent.units import TOKEN
from sim.agents import DAY, MAX_UINT, Job, Ledger, Play
from sim.strategies import strategy
from sim.world import b32

RENTER_BOUND = "renter pays <= price x seconds run (+ bond if it loses a dispute)"


def _book(play: Play, renter: str | None = None, *, price: tuple[int, int] = (1, 100),
          duration: tuple[int, int] = (1800, 10 * 3600)) -> Job:
    w, A = play.w, play.w.A
    assert A is not None
    play.set_price(A.address, A.resource, play.price(*price))
    return play.create(renter or w.roles.renter, A.address, A.resource, play.duration(*duration))


def _greedy(play: Play, job: Job, until: int, gap: tuple[int, int] = (60, 1800)) -> None:
    """A releases everything accrued at random moments (``gap`` seconds apart) up to ``until``."""
    w = play.w
    while True:
        t = w.now + play.between(*gap)
        if t >= until:
            break
        w.at(t)
        play.release(job)
    w.at(until)


def dispute_when_evidence(play: Play, job: Job, noticed: int, renter: str) -> None:
    """The honest renter noticed at ``noticed`` that nothing runs; it disputes once the oracle
    has seen the provider fail (PenaltyApplied on chain), at the window's last second at the
    latest. A releases greedily meanwhile."""
    fail = play.oracle.first_failure(job.provider, job.started_at, job.closes_at)
    t_d = max(noticed, fail + play.between(1, 120)) if fail is not None else job.closes_at
    t_d = min(t_d, job.closes_at)
    _greedy(play, job, t_d)
    play.dispute(job, renter, honest_provider=False)


@strategy("provider.never-start", "provider", RENTER_BOUND + "; full refund after the start/accept timeout")
def never_start(play: Play) -> None:
    """A takes the job and never starts it (or never accepts it, then tries to accept it
    after it expired); the honest renter cancels after the timeout."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play)
    if play.rng.random() < 0.5:
        w.wait(play.between(1, 600))
        play.accept(job)
        w.at(job.accepted_at + job.terms["startTimeout"] - 1)
        play.must_revert("renter's cancel 1 s before the start timeout reverts", "MarketplaceDeadlineNotReached",
                         H, "marketplace", "cancelJob", b32(job.id))
        w.at(job.accepted_at + job.terms["startTimeout"] + play.between(0, 3600))
        play.cancel(job, H)
    else:
        expires = job.created_at + job.terms["acceptTimeout"]
        w.at(expires + play.between(1, DAY))
        play.must_revert("accepting an expired job reverts", "MarketplaceJobExpired",
                         job.provider, "marketplace", "acceptJob", b32(job.id))
        play.cancel(job, play.rng.choice([H, w.roles.keeper]))
    play.renter_bound(ledger, H, [job])
    play.v.check("full refund", ledger.paid(H) == 0, f"paid {ledger.paid(H)}")


@strategy("provider.never-complete", "provider", RENTER_BOUND + "; cost <= price x booked seconds")
def never_complete(play: Play) -> None:
    """A runs the container but never completes, releasing greedily; the honest renter
    completes when it is done with the GPU, or forgets and an outsider settles after the
    grace (the container ran all along: it is paid for, up to the booked time)."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play)
    w.wait(play.between(1, 120))
    play.accept(job)
    w.wait(play.between(5, 300))
    play.start(job)
    if play.rng.random() < 0.5:
        done = play.between(job.started_at + 60, job.ends_at)
        _greedy(play, job, done)
        play.complete(job, H)
    else:
        _greedy(play, job, job.closes_at - 1)
        play.must_revert("an outsider's completion before end + grace reverts", "MarketplaceDeadlineNotReached",
                         w.roles.keeper, "marketplace", "completeJob", b32(job.id))
        w.at(job.closes_at + play.between(0, DAY))
        play.complete(job, w.roles.keeper)
    job.stop(w.now)  # A kept the container running until the job was settled
    play.renter_bound(ledger, H, [job])
    play.v.check("cost <= price x booked seconds", ledger.paid(H) <= job.max_cost)


@strategy("provider.fake-completion", "provider", RENTER_BOUND + "; faker's releases clawed back: renter whole")
def fake_completion(play: Play) -> None:
    """A starts the job without running anything (no image pulled), keeps sending signed
    heartbeats and serves a record saying the renter's container exited with code 1,
    releasing greedily. The honest renter notices and disputes once the oracle saw A fail a
    data-possession challenge; ProviderFault claws A's releases back from its stake."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play, price=(1, 40), duration=(3600, 10 * 3600))
    b = play.oracle.of(job.provider)
    b.holds_image, b.record, b.answers_junk = False, "exited", play.rng.random() < 0.5
    w.wait(play.between(1, 120))
    play.accept(job)
    w.wait(play.between(5, 300))
    play.start(job, run=False)
    dispute_when_evidence(play, job, job.started_at + play.between(60, 1800), H)
    w.wait(play.between(30, 900))
    outcome = play.resolve(job)
    play.v.check("ruled ProviderFault", outcome == DisputeOutcome.PROVIDER_FAULT, f"ruled {outcome.name}")
    play.renter_bound(ledger, H, [job])
    play.v.check("renter whole", ledger.paid(H) <= 0, f"paid {ledger.paid(H)}")


@strategy("provider.price-front-run", "provider", RENTER_BOUND + "; createJob with its limit reverts, renter loses 0")
def price_front_run(play: Play) -> None:
    """A sees the renter's createJob in the mempool and raises its price in the same block
    ahead of it (higher gas price), or in the block before; the renter approved more than its
    limit (even an unlimited allowance)."""
    w, A = play.w, play.w.A
    H = w.roles.renter
    ledger = Ledger(w, H)
    price = play.price()
    play.set_price(A.address, A.resource, price)
    duration = play.duration()
    limit = price * duration // 3600
    play.approve(H, play.rng.choice([limit, 10 * limit, MAX_UINT]))
    raised = price * play.between(2, 1000) + play.between(0, TOKEN)
    count = w.call("marketplace", "jobCount")
    w.wait(play.between(1, 60))
    create = (H, "marketplace", "createJob", (b32(A.resource), "bafy", duration, limit), 1_000_000_000)
    front = (A.address, "registry", "updatePricing", (b32(A.resource), raised), 50_000_000_000)
    if play.rng.random() < 0.6:
        ok = w.same_block([front, create])
        play.v.check("the price change was mined first and the renter's createJob reverted", ok == [True, False],
                     f"statuses {ok}")
    else:
        play.set_price(A.address, A.resource, raised)
        play.must_revert("createJob after the raise reverts", "MarketplaceCostAboveLimit", *create[:3], *create[3])
    play.v.check("no job created", w.call("marketplace", "jobCount") == count)
    play.v.check("renter lost nothing", ledger.paid(H) == 0, f"paid {ledger.paid(H)}")
    play.v.lost(ledger.paid(H))


@strategy("provider.stake-exit", "provider", RENTER_BOUND + "; withdrawStake reverts while a job is open")
def stake_exit(play: Play) -> None:
    """A retires its GPU, asks to unstake, waits the cooldown and tries to withdraw while it
    still has a job open: a Running one it then abandons (goes dark, the renter disputes and
    is made whole from the stake), or a Created one it later declines."""
    w, A = play.w, play.w.A
    H = w.roles.renter
    ledger = Ledger(w, H)
    cooldown = w.call("registry", "unstakeCooldown")
    b = play.oracle.of(A.address)
    running = play.rng.random() < 0.7
    if running:
        job = _book(play, price=(1, 3), duration=(cooldown + DAY, cooldown + 20 * DAY))
        w.wait(play.between(1, 120))
        play.accept(job)
        play.start(job)
    else:
        job = _book(play)
    w.wait(play.between(60, 3600))
    w.tx(A.address, "registry", "retireResource", b32(A.resource))
    b.offering_until = w.now
    w.tx(A.address, "registry", "requestUnstake")
    unlock = w.now + cooldown
    if running:
        _greedy(play, job, unlock + play.between(0, DAY), (6 * 3600, 2 * DAY))
    else:
        w.at(unlock + play.between(0, DAY))
    play.must_revert("withdrawStake with an open job reverts", "RegistryOpenJobs", A.address, "registry",
                     "withdrawStake")
    if running:
        dark = w.now + play.between(0, 3600)
        _greedy(play, job, dark)
        job.stop(dark)
        b.heartbeats_until = b.answers_until = dark
        noticed = dark + play.between(60, 1800)
        _greedy(play, job, min(noticed, job.closes_at))
        play.dispute(job, H, honest_provider=False)
        w.wait(play.between(30, 900))
        outcome = play.resolve(job)
        play.v.check("ruled ProviderFault", outcome == DisputeOutcome.PROVIDER_FAULT, f"ruled {outcome.name}")
    else:
        play.cancel(job, A.address)
    play.renter_bound(ledger, H, [job])
    stake = w.stake(A.address)
    left = play.attempt(A.address, "registry", "withdrawStake")
    play.v.check("the stake left is withdrawable once no job is open", left is None, str(left))
    play.v.notes.append(f"A withdrew {stake} base units after the renter was settled")


@strategy("provider.wash-trading", "provider", "score gain requires paying >= fee x value; zero-cost jobs move nothing")
def wash_trading(play: Play) -> None:
    """A, with an abandoned job on its record, rents its own GPU from its second account W:
    first zero-cost jobs (started and completed in one block), then short paid ones."""
    w, A = play.w, play.w.A
    H, W = w.roles.renter, w.roles.wash
    ledger = Ledger(w, H, A.address, W, w.roles.treasury)
    job = _book(play)
    play.accept(job)
    w.wait(play.between(1, 600))
    play.cancel(job, A.address)  # abandoned: counts against A's completion rate, by its value
    before = w.score(A.address)
    for _ in range(play.between(3, 8)):
        wash = play.create(W, A.address, A.resource, play.duration(60, 3600))
        play.accept(wash)
        w.wait(play.between(1, 60))
        ok = w.same_block([(A.address, "marketplace", "startJob", (b32(wash.id),), 2_000_000_000),
                           (A.address, "marketplace", "completeJob", (b32(wash.id),), 1_000_000_000)])
        play.v.check("start and complete in one block", ok == [True, True], str(ok))
    zero = w.score(A.address)
    play.v.check("zero-cost jobs move the score by nothing", zero == before, f"{before} -> {zero}")
    value = fees = 0
    fee_bps = w.terms()["feeBps"]
    for _ in range(play.between(1, 4)):
        wash = play.create(W, A.address, A.resource, play.duration(60, 3 * 3600))
        play.accept(wash)
        play.start(wash)
        w.wait(play.between(1, wash.duration))
        play.complete(wash)
        cost = wash.cost_at(w.now)
        value, fees = value + cost, fees + cost * fee_bps // 10_000
    after = w.score(A.address)
    paid = ledger.received(w.roles.treasury)
    moved = ledger.paid(A.address) + ledger.paid(W)
    play.v.check("A and W together paid exactly the fee on the value they moved", moved == paid == fees,
                 f"moved {moved}, treasury {paid}, fees {fees}")
    play.v.check("a score gain was paid for: the fee on at least one VALUE_UNIT moved",
                 after <= zero or (value >= 10**9 and fees == paid > 0),
                 f"score {zero} -> {after} for {fees} fees on {value}")
    play.v.notes.append(f"score {before} -> {zero} (zero-cost) -> {after} for {fees} fees on {value} moved")
    play.renter_bound(ledger, H, [job])


@strategy("provider.go-silent", "provider", RENTER_BOUND + "; ProviderFault: releases clawed back")
def go_silent(play: Play) -> None:
    """A runs the job, settling as it goes, then goes silent mid-job (container, heartbeats and
    endpoint all stop); the honest renter notices and disputes."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play, price=(1, 60))
    play.accept(job)
    w.wait(play.between(5, 300))
    play.start(job)
    silent = play.between(job.started_at + 60, job.ends_at - 60)
    _greedy(play, job, silent)
    job.stop(silent)
    b = play.oracle.of(job.provider)
    b.heartbeats_until = b.answers_until = silent
    noticed = min(job.closes_at, silent + play.between(30, 900))
    _greedy(play, job, noticed)
    play.dispute(job, H, honest_provider=False)
    w.wait(play.between(30, 900))
    outcome = play.resolve(job)
    play.v.check("ruled ProviderFault", outcome == DisputeOutcome.PROVIDER_FAULT, f"ruled {outcome.name}")
    play.renter_bound(ledger, H, [job])


@strategy("provider.stall-accepted", "provider", RENTER_BOUND + "; renter exits at the job's own start timeout")
def stall_accepted(play: Play) -> None:
    """A accepts and tries to dispute the Accepted job (to stretch the renter's exit to the
    dispute timeout); it never starts. The renter cancels at the start timeout exactly."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H)
    job = _book(play)
    play.accept(job)
    w.wait(play.between(0, job.terms["startTimeout"] - 1))
    play.approve(job.provider, job.bond)
    play.must_revert("provider's dispute of an Accepted job reverts", "MarketplaceInvalidJobState",
                     job.provider, "marketplace", "disputeJob", b32(job.id), "stall")
    w.at(job.accepted_at + job.terms["startTimeout"])
    play.cancel(job, H)
    play.renter_bound(ledger, H, [job])
    play.v.check("full refund", ledger.paid(H) == 0)


@strategy("provider.frivolous-dispute", "provider", RENTER_BOUND + "; a provider's dispute gains it nothing")
def frivolous_dispute(play: Play) -> None:
    """A runs the job honestly, then disputes it at a random moment (posting a bond), hoping
    for more than completing would pay."""
    w = play.w
    H = w.roles.renter
    ledger = Ledger(w, H, play.w.A.address)
    job = _book(play)
    play.accept(job)
    play.start(job)
    t_d = play.between(job.started_at + 1, job.closes_at)
    _greedy(play, job, t_d)
    job.stop(min(t_d, job.ends_at))
    play.dispute(job, job.provider)
    w.wait(play.between(30, 900))
    outcome = play.resolve(job)
    play.renter_bound(ledger, H, [job])
    cost = job.cost_at(job.disputed_at)
    got = ledger.received(job.provider)
    fair = cost - cost * job.fee_bps // 10_000 + job.releases  # each release rounds its fee down
    play.v.check("A got no more than completing at the dispute would have paid it", got <= fair,
                 f"got {got}, completing: {fair} ({outcome.name})")
