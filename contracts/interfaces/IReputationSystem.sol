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

    /// @notice One period's validation report from the oracle (SPEC: submitValidationReport).
    struct Report {
        uint32 heartbeatsKept; // heartbeat slots with a valid signed heartbeat
        uint32 heartbeatsExpected; // heartbeat slots the provider was expected to fill
        uint32 challengesPassed; // data-possession challenges answered correctly in time
        uint32 challengesFailed; // late, wrong or badly signed answers
        uint32 avgResponseTimeMs; // average response time of the passed challenges
    }

    /// @notice Everything the oracle has reported about a provider, summed over periods.
    struct Validation {
        uint32 heartbeatsKept;
        uint32 heartbeatsExpected;
        uint32 challengesPassed;
        uint32 challengesFailed;
        uint64 responseBpsSum; // sum over passed challenges of their response component
        uint32 lastPeriod; // last period reported (meaningful when reports > 0)
        uint32 reports;
    }

    /// @notice Why a provider is penalised.
    enum PenaltyReason {
        Downtime,
        DataFraud,
        Timeout,
        InvalidSignature,
        LostDispute
    }

    /// @notice Raised when a basis-point `value` is above `maxBps` (10000 for a rate, or the cap
    /// of the setting).
    error ReputationInvalidBps(uint256 value, uint256 maxBps);
    /// @notice Raised when `value` for the parameter named `parameter` (its Solidity name, as
    /// text) is outside `minValue`..`maxValue`, both included.
    error ReputationInvalidParameter(bytes32 parameter, uint256 value, uint256 minValue, uint256 maxValue);
    /// @notice Raised when a penalty for `incident` was already applied (by any oracle).
    error ReputationIncidentRecorded(bytes32 incident);
    /// @notice Raised when `provider` already has a report for `period` or a later one.
    error ReputationPeriodReported(address provider, uint256 period, uint256 lastPeriod);
    /// @notice Raised when a report cannot be true of a period of `periodLength` seconds: it
    /// says more heartbeats were kept (`heartbeatsKept`) than expected (`heartbeatsExpected`),
    /// expects more heartbeats than the period has seconds, or counts more `challenges` (passed
    /// plus failed) than the period has seconds.
    error ReputationInvalidReport(
        uint256 heartbeatsKept, uint256 heartbeatsExpected, uint256 challenges, uint256 periodLength
    );
    /// @notice Raised when a report is for `period`, which has not ended (current: `current`).
    error ReputationPeriodNotPast(uint256 period, uint256 current);

    /// @notice Emitted when the oracle's measurements of `provider` are stored; `score` is the
    /// resulting score.
    event ReputationUpdated(address indexed provider, uint256 score, uint256 uptimeBps, uint256 responseBps);
    /// @notice Emitted when `points` are taken from `provider` for `reason`; `incident` names the
    /// event penalised (a missed-heartbeat streak, a challenge nonce), each penalised once.
    event PenaltyApplied(address indexed provider, PenaltyReason indexed reason, uint256 points, bytes32 incident);
    /// @notice Emitted when the oracle's report on `provider` for `period` is stored.
    event ValidationReported(
        address indexed provider,
        uint256 indexed period,
        uint256 heartbeatsKept,
        uint256 heartbeatsExpected,
        uint256 challengesPassed,
        uint256 challengesFailed,
        uint256 avgResponseTimeMs
    );
    /// @notice Emitted when governance changes the weight of the neutral prior in the uptime and
    /// response components.
    event PriorsUpdated(uint256 heartbeatPrior, uint256 challengePrior);
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
