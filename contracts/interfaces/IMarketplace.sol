// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

/// @title IMarketplace
/// @notice Types, errors and events of the job marketplace and its escrow.
interface IMarketplace {
    /// @notice Job states. Created -> Accepted -> Running -> Completed is the happy path;
    /// Created/Accepted -> Cancelled; Accepted/Running -> Disputed -> Resolved.
    /// Completed, Cancelled and Resolved are terminal and settled.
    enum JobStatus {
        None,
        Created,
        Accepted,
        Running,
        Completed,
        Cancelled,
        Disputed,
        Resolved
    }

    /// @notice How the oracle (or the dispute timeout) settles a dispute. The party a ruling
    /// goes against forfeits the dispute bond it posted (if it was the disputer).
    enum DisputeOutcome {
        None,
        ProviderFault, // provider paid nothing: the renter gets the escrow back and what was
        // already released is clawed back from the provider's stake (up to the stake)
        UserFault, // the renter's fault: provider paid the cost up to the dispute
        Split // no fault found (or the dispute timed out): provider paid the cost up to the
        // dispute, every bond returned; neither party gains or loses by the dispute
    }

    /// @notice How an accepted job ended, for the provider's statistics.
    enum Outcome {
        Succeeded, // completed, or a dispute resolved as the renter's fault
        Failed, // the provider abandoned it, or never started it in time
        DisputeLost, // a dispute resolved as the provider's fault
        Split // a dispute resolved without fault (by the oracle or the dispute timeout)
    }

    /// @notice How the jobs of one provider ended (two slots, read by the ReputationSystem; a
    /// success writes only the first),
    /// and how many are still open (what keeps its stake locked).
    /// @dev The value fields weigh each job by what it was worth, in VALUE_UNIT base units: a
    /// success by the gross amount paid (so a zero-cost or zero-second job weighs nothing), an
    /// abandoned job or a lost dispute by the job's maxCost (at least one unit).
    struct ProviderStats {
        uint32 totalJobs; // accepted jobs that ended (completed, abandoned, resolved)
        uint32 successfulJobs; // completed, or a dispute resolved as the renter's fault
        uint32 disputesLost; // resolved as the provider's fault
        uint32 disputesSplit; // resolved without fault (by the oracle or the dispute timeout)
        uint40 lastJobAt; // when the last of these jobs ended
        uint32 openJobs; // created and not yet ended (Created, Accepted, Running, Disputed)
        uint56 valueSucceeded; // VALUE_UNITs paid on jobs that succeeded (slot 0: the hot path)
        uint80 valueFailed; // VALUE_UNITs of what abandoning cost the renter (slot 1): the job's
        // price for at most its start timeout
        uint80 valueLost; // VALUE_UNITs of maxCost of disputes the provider lost (slot 1)
        uint96 releasedOpen; // base units paid early (partialRelease) on jobs still open: what a
        // ProviderFault ruling may claw back, which the provider's stake must cover
    }

    /// @notice The terms a job is created under and keeps for its whole life: governance
    /// changes make a new version that only later jobs get.
    struct Terms {
        uint32 acceptTimeout; // Created and not accepted: expires (renter refund) after this
        uint32 startTimeout; // Accepted and not started: the renter may cancel after this
        uint32 completionGrace; // after the booked time: disputes close, anyone may settle
        uint32 disputeTimeout; // Disputed and not resolved: anyone may settle after this
        uint16 feeBps; // platform fee
        uint16 bondBps; // dispute bond, share of the job's maxCost
        uint96 minBond; // dispute bond, at least this many base units
    }

    /// @notice A job as returned by {getJob}. The image CID is in {JobCreated}, not in storage.
    struct Job {
        bytes32 jobId;
        address user;
        address provider;
        bytes32 resourceId;
        uint256 estimatedDuration; // seconds booked (at creation, plus extensions)
        uint256 pricePerHour; // fixed at creation
        uint256 maxCost; // locked in escrow (at creation, plus extensions)
        uint256 feeBps; // platform fee, fixed at creation
        uint256 termsVersion; // the Terms (deadlines, fee, bond) the job keeps
        uint256 startTime; // 0 until Running
        uint256 endTime; // 0 until terminal
        uint256 updatedAt; // time of the last transition
        JobStatus status;
        uint256 finalCost; // gross cost paid so far; the final cost once terminal
    }

