// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IReputationSystem} from "../interfaces/IReputationSystem.sol";

/// @notice TEST ONLY. Reads everything the stateful test's invariants check in one eth_call.
contract InvariantLens {
    struct View {
        uint256[] balances;
        uint256 totalSupply;
        uint8[] statuses;
        uint256[] finalCosts;
        uint256[] endTimes;
        uint256[] scores;
    }

    function read(
        IERC20 token,
        address[] calldata holders,
        IMarketplace market,
        bytes32[] calldata jobIds,
        IReputationSystem reputation,
        address[] calldata providers
    ) external view returns (View memory v) {
        v.balances = new uint256[](holders.length);
        for (uint256 i; i < holders.length; ++i) {
            v.balances[i] = token.balanceOf(holders[i]);
        }
        v.totalSupply = token.totalSupply();
        v.statuses = new uint8[](jobIds.length);
        v.finalCosts = new uint256[](jobIds.length);
        v.endTimes = new uint256[](jobIds.length);
        for (uint256 i; i < jobIds.length; ++i) {
            (bool ok, bytes memory ret) = address(market).staticcall(abi.encodeWithSignature("getJob(bytes32)", jobIds[i]));
            require(ok, "getJob failed");
            IMarketplace.Job memory job = abi.decode(ret, (IMarketplace.Job));
            v.statuses[i] = uint8(job.status);
            v.finalCosts[i] = job.finalCost;
            v.endTimes[i] = job.endTime;
        }
        v.scores = new uint256[](providers.length);
        for (uint256 i; i < providers.length; ++i) {
            v.scores[i] = reputation.getScore(providers[i]);
        }
    }
}
