// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {GPUToken} from "../../contracts/GPUToken.sol";
import {ResourceRegistry} from "../../contracts/ResourceRegistry.sol";
import {Marketplace} from "../../contracts/Marketplace.sol";
import {ReputationSystem} from "../../contracts/ReputationSystem.sol";
import {IMarketplace} from "../../contracts/interfaces/IMarketplace.sol";
import {IResourceRegistry} from "../../contracts/interfaces/IResourceRegistry.sol";
import {IReputationSystem} from "../../contracts/interfaces/IReputationSystem.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @dev The few Foundry cheatcodes used here (forge-std is not available on npm in a current
/// version, and these need nothing else).
interface Vm {
    function warp(uint256) external;
    function prank(address) external;
    function startPrank(address) external;
    function stopPrank() external;
}

/// @notice Random calls by two renters, two providers, the oracle and an outsider, with time
/// jumps. Every call is attempted as a random actor; reverts are expected and ignored, the
/// invariants below must hold whatever succeeded.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    GPUToken public immutable token;
    ResourceRegistry public immutable registry;
    Marketplace public immutable market;
    ReputationSystem public immutable reputation;
    address public immutable oracle;
    address[6] public actors;
    bytes32[2] public resources;
    bytes32[] public jobs;
    uint256 public calls;
    uint256 public settled; // successful completions, cancellations and dispute rulings
    uint256 public extended; // successful extensions
    /// @dev Bounds checked as the calls happen (a nonzero count fails an invariant below).
    uint256 public violations;
    string public lastViolation;
    mapping(bytes32 jobId => uint256) public feeAtCreation;
    mapping(address provider => uint256) public lastSlashAt;
    mapping(address provider => mapping(uint256 period => uint256)) public pointsInPeriod;

    constructor(
        GPUToken token_,
        ResourceRegistry registry_,
        Marketplace market_,
        ReputationSystem reputation_,
        address oracle_,
        address[6] memory actors_,
        bytes32[2] memory resources_
    ) {
        token = token_;
        registry = registry_;
        market = market_;
        reputation = reputation_;
        oracle = oracle_;
        actors = actors_;
        resources = resources_;
    }

    function jobCount() external view returns (uint256) {
        return jobs.length;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _job(uint256 seed) internal view returns (bytes32) {
        return jobs.length == 0 ? bytes32(0) : jobs[seed % jobs.length];
    }

    function _violated(string memory what) internal {
        violations++;
        lastViolation = what;
    }

    function createJob(uint256 actorSeed, uint256 resourceSeed, uint256 duration, uint256 limit) external {
        calls++;
        duration = 1 + (duration % (3 * 3600));
        limit = limit % 3 == 0 ? type(uint256).max : limit % (40 ether);
        vm.prank(_actor(actorSeed));
        try market.createJob(resources[resourceSeed % 2], "bafy-image", duration, limit) returns (bytes32 id) {
            jobs.push(id);
            _created[id] = block.timestamp;
            feeAtCreation[id] = market.feeBps();
            if (market.getJob(id).pricePerHour * duration / 3600 > limit) _violated("locked more than the limit");
        } catch {}
    }

    function acceptJob(uint256 actorSeed, uint256 jobSeed) external {
        calls++;
        bytes32 id = _job(jobSeed);
        vm.prank(_actor(actorSeed));
        try market.acceptJob(id) {
            IMarketplace.Job memory job = market.getJob(id);
            // accepted within its accept timeout (updatedAt is now the acceptance)
            if (job.updatedAt > _createdAt(id) + market.terms(job.termsVersion).acceptTimeout) {
                _violated("expired job accepted");
            }
        } catch {}
    }

    mapping(bytes32 jobId => uint256) internal _created;

    function _createdAt(bytes32 id) internal view returns (uint256) {
        return _created[id];
    }

    function setFee(uint256 bps) external {
        calls++;
        try market.setFee(bps % 1001) {} catch {}
    }

    function setTimeouts(uint256 a, uint256 b, uint256 c, uint256 d) external {
        calls++;
        try market.setTimeouts(1 + a % 7200, 1 + b % 7200, 1 + c % 7200, 1 + d % 7200) {} catch {}
    }

    function setDisputeBond(uint256 bps, uint256 minBond) external {
        calls++;
        try market.setDisputeBond(bps % 5001, minBond % (5 ether)) {} catch {}
    }

    function leave(uint256 actorSeed, uint256 step) external {
        calls++;
        address provider = actors[2 + actorSeed % 2];
        vm.startPrank(provider);
        if (step % 3 == 0) {
            try registry.retireResource(resources[actorSeed % 2]) {} catch {}
        } else if (step % 3 == 1) {
            try registry.requestUnstake() {} catch {}
        } else {
            uint256 open = market.providerStats(provider).openJobs;
            try registry.withdrawStake() {
                if (open != 0) _violated("stake left with open jobs");
            } catch {}
        }
        vm.stopPrank();
    }

    /// @dev An extension, mostly by the job's renter (a quarter by a random actor), mostly a
    /// bounded one, sometimes any value (the bound is the contract's to check). What succeeded
    /// must have been the renter's, before a running job's booked end, and must have locked
    /// exactly what the longer booking adds to the cap.
    function extendJob(uint256 actorSeed, uint256 jobSeed, uint256 extra) external {
        calls++;
        if (jobs.length == 0) return;
        bytes32 id = _job(jobSeed);
        extra = extra % 5 == 0 ? extra : 1 + extra % (2 * 3600);
        IMarketplace.Job memory before = market.getJob(id);
        address who = actorSeed % 4 == 0 ? _actor(actorSeed / 4) : before.user; // mostly its renter
        vm.prank(who);
        try market.extendJob(id, extra) returns (uint256 cost) {
            extended++;
            IMarketplace.Job memory job = market.getJob(id);
            if (who != before.user) _violated("extended by someone other than its renter");
            if (job.maxCost != before.maxCost + cost) _violated("an extension locked other than its cost");
            if (job.maxCost != job.pricePerHour * job.estimatedDuration / 3600) _violated("cap is not the booking's");
            if (job.estimatedDuration > market.MAX_DURATION()) _violated("booked past MAX_DURATION");
            bool running = before.status == IMarketplace.JobStatus.Running;
            if (running && block.timestamp >= before.startTime + before.estimatedDuration) {
                _violated("extended after its booked end");
            }
        } catch {}
    }

    function startJob(uint256 actorSeed, uint256 jobSeed) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try market.startJob(_job(jobSeed)) {} catch {}
    }

    function completeJob(uint256 actorSeed, uint256 jobSeed) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try market.completeJob(_job(jobSeed)) {
            settled++;
        } catch {}
    }

    function completeJobAt(uint256 actorSeed, uint256 jobSeed, uint256 back) external {
        calls++;
        // mostly an end within the last `back` seconds, sometimes any value (the bounds are checked)
        uint256 endedAt = back % 4 == 0 ? back : block.timestamp - (back % (block.timestamp + 1));
        vm.prank(_actor(actorSeed));
        try market.completeJobAt(_job(jobSeed), endedAt) {
            settled++;
        } catch {}
    }

    function partialRelease(uint256 actorSeed, uint256 jobSeed, uint256 amount) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try market.partialRelease(_job(jobSeed), amount % 2 == 0 ? type(uint256).max : amount % (10 ether)) {}
            catch {}
    }

    function withdrawEarnings(uint256 actorSeed) external {
        calls++;
        address who = _actor(actorSeed);
        (uint256 amount, uint256 fee) = market.earningsOf(who);
        uint256 before = token.balanceOf(who);
        vm.prank(who);
        try market.withdrawEarnings() {
            if (token.balanceOf(who) != before + amount) _violated("withdrew other than the earnings");
            if (amount == 0 && fee == 0) _violated("withdrew nothing");
        } catch {}
    }

    function collectFees(uint256 actorSeed, uint256 which) external {
        calls++;
        address[] memory listed = new address[](1 + which % 2);
        listed[0] = actors[2 + which % 2];
        if (listed.length == 2) listed[1] = actors[2 + (which / 2) % 2];
        vm.prank(_actor(actorSeed));
        try market.collectFees(listed) {
            (, uint256 fee) = market.earningsOf(listed[0]);
            if (fee != 0) _violated("fees left after collectFees");
        } catch {}
    }

    function cancelJob(uint256 actorSeed, uint256 jobSeed) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try market.cancelJob(_job(jobSeed)) {
            settled++;
        } catch {}
    }

    function disputeJob(uint256 actorSeed, uint256 jobSeed) external {
        calls++;
        vm.prank(_actor(actorSeed));
        bytes32 id = _job(jobSeed);
        try market.disputeJob(id, "why") {
            IMarketplace.Job memory job = market.getJob(id);
            uint256 closes = job.startTime + job.estimatedDuration + market.terms(job.termsVersion).completionGrace;
            if (block.timestamp > closes) _violated("dispute after the window");
        } catch {}
    }

    function resolveDispute(uint256 jobSeed, uint8 outcome, bool asOracle) external {
        calls++;
        vm.prank(asOracle ? oracle : actors[0]);
        try market.resolveDispute(_job(jobSeed), IMarketplace.DisputeOutcome(outcome % 4), "bafy-evidence") {
            settled++;
        } catch {}
    }

    function resolveExpiredDispute(uint256 actorSeed, uint256 jobSeed) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try market.resolveExpiredDispute(_job(jobSeed)) {
            settled++;
        } catch {}
    }

    function updatePricing(uint256 actorSeed, uint256 resourceSeed, uint256 price) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try registry.updatePricing(resources[resourceSeed % 2], price % (100 ether)) {} catch {}
    }

    function slash(uint256 actorSeed, uint256 amount, bool asOracle) external {
        calls++;
        vm.prank(asOracle ? oracle : _actor(actorSeed));
        try registry.slash(_actor(actorSeed), amount % (200 ether), "fuzz") {
            _violated("slashed without the slasher role"); // only the ReputationSystem holds it
        } catch {}
    }

    /// The oracle key doing its worst: penalties with fresh incidents (data fraud burns stake).
    function penalise(uint256 actorSeed, uint8 reason, bool asOracle) external {
        calls++;
        address who = _actor(actorSeed);
        uint256 stakeBefore = registry.getProvider(who).stake;
        vm.prank(asOracle ? oracle : who);
        try reputation.applyPenalty(who, IReputationSystem.PenaltyReason(reason % 5), bytes32(calls)) returns (uint256 burnt) {
            if (burnt > 0) {
                if (burnt * 10_000 > stakeBefore * 2000) _violated("slash above 20%");
                if (lastSlashAt[who] != 0 && block.timestamp < lastSlashAt[who] + 1 days) _violated("slash twice a day");
                lastSlashAt[who] = block.timestamp;
            }
        } catch {}
    }

    function report(uint256 actorSeed, uint32 period, uint32 kept, uint32 expected) external {
        calls++;
        vm.prank(oracle);
        try reputation.submitValidationReport(
            _actor(actorSeed), period, IReputationSystem.Report(kept, expected, 0, 0, 0)
        ) {
            if (uint256(period) >= block.timestamp / reputation.periodLength()) _violated("report for a future period");
            if (expected > reputation.periodLength()) _violated("more slots than seconds");
        } catch {}
    }

    function warp(uint256 seconds_) external {
        calls++;
        vm.warp(block.timestamp + 1 + (seconds_ % (4 days)));
    }
}