    /// @notice The escrow of a job (SPEC: EscrowRecord), derived from the job.
    struct EscrowRecord {
        bytes32 jobId;
        address user;
        address provider;
        uint256 lockedAmount;
        uint256 releasedAmount; // gross (provider + platform fee), paid so far
        uint256 refundedAmount;
        bool completed;
    }

    // ----------------------------------------------------------------- errors
    /// @notice Raised when `jobId` does not exist.
    error MarketplaceUnknownJob(bytes32 jobId);
    /// @notice Raised when job `jobId` is `current` but the call needs another state.
    error MarketplaceInvalidJobState(bytes32 jobId, JobStatus current);
    /// @notice Raised when `caller` may not do this to job `jobId`.
    error MarketplaceUnauthorized(bytes32 jobId, address caller);
    /// @notice Raised when a deadline-based action comes before `availableAt`.
    error MarketplaceDeadlineNotReached(bytes32 jobId, uint256 availableAt);
    /// @notice Raised when the estimated `duration` is zero or above `maxDuration` (MAX_DURATION).
    error MarketplaceInvalidDuration(uint256 duration, uint256 maxDuration);
    /// @notice Raised when a job at `pricePerHour` for `duration` seconds would cost nothing
    /// (pricePerHour * duration < 3600 base units).
    error MarketplaceZeroCost(uint256 pricePerHour, uint256 duration);
    /// @notice Raised when the job costs `maxCost` but the renter allowed only `limit`.
    error MarketplaceCostAboveLimit(uint256 maxCost, uint256 limit);
    /// @notice Raised when the image CID is `length` bytes: empty or above `maxLength` (MAX_CID_LENGTH).
    error MarketplaceInvalidCID(uint256 length, uint256 maxLength);
    /// @notice Raised when a dispute reason is `length` bytes, above `maxLength` (MAX_REASON_LENGTH).
    error MarketplaceReasonTooLong(uint256 length, uint256 maxLength);
    /// @notice Raised when a fee above MAX_FEE_BPS is set.
    error MarketplaceFeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    /// @notice Raised when a timeout of `timeout` seconds is zero or above `maxTimeout` (MAX_TIMEOUT).
    error MarketplaceInvalidTimeout(uint256 timeout, uint256 maxTimeout);
    /// @notice Raised when the treasury is set to `treasury`, the zero address.
    error MarketplaceInvalidTreasury(address treasury);
    /// @notice Raised when the dispute on `jobId` is resolved with `outcome` DisputeOutcome.None.
    error MarketplaceInvalidOutcome(bytes32 jobId, DisputeOutcome outcome);
    /// @notice Raised when there is nothing to release yet.
    error MarketplaceNothingToRelease(bytes32 jobId);
    /// @notice Raised when a dispute comes after `closedAt` (the booked time plus the grace).
    error MarketplaceDisputeWindowClosed(bytes32 jobId, uint256 closedAt);
    /// @notice Raised when a Created job is accepted after it expired at `expiredAt`.
    error MarketplaceJobExpired(bytes32 jobId, uint256 expiredAt);
    /// @notice Raised when paying `amount` early would leave more paid early on open jobs
    /// (`releasedOpen` + amount) than the provider's `stake` can claw back.
    error MarketplaceReleaseAboveStake(bytes32 jobId, uint256 releasedOpen, uint256 amount, uint256 stake);
    /// @notice Raised when a dispute bond above MAX_BOND_BPS is set.
    error MarketplaceBondTooHigh(uint256 bondBps, uint256 maxBondBps);
    /// @notice Raised when {completeJobAt} names an end before the job started or after the
    /// current block.
    error MarketplaceInvalidEndTime(bytes32 jobId, uint256 endedAt, uint256 startTime, uint256 latest);
    /// @notice `provider` has no earnings to withdraw.
    error MarketplaceNothingToWithdraw(address provider);
    /// @notice Raised when job `jobId` is extended by `extraSeconds`: zero, or above
    /// `maxExtraSeconds` (what MAX_DURATION leaves beside the time already booked).
    error MarketplaceInvalidExtension(bytes32 jobId, uint256 extraSeconds, uint256 maxExtraSeconds);
    /// @notice Raised when running job `jobId` is extended at or after its booked end
    /// `bookedEnd` (start + duration): its provider's agent is stopping it.
    error MarketplaceBookingEnded(bytes32 jobId, uint256 bookedEnd);

