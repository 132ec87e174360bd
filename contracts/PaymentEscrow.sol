// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMarketplace} from "./interfaces/IMarketplace.sol";

/// @title PaymentEscrow
/// @notice The escrow module of the Marketplace: locks a job's maxCost, releases what the job
/// cost (provider share and platform fee) to the provider's earnings, refunds the rest; a
/// provider withdraws its earnings in one transfer for any number of jobs (pull payment).
/// @dev Abstract and inherited by the Marketplace, so the escrowed tokens sit in the Marketplace
/// and only the Marketplace can move them. The escrow record of a job is derived from the job
/// itself (locked = maxCost, released = finalCost so far), which saves a cross-contract call and
/// a storage record per job. What was released but not withdrawn is one slot per provider
/// ({Earnings}): settling a job writes it instead of making two token transfers. Every
/// movement emits the SPEC's escrow events.
/// Callers must have updated their own state first (checks-effects-interactions).
abstract contract PaymentEscrow is IMarketplace {
    using SafeERC20 for IERC20;

    /// @notice Highest platform fee governance may ever set: 10%.
    uint256 public constant MAX_FEE_BPS = 1000;

    IERC20 internal immutable _token;

    /// @dev Released and not yet paid out: the provider's share, and the platform fee on it.
    /// Each is at most the tokens ever escrowed, below the supply and far below 2**120. `known`
    /// is set by the first withdrawal and never cleared, so a paid-out slot never returns to
    /// zero and the next credit is a 2,900-gas update, not a 20,000-gas new write (as the
    /// escrow dust does for the Marketplace's balance). Before it, `amount` is not zero: every
    /// credit adds more to the provider's share than to the fee (feeBps < 10000).
    struct Earnings {
        uint120 amount;
        uint120 fee;
        bool known;
    }

    mapping(address provider => Earnings) internal _earnings;

    /// @param token_ The ERC20 jobs are paid in.
    constructor(IERC20 token_) {
        _token = token_;
    }

    /// @dev Pulls `amount` from `user` into escrow (SPEC: lockFunds).
    function _lockFunds(bytes32 jobId, address user, uint256 amount) internal {
        emit FundsLocked(jobId, user, amount);
        _token.safeTransferFrom(user, address(this), amount);
    }

    /// @dev Releases `gross` out of escrow to the provider's earnings: `gross * feeBps / 10000`
    /// is the platform's, the rest the provider's (SPEC: releaseFunds / partialRelease).
    function _releaseFunds(bytes32 jobId, address provider, uint256 gross, uint256 feeBps) internal {
        // slither-disable-next-line incorrect-equality (a computed amount, not a balance)
        if (gross == 0) return;
        uint256 fee = (gross * feeBps) / 10_000;
        // cannot underflow: feeBps <= MAX_FEE_BPS < 10000, so fee < gross
        uint256 providerAmount;
        unchecked {
            providerAmount = gross - fee;
        }
        Earnings storage e = _earnings[provider];
        // checked, cannot overflow: both are bounded by the tokens ever escrowed (< 2**96 each)
        e.amount += uint120(providerAmount);
        e.fee += uint120(fee);
        emit FundsReleased(jobId, provider, providerAmount, fee);
    }

    /// @dev Pays out everything `provider` earned, and the fee on it to `treasury`.
    function _withdrawEarnings(address provider, address treasury) internal {
        Earnings memory e = _earnings[provider];
        // slither-disable-next-line incorrect-equality (stored sums, not a balance)
        if (e.amount == 0 && e.fee == 0) revert MarketplaceNothingToWithdraw(provider);
        _earnings[provider] = Earnings({amount: 0, fee: 0, known: true});
        emit EarningsWithdrawn(provider, e.amount, e.fee, treasury);
        if (e.amount > 0) _token.safeTransfer(provider, e.amount);
        if (e.fee > 0) _token.safeTransfer(treasury, e.fee);
    }

    /// @dev Pulls a dispute bond of `amount` from `from` into escrow.
    function _lockBond(address from, uint256 amount) internal {
        _token.safeTransferFrom(from, address(this), amount);
    }

    /// @dev Pays `amount` out of escrow to `to`: a dispute bond, or the fees collected.
    function _pay(address to, uint256 amount) internal {
        _token.safeTransfer(to, amount);
    }

    /// @dev Returns `amount` from escrow to `user` (SPEC: refund). Zero is skipped.
    function _refund(bytes32 jobId, address user, uint256 amount) internal {
        // slither-disable-next-line incorrect-equality (a computed amount, not a balance)
        if (amount == 0) return;
        emit Refunded(jobId, user, amount);
        _token.safeTransfer(user, amount);
    }
}
