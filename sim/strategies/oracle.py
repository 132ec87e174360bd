"""The oracle's key, compromised, doing its worst within its role, against honest providers
and renters."""

from __future__ import annotations

import os

from gpurent.types import DisputeOutcome, PenaltyReason
from sim.agents import DAY, Job, Ledger, Play
from sim.strategies import strategy
from sim.world import b32

MAX_POINTS = 200  # ReputationSystem.MAX_PENALTY_POINTS_PER_PERIOD
MAX_REWARD = 10  # ReputationSystem.MAX_REWARD_POINTS_PER_PERIOD
SLASH_BPS = 2000  # ResourceRegistry.MAX_SLASH_BPS


def _running(play: Play, renter: str, provider: str, resource: int,
             duration: tuple[int, int] = (3600, 10 * 3600)) -> Job:
    play.set_price(provider, resource, play.price())
    job = play.create(renter, provider, resource, play.duration(*duration))
    play.accept(job)
    play.w.wait(play.between(1, 120))
    play.start(job)
    return job


@strategy("oracle.max-penalties", "oracle",
          "<= 200 penalty points and <= 10 reward points per provider per period; <= 20% of stake burnt per day")
def max_penalties(play: Play) -> None:
    """The oracle key penalises the honest provider P as hard as it can, period after period,
    with fresh incident names (data fraud, which burns stake, among them), replays an incident,
    and rewards a colluding provider without limit; time moves by periods and by days, right
    up to the slash interval's edge."""
    w, P, A = play.w, play.w.P, play.w.A
    O, L = w.roles.oracle, w.period
    ledger = Ledger(w, P.address)
    slashes: list[tuple[int, int, int]] = []  # (time, burnt, stake before)
    last_slash: int | None = None
    worst_points = 0
    for step in range(play.between(3, 6)):
        pick = play.rng.random()
        if step == 0:
            pass
        elif last_slash is not None and pick < 0.3:
            w.at(max(w.now + L, last_slash + DAY - play.between(0, 1)))  # at the interval's edge
        elif pick < 0.6:
            w.at((w.now // L + 1) * L)  # the next period, same day
        else:
            w.at(w.now + DAY + play.between(0, 3 * L))
        period = w.now // L
        points, stake = w.penalty(P.address), w.stake(P.address)
        rewards = w.call("reputation", "getReputation", A.address)[10]
        calls = []
        for _ in range(play.between(3, 11)):
            reason = play.rng.choice(list(PenaltyReason))
            calls.append((O, "reputation", "applyPenalty", (P.address, int(reason), os.urandom(32)), 1_000_000_000))
        fraud = (P.address, int(PenaltyReason.DATA_FRAUD), os.urandom(32))  # at least one slash a period
        calls.insert(play.between(0, len(calls)), (O, "reputation", "applyPenalty", fraud, 1_000_000_000))
        calls.append((O, "reputation", "reward", (A.address, 65_535), 1_000_000_000))
        ok = w.same_block(calls, gas=1_000_000)  # one block: one timestamp, one period
        play.v.check("every fresh-incident penalty is accepted (and capped)", all(ok), str(ok))
        taken = w.penalty(P.address) - points
        worst_points = max(worst_points, taken)
        play.v.check(f"<= {MAX_POINTS} penalty points in period {period}", taken <= MAX_POINTS, f"took {taken}")
        given = w.call("reputation", "getReputation", A.address)[10] - rewards
        play.v.check(f"<= {MAX_REWARD} reward points in period {period}", given <= MAX_REWARD, f"gave {given}")
        burnt = stake - w.stake(P.address)
        if burnt:
            slashes.append((w.now, burnt, stake))
            last_slash = w.now
        play.must_revert("a replayed incident reverts", "ReputationIncidentRecorded", O, "reputation",
                         "applyPenalty", P.address, int(PenaltyReason.DATA_FRAUD), calls[0][3][2])
    worst_day = 0
    for t, burnt, stake in slashes:
        day = sum(b for s, b, _ in slashes if t <= s < t + DAY)
        worst_day = max(worst_day, day)
        play.v.check("<= 20% of the stake burnt in any 24 h", day * 10_000 <= stake * SLASH_BPS,
                     f"burnt {day} of {stake} from {t}")
    play.v.check("no stake moved but by slashing", ledger.stake_lost(P.address) == sum(b for _, b, _ in slashes))
    play.v.lost(worst_day)
    play.v.notes.append(f"worst period {worst_points} points; worst day {worst_day} base units burnt "
                        f"({len(slashes)} slashes)")


@strategy("oracle.out-of-range", "oracle", "out-of-range figures revert; later honest reports still land; P loses 0")
def out_of_range(play: Play) -> None:
    """The oracle key sends figures no period could hold, reports for period 2**32-1 and for
    the future, uptime of 2**64-1, a reputation that is not the score, and calls outside its
    role (slash, seize, governance's overrides, grants)."""
    w, P = play.w, play.w.P
    O, L = w.roles.oracle, w.period
    ledger = Ledger(w, P.address)
    w.wait(play.between(L, 3 * L))
    cur = w.now // L
    good = (play.between(0, L), L, 1, 0, 120)  # kept, expected, passed, failed, response ms

    def report(name: str, expected: str, period: int, rep: tuple[int, ...]) -> None:
        play.must_revert(name, expected, O, "reputation", "submitValidationReport", P.address, period, rep)

    report("report for period 2**32-1 reverts", "ReputationPeriodNotPast", 2**32 - 1, good)
    report("report for the current period reverts", "ReputationPeriodNotPast", cur, good)
    report("report for a future period reverts", "ReputationPeriodNotPast", cur + play.between(1, 10**6), good)
    report("kept > expected reverts", "ReputationInvalidReport", cur - 1, (L, L - 1, 0, 0, 0))
    report("expected > period length reverts", "ReputationInvalidReport", cur - 1, (0, L + 1, 0, 0, 0))
    report("challenges > period length reverts", "ReputationInvalidReport", cur - 1, (0, L, L, 1, 0))
    first = cur - 1
    play.v.check("a valid report for the last period lands",
                 w.attempt(O, "reputation", "submitValidationReport", P.address, first, good) is None)
    report("the same period again reverts", "ReputationPeriodReported", first, good)
    report("an earlier period reverts", "ReputationPeriodReported", first - 1, good)
    rid = b32(P.resource)
    play.must_revert("uptime of 2**64-1 reverts", "RegistryUptimeTooLarge", O, "registry", "updateUptime", rid,
                     2**64 - 1)
    registered = w.call("registry", "getResource", rid)[11]
    elapsed = w.now - registered
    play.must_revert("uptime of the resource's age + 1 reverts", "RegistryUptimeTooLarge", O, "registry",
                     "updateUptime", rid, elapsed + 1)
    play.v.check("uptime of exactly the resource's age lands",
                 w.attempt(O, "registry", "updateUptime", rid, elapsed) is None)
    play.must_revert("1 s more uptime in the same second reverts", "RegistryUptimeTooLarge", O, "registry",
                     "updateUptime", rid, 1)
    score = w.score(P.address)
    play.must_revert("a resource reputation that is not the score reverts", "RegistryReputationMismatch", O,
                     "registry", "updateReputation", rid, (score + play.between(1, 500)) % 1001 or 1)
    play.must_revert("a reputation over 1000 reverts", "RegistryInvalidReputation", O, "registry",
                     "updateReputation", rid, 1001 + play.between(0, 60_000))
    play.must_revert("setting measurements directly is governance's", "AccessControlUnauthorizedAccount", O,
                     "reputation", "updateReputation", P.address, (10_000, 0, 10_000, 0))
    play.must_revert("the oracle cannot slash directly", "AccessControlUnauthorizedAccount", O, "registry",
                     "slash", P.address, 10**30, "x")
    play.must_revert("the oracle cannot seize stake", "RegistryNotMarketplace", O, "registry", "seize",
                     P.address, O, 10**30)
    admin_role = w.call("registry", "DEFAULT_ADMIN_ROLE")
    play.must_revert("the oracle cannot grant roles", "AccessControlUnauthorizedAccount", O, "marketplace",
                     "grantRole", admin_role, O)
    job = _running(play, w.roles.renter, P.address, P.resource)
    play.must_revert("resolving an undisputed job reverts", "MarketplaceInvalidJobState", O, "marketplace",
                     "resolveDispute", b32(job.id), int(DisputeOutcome.PROVIDER_FAULT), "x")
    w.wait(play.between(L, 4 * L))
    nxt = w.now // L - 1
    play.v.check("a later honest report still lands after all that",
                 w.attempt(O, "reputation", "submitValidationReport", P.address, nxt, good) is None)
    w.wait(60)
    play.complete(job)
    play.provider_bound(ledger, P.address, [job])


@strategy("oracle.misrule", "oracle", "only disputed jobs: loss <= cost to the dispute + bond; undisputed untouched")
def misrule(play: Play) -> None:
    """The oracle key rules every dispute raised against the honest side and tries to rule on
    jobs nobody disputed. Honest parties: P runs jobs for H (one stays running, one completes),
    P has a real outage on K's job (K disputes; ruled UserFault), and renter2's image is broken
    on A's (honest here) GPU (A disputes; ruled ProviderFault)."""
    w, P, A = play.w, play.w.P, play.w.A
    O, H, K, H2 = w.roles.oracle, w.roles.renter, w.roles.keeper, w.roles.renter2
    ledger = Ledger(w, P.address, A.address, H, K, H2)
    j1 = _running(play, H, P.address, P.resource)
    j2 = _running(play, H, P.address, P.resource)
    j3 = _running(play, K, P.address, P.resource)
    play.set_price(A.address, A.resource, play.price())
    j4 = play.create(H2, A.address, A.resource, play.duration(3600, 10 * 3600))
    j4.image_intact = False
    play.accept(j4)
    play.start(j4, run=False)  # the image is broken: nothing can run
    outage = play.between(w.now + 120, w.now + 3000)
    for job in (j1, j2, j3):
        play.release(job)
    w.at(outage)
    j3.stop(outage)
    w.wait(play.between(30, 900))
    play.dispute(j3, K)
    play.dispute(j4, A.address)
    for who, job in (("running", j1), ("completed", j2)):
        if who == "completed":
            play.complete(j2)
        play.must_revert(f"ruling on a {who} undisputed job reverts", "MarketplaceInvalidJobState", O,
                         "marketplace", "resolveDispute", b32(job.id), int(DisputeOutcome.USER_FAULT), "x")
    w.wait(play.between(30, 900))
    w.tx(O, "marketplace", "resolveDispute", b32(j3.id), int(DisputeOutcome.USER_FAULT), "misruled")
    w.tx(O, "marketplace", "resolveDispute", b32(j4.id), int(DisputeOutcome.PROVIDER_FAULT), "misruled")
    w.wait(play.between(60, 3600))
    play.complete(j1)
    # undisputed jobs: the ordinary bounds, exactly
    play.renter_bound(ledger, H, [j1, j2])
    got, fair = ledger.received(P.address), sum(j.fair_net() for j in (j1, j2, j3))
    play.v.check("P's work is paid and its stake untouched", got >= fair and ledger.stake_lost(P.address) == 0,
                 f"received {got} for {fair}; stake lost {ledger.stake_lost(P.address)}")
    # disputed jobs: the damage stays within what the dispute put at stake
    k_loss = ledger.paid(K) - j3.fair_cost()
    cap3 = j3.cost_at(j3.disputed_at) + j3.bond
    play.v.check("K's loss <= cost to the dispute + its bond", k_loss <= cap3, f"lost {k_loss}, cap {cap3}")
    a_loss = j4.fair_net() - ledger.received(A.address) + ledger.stake_lost(A.address)
    cap4 = j4.cost_at(j4.disputed_at) + j4.bond
    play.v.check("A's loss <= cost to the dispute + its bond", a_loss <= cap4, f"lost {a_loss}, cap {cap4}")
    play.v.check("A's stake lost at most what the job released", ledger.stake_lost(A.address) <= j4.paid)
    play.v.lost(max(k_loss, a_loss))


@strategy("oracle.silence", "oracle", "an unjudged dispute: neither party loses vs. completing at the dispute time")
def silence(play: Play) -> None:
    """The oracle never rules. A dispute (the renter's after the provider's outage, or the
    provider's) settles after the dispute timeout exactly as completing at the dispute would
    have; before the timeout nobody can force it."""
    w, P = play.w, play.w.P
    H, K, T = w.roles.renter, w.roles.keeper, w.roles.treasury
    ledger = Ledger(w, P.address, H, T)
    job = _running(play, H, P.address, P.resource)
    t_d = play.between(job.started_at + 1, job.closes_at)
    cf_releases = 0
    while w.now + 900 < t_d and cf_releases < 4:
        w.wait(play.between(300, 3600))
        if w.now < t_d:
            play.release(job)
            cf_releases += 1
    w.at(t_d)
    disputer = play.rng.choice([H, P.address])
    snap = w.snapshot()
    w.tx(disputer, "marketplace", "completeJob", b32(job.id))
    completed = {a: w.balance(a) for a in (P.address, H, T)}
    w.revert(snap)
    play.dispute(job, disputer)
    timeout = job.terms["disputeTimeout"]
    w.at(t_d + timeout - 1)
    play.must_revert("settling before the dispute timeout reverts", "MarketplaceDeadlineNotReached", K,
                     "marketplace", "resolveExpiredDispute", b32(job.id))
    w.at(t_d + timeout + play.between(0, DAY))
    w.tx(K, "marketplace", "resolveExpiredDispute", b32(job.id))
    for name, who in (("provider", P.address), ("renter", H), ("treasury", T)):
        now = w.balance(who)
        play.v.check(f"{name} ends exactly as if completed at the dispute", now == completed[who],
                     f"{now} vs {completed[who]}")
    play.v.lost(max(completed[P.address] - w.balance(P.address), completed[H] - w.balance(H)))
    play.v.check("stakes untouched", ledger.stake_lost(P.address) == 0)
