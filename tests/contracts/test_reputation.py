"""ReputationSystem: the SPEC formula, penalties, rewards, slashing, roles."""

from __future__ import annotations

import os

import ape
import pytest

from gpurent.units import TOKEN
from tests.conftest import create_job, govern, register_resource

DOWNTIME, DATA_FRAUD, TIMEOUT, INVALID_SIGNATURE, LOST_DISPUTE = range(5)


def metrics(uptime=10_000, response_ms=0, completion=10_000, dispute=0):
    return (uptime, response_ms, completion, dispute)


def test_formula_on_the_spec_example(reputation):
    """SPEC: uptime 0.992, response 1.0, completion 0.98, no-dispute 0.99.

    The formula gives 0.3968 + 0.2 + 0.294 + 0.099 = 0.9898 -> 989 (rounded down). The
    architecture document prints 981 for these inputs, an arithmetic slip in the document; the
    contract implements the formula exactly, as the issue asks.
    """
    assert reputation.calculateScore(metrics(9920, 0, 9800, 100)) == 989


@pytest.mark.parametrize(
    "m,score",
    [
        (metrics(), 1000),
        (metrics(0, 30_000, 0, 10_000), 0),
        (metrics(5000, 15_000, 10_000, 0), 700),  # 0.2 + 0.1 + 0.3 + 0.1
        (metrics(10_000, 0, 0, 10_000), 600),  # 0.4 + 0.2
        (metrics(10_000, 60_000, 10_000, 0), 800),  # response beyond the maximum counts 0
    ],
)
def test_formula_components(reputation, m, score):
    assert reputation.calculateScore(m) == score


def test_formula_rejects_rates_above_one(reputation):
    with ape.reverts(reputation.ReputationInvalidBps, value=10_001):
        reputation.calculateScore(metrics(uptime=10_001))
    with ape.reverts(reputation.ReputationInvalidBps):
        reputation.calculateScore(metrics(completion=10_001))
    with ape.reverts(reputation.ReputationInvalidBps):
        reputation.calculateScore(metrics(dispute=10_001))


@pytest.fixture
def hourly(project, suite, cast):
    """A ReputationSystem with hour-long report periods (the session's are 4 s), administered by
    the deployer directly, for tests of what one period may hold."""
    rep = project.ReputationSystem.deploy(suite.registry, suite.marketplace, cast.admin, 3600, sender=cast.admin)
    rep.grantRole(rep.ORACLE_ROLE(), cast.oracle, sender=cast.admin)
    govern(suite, cast.admin, suite.registry.grantRole, suite.registry.SLASHER_ROLE(), rep)
    return rep


def test_new_provider_is_unmeasured(reputation, cast):
    rep = reputation.getReputation(cast.provider)
    assert (rep.score, rep.uptimeBps, rep.responseBps, rep.completionBps, rep.totalJobs) == (700, 5000, 5000, 10_000, 0)


def test_updateReputation_is_governance_only(suite, reputation, cast):
    """Finding: one oracle key could set any score it liked. Direct measurements are
    governance's (through the timelock); the oracle measures through period reports."""
    for who in (cast.provider, cast.oracle):
        with ape.reverts(reputation.AccessControlUnauthorizedAccount):
            reputation.updateReputation(cast.provider, metrics(), sender=who)
    with ape.reverts(reputation.ReputationInvalidBps):
        govern(suite, cast.admin, reputation.updateReputation, cast.provider, metrics(uptime=10_001))
    tx = govern(suite, cast.admin, reputation.updateReputation, cast.provider, metrics(9920, 0, 0, 0))
    (ev,) = tx.events.filter(reputation.ReputationUpdated)
    # completion/dispute come from the Marketplace (no jobs yet: 1 and 0), not from the call
    assert (ev.score, ev.uptimeBps, ev.responseBps) == (996, 9920, 10_000)
    assert reputation.getScore(cast.provider) == 996
    assert reputation.getReputation(cast.provider).lastUpdated == tx.timestamp


