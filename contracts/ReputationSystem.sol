// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IReputationSystem} from "./interfaces/IReputationSystem.sol";
import {IResourceRegistry} from "./interfaces/IResourceRegistry.sol";

/// @title ReputationSystem
/// @notice Provider reputation on a 0-1000 scale, computed with the SPEC's formula:
/// `score = (uptime*0.4 + response*0.2 + completion*0.3 + (1 - disputeRate)*0.1) * 1000`,
/// minus penalty points, plus reward points, clamped to 0-1000.
/// @dev Uptime and response come from the oracle ({updateReputation}); completion and dispute
/// rates come from the job counters the Marketplace keeps here ({recordJob}). Each component is
/// held in basis points, so the formula is `(4u + 2r + 3c + (10000 - d)) / 100`, rounded down.
/// A provider nobody has measured yet counts as uptime 0.5 and response 0.5.
/// Only the Marketplace (MARKETPLACE_ROLE) and the oracle (ORACLE_ROLE) change scores.
contract ReputationSystem is IReputationSystem, AccessControl {
    /// @notice Role of the Marketplace: records job outcomes, applies lost-dispute penalties.
    bytes32 public constant MARKETPLACE_ROLE = keccak256("MARKETPLACE_ROLE");
    /// @notice Role of the oracle: reports metrics, applies penalties, issues rewards.
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");

    /// @notice Components assumed for a provider before the oracle's first report.
    uint16 public constant UNMEASURED_BPS = 5000;

    /// @dev One slot per provider (232 bits).
    struct Record {
        uint16 score;
        uint16 uptimeBps;
        uint16 responseBps;
        uint32 totalJobs;
        uint32 successfulJobs;
        uint32 disputes;
        uint24 penalties;
        uint24 rewards;
        uint40 lastUpdated; // 0 = never touched
    }

    IResourceRegistry private immutable _registry;

    /// @dev Slot: maxResponseTimeMs (32) | fraudSlashBps (16).
    uint32 private _maxResponseTimeMs;
    uint16 private _fraudSlashBps;

    mapping(address provider => Record) private _records;
    mapping(PenaltyReason reason => uint16 points) private _penaltyPoints;

    /// @param registry The ResourceRegistry (this contract needs its SLASHER_ROLE).
    /// @param admin Receives DEFAULT_ADMIN_ROLE (governance).
    constructor(address registry, address admin) {
        _registry = IResourceRegistry(registry);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _maxResponseTimeMs = 30_000; // the challenge expiry
        _fraudSlashBps = 5000;
        _setPenalty(PenaltyReason.Downtime, 50);
        _setPenalty(PenaltyReason.DataFraud, 200);
        _setPenalty(PenaltyReason.Timeout, 25);
        _setPenalty(PenaltyReason.InvalidSignature, 25);
        _setPenalty(PenaltyReason.LostDispute, 100);
    }

    // ================================================================ writes

    /// @notice Stores the oracle's measurements of `provider` and recomputes its score.
    /// @dev Completion and dispute rates in `metrics` are ignored: the on-chain job counters
    /// are the truth for those. Requirements: ORACLE_ROLE; uptimeBps <= 10000.
    /// Emits {ReputationUpdated}.
    /// @param provider The provider measured.
    /// @param metrics Uptime (bps) and average challenge response time (ms).
    function updateReputation(address provider, Metrics calldata metrics) external onlyRole(ORACLE_ROLE) {
        if (metrics.uptimeBps > 10_000) revert ReputationInvalidBps(metrics.uptimeBps);
        Record memory r = _load(provider);
        r.uptimeBps = metrics.uptimeBps;
        r.responseBps = uint16(responseBps(metrics.avgResponseTimeMs));
        _store(provider, r);
    }

    /// @inheritdoc IReputationSystem
    /// @dev Requirements: MARKETPLACE_ROLE. Emits {JobRecorded} and {ReputationUpdated}.
    function recordJob(address provider, JobOutcome outcome) external onlyRole(MARKETPLACE_ROLE) {
        Record memory r = _load(provider);
        r.totalJobs += 1;
        if (outcome == JobOutcome.Succeeded) r.successfulJobs += 1;
        else if (outcome == JobOutcome.DisputeLost) {
            r.disputes += 1;
            r.penalties = _addPoints(r.penalties, _penaltyPoints[PenaltyReason.LostDispute]);
            emit PenaltyApplied(provider, PenaltyReason.LostDispute, _penaltyPoints[PenaltyReason.LostDispute]);
        }
        emit JobRecorded(provider, outcome);
        _store(provider, r);
    }

    /// @notice Takes the points `reason` costs from `provider`; data fraud also slashes stake.
    /// @dev Requirements: ORACLE_ROLE. For DataFraud, `fraudSlashBps` of the provider's stake
    /// is burnt through the registry. Emits {PenaltyApplied} and {ReputationUpdated}.
    /// @param provider The provider penalised.
    /// @param reason Why.
    function applyPenalty(address provider, PenaltyReason reason) external onlyRole(ORACLE_ROLE) {
        Record memory r = _load(provider);
        uint16 points = _penaltyPoints[reason];
        r.penalties = _addPoints(r.penalties, points);
        emit PenaltyApplied(provider, reason, points);
        _store(provider, r);
        if (reason == PenaltyReason.DataFraud) {
            uint256 stake = _registry.getProvider(provider).stake;
            _registry.slash(provider, (stake * _fraudSlashBps) / 10_000, "data fraud");
        }
    }

    /// @notice Gives `bonus` reward points to `provider`.
    /// @dev Requirements: ORACLE_ROLE. Emits {RewardIssued} and {ReputationUpdated}.
    /// @param provider The provider rewarded.
    /// @param bonus Points to add (the score still caps at 1000).
    function reward(address provider, uint16 bonus) external onlyRole(ORACLE_ROLE) {
        Record memory r = _load(provider);
        r.rewards = _addPoints(r.rewards, bonus);
        emit RewardIssued(provider, bonus);
        _store(provider, r);
    }

    /// @notice Sets the points a penalty reason costs.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; points <= 1000. Emits {PenaltyPointsUpdated}.
    /// @param reason The reason.
    /// @param points Points taken each time.
    function setPenaltyPoints(PenaltyReason reason, uint16 points) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (points > 1000) revert ReputationInvalidParameter();
        _setPenalty(reason, points);
    }

    /// @notice Sets the share of stake burnt for data fraud.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; bps <= 10000. Emits {FraudSlashUpdated}.
    /// @param bps Basis points of the stake.
    function setFraudSlashBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > 10_000) revert ReputationInvalidBps(bps);
        _fraudSlashBps = bps;
        emit FraudSlashUpdated(bps);
    }

    /// @notice Sets the response time at which the response component reaches 0.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; ms > 0. Emits {MaxResponseTimeUpdated}.
    /// @param ms Milliseconds.
    function setMaxResponseTimeMs(uint32 ms) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (ms == 0) revert ReputationInvalidParameter();
        _maxResponseTimeMs = ms;
        emit MaxResponseTimeUpdated(ms);
    }

    // ================================================================ views

    /// @notice The SPEC formula on `metrics`, without penalties or rewards.
    /// @dev `(4u + 2r + 3c + (10000 - d)) / 100` with every component in basis points; the
    /// result is in 0-1000. Requirements: every rate <= 10000.
    /// @param metrics Uptime, response time, completion and dispute rates.
    function calculateScore(Metrics calldata metrics) external view returns (uint256) {
        if (metrics.uptimeBps > 10_000) revert ReputationInvalidBps(metrics.uptimeBps);
        if (metrics.completionRateBps > 10_000) revert ReputationInvalidBps(metrics.completionRateBps);
        if (metrics.disputeRateBps > 10_000) revert ReputationInvalidBps(metrics.disputeRateBps);
        return _formula(
            metrics.uptimeBps, responseBps(metrics.avgResponseTimeMs), metrics.completionRateBps, metrics.disputeRateBps
        );
    }

    /// @notice The response component in basis points for an average response time.
    /// @param avgResponseTimeMs Average response time in milliseconds.
    function responseBps(uint256 avgResponseTimeMs) public view returns (uint256) {
        uint256 maxMs = _maxResponseTimeMs;
        if (avgResponseTimeMs >= maxMs) return 0;
        return 10_000 - (avgResponseTimeMs * 10_000) / maxMs;
    }

    /// @notice The reputation of `provider` with its components (SPEC: getReputation).
    /// @param provider The provider.
    function getReputation(address provider) external view returns (ReputationScore memory s) {
        Record memory r = _load(provider);
        (uint256 c, uint256 d) = _rates(r);
        s = ReputationScore({
            score: _score(r),
            totalJobs: r.totalJobs,
            successfulJobs: r.successfulJobs,
            disputes: r.disputes,
            lastUpdated: r.lastUpdated,
            uptimeBps: r.uptimeBps,
            responseBps: r.responseBps,
            completionBps: c,
            disputeRateBps: d,
            penalties: r.penalties,
            rewards: r.rewards
        });
    }

    /// @notice The score (0-1000) of `provider`.
    /// @param provider The provider.
    function getScore(address provider) external view returns (uint256) {
        return _score(_load(provider));
    }

    /// @notice Penalty points taken from `provider` so far (SPEC: getPenalty).
    /// @param provider The provider.
    function getPenalty(address provider) external view returns (uint256) {
        return _records[provider].penalties;
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

    // ================================================================ internals

    function _load(address provider) private view returns (Record memory r) {
        r = _records[provider];
        if (r.lastUpdated == 0) {
            r.uptimeBps = UNMEASURED_BPS;
            r.responseBps = UNMEASURED_BPS;
        }
    }

    function _store(address provider, Record memory r) private {
        r.lastUpdated = uint40(block.timestamp);
        uint256 score = _score(r);
        r.score = uint16(score);
        _records[provider] = r;
        emit ReputationUpdated(provider, score, r.uptimeBps, r.responseBps);
    }

    function _rates(Record memory r) private pure returns (uint256 completion, uint256 disputeRate) {
        if (r.totalJobs == 0) return (10_000, 0);
        completion = (uint256(r.successfulJobs) * 10_000) / r.totalJobs;
        disputeRate = (uint256(r.disputes) * 10_000) / r.totalJobs;
    }

    function _score(Record memory r) private pure returns (uint256) {
        (uint256 c, uint256 d) = _rates(r);
        int256 score = int256(_formula(r.uptimeBps, r.responseBps, c, d)) + int256(uint256(r.rewards))
            - int256(uint256(r.penalties));
        if (score < 0) return 0;
        if (score > 1000) return 1000;
        return uint256(score);
    }

    function _formula(uint256 u, uint256 resp, uint256 c, uint256 d) private pure returns (uint256) {
        return (4 * u + 2 * resp + 3 * c + (10_000 - d)) / 100;
    }

    function _addPoints(uint24 current, uint256 points) private pure returns (uint24) {
        uint256 total = uint256(current) + points;
        return total > type(uint24).max ? type(uint24).max : uint24(total);
    }

    function _setPenalty(PenaltyReason reason, uint16 points) private {
        _penaltyPoints[reason] = points;
        emit PenaltyPointsUpdated(reason, points);
    }
}