    // ----------------------------------------------------------------- events
    /// @notice Emitted when a renter creates a job and its maxCost is locked (SPEC event, with
    /// the terms an indexer needs).
    event JobCreated(
        bytes32 indexed jobId,
        address indexed user,
        bytes32 indexed resourceId,
        string imageCID,
        uint256 pricePerHour,
        uint256 estimatedDuration,
        uint256 maxCost
    );
    /// @notice Emitted when the renter books `extraSeconds` more of a job at its own price:
    /// `extraCost` more is locked in escrow (its maxCost grows by it), and the job is now booked
    /// for `newDuration` seconds.
    event JobExtended(
        bytes32 indexed jobId, address indexed user, uint256 extraSeconds, uint256 extraCost, uint256 newDuration
    );
    /// @notice Emitted when the provider accepts a job.
    event JobAccepted(bytes32 indexed jobId, address indexed provider);
    /// @notice Emitted when the provider's container runs and billing starts.
    event JobStarted(bytes32 indexed jobId, uint256 startTime);
    /// @notice Emitted when a running job is settled by elapsed time.
    event JobCompleted(bytes32 indexed jobId, uint256 finalCost);
    /// @notice Emitted when the provider settles a job with {completeJobWithResult}: the IPFS
    /// CID of the job's result (its packed output folder), committed with the settlement.
    event ResultCommitted(bytes32 indexed jobId, string resultCID);
    /// @notice Emitted when a job is cancelled before it ran; the renter is refunded in full.
    event JobCancelled(bytes32 indexed jobId, address indexed by);
    /// @notice Emitted when the renter or the provider disputes a job.
    event JobDisputed(bytes32 indexed jobId, address indexed initiator, string reason);
    /// @notice Emitted when a dispute is settled; `evidenceCID` names the evidence on IPFS
    /// (empty when the dispute timed out).
    event DisputeResolved(
        bytes32 indexed jobId, DisputeOutcome outcome, uint256 finalCost, address resolver, string evidenceCID
    );
    /// @notice Emitted when `amount` is locked for a job (escrow).
    event FundsLocked(bytes32 indexed jobId, address indexed user, uint256 amount);
    /// @notice Emitted when escrow releases what a job cost: `providerAmount` is credited to the
    /// provider's earnings and `fee` to the platform's (see {withdrawEarnings}).
    event FundsReleased(bytes32 indexed jobId, address indexed provider, uint256 providerAmount, uint256 fee);
    /// @notice Emitted when `provider`'s earnings are paid out: `amount` to the provider and
    /// the platform `fee` on them to `treasury`.
    event EarningsWithdrawn(address indexed provider, uint256 amount, uint256 fee, address indexed treasury);
    /// @notice Emitted when the platform fee held on `provider`'s earnings is paid to `treasury`.
    event FeesCollected(address indexed provider, uint256 fee, address indexed treasury);
    /// @notice Emitted when escrow returns `amount` to the renter.
    event Refunded(bytes32 indexed jobId, address indexed user, uint256 amount);
    /// @notice Emitted when governance changes the platform fee for new jobs.
    event FeeUpdated(uint256 feeBps);
    /// @notice Emitted when governance changes the treasury.
    event TreasuryUpdated(address indexed treasury);
    /// @notice Emitted when governance changes the deadlines for new jobs.
    event TimeoutsUpdated(uint256 startTimeout, uint256 completionGrace, uint256 disputeTimeout);
    /// @notice Emitted when governance makes a new terms version (fee, deadlines, bond); jobs
    /// created from now on get it, open jobs keep theirs.
    event TermsUpdated(
        uint256 indexed version,
        uint256 acceptTimeout,
        uint256 startTimeout,
        uint256 completionGrace,
        uint256 disputeTimeout,
        uint256 feeBps,
        uint256 bondBps,
        uint256 minBond
    );
    /// @notice Emitted when a disputer's bond is locked.
    event DisputeBondLocked(bytes32 indexed jobId, address indexed by, uint256 amount);
    /// @notice Emitted when a dispute bond is paid out: back to its poster, or to the other
    /// party when the ruling went against the poster.
    event DisputeBondPaid(bytes32 indexed jobId, address indexed to, uint256 amount, bool forfeited);
    /// @notice Emitted when a ProviderFault ruling takes back `amount` already released, out of
    /// the provider's stake.
    event ReleaseClawedBack(bytes32 indexed jobId, address indexed provider, uint256 amount);

    /// @notice How the jobs of `provider` ended.
    function providerStats(address provider) external view returns (ProviderStats memory);

    /// @notice What `provider` earned and has not withdrawn, and the platform fee on it that
    /// the treasury has not collected, in base units.
    function earningsOf(address provider) external view returns (uint256 amount, uint256 fee);
}
