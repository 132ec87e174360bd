"""Hypothesis stateful test: random sequences of every external call by renters, providers,
the oracle, the admin and an outsider, with time jumps, against a shadow model.

After every step:
- every actor's token balance, the escrow's and the registry's equal the model's;
- the escrow holds exactly dust + the sum over open jobs of (locked - released) + bonds + the
  earnings (and fees) released and not withdrawn, which match the model's to the base unit;
- every settled job paid provider + platform + refund == locked, and never changes again;
- dispute bonds are held while a dispute is open and go to the right party when it ends; a
  ProviderFault ruling claws released pay back from the provider's stake;
- a job keeps the terms it was created with (fee, deadlines, bond), Created jobs expire, and
  disputes close with the booked time plus the grace;
- an extension (by its renter, before the booked end) locks exactly what the longer booking
  adds to the job's maxCost, and every deadline and settlement after it follows the new duration;
- the total supply moved only by mint and slash-burn;
- every provider's reputation is within 0-1000;
- a call the model deems unauthorised or invalid reverted, and every valid call succeeded.

Profiles: HYPOTHESIS_PROFILE=ci (default, quick) or long (thousands of steps).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ape.exceptions import ContractLogicError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from gpurent.deployment import ESCROW_DUST
from gpurent.units import TOKEN
from tests.conftest import govern, register_provider

settings.register_profile(
    "ci", max_examples=100, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "long", max_examples=2000, stateful_step_count=50, deadline=None, suppress_health_check=list(HealthCheck)
)

CREATED, ACCEPTED, RUNNING, COMPLETED, CANCELLED, DISPUTED, RESOLVED = range(1, 8)
TERMINAL = {COMPLETED, CANCELLED, RESOLVED}
ACCEPT_TIMEOUT, START_TIMEOUT, GRACE, DISPUTE_TIMEOUT = 1800, 600, 300, 1200
BOND_BPS, MIN_BOND = 1000, TOKEN // 100  # DeploymentParams' dispute bond
SLASH_BPS, SLASH_INTERVAL = 2000, 86400
UINT_MAX = 2**256 - 1
MAX_DURATION = 90 * 86400


@dataclass
class Job:
    id: bytes
    user: str
    provider: str
    price: int
    duration: int
    fee_bps: int
    status: int = CREATED
    start: int = 0
    updated: int = 0
    paid: int = 0
    out: int = field(default=0)  # released to provider + treasury + refunded
    created: int = 0
    disputer: str | None = None
    bond: int = 0

    @property
    def locked(self) -> int:
        return self.price * self.duration // 3600

    @property
    def dispute_bond(self) -> int:
        return min(max(MIN_BOND, self.locked * BOND_BPS // 10_000), self.locked)

    def cost_at(self, t: int) -> int:
        if self.start == 0 or t <= self.start:
            return 0
        return self.price * min(t - self.start, self.duration) // 3600


def setup_world(suite, cast, chain, lens) -> dict:
    """Registers two providers with one resource each and approves the renters, once.

    Each example starts from a chain snapshot taken after this, so it costs no transaction.
    """
    m, reg, tok = suite.marketplace, suite.registry, suite.token
    govern(suite, cast.admin, m.setTimeouts, ACCEPT_TIMEOUT, START_TIMEOUT, GRACE, DISPUTE_TIMEOUT)
    resources = {}
    for provider, price in ((cast.provider, 10 * TOKEN), (cast.provider2, 7_333_333_333_333_333_333)):
        register_provider(suite, provider)
        tx = reg.registerResource("H100", 16, 64, 100, price, sender=provider)
        rid = tx.events.filter(reg.ResourceRegistered)[0].resourceId
        resources[rid] = {"provider": provider.address, "price": price, "available": True}
    for party in (cast.renter, cast.renter2, cast.outsider, cast.provider, cast.provider2):
        tok.approve(m, UINT_MAX, sender=party)  # escrow, and dispute bonds
    holders = [cast.admin, cast.oracle, cast.provider, cast.provider2, cast.renter, cast.renter2, cast.outsider,
               cast.treasury]
    return {
        "now": chain.pending_timestamp + 10,
        "resources": resources,
        "fee_bps": m.feeBps(),
        "stake": {p.address: reg.getProvider(p).stake for p in (cast.provider, cast.provider2)},
        "min_stake": reg.minStake(),
        "supply": tok.totalSupply(),
        "balances": {a.address: tok.balanceOf(a) for a in holders},
        "escrow": tok.balanceOf(m),
        "registry": tok.balanceOf(reg),
    }


def make_machine(suite, cast, chain, lens):
    m, reg, rep, tok = suite.marketplace, suite.registry, suite.reputation, suite.token
    actors = [cast.admin, cast.oracle, cast.provider, cast.provider2, cast.renter, cast.renter2, cast.outsider]
    names = {a.address: a for a in actors}
    providers = [cast.provider.address, cast.provider2.address]
    base = setup_world(suite, cast, chain, lens)

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.now = base["now"]
            self.resources = {rid: dict(r) for rid, r in base["resources"].items()}
            self.jobs: list[Job] = []
            self.paused = False
            self.fee_bps = base["fee_bps"]
            self.stake = dict(base["stake"])
            self.min_stake = base["min_stake"]
            self.supply = base["supply"]
            self.balances = dict(base["balances"])
            self.escrow = base["escrow"]
            self.registry_balance = base["registry"]
            self.terminal_seen: dict[bytes, tuple] = {}
            self.last_slash: dict[str, int] = {}
            self.debt: dict[str, int] = {p: 0 for p in providers}
            # released and not withdrawn: the provider's share and the platform fee on it
            self.earnings: dict[str, list[int]] = {p: [0, 0] for p in providers}

        def released_open(self, provider: str) -> int:
            """Pay released early on the provider's open jobs (what its stake must back)."""
            return sum(j.paid for j in self.jobs if j.provider == provider and j.status not in TERMINAL)

        def teardown(self):
            chain.restore(self.snapshot)

        # -------------------------------------------------------------- plumbing
        def at_next(self):
            self.now += 1
            chain.pending_timestamp = self.now

        def send(self, fn, *args, sender):
            self.at_next()
            return fn(*args, sender=sender)

        def attempt(self, allowed: bool, fn, *args, sender):
            """Sends the call; asserts it succeeded iff the model allows it."""
            self.at_next()
            try:
                tx = fn(*args, sender=sender)
            except ContractLogicError:
                assert not allowed, f"{fn} by {sender} should have succeeded"
                return None
            assert allowed, f"{fn} by {sender} should have reverted"
            return tx

        def pay(self, job: Job, gross: int):
            """Releases `gross`: credited to the provider's earnings, the tokens stay put."""
            fee = gross * job.fee_bps // 10_000
            self.earnings[job.provider][0] += gross - fee
            self.earnings[job.provider][1] += fee
            job.out += gross
            job.paid += gross

        def withdraw(self, provider: str):
            amount, fee = self.earnings[provider]
            self.balances[provider] += amount
            self.balances[cast.treasury.address] += fee
            self.escrow -= amount + fee
            self.earnings[provider] = [0, 0]

        def refund(self, job: Job, amount: int):
            self.balances[job.user] += amount
            self.escrow -= amount
            job.out += amount

        def pick(self, data, statuses=None):
            pool = [j for j in self.jobs if statuses is None or j.status in statuses] or self.jobs
            return data.draw(st.sampled_from(pool)) if pool else None

        # -------------------------------------------------------------- rules
        @rule(data=st.data(), duration=st.integers(1, 3 * 3600),
              renter=st.sampled_from(["renter", "renter2", "outsider"]),
              limit=st.one_of(st.just(UINT_MAX), st.integers(0, 40 * TOKEN)))
        def create(self, data, duration, renter, limit):
            rid = data.draw(st.sampled_from(sorted(self.resources)))
            res = self.resources[rid]
            user = getattr(cast, renter)
            price = res["price"]
            bookable = res["available"] and self.stake[res["provider"]] - self.debt[res["provider"]] >= self.min_stake
            locked = price * duration // 3600
            allowed = not self.paused and bookable and 0 < locked <= limit
            tx = self.attempt(allowed, m.createJob, rid, "bafy-image", duration, limit, sender=user)
            if tx:
                job_id = tx.events.filter(m.JobCreated)[0].jobId
                job = Job(job_id, user.address, res["provider"], price, duration, self.fee_bps, updated=self.now,
                          created=self.now)
                self.jobs.append(job)
                self.balances[user.address] -= job.locked
                self.escrow += job.locked

        @rule(data=st.data(), who=st.sampled_from(range(7)),
              extra=st.sampled_from([0, 1, 59, 600, 1800, 3600, MAX_DURATION]))
        def extend(self, data, who, extra):
            job = self.pick(data, {CREATED, ACCEPTED, RUNNING})
            if job is None:
                return
            caller = actors[who]
            t = self.now + 1
            more = job.price * (job.duration + extra) // 3600 - job.locked  # the job's cap grows by this
            ok = (not self.paused and caller.address == job.user and job.status in (CREATED, ACCEPTED, RUNNING)
                  and (job.status != RUNNING or t < job.start + job.duration)  # not once its booked end came
                  and 0 < extra <= MAX_DURATION - job.duration and 0 < more <= self.balances[job.user])
            if self.attempt(ok, m.extendJob, job.id, extra, sender=caller):
                job.duration += extra  # every deadline and settlement from here uses the longer booking
                self.balances[job.user] -= more
                self.escrow += more

        @rule(data=st.data(), who=st.sampled_from(range(7)))
        def accept(self, data, who):
            job = self.pick(data, {CREATED})
            if job is None:
                return
            caller = actors[who]
            t = self.now + 1
            ok = job.status == CREATED and caller.address == job.provider and t <= job.created + ACCEPT_TIMEOUT
            if self.attempt(ok, m.acceptJob, job.id, sender=caller):
                job.status, job.updated = ACCEPTED, self.now

        @rule(data=st.data(), who=st.sampled_from(range(7)))
        def start(self, data, who):
            job = self.pick(data, {ACCEPTED})
            if job is None:
                return
            caller = actors[who]
            t = self.now + 1
            ok = job.status == ACCEPTED and caller.address == job.provider and t <= job.updated + START_TIMEOUT
            if self.attempt(ok, m.startJob, job.id, sender=caller):
                job.status, job.start, job.updated = RUNNING, self.now, self.now

        @rule(data=st.data(), who=st.sampled_from(range(7)))
        def complete(self, data, who):
            job = self.pick(data, {RUNNING})
            if job is None:
                return
            caller = actors[who]
            t = self.now + 1
            ok = job.status == RUNNING and (
                caller.address in (job.provider, job.user) or t >= job.start + job.duration + GRACE
            )
            if self.attempt(ok, m.completeJob, job.id, sender=caller):
                cost = job.cost_at(t)
                self.pay(job, cost - job.paid)
                self.refund(job, job.locked - cost)
                job.status, job.updated = COMPLETED, t

        @rule(data=st.data(), who=st.sampled_from(range(7)), all_of_it=st.booleans())
        def partial_release(self, data, who, all_of_it):
            job = self.pick(data, {RUNNING})
            if job is None:
                return
            caller = actors[who]
            t = self.now + 1
            accrued = job.cost_at(t) - job.paid if job.status == RUNNING else 0
            amount = UINT_MAX if all_of_it else max(1, accrued // 2)
            gross = accrued if all_of_it else amount
            ok = (job.status == RUNNING and caller.address == job.provider and 0 < gross <= accrued
                  and self.released_open(job.provider) + gross <= self.stake[job.provider])
            if self.attempt(ok, m.partialRelease, job.id, amount, sender=caller):
                self.pay(job, gross)
                self.withdraw(job.provider)  # paid out at once, with everything held before

        @rule(who=st.sampled_from(range(7)))
        def withdraw_earnings(self, who):
            caller = actors[who]
            held = self.earnings.get(caller.address, [0, 0])
            if self.attempt(any(held), m.withdrawEarnings, sender=caller):
                self.withdraw(caller.address)

        @rule(who=st.sampled_from(range(7)), which=st.sampled_from([(0,), (1,), (0, 1), (1, 1), ()]))
        def collect_fees(self, who, which):
            listed = [providers[i] for i in which]
            if self.attempt(True, m.collectFees, listed, sender=actors[who]):
                for p in set(listed):  # anyone may; only the fees move, only to the treasury
                    self.balances[cast.treasury.address] += self.earnings[p][1]
                    self.escrow -= self.earnings[p][1]
                    self.earnings[p][1] = 0

        @rule(data=st.data(), who=st.sampled_from(range(7)))
        def cancel(self, data, who):
            job = self.pick(data, {CREATED, ACCEPTED})
            if job is None:
                return
            caller = actors[who].address
            t = self.now + 1
            ok = (job.status == CREATED and (caller in (job.user, job.provider) or t > job.created + ACCEPT_TIMEOUT)) or (
                job.status == ACCEPTED
                and (caller == job.provider or (caller == job.user and t >= job.updated + START_TIMEOUT))
            )
            if self.attempt(ok, m.cancelJob, job.id, sender=actors[who]):
                self.refund(job, job.locked)
                job.status, job.updated = CANCELLED, t

        @rule(data=st.data(), who=st.sampled_from(range(7)))
        def dispute(self, data, who):
            job = self.pick(data, {ACCEPTED, RUNNING})
            if job is None:
                return
            caller = actors[who].address
            t = self.now + 1
            ok = (job.status == RUNNING and caller in (job.user, job.provider)
                  and t <= job.start + job.duration + GRACE and self.balances[caller] >= job.dispute_bond)
            if self.attempt(ok, m.disputeJob, job.id, "why", sender=actors[who]):
                job.status, job.updated = DISPUTED, self.now
                job.disputer, job.bond = caller, job.dispute_bond
                self.balances[caller] -= job.bond
                self.escrow += job.bond

        def settle_dispute(self, job: Job, outcome: int, t: int):
            cost = job.cost_at(job.updated)
            if outcome == 1:  # ProviderFault: nothing for the provider, released pay clawed back
                self.refund(job, job.locked - job.paid)
                clawed = min(job.paid, self.stake[job.provider])
                self.stake[job.provider] -= clawed
                self.debt[job.provider] = min(self.debt[job.provider], self.stake[job.provider])
                self.registry_balance -= clawed
                self.balances[job.user] += clawed
            else:  # UserFault, or no fault: paid the cost up to the dispute
                self.pay(job, cost - job.paid)
                self.refund(job, job.locked - cost)
            forfeited = (outcome == 1 and job.disputer == job.provider) or (outcome == 2 and job.disputer == job.user)
            to = (job.provider if job.disputer == job.user else job.user) if forfeited else job.disputer
            self.balances[to] += job.bond
            self.escrow -= job.bond
            job.status, job.updated = RESOLVED, t

        @rule(data=st.data(), who=st.sampled_from(range(7)), outcome=st.integers(0, 3))
        def resolve(self, data, who, outcome):
            job = self.pick(data, {DISPUTED})
            if job is None:
                return
            caller = actors[who]
            ok = caller == cast.oracle and job.status == DISPUTED and outcome != 0
            if self.attempt(ok, m.resolveDispute, job.id, outcome, "bafy-evidence", sender=caller):
                self.settle_dispute(job, outcome, self.now)

        @rule(data=st.data(), who=st.sampled_from(range(7)))
        def resolve_expired(self, data, who):
            job = self.pick(data, {DISPUTED})
            if job is None:
                return
            t = self.now + 1
            ok = job.status == DISPUTED and t >= job.updated + DISPUTE_TIMEOUT
            if self.attempt(ok, m.resolveExpiredDispute, job.id, sender=actors[who]):
                self.settle_dispute(job, 3, t)

        @rule(seconds=st.sampled_from([1, 59, 600, 1800, 3600, 4000, DISPUTE_TIMEOUT, 3 * 3600 + GRACE]))
        def warp(self, seconds):
            self.now += seconds

        @rule(who=st.sampled_from(range(7)), pause=st.booleans())
        def toggle_pause(self, who, pause):
            caller = actors[who]
            ok = caller == cast.admin and pause != self.paused
            if self.attempt(ok, m.pause if pause else m.unpause, sender=caller):
                self.paused = pause

        @rule(who=st.sampled_from(range(7)), bps=st.integers(0, 1200))
        def set_fee(self, who, bps):
            caller = actors[who]
            # nobody calls it directly (the timelock is the admin) ...
            self.attempt(False, m.setFee, bps, sender=caller)
            if caller != cast.admin:
                return
            # ... the deployer schedules it on the timelock, which runs it (open jobs keep theirs)
            data, salt = m.setFee.encode_input(bps), os.urandom(32)
            self.send(suite.timelock.schedule, m.address, 0, data, bytes(32), salt, 0, sender=caller)
            if self.attempt(bps <= 1000, suite.timelock.execute, m.address, 0, data, bytes(32), salt, sender=caller):
                self.fee_bps = bps

        @rule(data=st.data(), who=st.sampled_from(range(7)), price=st.integers(0, 50 * TOKEN))
        def set_price(self, data, who, price):
            rid = data.draw(st.sampled_from(sorted(self.resources)))
            caller = actors[who]
            ok = caller.address == self.resources[rid]["provider"] and price > 0
            if self.attempt(ok, reg.updatePricing, rid, price, sender=caller):
                self.resources[rid]["price"] = price

        @rule(data=st.data(), who=st.sampled_from(range(7)), available=st.booleans())
        def set_available(self, data, who, available):
            rid = data.draw(st.sampled_from(sorted(self.resources)))
            caller = actors[who]
            ok = caller.address == self.resources[rid]["provider"]
            if self.attempt(ok, reg.updateAvailability, rid, available, sender=caller):
                self.resources[rid]["available"] = available

        @rule(who=st.sampled_from(range(7)), victim=st.sampled_from(["provider", "provider2"]),
              amount=st.integers(0, 80 * TOKEN))
        def slash(self, who, victim, amount):
            caller = actors[who]
            provider = getattr(cast, victim).address
            # only the ReputationSystem holds the slasher role (see data_fraud)
            self.attempt(False, reg.slash, provider, amount, "test", sender=caller)

        @rule(who=st.sampled_from(range(7)), victim=st.sampled_from(["provider", "provider2"]))
        def data_fraud(self, who, victim):
            """A data-fraud penalty burns 20% of the stake, at most once a day."""
            caller = actors[who]
            provider = getattr(cast, victim).address
            t = self.now + 1
            held = self.released_open(provider) + self.debt[provider]
            if self.attempt(caller == cast.oracle, rep.applyPenalty, provider, 1, os.urandom(32), sender=caller):
                last = self.last_slash.get(provider)
                due = self.stake[provider] * SLASH_BPS // 10_000
                if due and (last is None or t >= last + SLASH_INTERVAL):
                    burnt = min(due, max(0, self.stake[provider] - held))  # backing early pay: owed
                    self.stake[provider] -= burnt
                    self.debt[provider] = min(self.debt[provider] + due - burnt, self.stake[provider])
                    self.registry_balance -= burnt
                    self.supply -= burnt
                    self.last_slash[provider] = t

        @rule(who=st.sampled_from(range(7)), victim=st.sampled_from(["provider", "provider2"]),
              reason=st.sampled_from([0, 2, 3]), bonus=st.integers(0, 300), reward=st.booleans())
        def reputation_points(self, who, victim, reason, bonus, reward):
            caller = actors[who]
            provider = getattr(cast, victim)
            if reward:
                self.attempt(caller == cast.oracle, rep.reward, provider, bonus, sender=caller)
            else:
                self.attempt(caller == cast.oracle, rep.applyPenalty, provider, reason,
                             os.urandom(32), sender=caller)

        # -------------------------------------------------------------- invariants
        @invariant()
        def chain_matches_model(self):
            holders = list(self.balances) + [m.address, reg.address]
            ids = [j.id for j in self.jobs]
            v = lens.read(tok, holders, m, ids, rep, providers)
            expected = list(self.balances.values()) + [self.escrow, self.registry_balance]
            for holder, got, want in zip(holders, v.balances, expected):
                assert got == want, f"balance of {names.get(holder, holder)}: chain {got} model {want}"
            # the escrow holds exactly dust + what open jobs locked and have not released
            open_locked = sum(j.locked - j.paid for j in self.jobs if j.status not in TERMINAL)
            bonds = sum(j.bond for j in self.jobs if j.status == DISPUTED)
            held = sum(sum(e) for e in self.earnings.values())
            assert self.escrow == ESCROW_DUST + open_locked + bonds + held
            for p in providers:
                assert tuple(m.earningsOf(p)) == tuple(self.earnings[p]), f"earnings of {names[p]}"
            # total supply moved only by slash-burn (nothing is minted here)
            assert v.totalSupply == self.supply
            for job, status, final_cost, end_time in zip(self.jobs, v.statuses, v.finalCosts, v.endTimes):
                assert (status, final_cost) == (job.status, job.paid), job
                if job.status in TERMINAL:
                    assert job.out == job.locked  # provider + platform + refund == locked
                    seen = self.terminal_seen.setdefault(job.id, (status, final_cost, end_time))
                    assert seen == (status, final_cost, end_time)  # terminal states never change
            assert all(0 <= score <= 1000 for score in v.scores)

    return Machine


def test_marketplace_state_machine(project, suite, cast, chain):
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    lens = project.InvariantLens.deploy(sender=cast.admin)
    machine = make_machine(suite, cast, chain, lens)
    run_state_machine_as_test(machine, settings=settings.get_profile(profile))
