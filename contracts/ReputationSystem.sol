// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IReputationSystem} from "./interfaces/IReputationSystem.sol";
import {IResourceRegistry} from "./interfaces/IResourceRegistry.sol";
import {IMarketplace} from "./interfaces/IMarketplace.sol";

/// @title ReputationSystem
/// @notice Provider reputation on a 0-1000 scale, computed with the SPEC's formula:
/// `score = (uptime*0.4 + response*0.2 + completion*0.3 + (1 - disputeRate)*0.1) * 1000`,
/// minus penalty points, plus reward points, clamped to 0-1000.
/// @dev Uptime and response come from the oracle ({updateReputation}); completion and dispute
/// rates come from the job statistics the Marketplace keeps as it settles jobs
/// ({IMarketplace-providerStats}), read here, so the score is always current and settling a job
/// costs no call into this contract. Each component is held in basis points, so the formula is
/// `(4u + 2r + 3c + (10000 - d)) / 100`, rounded down. A provider the oracle has not measured
/// yet counts as uptime 0.5 and response 0.5; one without jobs as completion 1, disputes 0.
/// Only the oracle (ORACLE_ROLE) and the Marketplace's settlements change scores.
///
/// Validation reports ({submitValidationReport}) sum heartbeats and challenges over periods; the
/// uptime and response components are these sums blended with a neutral prior worth
/// `heartbeatPrior` heartbeat slots (and `challengePrior` challenges) at 0.5, so a newcomer's
/// score rises with evidence rather than jumping to the top after one good period. Reports are
/// accepted once per provider and period, and each penalty names its incident and is applied
/// once, so several oracle instances can run side by side without double counting.
///
/// Completion and dispute rates weigh jobs by value (what they paid, or for failures what was
/// at stake), so zero-cost jobs move nothing and moving a score by self-dealing costs at least
/// the platform fee on a value comparable to the provider's real business.
///
/// What one oracle key can do is bounded here: reports only for periods that have ended, in
/// increasing order, with counts a period can physically hold; at most
/// MAX_PENALTY_POINTS_PER_PERIOD penalty points and MAX_REWARD_POINTS_PER_PERIOD reward points
/// per provider per period; incidents are per provider; stake burns are capped by the registry
/// (MAX_SLASH_BPS once per SLASH_INTERVAL). Setting measurements directly
/// ({updateReputation}) is governance's, behind the timelock.
contract ReputationSystem is IReputationSystem, AccessControl {
    /// @notice Role of the oracle: reports metrics, applies penalties, issues rewards.
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");

    /// @notice Components assumed for a provider before the oracle's first report.
    uint16 public constant UNMEASURED_BPS = 5000;
    /// @notice Most penalty points one provider can be given per period.
    uint256 public constant MAX_PENALTY_POINTS_PER_PERIOD = 200;
    /// @notice Most reward points one provider can be given per period.
    uint256 public constant MAX_REWARD_POINTS_PER_PERIOD = 10;
    /// @notice Highest share of stake a data-fraud penalty may burn (the registry caps it too).
    uint16 public constant MAX_FRAUD_SLASH_BPS = 2000;
    /// @notice Longest report period, in seconds.
    uint256 public constant MAX_PERIOD_LENGTH = 30 days;
    /// @notice Most points governance may set one penalty reason to cost.
    uint256 public constant MAX_PENALTY_POINTS = 1000;
    /// @notice Highest score.
    uint256 public constant MAX_SCORE = 1000;
    /// @dev The whole of a rate, in basis points.
    uint256 private constant _BPS = 10_000;
    /// @notice Length of a report period in seconds (periods are floor(time / this)).
    uint256 public immutable periodLength;

    /// @dev What the oracle has said about one provider: one slot (144 bits).
    struct Record {
        uint16 uptimeBps;
        uint16 responseBps;
        uint32 penalties; // oracle penalty points (lost disputes are counted by the Marketplace)
        uint32 rewards;
        uint40 lastUpdated; // 0 = never measured
        bool measured;
        uint32 pointsPeriod; // the period `periodPenalties` and `periodRewards` count in
        uint16 periodPenalties;
        uint16 periodRewards;
    }

    IResourceRegistry private immutable _registry;
    IMarketplace private immutable _marketplace;

    /// @dev Slot: maxResponseTimeMs (32) | fraudSlashBps (16).
    uint32 private _maxResponseTimeMs;
    uint16 private _fraudSlashBps;

    /// @dev Slot: heartbeatPrior (32) | challengePrior (32).
    uint32 private _heartbeatPrior;
    uint32 private _challengePrior;

    mapping(address provider => Record) private _records;
    mapping(address provider => Validation) private _validations;
    mapping(PenaltyReason reason => uint16 points) private _penaltyPoints;
    mapping(address provider => mapping(bytes32 incident => bool)) private _incidents;

    /// @param registry_ The ResourceRegistry (this contract needs its SLASHER_ROLE).
    /// @param marketplace_ The Marketplace whose job statistics feed the score.
    /// @param admin Receives DEFAULT_ADMIN_ROLE (governance).
    /// @param periodLength_ Seconds in one report period (the oracle's period).
    constructor(IResourceRegistry registry_, IMarketplace marketplace_, address admin, uint256 periodLength_) {
        if (periodLength_ == 0 || periodLength_ > MAX_PERIOD_LENGTH) {
            revert ReputationInvalidParameter("periodLength", periodLength_, 1, MAX_PERIOD_LENGTH);
        }
        periodLength = periodLength_;
        _registry = registry_;
        _marketplace = marketplace_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setMaxResponseTimeMs(30_000); // the data-possession challenge expiry
        _setFraudSlashBps(MAX_FRAUD_SLASH_BPS);
        _setPenalty(PenaltyReason.Downtime, 50);
        _setPenalty(PenaltyReason.DataFraud, 200);
        _setPenalty(PenaltyReason.Timeout, 25);
        _setPenalty(PenaltyReason.InvalidSignature, 25);
        _setPenalty(PenaltyReason.LostDispute, 100);
        _setPriors(60, 5); // an hour of 60 s heartbeats; five challenges
    }

    // ================================================================ oracle

    /// @notice Overrides the measurements of `provider` (SPEC: updateReputation): governance's
    /// correction, behind the timelock; the oracle measures through {submitValidationReport}.
    /// @dev Only uptime and response time are taken from `metrics`: completion and dispute
    /// rates come from the Marketplace's settled jobs, which nobody can overrule.
    /// Requirements: DEFAULT_ADMIN_ROLE; uptimeBps <= 10000. Emits {ReputationUpdated}.
    /// @param provider The provider measured.
    /// @param metrics Uptime (bps) and average challenge response time (ms).
    function updateReputation(address provider, Metrics calldata metrics) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (metrics.uptimeBps > _BPS) revert ReputationInvalidBps(metrics.uptimeBps, _BPS);
        Record storage r = _records[provider];
        r.uptimeBps = metrics.uptimeBps;
        r.responseBps = uint16(responseBps(metrics.avgResponseTimeMs));
        r.measured = true;
        r.lastUpdated = uint40(block.timestamp);
        emit ReputationUpdated(provider, getScore(provider), r.uptimeBps, r.responseBps);
    }

    /// @notice Stores one period's validation report on `provider` and recomputes its uptime
    /// and response components (SPEC: submitValidationReport).
    /// @dev Uptime = (kept + heartbeatPrior/2) / (expected + heartbeatPrior) over all reports;
    /// response = the average, over all reported challenges plus `challengePrior` neutral ones,
    /// of each challenge's response component (a failed challenge counts 0). Periods are the
    /// oracle's (floor(time / periodLength)); each provider accepts one report per period, in
    /// increasing order, and only once the period has ended. Requirements: ORACLE_ROLE;
    /// kept <= expected <= periodLength (one heartbeat slot a second at most); passed + failed
    /// challenges <= periodLength; `period` ended and later than the provider's last reported
    /// period. Emits {ValidationReported}, {ReputationUpdated}.
    /// @param provider The provider reported on.
    /// @param period The period the report covers.
    /// @param report Heartbeats kept and expected, challenges passed and failed, response time.
    function submitValidationReport(address provider, uint32 period, Report calldata report)
        external
        onlyRole(ORACLE_ROLE)
    {
        uint256 challenges = uint256(report.challengesPassed) + report.challengesFailed;
        if (
            report.heartbeatsKept > report.heartbeatsExpected || report.heartbeatsExpected > periodLength
                || challenges > periodLength
        ) {
            revert ReputationInvalidReport(report.heartbeatsKept, report.heartbeatsExpected, challenges, periodLength);
        }
        uint256 current = block.timestamp / periodLength;
        if (period >= current) revert ReputationPeriodNotPast(period, current);
        Validation storage v = _validations[provider];
        if (v.reports > 0 && period <= v.lastPeriod) revert ReputationPeriodReported(provider, period, v.lastPeriod);
        v.heartbeatsKept += report.heartbeatsKept;
        v.heartbeatsExpected += report.heartbeatsExpected;
        v.challengesPassed += report.challengesPassed;
        v.challengesFailed += report.challengesFailed;
        v.responseBpsSum += uint64(responseBps(report.avgResponseTimeMs) * report.challengesPassed);
        v.lastPeriod = period;
        v.reports += 1;

        Record storage r = _records[provider];
        r.uptimeBps = uint16(_blend(uint256(v.heartbeatsKept) * _BPS, v.heartbeatsExpected, _heartbeatPrior));
        r.responseBps = uint16(
            _blend(v.responseBpsSum, uint256(v.challengesPassed) + v.challengesFailed, _challengePrior)
        );
        r.measured = true;
        r.lastUpdated = uint40(block.timestamp);
        emit ValidationReported(
            provider,
            period,
            report.heartbeatsKept,
            report.heartbeatsExpected,
            report.challengesPassed,
            report.challengesFailed,
            report.avgResponseTimeMs
        );
        emit ReputationUpdated(provider, getScore(provider), r.uptimeBps, r.responseBps);
    }

    /// @notice Takes the points `reason` costs from `provider` for `incident`; data fraud also
    /// slashes stake (SPEC: applyPenalty; the oracle's reportDowntime is a Downtime penalty).
    /// @dev `incident` names what is penalised (for example the hash of a challenge nonce or of
    /// the first missed heartbeat slot) and is penalised once per provider, whichever oracle
    /// reports it first. Points beyond MAX_PENALTY_POINTS_PER_PERIOD in the current period are
    /// not taken. For DataFraud, `fraudSlashBps` of the provider's stake is burnt through the
    /// registry, which burns at most once per SLASH_INTERVAL (a provider without stake is
    /// penalised only). Requirements: ORACLE_ROLE; `incident` not yet penalised for
    /// `provider`. Emits {PenaltyApplied} (and the registry's {Slashed}).
    /// @param provider The provider penalised.
    /// @param reason Why.
    /// @param incident Unique name of the incident.
    /// @return slashed Base units of stake burnt (0 unless DataFraud).
    function applyPenalty(address provider, PenaltyReason reason, bytes32 incident)
        external
        onlyRole(ORACLE_ROLE)
        returns (uint256 slashed)
    {
        if (_incidents[provider][incident]) revert ReputationIncidentRecorded(incident);
        _incidents[provider][incident] = true;
        Record storage r = _records[provider];
        _rollPeriod(r);
        uint256 points = _within(_penaltyPoints[reason], r.periodPenalties, MAX_PENALTY_POINTS_PER_PERIOD);
        r.periodPenalties += uint16(points); // <= MAX_PENALTY_POINTS_PER_PERIOD
        r.penalties = _addPoints(r.penalties, points);
        emit PenaltyApplied(provider, reason, points, incident);
        if (reason == PenaltyReason.DataFraud) {
            IResourceRegistry.ProviderInfo memory info = _registry.getProvider(provider);
            if (info.registered && info.stake > 0) {
                slashed = _registry.slash(provider, (info.stake * _fraudSlashBps) / _BPS, "data fraud");
            }
        }
    }

    /// @notice Gives `bonus` reward points to `provider` (SPEC: reward).
    /// @dev Points beyond MAX_REWARD_POINTS_PER_PERIOD in the current period are not given.
    /// Requirements: ORACLE_ROLE. Emits {RewardIssued} with the points given.
    /// @param provider The provider rewarded.
    /// @param bonus Points to add (the score still caps at 1000).
    function reward(address provider, uint16 bonus) external onlyRole(ORACLE_ROLE) {
        Record storage r = _records[provider];
        _rollPeriod(r);
        uint256 points = _within(bonus, r.periodRewards, MAX_REWARD_POINTS_PER_PERIOD);
        r.periodRewards += uint16(points); // <= MAX_REWARD_POINTS_PER_PERIOD
        r.rewards = _addPoints(r.rewards, points);
        emit RewardIssued(provider, points);
    }

    // ================================================================ governance

    /// @notice Sets the points a penalty reason costs.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; points <= MAX_PENALTY_POINTS. Applies to lost disputes
    /// retroactively (they are counted, not stored as points). Emits {PenaltyPointsUpdated}.
    /// @param reason The reason.
    /// @param points Points taken each time.
    function setPenaltyPoints(PenaltyReason reason, uint16 points) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (points > MAX_PENALTY_POINTS) revert ReputationInvalidParameter("penaltyPoints", points, 0, MAX_PENALTY_POINTS);
        _setPenalty(reason, points);
    }

    /// @notice Sets the share of stake burnt for data fraud.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; bps <= MAX_FRAUD_SLASH_BPS. Emits {FraudSlashUpdated}.
    /// @param bps Basis points of the stake.
    function setFraudSlashBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFraudSlashBps(bps);
    }

    /// @notice Sets the response time at which the response component reaches 0.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; ms > 0. Emits {MaxResponseTimeUpdated}.
    /// @param ms Milliseconds.
    function setMaxResponseTimeMs(uint32 ms) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxResponseTimeMs(ms);
    }

    /// @notice Sets the weight of the neutral (0.5) prior in the uptime and response components.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE. Takes effect at the next report. Emits
    /// {PriorsUpdated}.
    /// @param heartbeatPrior Heartbeat slots the prior is worth.
    /// @param challengePrior Challenges the prior is worth.
    function setPriors(uint32 heartbeatPrior, uint32 challengePrior) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setPriors(heartbeatPrior, challengePrior);
    }

    // ================================================================ views

    /// @notice Heartbeats and challenges reported on `provider`, summed over periods.
    /// @param provider The provider.
    function getValidation(address provider) external view returns (Validation memory) {
        return _validations[provider];
    }

    /// @notice Whether a penalty for `incident` was already applied to `provider`.
    /// @param provider The provider.
    /// @param incident The incident's name.
    function incidentRecorded(address provider, bytes32 incident) external view returns (bool) {
        return _incidents[provider][incident];
    }

    /// @notice Weights of the neutral prior: heartbeat slots and challenges.
    function priors() external view returns (uint256 heartbeatPrior, uint256 challengePrior) {
        return (_heartbeatPrior, _challengePrior);
    }

    /// @notice The SPEC formula on `metrics`, without penalties or rewards.
    /// @dev `(4u + 2r + 3c + (10000 - d)) / 100` with every component in basis points; the
    /// result is in 0-1000. Requirements: every rate <= 10000.
    /// @param metrics Uptime, response time, completion and dispute rates.
    function calculateScore(Metrics calldata metrics) external view returns (uint256) {
        if (metrics.uptimeBps > _BPS) revert ReputationInvalidBps(metrics.uptimeBps, _BPS);
        if (metrics.completionRateBps > _BPS) revert ReputationInvalidBps(metrics.completionRateBps, _BPS);
        if (metrics.disputeRateBps > _BPS) revert ReputationInvalidBps(metrics.disputeRateBps, _BPS);
        return _formula(
            metrics.uptimeBps, responseBps(metrics.avgResponseTimeMs), metrics.completionRateBps, metrics.disputeRateBps
        );
    }

    /// @notice The response component in basis points for an average response time.
    /// @param avgResponseTimeMs Average response time in milliseconds.
    function responseBps(uint256 avgResponseTimeMs) public view returns (uint256) {
        uint256 maxMs = _maxResponseTimeMs;
        if (avgResponseTimeMs >= maxMs) return 0;
        return _BPS - (avgResponseTimeMs * _BPS) / maxMs;
    }

    /// @notice The reputation of `provider` with its components (SPEC: getReputation).
    /// @param provider The provider.
    function getReputation(address provider) external view returns (ReputationScore memory s) {
        IMarketplace.ProviderStats memory st = _marketplace.providerStats(provider);
        Record memory r = _records[provider];
        (uint256 u, uint256 resp) = _measured(r);
        (uint256 c, uint256 d) = _rates(st);
        s = ReputationScore({
            score: _clamp(_formula(u, resp, c, d), _penaltiesOf(r, st), r.rewards),
            totalJobs: st.totalJobs,
            successfulJobs: st.successfulJobs,
            disputes: st.disputesLost,
            lastUpdated: r.lastUpdated > st.lastJobAt ? r.lastUpdated : st.lastJobAt,
            uptimeBps: u,
            responseBps: resp,
            completionBps: c,
            disputeRateBps: d,
            penalties: _penaltiesOf(r, st),
            rewards: r.rewards
        });
    }

    /// @inheritdoc IReputationSystem
    function getScore(address provider) public view returns (uint256) {
        IMarketplace.ProviderStats memory st = _marketplace.providerStats(provider);
        Record memory r = _records[provider];
        (uint256 u, uint256 resp) = _measured(r);
        (uint256 c, uint256 d) = _rates(st);
        return _clamp(_formula(u, resp, c, d), _penaltiesOf(r, st), r.rewards);
    }

    /// @notice Penalty points taken from `provider` so far, lost disputes included (SPEC:
    /// getPenalty).
    /// @param provider The provider.
    function getPenalty(address provider) external view returns (uint256) {
        return _penaltiesOf(_records[provider], _marketplace.providerStats(provider));
    }

    /// @notice Points a penalty reason costs.
    /// @param reason The reason.
    function penaltyPoints(PenaltyReason reason) external view returns (uint256) {
        return _penaltyPoints[reason];
    }

    /// @notice Share of stake burnt for data fraud, in basis points.
    function fraudSlashBps() external view returns (uint256) {
        return _fraudSlashBps;
    }

    /// @notice Response time at which the response component reaches 0, in milliseconds.
    function maxResponseTimeMs() external view returns (uint256) {
        return _maxResponseTimeMs;
    }

    /// @notice The Marketplace whose job statistics feed the score.
    function marketplace() external view returns (IMarketplace) {
        return _marketplace;
    }

    // ================================================================ internals

    function _measured(Record memory r) private pure returns (uint256 uptime, uint256 response) {
        if (!r.measured) return (UNMEASURED_BPS, UNMEASURED_BPS);
        return (r.uptimeBps, r.responseBps);
    }

    /// @dev Completion and dispute rates weighted by value: a job weighs what it paid (a
    /// success) or what was at stake (an abandoned job, a lost dispute).
    function _rates(IMarketplace.ProviderStats memory st) private pure returns (uint256 completion, uint256 disputeRate) {
        uint256 total = uint256(st.valueSucceeded) + st.valueFailed + st.valueLost;
        if (total == 0) return (_BPS, 0);
        completion = (uint256(st.valueSucceeded) * _BPS) / total;
        disputeRate = (uint256(st.valueLost) * _BPS) / total;
    }

    /// @dev Starts counting the current period's points afresh when a new period began.
    function _rollPeriod(Record storage r) private {
        uint32 period = uint32(block.timestamp / periodLength);
        if (r.pointsPeriod != period) {
            r.pointsPeriod = period;
            r.periodPenalties = 0;
            r.periodRewards = 0;
        }
    }

    /// @dev How many of `points` fit under `cap` when `used` are already given.
    function _within(uint256 points, uint256 used, uint256 cap) private pure returns (uint256) {
        if (used >= cap) return 0;
        return points < cap - used ? points : cap - used;
    }

    function _penaltiesOf(Record memory r, IMarketplace.ProviderStats memory st) private view returns (uint256) {
        return uint256(r.penalties) + uint256(st.disputesLost) * _penaltyPoints[PenaltyReason.LostDispute];
    }

    function _clamp(uint256 base, uint256 penalties, uint256 rewards) private pure returns (uint256) {
        uint256 plus = base + rewards;
        if (penalties >= plus) return 0;
        uint256 score = plus - penalties;
        return score > MAX_SCORE ? MAX_SCORE : score;
    }

    function _formula(uint256 u, uint256 resp, uint256 c, uint256 d) private pure returns (uint256) {
        return (4 * u + 2 * resp + 3 * c + (_BPS - d)) / 100;
    }

    /// @dev (sumBps + prior * 5000) / (count + prior); 0.5 when both are 0.
    function _blend(uint256 sumBps, uint256 count, uint256 prior) private pure returns (uint256) {
        if (count + prior == 0) return UNMEASURED_BPS;
        return (sumBps + prior * UNMEASURED_BPS) / (count + prior);
    }

    function _setPriors(uint32 heartbeatPrior, uint32 challengePrior) private {
        _heartbeatPrior = heartbeatPrior;
        _challengePrior = challengePrior;
        emit PriorsUpdated(heartbeatPrior, challengePrior);
    }

    function _addPoints(uint32 current, uint256 points) private pure returns (uint32) {
        uint256 total = uint256(current) + points;
        return total > type(uint32).max ? type(uint32).max : uint32(total);
    }

    function _setPenalty(PenaltyReason reason, uint16 points) private {
        _penaltyPoints[reason] = points;
        emit PenaltyPointsUpdated(reason, points);
    }

    function _setFraudSlashBps(uint16 bps) private {
        if (bps > MAX_FRAUD_SLASH_BPS) revert ReputationInvalidBps(bps, MAX_FRAUD_SLASH_BPS);
        _fraudSlashBps = bps;
        emit FraudSlashUpdated(bps);
    }

    function _setMaxResponseTimeMs(uint32 ms) private {
        if (ms == 0) revert ReputationInvalidParameter("maxResponseTimeMs", ms, 1, type(uint32).max);
        _maxResponseTimeMs = ms;
        emit MaxResponseTimeUpdated(ms);
    }
}
