// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

/// @title IReputationSystem
/// @notice Types, errors and events of provider reputation.
interface IReputationSystem {
    /// @notice Measurements of a provider (SPEC: Metrics). Rates in basis points.
    struct Metrics {
        uint16 uptimeBps; // actual uptime / promised uptime, 0-10000
        uint32 avgResponseTimeMs; // average challenge response time
        uint16 completionRateBps; // completed jobs / total jobs, 0-10000
        uint16 disputeRateBps; // lost disputes / total jobs, 0-10000
    }

    /// @notice A provider's reputation (SPEC: ReputationScore) with the formula's components.
    struct ReputationScore {
        uint256 score; // 0-1000
        uint256 totalJobs;
        uint256 successfulJobs;
        uint256 disputes; // disputes lost
        uint256 lastUpdated; // last oracle report or last settled job, whichever is later
        uint256 uptimeBps;
        uint256 responseBps; // 1 - avgResponseTime / maxAcceptableResponseTime
        uint256 completionBps;
        uint256 disputeRateBps;
        uint256 penalties; // points taken so far (oracle penalties and lost disputes)
        uint256 rewards; // points given so far
    }

    /// @notice Why a provider is penalised.
    enum PenaltyReason {
        Downtime,
        DataFraud,
        Timeout,
        InvalidSignature,
        LostDispute
    }

    /// @notice Raised when a basis-point value is above 10000.
    error ReputationInvalidBps(uint256 value);
    /// @notice Raised when a governance parameter is out of range.
    error ReputationInvalidParameter();

    /// @notice Emitted when the oracle's measurements of `provider` are stored; `score` is the
    /// resulting score.
    event ReputationUpdated(address indexed provider, uint256 score, uint256 uptimeBps, uint256 responseBps);
    /// @notice Emitted when `points` are taken from `provider` for `reason`.
    event PenaltyApplied(address indexed provider, PenaltyReason indexed reason, uint256 points);
    /// @notice Emitted when `bonus` points are given to `provider`.
    event RewardIssued(address indexed provider, uint256 bonus);
    /// @notice Emitted when governance changes the points a penalty reason costs.
    event PenaltyPointsUpdated(PenaltyReason indexed reason, uint256 points);
    /// @notice Emitted when governance changes the share of stake slashed for data fraud.
    event FraudSlashUpdated(uint256 bps);
    /// @notice Emitted when governance changes the slowest acceptable response time.
    event MaxResponseTimeUpdated(uint256 ms);

    /// @notice The score (0-1000) of `provider`.
    function getScore(address provider) external view returns (uint256);
}