def test_completed_jobs_feed_the_score_by_value(suite, cast, resource_id, chain):
    rep = suite.reputation
    govern(suite, cast.admin, rep.updateReputation, cast.provider, metrics(9920, 0))
    m = suite.marketplace
    for i in range(3):
        job_id, _ = create_job(suite, cast.renter, resource_id)
        m.acceptJob(job_id, sender=cast.provider)
        if i == 2:
            m.cancelJob(job_id, sender=cast.provider)  # abandoned: weighs its 10-token maxCost
            continue
        start = m.startJob(job_id, sender=cast.provider).timestamp
        chain.pending_timestamp = start + 1800
        m.completeJob(job_id, sender=cast.provider)  # paid 5 tokens: weighs 5
    r = rep.getReputation(cast.provider)
    assert (r.totalJobs, r.successfulJobs, r.completionBps, r.disputeRateBps) == (3, 2, 5000, 0)
    assert r.score == (4 * 9920 + 2 * 10_000 + 3 * 5000 + 10_000) // 100
    assert m.providerStats(cast.provider).lastJobAt > 0


def test_zero_value_jobs_do_not_move_the_score(suite, cast, resource_id, chain):
    """Finding: 95 zero-cost jobs on one's own GPU moved a score 520 -> 596. A job weighs what
    it paid: start and complete in one block pays nothing and weighs nothing."""
    m, rep = suite.marketplace, suite.reputation
    job_id, _ = create_job(suite, cast.renter, resource_id)
    m.acceptJob(job_id, sender=cast.provider)
    m.cancelJob(job_id, sender=cast.provider)  # one abandoned job: completion 0
    before = rep.getReputation(cast.provider)
    assert before.completionBps == 0
    cheap = register_resource(suite, cast.provider, price=3600 * 1000)  # 1000 base units a second
    for _ in range(3):
        wash, _ = create_job(suite, cast.provider, cheap)  # the provider rents its own GPU
        m.acceptJob(wash, sender=cast.provider)
        m.startJob(wash, sender=cast.provider)
        m.completeJob(wash, sender=cast.provider)  # a second or two later
        assert m.getJob(wash).finalCost < m.VALUE_UNIT()  # at most a second or two: < 1 unit
    after = rep.getReputation(cast.provider)
    assert after.totalJobs == before.totalJobs + 3
    assert (after.completionBps, after.score) == (before.completionBps, before.score)


def test_penalties(suite, reputation, cast):
    govern(suite, cast.admin, reputation.updateReputation, cast.provider, metrics())
    with ape.reverts(reputation.AccessControlUnauthorizedAccount):
        reputation.applyPenalty(cast.provider, DOWNTIME, os.urandom(32), sender=cast.renter)
    tx = reputation.applyPenalty(cast.provider, DOWNTIME, os.urandom(32), sender=cast.oracle)
    (ev,) = tx.events.filter(reputation.PenaltyApplied)
    assert (ev["provider"], ev.reason, ev.points) == (cast.provider.address, DOWNTIME, 50)
    assert reputation.getScore(cast.provider) == 950
    reputation.applyPenalty(cast.provider, TIMEOUT, os.urandom(32), sender=cast.oracle)
    reputation.applyPenalty(cast.provider, INVALID_SIGNATURE, os.urandom(32), sender=cast.oracle)
    assert reputation.getPenalty(cast.provider) == 100
    assert reputation.getScore(cast.provider) == 900


def test_oracle_points_are_capped_per_period(suite, hourly, cast):
    """Finding: repeated penalties with freshly invented incident ids could take any score to
    0 (and rewards to 1000). Per provider per period: at most 200 penalty and 10 reward points."""
    govern(suite, cast.admin, suite.registry.grantRole, suite.registry.SLASHER_ROLE(), hourly)
    tx = hourly.reward(cast.provider, 500, sender=cast.oracle)
    assert tx.events.filter(hourly.RewardIssued)[0].bonus == 10
    assert hourly.reward(cast.provider, 5, sender=cast.oracle).events.filter(hourly.RewardIssued)[0].bonus == 0
    taken = [hourly.applyPenalty(cast.provider, DOWNTIME, os.urandom(32), sender=cast.oracle)
             .events.filter(hourly.PenaltyApplied)[0].points for _ in range(6)]
    assert taken == [50, 50, 50, 50, 0, 0]
    assert hourly.getPenalty(cast.provider) == 200
    # another provider has its own cap and its own incidents
    incident = os.urandom(32)
    hourly.applyPenalty(cast.provider2, DOWNTIME, incident, sender=cast.oracle)
    assert not hourly.incidentRecorded(cast.provider, incident) and hourly.incidentRecorded(cast.provider2, incident)


