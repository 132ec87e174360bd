// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title GPUToken
/// @notice The "GPU Token" (GPU) that renters pay in, providers stake and earn.
/// @dev ERC20 with EIP-2612 permit (a renter approves and creates a job in one transaction),
/// burnable (slashed stake is burnt) and capped. The cap keeps every balance below 2**96, which
/// is what lets the Marketplace and the ResourceRegistry pack token amounts into uint96 fields.
contract GPUToken is ERC20, ERC20Burnable, ERC20Capped, ERC20Permit, AccessControl {
    /// @notice Role allowed to mint new tokens (the devnet faucet, a future emission schedule).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Hard cap on the total supply: one billion tokens, well below 2**96 base units.
    uint256 public constant MAX_SUPPLY = 1_000_000_000 ether;

    /// @param admin Receives DEFAULT_ADMIN_ROLE and MINTER_ROLE.
    /// @param initialHolder Receives `initialSupply` base units at deployment.
    /// @param initialSupply Base units minted to `initialHolder`.
    constructor(address admin, address initialHolder, uint256 initialSupply)
        ERC20("GPU Token", "GPU")
        ERC20Capped(MAX_SUPPLY)
        ERC20Permit("GPU Token")
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
        if (initialSupply > 0) _mint(initialHolder, initialSupply);
    }

    /// @notice Mints `amount` base units to `to`.
    /// @dev Requirements: the caller holds MINTER_ROLE; the cap is not exceeded.
    /// Emits a {Transfer} event from the zero address.
    /// @param to Recipient of the new tokens.
    /// @param amount Base units to mint.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @dev Both ERC20 and ERC20Capped define `_update`; the capped one enforces MAX_SUPPLY.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
