// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {PaymentEscrow} from "./PaymentEscrow.sol";
import {IResourceRegistry} from "./interfaces/IResourceRegistry.sol";

/// @title Marketplace
/// @notice Brokers GPU jobs: a renter locks maxCost in escrow, the provider accepts and starts
/// the job, and the job settles by the second: `cost = pricePerHour * elapsed / 3600`, capped at
/// maxCost; the provider gets cost minus the platform fee, the treasury the fee, the renter the
/// rest. The renter may book more time before the booked end ({extendJob}), locking its cost. Every non-terminal state has a deadline after which one party alone can end the job,
/// and every deadline, the fee and the dispute bond are fixed per job at creation ({Terms}).
/// Disputes are not free options: the disputer posts a bond that goes to the other party when
/// the ruling goes against it, disputes close with the booked time (plus the grace), and a
/// dispute the oracle leaves unjudged settles as if the job had been completed when it was
/// disputed. A provider's open jobs are counted here and keep its stake in the registry.
/// @dev Ids carry their owners: `jobId = renter << 96 | jobSeq` and
/// `resourceId = provider << 96 | resourceSeq`, so a job is two storage slots (see {JobData}).
/// The image CID lives only in {JobCreated}. How each provider's jobs ended is counted here
/// ({providerStats}) and read by the ReputationSystem, so settling makes no external call
/// besides the token transfers. Pausing stops new jobs only; accepting, starting, settling,
/// cancelling, disputing and refunds always work.
contract Marketplace is PaymentEscrow, AccessControl {
    /// @notice Role of the oracle: resolves disputes.
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    /// @notice Role allowed to pause and unpause new jobs.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Longest estimated duration of one job.
    uint256 public constant MAX_DURATION = 90 days;
    /// @notice Longest any deadline may be set to.
    uint256 public constant MAX_TIMEOUT = 30 days;
    /// @notice Longest image CID, in bytes.
    uint256 public constant MAX_CID_LENGTH = 128;
    /// @notice Longest dispute reason, in bytes.
    uint256 public constant MAX_REASON_LENGTH = 1024;
    /// @notice Highest dispute bond governance may set: 50% of the job's maxCost.
    uint256 public constant MAX_BOND_BPS = 5000;
    /// @notice Base units per unit of the value-weighted job statistics ({ProviderStats}): a
    /// millionth of a token; the whole supply is 1e15 units, well inside the 56-bit field.
    uint256 public constant VALUE_UNIT = 1e12;

    /// @dev Storage of one job: exactly two slots.
    struct JobData {
        // slot 0 (256 bits), written once at creation
        address provider; // 160: provider of the resource when the job was created
        uint80 pricePerHour; // 80: fixed at creation; the registry's price field is 80 bits too
        uint16 termsVersion; // 16: the Terms (fee, deadlines, bond) fixed at creation
        // slot 1 (256 bits), rewritten at every transition and extension
        uint40 resourceSeq; // 40: resourceId = provider << 96 | resourceSeq
        uint32 estimatedDuration; // 32: seconds booked, <= MAX_DURATION; {extendJob} adds to it
        JobStatus status; // 8
        uint40 startTime; // 40: 0 until Running
        uint40 updatedAt; // 40: last transition; the end time once terminal
        uint96 paid; // 96: gross released so far; the final cost once terminal
    }

    IResourceRegistry private immutable _registry;

    /// @dev The header slot, read by every creation: treasury (160) | terms version (16) | job
    /// sequence (64) | paused (8) | reentrancy lock (8). The pause flag and the lock are
    /// OpenZeppelin's Pausable and ReentrancyGuard (same errors, events and checks) kept in
    /// this slot instead of two slots of their own, as Uniswap v3 keeps its lock in slot0: a
    /// creation reads and writes one slot, not three (4,200 gas less per job).
    address private _treasury;
    uint16 private _termsVersion;
    uint64 private _jobSeq;
    bool private _paused;
    bool private _entered;

    mapping(bytes32 jobId => JobData) private _jobs;
    mapping(address provider => ProviderStats) private _stats;
    mapping(uint256 version => Terms) private _terms;
    /// @dev The disputer and its bond, written only when a job is disputed (one slot).
    mapping(bytes32 jobId => DisputeData) private _disputes;

    struct DisputeData {
        address initiator;
        uint96 bond;
    }

    /// @notice Emitted when `account` pauses new jobs (as OpenZeppelin's Pausable).
    event Paused(address account);
    /// @notice Emitted when `account` lifts a pause (as OpenZeppelin's Pausable).
    event Unpaused(address account);
    /// @notice The call needs the contract not paused.
    error EnforcedPause();
    /// @notice The call needs the contract paused.
    error ExpectedPause();
    /// @notice A guarded function was entered again before it returned.
    error ReentrancyGuardReentrantCall();

    /// @dev OpenZeppelin's ReentrancyGuard, on the header slot's lock.
    modifier nonReentrant() {
        if (_entered) revert ReentrancyGuardReentrantCall();
        _entered = true;
        _;
        _entered = false;
    }

    /// @dev OpenZeppelin's Pausable, on the header slot's flag.
    modifier whenNotPaused() {
        if (_paused) revert EnforcedPause();
        _;
    }

    /// @param token_ The GPUToken (ERC20 + EIP-2612 permit).
    /// @param registry_ The ResourceRegistry.
    /// @param admin Receives DEFAULT_ADMIN_ROLE (governance) and PAUSER_ROLE.
    /// @param treasury_ Receives platform fees.
    /// @param feeBps_ Platform fee in basis points (200 = 2%).
    constructor(
        IERC20 token_,
        IResourceRegistry registry_,
        address admin,
        address treasury_,
        uint256 feeBps_
    ) PaymentEscrow(token_) {
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _setTreasury(treasury_);
        if (feeBps_ > MAX_FEE_BPS) revert MarketplaceFeeTooHigh(feeBps_, MAX_FEE_BPS);
        _setTerms(
            Terms({
                acceptTimeout: 1 days,
                startTimeout: 1 hours,
                completionGrace: 15 minutes,
                disputeTimeout: 3 days,
                feeBps: uint16(feeBps_),
                bondBps: 1000,
                minBond: 0
            })
        );
    }

    // ================================================================ renter

    /// @notice Creates a job on `resourceId` and locks its maxCost in escrow (SPEC: createJob).
    /// @dev maxCost = pricePerHour * estimatedDuration / 3600 at the resource's current price,
    /// which the job keeps, with the current {Terms}. Requirements: not paused; the resource is
    /// bookable (see {IResourceRegistry-getJobTerms}); 0 < len(imageCID) <= MAX_CID_LENGTH;
    /// 0 < estimatedDuration <= MAX_DURATION; 0 < maxCost <= maxCostLimit (a price raised
    /// before the transaction is mined makes it revert instead of costing more); the caller
    /// approved maxCost to this contract. Emits {JobCreated} and {FundsLocked}.
    /// @param resourceId The GPU to rent.
    /// @param imageCID IPFS CID of the Docker image to run.
    /// @param estimatedDuration Seconds to book; billing never exceeds this.
    /// @param maxCostLimit The most the renter agrees to lock (and so to pay).
    /// @return jobId The new job's id.
    function createJob(bytes32 resourceId, string calldata imageCID, uint256 estimatedDuration, uint256 maxCostLimit)
        external
        whenNotPaused
        nonReentrant
        returns (bytes32 jobId)
    {
        return _createJob(resourceId, imageCID, estimatedDuration, maxCostLimit);
    }

    /// @notice Approves by EIP-2612 signature and creates the job in one transaction.
    /// @dev The permit is for `maxCostLimit`; if it was already used (e.g. front-run), the call
    /// goes on with the existing allowance. Requirements: as {createJob}, and the job's maxCost
    /// is at most `maxCostLimit` (protects the renter from a price raised before it is mined).
    /// Emits {JobCreated} and {FundsLocked}.
    /// @param resourceId The GPU to rent.
    /// @param imageCID IPFS CID of the Docker image to run.
    /// @param estimatedDuration Seconds to book.
    /// @param maxCostLimit The permit's value: the most the renter agrees to lock.
    /// @param deadline The permit's deadline.
    /// @param v Permit signature.
    /// @param r Permit signature.
    /// @param s Permit signature.
    /// @return jobId The new job's id.
    function createJobWithPermit(
        bytes32 resourceId,
        string calldata imageCID,
        uint256 estimatedDuration,
        uint256 maxCostLimit,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external whenNotPaused nonReentrant returns (bytes32 jobId) {
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), maxCostLimit, deadline, v, r, s) {}
            catch {} // a failed permit falls back to the allowance, checked by transferFrom
        return _createJob(resourceId, imageCID, estimatedDuration, maxCostLimit);
    }

    /// @notice Books `extraSeconds` more of a job at the job's own price, locking what they
    /// cost in escrow: the job's maxCost (the cap on what it can be billed), its booked end,
    /// the end of its dispute window and the time after which anyone may settle it all move by
    /// `extraSeconds`; unused time is refunded at settlement as before.
    /// @dev extraCost = maxCost(duration + extraSeconds) - maxCost(duration), with
    /// maxCost(d) = pricePerHour * d / 3600 as {createJob} computes it, so the job locks exactly
    /// what it would have locked had it been booked for the new duration at creation, and every
    /// settlement (which derives the locked amount from the duration) stays exact to the base
    /// unit. Does not touch the job's last transition, so its accept and start timeouts stay.
    /// Requirements: not paused (an extension is a new booking); the caller is the job's
    /// renter; the job is Created, Accepted or Running, and a Running job is before its booked
    /// end (startTime + duration); 0 < extraSeconds <= MAX_DURATION - duration; extraCost > 0;
    /// the caller approved extraCost to this contract. Emits {JobExtended} and {FundsLocked}.
    /// @param jobId The job.
    /// @param extraSeconds Seconds to add to the booking.
    /// @return extraCost What was locked, in base units.
    function extendJob(bytes32 jobId, uint256 extraSeconds)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 extraCost)
    {
        return _extendJob(jobId, extraSeconds, type(uint256).max);
    }

    /// @notice Approves by EIP-2612 signature and extends the job in one transaction.
    /// @dev As {createJobWithPermit}: the permit is for `costLimit`; if it was already used
    /// (e.g. front-run), the call goes on with the existing allowance. Requirements: as
    /// {extendJob}, and extraCost <= costLimit (the extra cost depends on the duration booked
    /// when it is mined, by one base unit of rounding). Emits {JobExtended} and {FundsLocked}.
    /// @param jobId The job.
    /// @param extraSeconds Seconds to add to the booking.
    /// @param costLimit The permit's value: the most the renter agrees to lock.
    /// @param deadline The permit's deadline.
    /// @param v Permit signature.
    /// @param r Permit signature.
    /// @param s Permit signature.
    /// @return extraCost What was locked, in base units.
    function extendJobWithPermit(
        bytes32 jobId,
        uint256 extraSeconds,
        uint256 costLimit,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external whenNotPaused nonReentrant returns (uint256 extraCost) {
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), costLimit, deadline, v, r, s) {}
            catch {} // a failed permit falls back to the allowance, checked by transferFrom
        return _extendJob(jobId, extraSeconds, costLimit);
    }

    // ================================================================ provider

    /// @notice Accepts a job on one of the caller's resources (SPEC: acceptJob).
    /// @dev Works while paused: a pause stops new jobs, not jobs already paid for.
    /// Requirements: the job is Created and not older than its accept timeout; the caller is
    /// its provider. Emits {JobAccepted}.
    /// @param jobId The job.
    function acceptJob(bytes32 jobId) external {
        _accept(jobId, _jobOf(jobId));
    }

    /// @notice Starts the billing clock once the job's container runs (SPEC: startJob).
    /// @dev An accepted job must start within its start timeout: a renter who stopped watching
    /// is never billed for a run started weeks later. Requirements: the job is Accepted since
    /// at most its start timeout; the caller is its provider. Emits {JobStarted}.
    /// @param jobId The job.
    function startJob(bytes32 jobId) external {
        JobData storage job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Accepted);
        if (msg.sender != job.provider) revert MarketplaceUnauthorized(jobId, msg.sender);
        uint256 expiresAt = uint256(job.updatedAt) + _terms[job.termsVersion].startTimeout;
        if (block.timestamp > expiresAt) revert MarketplaceJobExpired(jobId, expiresAt);
        _start(jobId, job);
    }

    /// @notice Accepts a Created job and starts its billing clock in one transaction: the
    /// common path of a provider that fetched the image and inputs while the job was Created
    /// (unbilled, nothing promised) and whose container now runs.
    /// @dev Exactly {acceptJob} then {startJob} in the same block: the start timeout cannot
    /// have passed (it is at least one second), so only the accept timeout is checked. Works
    /// while paused. Requirements: the job is Created and not older than its accept timeout;
    /// the caller is its provider. Emits {JobAccepted} then {JobStarted}.
    /// @param jobId The job.
    function acceptAndStartJob(bytes32 jobId) external {
        JobData storage job = _jobOf(jobId);
        _checkAccept(jobId, job);
        emit JobAccepted(jobId, msg.sender);
        _start(jobId, job); // one write of the job's slot for both transitions
    }

    /// @notice Settles a running job by the seconds it ran (SPEC: completeJob).
    /// @dev cost = pricePerHour * min(now - startTime, estimatedDuration) / 3600. The provider
    /// or the renter may complete at any time (the renter stops paying); anyone may once the
    /// job is past its duration plus the completion grace, at maxCost.
    /// Requirements: the job is Running. Emits {JobCompleted}, {FundsReleased}, {Refunded}.
    /// @param jobId The job.
    function completeJob(bytes32 jobId) external nonReentrant {
        JobData storage job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Running);
        address provider = job.provider;
        address user = userOf(jobId);
        if (msg.sender != provider && msg.sender != user) {
            uint256 openAt = uint256(job.startTime) + job.estimatedDuration + _terms[job.termsVersion].completionGrace;
            if (block.timestamp < openAt) revert MarketplaceDeadlineNotReached(jobId, openAt);
        }
        _complete(jobId, job, provider, user, _costAt(job, block.timestamp));
    }

    /// @notice Settles a running job whose container ended at `endedAt`, by the seconds it ran
    /// until then: a container that exits while its provider's agent (or engine) is down is not
    /// billed for the time nobody noticed.
    /// @dev cost = max(pricePerHour * min(endedAt - startTime, estimatedDuration) / 3600, paid),
    /// where `paid` is what {partialRelease} already paid early (kept: it cannot be taken back
    /// here). Only the provider may call, on its word alone: `endedAt` is bounded by the start
    /// and the current block, so the cost is at most what {completeJob} would charge now. A
    /// provider can only lower its own pay with it, never raise the renter's bill; the renter's
    /// side is {completeJob} (or a dispute) at any time.
    /// Requirements: the job is Running; the caller is its provider;
    /// startTime <= endedAt <= block.timestamp. Emits {JobCompleted}, {FundsReleased}, {Refunded}.
    /// @param jobId The job.
    /// @param endedAt Chain time (Unix seconds) the job's container ended.
    function completeJobAt(bytes32 jobId, uint256 endedAt) external nonReentrant {
        (JobData storage job, address provider, uint256 cost) = _endedAt(jobId, endedAt);
        _complete(jobId, job, provider, userOf(jobId), cost);
    }

    /// @notice Settles a running job like {completeJobAt} and commits the CID of its result
    /// (the packed output folder on IPFS) on chain, in {ResultCommitted}: the renter's proof of
    /// what was delivered and the oracle's evidence in a dispute.
    /// @dev The CID is not stored, only emitted; its shape is the SDK's to check (untrusted, as
    /// any event). Requirements: as {completeJobAt} (Running; the caller is its provider;
    /// startTime <= endedAt <= block.timestamp; the cost never below what was paid early);
    /// 0 < len(resultCID) <= MAX_CID_LENGTH. Emits {ResultCommitted}, {JobCompleted},
    /// {FundsReleased}, {Refunded}.
    /// @param jobId The job.
    /// @param endedAt Chain time (Unix seconds) the job's container ended.
    /// @param resultCID IPFS CID of the job's result.
    function completeJobWithResult(bytes32 jobId, uint256 endedAt, string calldata resultCID) external nonReentrant {
        (JobData storage job, address provider, uint256 cost) = _endedAt(jobId, endedAt);
        _checkCID(resultCID);
        emit ResultCommitted(jobId, resultCID);
        _complete(jobId, job, provider, userOf(jobId), cost);
    }

    /// @notice Commits the CID of a job's result after the job was settled by someone else
    /// (the renter ended it, or anyone past its deadline) before its provider could pack the
    /// output folder: the result still reaches the renter, with the same proof of delivery.
    /// @dev Emits the same {ResultCommitted} as {completeJobWithResult}; the first such event of
    /// a job is its result (the SDK reads that one), so a later commit changes nothing. Moves
    /// no money. Requirements: the job is Completed, no longer ago than its completion grace;
    /// the caller is its provider; 0 < len(resultCID) <= MAX_CID_LENGTH. Emits {ResultCommitted}.
    /// @param jobId The job.
    /// @param resultCID IPFS CID of the job's result.
    function commitResult(bytes32 jobId, string calldata resultCID) external {
        JobData storage job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Completed);
        if (msg.sender != job.provider) revert MarketplaceUnauthorized(jobId, msg.sender);
        uint256 closesAt = uint256(job.updatedAt) + _terms[job.termsVersion].completionGrace;
        if (block.timestamp > closesAt) revert MarketplaceJobExpired(jobId, closesAt);
        _checkCID(resultCID);
        emit ResultCommitted(jobId, resultCID);
    }

    /// @notice Pays the provider part of what a running job has already cost (SPEC:
    /// partialRelease), so long jobs need not wait for the end to be paid.
    /// @dev What is paid early can be clawed back by a ProviderFault ruling, so the provider's
    /// stake must cover everything paid early on its open jobs. Requirements: the job is
    /// Running; the caller is its provider; 0 < amount <= the accrued cost not yet released
    /// (`type(uint256).max` releases all of it); the provider's releasedOpen + amount <= its
    /// stake. Pays out at once, with every earning the provider had not withdrawn yet.
    /// Emits {FundsReleased} and {EarningsWithdrawn}.
    /// @param jobId The job.
    /// @param amount Gross base units to release (provider share plus fee).
    function partialRelease(bytes32 jobId, uint256 amount) external nonReentrant {
        JobData storage job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Running);
        address provider = job.provider;
        if (msg.sender != provider) revert MarketplaceUnauthorized(jobId, msg.sender);
        uint256 paid = job.paid;
        uint256 accrued = _costAt(job, block.timestamp) - paid;
        if (amount == type(uint256).max) amount = accrued;
        // slither-disable-next-line incorrect-equality (a computed amount, not a balance)
        if (amount == 0 || amount > accrued) revert MarketplaceNothingToRelease(jobId);
        ProviderStats storage st = _stats[provider];
        uint256 releasedOpen = st.releasedOpen;
        uint256 stake = _registry.stakeOf(provider);
        if (releasedOpen + amount > stake) revert MarketplaceReleaseAboveStake(jobId, releasedOpen, amount, stake);
        st.releasedOpen = uint96(releasedOpen + amount); // <= stake < 2**96
        job.paid = uint96(paid + amount); // <= cost <= maxCost < 2**96
        _releaseFunds(jobId, provider, amount, _terms[job.termsVersion].feeBps);
        _withdrawEarnings(provider, _treasury);
    }

    /// @notice Pays out everything the caller earned on its settled jobs (and released early),
    /// in one transfer, and the platform fee on it to the treasury: settling a job credits the
    /// provider's earnings instead of transferring, so a provider pays one transfer for any
    /// number of jobs (pull payment).
    /// @dev Works while paused: earnings are always the provider's to take. Requirements: the
    /// caller has earnings or fees held ({earningsOf}). Emits {EarningsWithdrawn}.
    function withdrawEarnings() external nonReentrant {
        _withdrawEarnings(msg.sender, _treasury);
    }

    /// @notice Pays the platform fee held on the earnings of each of `providers` to the
    /// treasury, for providers that do not withdraw. Anyone may call: the fees only ever go
    /// to the treasury, and the providers' own earnings stay theirs.
    /// @dev Providers with no fee held are skipped. Emits {FeesCollected} per provider paid.
    /// @param providers The providers whose fees to collect.
    function collectFees(address[] calldata providers) external nonReentrant {
        address to = _treasury;
        uint256 total = 0;
        for (uint256 i = 0; i < providers.length; ++i) {
            Earnings storage e = _earnings[providers[i]];
            uint256 fee = e.fee;
            if (fee == 0) continue;
            e.fee = 0;
            total += fee;
            emit FeesCollected(providers[i], fee, to);
        }
        if (total > 0) _pay(to, total);
    }

    // ================================================================ both parties

    /// @notice Cancels a job that has not started; the renter gets everything back.
    /// @dev Created: the renter or the provider (declining) may cancel, and anyone once the
    /// job's accept timeout has passed (it expired; the refund still goes to the renter).
    /// Accepted: the provider may (abandoning it, which counts against its completion rate),
    /// and the renter may once the job's start timeout has passed since acceptance. Works
    /// while paused.
    /// Requirements: the job is Created or Accepted. Emits {JobCancelled} and {Refunded}.
    /// @param jobId The job.
    function cancelJob(bytes32 jobId) external nonReentrant {
        JobData storage job = _jobOf(jobId);
        JobStatus status = job.status;
        address provider = job.provider;
        address user = userOf(jobId);
        bool abandoned = false;
        if (status == JobStatus.Created) {
            if (msg.sender != user && msg.sender != provider) {
                uint256 expiresAt = uint256(job.updatedAt) + _terms[job.termsVersion].acceptTimeout;
                if (block.timestamp <= expiresAt) revert MarketplaceUnauthorized(jobId, msg.sender);
            }
        } else if (status == JobStatus.Accepted) {
            if (msg.sender == user) {
                uint256 openAt = uint256(job.updatedAt) + _terms[job.termsVersion].startTimeout;
                if (block.timestamp < openAt) revert MarketplaceDeadlineNotReached(jobId, openAt);
            } else if (msg.sender != provider) {
                revert MarketplaceUnauthorized(jobId, msg.sender);
            }
            abandoned = true;
        } else {
            revert MarketplaceInvalidJobState(jobId, status);
        }
        uint256 maxCost = _maxCost(job);
        _transition(job, JobStatus.Cancelled);
        // an abandoned job weighs what waiting cost the renter: its price for at most the start
        // timeout (not the whole booking, which a competitor could inflate for free)
        if (abandoned) {
            uint256 waited = (uint256(job.pricePerHour) * _terms[job.termsVersion].startTimeout) / 3600;
            _recordOutcome(provider, Outcome.Failed, waited < maxCost ? waited : maxCost);
        }
        else _closeJob(provider);
        emit JobCancelled(jobId, msg.sender);
        _refund(jobId, user, maxCost);
    }

    /// @notice Disputes a running job (SPEC: disputeJob); billing stops now. The caller posts
    /// the job's dispute bond ({disputeBond}), which it gets back unless the ruling goes
    /// against it, in which case the other party gets it.
    /// @dev A job that has not started cannot be disputed (it costs nothing yet: the renter
    /// cancels it after the start timeout, the provider at once). Requirements: the job is
    /// Running and not past its booked time plus the completion grace; the caller is its renter
    /// or provider; len(reason) <= MAX_REASON_LENGTH; the caller approved the bond to this contract.
    /// Emits {JobDisputed} and {DisputeBondLocked}.
    /// @param jobId The job.
    /// @param reason Free text for the oracle.
    function disputeJob(bytes32 jobId, string calldata reason) external nonReentrant {
        JobData storage job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Running);
        if (msg.sender != userOf(jobId) && msg.sender != job.provider) {
            revert MarketplaceUnauthorized(jobId, msg.sender);
        }
        if (bytes(reason).length > MAX_REASON_LENGTH) {
            revert MarketplaceReasonTooLong(bytes(reason).length, MAX_REASON_LENGTH);
        }
        Terms storage terms = _terms[job.termsVersion];
        uint256 closesAt = uint256(job.startTime) + job.estimatedDuration + terms.completionGrace;
        if (block.timestamp > closesAt) revert MarketplaceDisputeWindowClosed(jobId, closesAt);
        uint256 bond = _bondOf(job, terms);
        _transition(job, JobStatus.Disputed);
        _disputes[jobId] = DisputeData({initiator: msg.sender, bond: uint96(bond)}); // bond <= maxCost < 2**96
        emit JobDisputed(jobId, msg.sender, reason);
        emit DisputeBondLocked(jobId, msg.sender, bond);
        if (bond > 0) _lockBond(msg.sender, bond);
    }

    // ================================================================ oracle

    /// @notice Settles a dispute (SPEC: Disputed -> Resolved).
    /// @dev Let C be the cost from start to the dispute. ProviderFault: the provider is paid
    /// nothing; the renter gets the escrow back and what was already released is clawed back
    /// from the provider's stake (as far as the stake goes); the provider loses a dispute.
    /// UserFault: the provider is paid C. Split (no fault): the provider is paid C. The
    /// disputer's bond goes to the other party when the ruling goes against the disputer
    /// (ProviderFault against the provider, UserFault against the renter), else back to it.
    /// Requirements: ORACLE_ROLE; the job is Disputed; outcome != None.
    /// Emits {DisputeResolved}, {FundsReleased}, {Refunded}, {DisputeBondPaid}, and
    /// {ReleaseClawedBack} when something is clawed back.
    /// @param jobId The job.
    /// @param outcome The ruling.
    /// @param evidenceCID IPFS CID of the evidence the ruling rests on.
    function resolveDispute(bytes32 jobId, DisputeOutcome outcome, string calldata evidenceCID)
        external
        onlyRole(ORACLE_ROLE)
        nonReentrant
    {
        if (outcome == DisputeOutcome.None) revert MarketplaceInvalidOutcome(jobId, outcome);
        _settleDispute(jobId, outcome, evidenceCID);
    }

    /// @notice Settles a dispute the oracle left unjudged past the job's dispute timeout as no
    /// fault: the provider is paid the cost up to the dispute (as if the job had been
    /// completed then) and every bond goes back, so a dispute nobody judged gains and costs
    /// neither party anything.
    /// @dev Anyone may call. Requirements: the job is Disputed since at least its dispute
    /// timeout. Emits {DisputeResolved}, {FundsReleased}, {Refunded}, {DisputeBondPaid}.
    /// @param jobId The job.
    function resolveExpiredDispute(bytes32 jobId) external nonReentrant {
        JobData storage job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Disputed);
        uint256 openAt = uint256(job.updatedAt) + _terms[job.termsVersion].disputeTimeout;
        if (block.timestamp < openAt) revert MarketplaceDeadlineNotReached(jobId, openAt);
        _settleDispute(jobId, DisputeOutcome.Split, "");
    }

    // ================================================================ governance

    /// @notice Sets the platform fee for jobs created from now on (a new terms version).
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; feeBps <= MAX_FEE_BPS. Emits {FeeUpdated} and
    /// {TermsUpdated}.
    /// @param feeBps_ Basis points.
    function setFee(uint256 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps_ > MAX_FEE_BPS) revert MarketplaceFeeTooHigh(feeBps_, MAX_FEE_BPS);
        Terms memory t = _terms[_termsVersion];
        t.feeBps = uint16(feeBps_);
        _setTerms(t);
    }

    /// @notice Sets the address platform fees are paid to.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; non-zero. Emits {TreasuryUpdated}.
    /// @param treasury_ The treasury.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    /// @notice Sets the deadlines of jobs created from now on (a new terms version); open
    /// jobs keep theirs.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; each in 1..MAX_TIMEOUT seconds.
    /// Emits {TimeoutsUpdated} and {TermsUpdated}.
    /// @param acceptTimeout Created and not accepted: the job expires after this.
    /// @param startTimeout Accepted and not started: the renter may cancel after this.
    /// @param completionGrace Past the booked time: disputes close, anyone may settle.
    /// @param disputeTimeout Disputed and unresolved: anyone may settle after this.
    function setTimeouts(uint256 acceptTimeout, uint256 startTimeout, uint256 completionGrace, uint256 disputeTimeout)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        Terms memory t = _terms[_termsVersion];
        (t.acceptTimeout, t.startTimeout, t.completionGrace, t.disputeTimeout) = (
            _timeout(acceptTimeout), _timeout(startTimeout), _timeout(completionGrace), _timeout(disputeTimeout)
        );
        _setTerms(t);
    }

    /// @notice Sets the dispute bond of jobs created from now on (a new terms version):
    /// max(minBond, maxCost * bondBps / 10000), never more than the job's maxCost.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; bondBps <= MAX_BOND_BPS; minBond < 2**96.
    /// Emits {TermsUpdated}.
    /// @param bondBps Share of the job's maxCost.
    /// @param minBond Base units, at least.
    function setDisputeBond(uint256 bondBps, uint256 minBond) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bondBps > MAX_BOND_BPS) revert MarketplaceBondTooHigh(bondBps, MAX_BOND_BPS);
        if (minBond > type(uint96).max) revert MarketplaceBondTooHigh(minBond, type(uint96).max);
        Terms memory t = _terms[_termsVersion];
        (t.bondBps, t.minBond) = (uint16(bondBps), uint96(minBond));
        _setTerms(t);
    }

    /// @notice Stops new jobs; everything else (settlement, cancellation, refunds) goes on.
    /// @dev Requirements: PAUSER_ROLE. Emits {Paused}.
    function pause() external onlyRole(PAUSER_ROLE) whenNotPaused {
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lifts a pause.
    /// @dev Requirements: PAUSER_ROLE. Emits {Unpaused}.
    function unpause() external onlyRole(PAUSER_ROLE) {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    // ================================================================ views

    /// @notice A job (SPEC: getJob). The image CID is in its {JobCreated} event.
    /// @param jobId The job.
    function getJob(bytes32 jobId) external view returns (Job memory) {
        JobData storage job = _jobOf(jobId);
        JobStatus status = job.status;
        return Job({
            jobId: jobId,
            user: userOf(jobId),
            provider: job.provider,
            resourceId: _resourceId(job),
            estimatedDuration: job.estimatedDuration,
            pricePerHour: job.pricePerHour,
            maxCost: _maxCost(job),
            feeBps: _terms[job.termsVersion].feeBps,
            termsVersion: job.termsVersion,
            startTime: job.startTime,
            endTime: _isTerminal(status) ? job.updatedAt : 0,
            updatedAt: job.updatedAt,
            status: status,
            finalCost: job.paid
        });
    }

    /// @notice The escrow of a job (SPEC: EscrowRecord).
    /// @param jobId The job.
    function getEscrow(bytes32 jobId) external view returns (EscrowRecord memory) {
        JobData storage job = _jobOf(jobId);
        bool done = _isTerminal(job.status);
        uint256 maxCost = _maxCost(job);
        return EscrowRecord({
            jobId: jobId,
            user: userOf(jobId),
            provider: job.provider,
            lockedAmount: maxCost,
            releasedAmount: job.paid,
            refundedAmount: done ? maxCost - job.paid : 0,
            completed: done
        });
    }

    /// @notice What a job has cost so far (its final cost once it has ended).
    /// @param jobId The job.
    function accruedCost(bytes32 jobId) external view returns (uint256) {
        JobData storage job = _jobOf(jobId);
        JobStatus status = job.status;
        if (status == JobStatus.Running) return _costAt(job, block.timestamp);
        if (status == JobStatus.Disputed) return _costAt(job, job.updatedAt);
        return job.paid;
    }

    /// @notice The renter encoded in `jobId` (its upper 160 bits).
    /// @param jobId Any job id.
    function userOf(bytes32 jobId) public pure returns (address) {
        return address(uint160(uint256(jobId) >> 96));
    }

    /// @notice Whether new jobs are paused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice Number of jobs created so far.
    function jobCount() external view returns (uint256) {
        return _jobSeq;
    }

    /// @notice Platform fee for new jobs, in basis points.
    function feeBps() external view returns (uint256) {
        return _terms[_termsVersion].feeBps;
    }

    /// @notice The terms version new jobs get.
    function termsVersion() external view returns (uint256) {
        return _termsVersion;
    }

    /// @notice The terms of `version` (a job's are {Job-termsVersion}).
    /// @param version A terms version, 1 to {termsVersion}.
    function terms(uint256 version) external view returns (Terms memory) {
        return _terms[version];
    }

    /// @notice The bond a dispute of `jobId` costs its disputer.
    /// @param jobId The job.
    function disputeBond(bytes32 jobId) external view returns (uint256) {
        JobData storage job = _jobOf(jobId);
        return _bondOf(job, _terms[job.termsVersion]);
    }

    /// @notice Who disputed `jobId` and the bond it posted (zero address if never disputed).
    /// @param jobId The job.
    function disputeOf(bytes32 jobId) external view returns (address initiator, uint256 bond) {
        DisputeData storage d = _disputes[jobId];
        return (d.initiator, d.bond);
    }

    /// @notice Address platform fees are paid to.
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @notice The deadlines new jobs get, in seconds.
    function timeouts()
        external
        view
        returns (uint256 acceptTimeout, uint256 startTimeout, uint256 completionGrace, uint256 disputeTimeout)
    {
        Terms storage t = _terms[_termsVersion];
        return (t.acceptTimeout, t.startTimeout, t.completionGrace, t.disputeTimeout);
    }

    /// @notice The token jobs are paid in.
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The ResourceRegistry.
    function registry() external view returns (IResourceRegistry) {
        return _registry;
    }

    /// @notice How the jobs of `provider` ended; the ReputationSystem derives the completion
    /// and dispute rates of the SPEC formula from these.
    /// @param provider The provider.
    function providerStats(address provider) external view returns (ProviderStats memory) {
        return _stats[provider];
    }

    /// @notice What `provider` earned and has not withdrawn, and the platform fee on it that
    /// the treasury has not collected, in base units.
    /// @param provider The provider.
    function earningsOf(address provider) external view returns (uint256 amount, uint256 fee) {
        Earnings storage e = _earnings[provider];
        return (e.amount, e.fee);
    }

    // ================================================================ internals

    function _createJob(bytes32 resourceId, string calldata imageCID, uint256 estimatedDuration, uint256 costLimit)
        private
        returns (bytes32 jobId)
    {
        _checkCID(imageCID);
        if (estimatedDuration == 0 || estimatedDuration > MAX_DURATION) {
            revert MarketplaceInvalidDuration(estimatedDuration, MAX_DURATION);
        }
        (address provider, uint256 pricePerHour) = _registry.getJobTerms(resourceId);
        // < 2**80 * 2**23 / 3600 < 2**92: fits the uint96 `paid` field, no overflow in uint256
        uint256 maxCost = (pricePerHour * estimatedDuration) / 3600;
        if (maxCost == 0) revert MarketplaceZeroCost(pricePerHour, estimatedDuration);
        if (maxCost > costLimit) revert MarketplaceCostAboveLimit(maxCost, costLimit);

        uint64 seq = ++_jobSeq; // checked: 2**64 jobs
        jobId = bytes32((uint256(uint160(msg.sender)) << 96) | seq);
        _jobs[jobId] = JobData({
            provider: provider,
            pricePerHour: uint80(pricePerHour), // the registry stores prices in 80 bits
            termsVersion: _termsVersion,
            resourceSeq: uint40(uint256(resourceId)), // the registry's sequence is 40 bits
            estimatedDuration: uint32(estimatedDuration), // <= MAX_DURATION
            status: JobStatus.Created,
            startTime: 0,
            updatedAt: uint40(block.timestamp),
            paid: 0
        });
        // cannot overflow: one per open job, far below 2**32
        unchecked {
            _stats[provider].openJobs += 1;
        }
        emit JobCreated(jobId, msg.sender, resourceId, imageCID, pricePerHour, estimatedDuration, maxCost);
        _lockFunds(jobId, msg.sender, maxCost);
    }

    /// @dev The checks and effects of an extension (see {extendJob}), then the lock.
    function _extendJob(bytes32 jobId, uint256 extraSeconds, uint256 costLimit) private returns (uint256 extraCost) {
        JobData storage job = _jobOf(jobId);
        if (msg.sender != userOf(jobId)) revert MarketplaceUnauthorized(jobId, msg.sender);
        JobStatus status = job.status;
        if (status != JobStatus.Created && status != JobStatus.Accepted && status != JobStatus.Running) {
            revert MarketplaceInvalidJobState(jobId, status);
        }
        uint256 duration = job.estimatedDuration;
        if (status == JobStatus.Running) {
            uint256 bookedEnd = uint256(job.startTime) + duration;
            if (block.timestamp >= bookedEnd) revert MarketplaceBookingEnded(jobId, bookedEnd);
        }
        uint256 maxExtra = MAX_DURATION - duration; // cannot underflow: duration <= MAX_DURATION
        if (extraSeconds == 0 || extraSeconds > maxExtra) {
            revert MarketplaceInvalidExtension(jobId, extraSeconds, maxExtra);
        }
        uint256 newDuration = duration + extraSeconds; // <= MAX_DURATION
        uint256 price = job.pricePerHour;
        // both terms as _createJob's maxCost (< 2**92); the new one is at least the old one
        extraCost = (price * newDuration) / 3600 - (price * duration) / 3600;
        // slither-disable-next-line incorrect-equality (a computed amount, not a balance)
        if (extraCost == 0) revert MarketplaceZeroCost(price, extraSeconds);
        if (extraCost > costLimit) revert MarketplaceCostAboveLimit(extraCost, costLimit);
        _setDuration(job, newDuration);
        emit JobExtended(jobId, msg.sender, extraSeconds, extraCost, newDuration);
        _lockFunds(jobId, msg.sender, extraCost);
    }

    /// @dev `job.estimatedDuration = uint32(duration)`, written in assembly: the same line in
    /// Solidity makes the optimizer stop inlining that field's store into {_createJob}, whose
    /// slot-1 writes then no longer merge into one SSTORE (+470 gas on every createJob, measured).
    /// The field is bits 40..71 of the job's second slot, after the 40-bit resourceSeq (see
    /// {JobData}); tests/contracts/test_extend.py reads every field back after an extension.
    /// `duration` <= MAX_DURATION < 2**32, so it fits the field.
    function _setDuration(JobData storage job, uint256 duration) private {
        assembly ("memory-safe") {
            let slot := add(job.slot, 1)
            let mask := shl(40, 0xffffffff)
            sstore(slot, or(and(sload(slot), not(mask)), shl(40, duration)))
        }
    }

    function _settleDispute(bytes32 jobId, DisputeOutcome outcome, string memory evidenceCID) private {
        JobData storage job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Disputed);
        uint256 paid = job.paid;
        uint256 costSoFar = _costAt(job, job.updatedAt); // updatedAt = when it was disputed
        bool providerFault = outcome == DisputeOutcome.ProviderFault;
        uint256 providerTotal = providerFault ? 0 : costSoFar;
        address provider = job.provider;
        address user = userOf(jobId);
        DisputeData memory d = _disputes[jobId];
        // the ruling goes against the disputer: its bond goes to the other party
        bool forfeited = (providerFault && d.initiator == provider)
            || (outcome == DisputeOutcome.UserFault && d.initiator == user);
        uint256 jobFeeBps = _terms[job.termsVersion].feeBps;
        uint256 maxCost = _maxCost(job);
        // what escrow paid out to the provider in all: `paid` stays released on ProviderFault
        // (taken back from the stake below), else the cost up to the dispute
        uint256 released = providerFault ? paid : providerTotal;
        job.paid = uint96(released); // <= costSoFar <= maxCost < 2**96
        _transition(job, JobStatus.Resolved);
        if (providerFault) _recordOutcome(provider, Outcome.DisputeLost, maxCost);
        else if (outcome == DisputeOutcome.UserFault) _recordOutcome(provider, Outcome.Succeeded, costSoFar);
        else _recordOutcome(provider, Outcome.Split, costSoFar);
        _settleEarly(provider, paid);
        emit DisputeResolved(jobId, outcome, providerTotal, msg.sender, evidenceCID);
        if (providerTotal > paid) _releaseFunds(jobId, provider, providerTotal - paid, jobFeeBps);
        _refund(jobId, user, maxCost - released);
        if (d.bond > 0) {
            address to = forfeited ? (d.initiator == user ? provider : user) : d.initiator;
            emit DisputeBondPaid(jobId, to, d.bond, forfeited);
            _pay(to, d.bond);
        }
        if (providerFault && paid > 0) {
            uint256 clawed = _registry.seize(provider, user, paid);
            if (clawed > 0) emit ReleaseClawedBack(jobId, provider, clawed);
        }
    }

    /// @dev Created -> Accepted, by the job's provider within its accept timeout.
    function _accept(bytes32 jobId, JobData storage job) private {
        _checkAccept(jobId, job);
        _transition(job, JobStatus.Accepted);
        emit JobAccepted(jobId, msg.sender);
    }

    /// @dev The checks of accepting: Created, by its provider, within its accept timeout.
    function _checkAccept(bytes32 jobId, JobData storage job) private view {
        _requireStatus(jobId, job, JobStatus.Created);
        if (msg.sender != job.provider) revert MarketplaceUnauthorized(jobId, msg.sender);
        uint256 expiresAt = uint256(job.updatedAt) + _terms[job.termsVersion].acceptTimeout;
        if (block.timestamp > expiresAt) revert MarketplaceJobExpired(jobId, expiresAt);
    }

    /// @dev -> Running now (the caller checked the state, the provider and the timeout).
    function _start(bytes32 jobId, JobData storage job) private {
        job.startTime = uint40(block.timestamp);
        _transition(job, JobStatus.Running);
        emit JobStarted(jobId, block.timestamp);
    }

    /// @dev The checks of a provider's settlement at its container's end `endedAt`, and the
    /// cost: of the seconds run until then, never below what was paid early.
    function _endedAt(bytes32 jobId, uint256 endedAt)
        private
        view
        returns (JobData storage job, address provider, uint256 cost)
    {
        job = _jobOf(jobId);
        _requireStatus(jobId, job, JobStatus.Running);
        provider = job.provider;
        if (msg.sender != provider) revert MarketplaceUnauthorized(jobId, msg.sender);
        uint256 start = job.startTime;
        if (endedAt < start || endedAt > block.timestamp) {
            revert MarketplaceInvalidEndTime(jobId, endedAt, start, block.timestamp);
        }
        cost = _costAt(job, endedAt);
        uint256 early = job.paid;
        if (cost < early) cost = early; // what was paid early stays paid
    }

    /// @dev Ends a running job at `cost` (at least what it paid early, at most its maxCost):
    /// the provider gets the rest of its pay, the renter what is left in escrow.
    function _complete(bytes32 jobId, JobData storage job, address provider, address user, uint256 cost) private {
        uint256 early = job.paid;
        uint256 gross = cost - early; // cannot underflow: both callers keep cost >= paid
        uint256 jobFeeBps = _terms[job.termsVersion].feeBps;
        uint256 maxCost = _maxCost(job);
        job.paid = uint96(cost); // cost <= maxCost < 2**96 (see _createJob)
        _transition(job, JobStatus.Completed);
        _recordOutcome(provider, Outcome.Succeeded, cost);
        _settleEarly(provider, early);
        emit JobCompleted(jobId, cost);
        _releaseFunds(jobId, provider, gross, jobFeeBps);
        _refund(jobId, user, maxCost - cost);
    }

    /// @dev Counts how an accepted job of `provider` ended, weighted by `value` base units, and
    /// closes it (one job fewer keeping the provider's stake).
    function _recordOutcome(address provider, Outcome outcome, uint256 value) private {
        ProviderStats storage st = _stats[provider];
        uint256 units = value / VALUE_UNIT;
        // cannot overflow in practice: one increment per settled job, 2**32 jobs per provider;
        // the failure sums stay far below 2**80 units (each is at most a job's maxCost); openJobs
        // counted this job at creation, so it cannot underflow
        unchecked {
            st.totalJobs += 1;
            st.openJobs -= 1;
            if (outcome == Outcome.Succeeded || outcome == Outcome.Split) {
                if (outcome == Outcome.Succeeded) st.successfulJobs += 1;
                else st.disputesSplit += 1;
                // saturating: pay circulates, so a lifetime sum is not bounded by the supply
                uint256 sum = uint256(st.valueSucceeded) + units;
                st.valueSucceeded = sum > type(uint56).max ? type(uint56).max : uint56(sum);
            } else if (outcome == Outcome.DisputeLost) {
                st.disputesLost += 1;
                st.valueLost += uint80(units == 0 ? 1 : units);
            } else {
                st.valueFailed += uint80(units == 0 ? 1 : units);
            }
        }
        st.lastJobAt = uint40(block.timestamp);
    }

    /// @dev A job that ends no longer has pay released early that its provider's stake backs.
    function _settleEarly(address provider, uint256 early) private {
        // slither-disable-next-line incorrect-equality (a computed amount, not a balance)
        if (early == 0) return;
        // cannot underflow: `early` was added to releasedOpen when it was released
        unchecked {
            _stats[provider].releasedOpen -= uint96(early);
        }
    }

    /// @dev A job that ends without counting (declined, expired or cancelled before it was
    /// accepted) no longer keeps its provider's stake.
    function _closeJob(address provider) private {
        // cannot underflow: the job was counted open at creation
        unchecked {
            _stats[provider].openJobs -= 1;
        }
    }

    /// @dev The one place a job's status changes; stamps the time of the transition.
    function _transition(JobData storage job, JobStatus to) private {
        job.status = to;
        job.updatedAt = uint40(block.timestamp);
    }

    function _requireStatus(bytes32 jobId, JobData storage job, JobStatus expected) private view {
        JobStatus current = job.status;
        if (current != expected) revert MarketplaceInvalidJobState(jobId, current);
    }

    function _jobOf(bytes32 jobId) private view returns (JobData storage job) {
        job = _jobs[jobId];
        if (job.provider == address(0)) revert MarketplaceUnknownJob(jobId);
    }

    /// @dev Cost of the seconds run between the start and `until`, capped at the duration.
    function _costAt(JobData storage job, uint256 until) private view returns (uint256) {
        uint256 start = job.startTime;
        if (start == 0 || until <= start) return 0;
        uint256 elapsed = until - start;
        uint256 duration = job.estimatedDuration;
        if (elapsed > duration) elapsed = duration;
        return (uint256(job.pricePerHour) * elapsed) / 3600;
    }

    function _maxCost(JobData storage job) private view returns (uint256) {
        return (uint256(job.pricePerHour) * job.estimatedDuration) / 3600;
    }

    function _resourceId(JobData storage job) private view returns (bytes32) {
        return bytes32((uint256(uint160(job.provider)) << 96) | job.resourceSeq);
    }

    function _isTerminal(JobStatus status) private pure returns (bool) {
        return status == JobStatus.Completed || status == JobStatus.Cancelled || status == JobStatus.Resolved;
    }

    function _bondOf(JobData storage job, Terms storage t) private view returns (uint256) {
        uint256 maxCost = _maxCost(job);
        uint256 bond = (maxCost * t.bondBps) / 10_000;
        if (bond < t.minBond) bond = t.minBond;
        return bond > maxCost ? maxCost : bond;
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert MarketplaceInvalidTreasury(treasury_);
        _treasury = treasury_;
        emit TreasuryUpdated(treasury_);
    }

    /// @dev A CID argument: 1 to MAX_CID_LENGTH bytes (its shape is the SDK's to check).
    function _checkCID(string calldata cid) private pure {
        uint256 length = bytes(cid).length;
        if (length == 0 || length > MAX_CID_LENGTH) revert MarketplaceInvalidCID(length, MAX_CID_LENGTH);
    }

    function _timeout(uint256 seconds_) private pure returns (uint32) {
        if (seconds_ == 0 || seconds_ > MAX_TIMEOUT) revert MarketplaceInvalidTimeout(seconds_, MAX_TIMEOUT);
        return uint32(seconds_);
    }

    /// @dev Makes `t` the next terms version; jobs created from now on get it.
    function _setTerms(Terms memory t) private {
        uint16 version = _termsVersion + 1; // checked: 65535 versions at most
        _terms[version] = t;
        _termsVersion = version;
        emit FeeUpdated(t.feeBps);
        emit TimeoutsUpdated(t.startTimeout, t.completionGrace, t.disputeTimeout);
        emit TermsUpdated(
            version, t.acceptTimeout, t.startTimeout, t.completionGrace, t.disputeTimeout, t.feeBps, t.bondBps, t.minBond
        );
    }
}