def test_score_clamped_at_zero_and_1000(suite, reputation, cast):
    govern(suite, cast.admin, reputation.updateReputation, cast.provider, metrics())
    reputation.reward(cast.provider, 10, sender=cast.oracle)
    assert reputation.getScore(cast.provider) == 1000
    govern(suite, cast.admin, reputation.setPenaltyPoints, DOWNTIME, 1000)
    reputation.applyPenalty(cast.provider, DOWNTIME, os.urandom(32), sender=cast.oracle)
    assert reputation.getScore(cast.provider) == 810  # 1000 + 10 rewarded - 200 (a period's most)


def test_reward_only_oracle(reputation, cast):
    with ape.reverts(reputation.AccessControlUnauthorizedAccount):
        reputation.reward(cast.provider, 1, sender=cast.provider)


def test_data_fraud_slashes_stake_within_the_cap(suite, cast, resource_id):
    supply = suite.token.totalSupply()
    tx = suite.reputation.applyPenalty(cast.provider, DATA_FRAUD, os.urandom(32), sender=cast.oracle)
    assert tx.events.filter(suite.reputation.PenaltyApplied)[0].points == 200
    assert suite.registry.getProvider(cast.provider).stake == 80 * TOKEN  # 20%, the most allowed
    assert supply - suite.token.totalSupply() == 20 * TOKEN
    assert suite.reputation.getPenalty(cast.provider) == 200
    suite.reputation.applyPenalty(cast.provider, DATA_FRAUD, os.urandom(32), sender=cast.oracle)
    assert suite.registry.getProvider(cast.provider).stake == 80 * TOKEN  # once a day at most


def test_data_fraud_without_stake_still_penalises(reputation, cast):
    reputation.applyPenalty(cast.outsider, DATA_FRAUD, os.urandom(32), sender=cast.oracle)
    assert reputation.getPenalty(cast.outsider) == 200


def test_governance(suite, reputation, cast):
    with ape.reverts(reputation.AccessControlUnauthorizedAccount):
        reputation.setPenaltyPoints(DOWNTIME, 10, sender=cast.oracle)
    with ape.reverts(reputation.ReputationInvalidParameter, value=1001, minValue=0, maxValue=1000):
        govern(suite, cast.admin, reputation.setPenaltyPoints, DOWNTIME, 1001)
    govern(suite, cast.admin, reputation.setPenaltyPoints, DOWNTIME, 10)
    assert reputation.penaltyPoints(DOWNTIME) == 10
    with ape.reverts(reputation.ReputationInvalidBps):
        govern(suite, cast.admin, reputation.setFraudSlashBps, 2001)
    govern(suite, cast.admin, reputation.setFraudSlashBps, 1000)
    assert reputation.fraudSlashBps() == 1000
    with ape.reverts(reputation.ReputationInvalidParameter):
        govern(suite, cast.admin, reputation.setMaxResponseTimeMs, 0)
    govern(suite, cast.admin, reputation.setMaxResponseTimeMs, 10_000)
    assert reputation.responseBps(5_000) == 5_000


def test_penalty_incident_applied_once(reputation, cast):
    """Two oracle instances reporting the same incident penalise once; another incident counts."""
    incident = os.urandom(32)
    assert not reputation.incidentRecorded(cast.provider, incident)
    tx = reputation.applyPenalty(cast.provider, DOWNTIME, incident, sender=cast.oracle)
    assert tx.events.filter(reputation.PenaltyApplied)[0].incident == incident
    assert reputation.incidentRecorded(cast.provider, incident)
    with ape.reverts(reputation.ReputationIncidentRecorded, incident=incident):
        reputation.applyPenalty(cast.provider, DOWNTIME, incident, sender=cast.oracle)
    assert reputation.getPenalty(cast.provider) == 50
    reputation.applyPenalty(cast.provider, DOWNTIME, os.urandom(32), sender=cast.oracle)
    assert reputation.getPenalty(cast.provider) == 100


def report(kept, expected, passed=0, failed=0, avg_ms=0):
    return (kept, expected, passed, failed, avg_ms)


