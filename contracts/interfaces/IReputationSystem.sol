// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

/// @title IReputationSystem
/// @notice Types, errors and events of provider reputation.
interface IReputationSystem {
    /// @notice What the oracle measured for a provider (SPEC: Metrics). Rates in basis points.
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
        uint256 lastUpdated;
        uint256 uptimeBps;
        uint256 responseBps; // 1 - avgResponseTime / maxAcceptableResponseTime
        uint256 completionBps;
        uint256 disputeRateBps;
        uint256 penalties; // points taken so far
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

    /// @notice How a job ended, as the Marketplace reports it.
    enum JobOutcome {
        Succeeded, // completed, or a dispute the provider did not lose
        Failed, // the provider abandoned an accepted job
        DisputeLost, // resolved as the provider's fault
        Inconclusive // a dispute split 50/50: counted, neither a success nor a loss
    }

    /// @notice Raised when a basis-point value is above 10000.
    error ReputationInvalidBps(uint256 value);
    /// @notice Raised when a governance parameter is out of range.
    error ReputationInvalidParameter();

    /// @notice Emitted whenever the score of `provider` is recomputed.
    event ReputationUpdated(address indexed provider, uint256 score, uint256 uptimeBps, uint256 responseBps);
    /// @notice Emitted when `points` are taken from `provider` for `reason`.
    event PenaltyApplied(address indexed provider, PenaltyReason indexed reason, uint256 points);
    /// @notice Emitted when `bonus` points are given to `provider`.
    event RewardIssued(address indexed provider, uint256 bonus);
    /// @notice Emitted when the Marketplace records how a job of `provider` ended.
    event JobRecorded(address indexed provider, JobOutcome outcome);
    /// @notice Emitted when governance changes the points a penalty reason costs.
    event PenaltyPointsUpdated(PenaltyReason indexed reason, uint256 points);
    /// @notice Emitted when governance changes the share of stake slashed for data fraud.
    event FraudSlashUpdated(uint256 bps);
    /// @notice Emitted when governance changes the slowest acceptable response time.
    event MaxResponseTimeUpdated(uint256 ms);

    /// @notice Records how a job of `provider` ended and recomputes its score.
    function recordJob(address provider, JobOutcome outcome) external;
}
