// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title GpurentTimelock
/// @notice Governance of the gpurent contracts: OpenZeppelin's TimelockController holds every
/// DEFAULT_ADMIN_ROLE, so a parameter change or a role grant (the slasher role, the oracle role)
/// is public on chain for at least `minDelay` before it can take effect, and anyone affected
/// can leave first. Pausing new jobs stays with the pauser, immediately (it moves no money).
/// @dev No code of its own: deployed by `ape run deploy` with the deployer as proposer and
/// executor (a multisig on a real network) and no separate admin, so the delay itself can only
/// be changed through the timelock.
contract GpurentTimelock is TimelockController {
    /// @param minDelay Seconds an operation waits between scheduling and execution.
    /// @param proposers Accounts that may schedule (and cancel) operations.
    /// @param executors Accounts that may execute ready operations.
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