contract MarketplaceInvariants {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant DUST = 1;

    GPUToken internal token;
    ResourceRegistry internal registry;
    Marketplace internal market;
    ReputationSystem internal reputation;
    Handler internal handler;
    address[] internal holders;
    uint256 internal initialSupply;

    function setUp() public {
        address oracle = address(0x0AC1E);
        address treasury = address(0x7EA5);
        token = new GPUToken(address(this), address(this), 1_000_000 ether);
        registry = new ResourceRegistry(IERC20(address(token)), address(this), 100 ether, 1 days);
        market = new Marketplace(IERC20(address(token)), IResourceRegistry(address(registry)), address(this), treasury, 200);
        reputation = new ReputationSystem(
            IResourceRegistry(address(registry)), IMarketplace(address(market)), address(this), 3600
        );
        registry.setLinks(IMarketplace(address(market)), reputation);
        reputation.grantRole(reputation.ORACLE_ROLE(), oracle);
        registry.grantRole(registry.SLASHER_ROLE(), address(reputation));
        market.grantRole(market.ORACLE_ROLE(), oracle);
        market.setTimeouts(3600, 600, 300, 1200);
        token.transfer(address(market), DUST);

        address[6] memory actors =
            [address(0xA11CE), address(0xB0B), address(0xCA401), address(0xDA7E), oracle, address(0x0575)];
        bytes32[2] memory resources;
        for (uint256 i; i < actors.length; ++i) {
            token.transfer(actors[i], 10_000 ether);
            vm.startPrank(actors[i]);
            token.approve(address(market), type(uint256).max);
            token.approve(address(registry), type(uint256).max);
            vm.stopPrank();
            holders.push(actors[i]);
        }
        // actors 2 and 3 are providers with one GPU each (prices chosen to make rounding bite)
        for (uint256 i; i < 2; ++i) {
            vm.startPrank(actors[2 + i]);
            registry.registerProvider("http://provider", 150 ether);
            resources[i] = registry.registerResource("H100", 16, 64, 100, i == 0 ? 10 ether : 7_333_333_333_333_333_333);
            vm.stopPrank();
        }
        holders.push(treasury);
        initialSupply = token.totalSupply();
        handler = new Handler(token, registry, market, reputation, oracle, actors, resources);
    }

    /// @dev Forge fuzzes the functions of these contracts only.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// The escrow holds exactly the dust plus, over open jobs, what was locked and not released,
    /// plus the bonds of open disputes.
    function invariant_escrowHoldsExactlyOpenJobs() public view {
        uint256 open;
        uint256 n = handler.jobCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.jobs(i);
            IMarketplace.EscrowRecord memory e = market.getEscrow(id);
            if (!e.completed) open += e.lockedAmount - e.releasedAmount;
            if (market.getJob(id).status == IMarketplace.JobStatus.Disputed) {
                (, uint256 bond) = market.disputeOf(id);
                open += bond;
            }
        }
        for (uint256 i; i < holders.length; ++i) {
            (uint256 amount, uint256 fee) = market.earningsOf(holders[i]);
            open += amount + fee; // released, not yet withdrawn
        }
        require(token.balanceOf(address(market)) == DUST + open, "escrow != dust + open + bonds + earnings");
    }

    /// No bound checked during the calls broke (cost limit, expiry, dispute window, stake lock,
    /// slash caps, report periods).
    function invariant_noBoundBroke() public view {
        require(handler.violations() == 0, handler.lastViolation());
    }

    /// Each job keeps its creation terms; open-job counts match the jobs; a completed job cost
    /// exactly price x the seconds it ran (capped at the booking).
    function invariant_jobsKeepTheirTerms() public view {
        uint256 n = handler.jobCount();
        uint256[2] memory open;
        address[2] memory providers = [handler.actors(2), handler.actors(3)];
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.jobs(i);
            IMarketplace.Job memory job = market.getJob(id);
            require(job.feeBps == handler.feeAtCreation(id), "fee changed on an open job");
            if (job.endTime == 0) open[job.provider == providers[0] ? 0 : 1]++;
            if (job.status == IMarketplace.JobStatus.Completed) {
                uint256 ran = job.endTime - job.startTime;
                if (ran > job.estimatedDuration) ran = job.estimatedDuration;
                require(job.finalCost == job.pricePerHour * ran / 3600, "billed other than the seconds run");
            }
        }
        require(market.providerStats(providers[0]).openJobs == open[0], "open jobs miscounted");
        require(market.providerStats(providers[1]).openJobs == open[1], "open jobs miscounted");
    }

    /// Every settled job paid out exactly what it locked: provider + platform + refund.
    function invariant_settledJobsAddUp() public view {
        uint256 n = handler.jobCount();
        for (uint256 i; i < n; ++i) {
            IMarketplace.EscrowRecord memory e = market.getEscrow(handler.jobs(i));
            if (e.completed) require(e.releasedAmount + e.refundedAmount == e.lockedAmount, "settled != locked");
            require(e.releasedAmount <= e.lockedAmount, "released > locked");
        }
    }

    /// Tokens are conserved: holders + escrow + stake + burnt == initial supply.
    function invariant_supplyConserved() public view {
        uint256 sum = token.balanceOf(address(market)) + token.balanceOf(address(registry))
            + token.balanceOf(address(this));
        for (uint256 i; i < holders.length; ++i) {
            sum += token.balanceOf(holders[i]);
        }
        require(sum == token.totalSupply(), "tokens appeared or vanished");
        require(token.totalSupply() <= initialSupply, "minted without a minter");
    }

    /// Scores stay within 0-1000.
    function invariant_scoresInRange() public view {
        for (uint256 i; i < holders.length; ++i) {
            require(reputation.getScore(holders[i]) <= 1000, "score > 1000");
        }
    }
}
