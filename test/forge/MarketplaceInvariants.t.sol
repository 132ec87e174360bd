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

    function createJob(uint256 actorSeed, uint256 resourceSeed, uint256 duration) external {
        calls++;
        duration = 1 + (duration % (3 * 3600));
        vm.prank(_actor(actorSeed));
        try market.createJob(resources[resourceSeed % 2], "bafy-image", duration) returns (bytes32 id) {
            jobs.push(id);
        } catch {}
    }

    function acceptJob(uint256 actorSeed, uint256 jobSeed) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try market.acceptJob(_job(jobSeed)) {} catch {}
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

    function partialRelease(uint256 actorSeed, uint256 jobSeed, uint256 amount) external {
        calls++;
        vm.prank(_actor(actorSeed));
        try market.partialRelease(_job(jobSeed), amount % 2 == 0 ? type(uint256).max : amount % (10 ether)) {}
            catch {}
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
        try market.disputeJob(_job(jobSeed), "why") {} catch {}
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
        try registry.slash(_actor(actorSeed), amount % (200 ether), "fuzz") {} catch {}
    }

    function penalise(uint256 actorSeed, uint8 reason, bool asOracle) external {
        calls++;
        vm.prank(asOracle ? oracle : _actor(actorSeed));
        try reputation.applyPenalty(_actor(actorSeed), IReputationSystem.PenaltyReason(reason % 5), bytes32(calls)) {} catch {}
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
        reputation = new ReputationSystem(IResourceRegistry(address(registry)), IMarketplace(address(market)), address(this));
        reputation.grantRole(reputation.ORACLE_ROLE(), oracle);
        registry.grantRole(registry.SLASHER_ROLE(), address(reputation));
        registry.grantRole(registry.SLASHER_ROLE(), oracle);
        market.grantRole(market.ORACLE_ROLE(), oracle);
        market.setTimeouts(600, 300, 1200);
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

    /// The escrow holds exactly the dust plus, over open jobs, what was locked and not released.
    function invariant_escrowHoldsExactlyOpenJobs() public view {
        uint256 open;
        uint256 n = handler.jobCount();
        for (uint256 i; i < n; ++i) {
            IMarketplace.EscrowRecord memory e = market.getEscrow(handler.jobs(i));
            if (!e.completed) open += e.lockedAmount - e.releasedAmount;
        }
        require(token.balanceOf(address(market)) == DUST + open, "escrow != dust + open");
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