def test_validation_report_blends_with_the_prior(hourly, cast, chain):
    """Uptime and response are sums over reports blended with a neutral prior, so a newcomer's
    score rises period by period; each period is reported once, in order."""
    assert hourly.priors() == (60, 5)
    with ape.reverts(hourly.AccessControlUnauthorizedAccount):
        hourly.submitValidationReport(cast.provider, 1, report(60, 60), sender=cast.provider)
    with ape.reverts(hourly.ReputationInvalidReport, heartbeatsKept=61, heartbeatsExpected=60, periodLength=3600):
        hourly.submitValidationReport(cast.provider, 1, report(61, 60), sender=cast.oracle)
    scores = [hourly.getScore(cast.provider)]
    tx = hourly.submitValidationReport(cast.provider, 7, report(60, 60, 5, 0, 0), sender=cast.oracle)
    ev = tx.events.filter(hourly.ValidationReported)[0]
    assert (ev["provider"], ev.period, ev.heartbeatsKept, ev.heartbeatsExpected) == (cast.provider.address, 7, 60, 60)
    r = hourly.getReputation(cast.provider)
    assert r.uptimeBps == (60 * 10_000 + 60 * 5000) // 120 == 7500
    assert r.responseBps == (5 * 10_000 + 5 * 5000) // 10 == 7500
    scores.append(r.score)
    for period in (8, 9):
        hourly.submitValidationReport(cast.provider, period, report(60, 60, 5, 0, 0), sender=cast.oracle)
        scores.append(hourly.getScore(cast.provider))
    assert scores == sorted(scores) and len(set(scores)) == 4, scores
    for stale in (9, 8):
        with ape.reverts(hourly.ReputationPeriodReported, provider=cast.provider, period=stale, lastPeriod=9):
            hourly.submitValidationReport(cast.provider, stale, report(60, 60), sender=cast.oracle)
    v = hourly.getValidation(cast.provider)
    assert (v.heartbeatsKept, v.heartbeatsExpected, v.challengesPassed, v.reports, v.lastPeriod) == (180, 180, 15, 3, 9)
    # A period with missed heartbeats and failed, slow challenges pulls the components down.
    hourly.submitValidationReport(cast.provider, 10, report(30, 60, 1, 4, 15_000), sender=cast.oracle)
    r = hourly.getReputation(cast.provider)
    assert r.uptimeBps == (210 * 10_000 + 60 * 5000) // 300
    assert r.responseBps == (15 * 10_000 + 5000 + 5 * 5000) // (20 + 5)
    assert r.score < scores[-1]


def test_priors_governed(hourly, cast):
    with ape.reverts(hourly.AccessControlUnauthorizedAccount):
        hourly.setPriors(0, 0, sender=cast.oracle)
    tx = hourly.setPriors(0, 0, sender=cast.admin)
    assert tx.events.filter(hourly.PriorsUpdated)[0].heartbeatPrior == 0
    hourly.submitValidationReport(cast.provider, 1, report(9, 10), sender=cast.oracle)
    r = hourly.getReputation(cast.provider)
    assert (r.uptimeBps, r.responseBps) == (9000, 5000)  # no challenges and no prior: neutral


def test_reports_only_for_ended_periods_with_physical_counts(hourly, cast, chain):
    """Finding: a report for period 2**32-1 blocked every later report for that provider
    forever. Reports must be for a period that has ended, and hold what a period can."""
    now = chain.pending_timestamp
    current = now // 3600
    with ape.reverts(hourly.ReputationPeriodNotPast, period=2**32 - 1, current=current):
        hourly.submitValidationReport(cast.provider, 2**32 - 1, report(1, 1), sender=cast.oracle)
    with ape.reverts(hourly.ReputationPeriodNotPast, period=current, current=current):
        hourly.submitValidationReport(cast.provider, current, report(1, 1), sender=cast.oracle)
    with ape.reverts(hourly.ReputationInvalidReport):  # more heartbeat slots than seconds
        hourly.submitValidationReport(cast.provider, current - 1, report(3601, 3601), sender=cast.oracle)
    with ape.reverts(hourly.ReputationInvalidReport, challenges=3601, periodLength=3600):
        hourly.submitValidationReport(cast.provider, current - 1, report(1, 1, 3601, 0), sender=cast.oracle)
    hourly.submitValidationReport(cast.provider, current - 1, report(60, 60), sender=cast.oracle)
    assert hourly.getValidation(cast.provider).lastPeriod == current - 1
