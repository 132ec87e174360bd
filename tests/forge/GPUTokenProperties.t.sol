// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

// ERC20 properties of GPUToken, after the ERC20 property sets of crytic/properties
// (https://github.com/crytic/properties, PROPERTIES.md and contracts/ERC20/{internal,external}/
// properties/ERC20{Basic,Burnable,Mintable}Properties.sol, read at commit c793cd93c8f5). The
// property statements and ids are theirs; the code below is our own, written as Foundry fuzz and
// invariant tests against the real token instead of an Echidna/Medusa harness that inherits it.
//
// Ported (each test names the id it states):
//   ERC20-BASE-002  no balance exceeds the total supply            fuzz + invariant
//   ERC20-BASE-003  sum of balances <= total supply                fuzz + invariant (as ==: every
//                                                                  holder is tracked)
//   ERC20-BASE-004  address zero holds nothing                     fuzz + invariant
//   ERC20-BASE-005  transfer to address zero is refused            fuzz + handler
//   ERC20-BASE-006  transferFrom to address zero is refused        fuzz + handler
//   ERC20-BASE-007  self transfer keeps the balance                fuzz + handler
//   ERC20-BASE-008  self transferFrom keeps the balance            fuzz + handler
//   ERC20-BASE-009  transfer of more than the balance is refused   fuzz + handler
//   ERC20-BASE-010  transferFrom of more than the balance refused  fuzz + handler
//   ERC20-BASE-011  zero-amount transfer changes nothing           fuzz + handler
//   ERC20-BASE-012  zero-amount transferFrom changes nothing       fuzz + handler
//   ERC20-BASE-013  transfer moves exactly the amount              fuzz + handler
//   ERC20-BASE-014  transferFrom moves exactly the amount          fuzz + handler
//   ERC20-BASE-015  approve sets the allowance                     fuzz + handler + ghost allowances
//   ERC20-BASE-016  a second approve overwrites the first          fuzz + handler + ghost allowances
//   ERC20-BASE-017  transferFrom spends the allowance (not max)    fuzz + handler + ghost allowances
//   ERC20-BURNABLE-001  burn lowers balance and supply             fuzz + handler
//   ERC20-BURNABLE-002  burnFrom lowers balance and supply         fuzz + handler
//   ERC20-BURNABLE-003  burnFrom spends the allowance (not max)    fuzz + handler + ghost allowances
//   ERC20-MINTABLE-001  mint raises balance and supply             fuzz + handler (within the cap,
//                                                                  by a MINTER_ROLE holder only)
// Added for this token (no crytic id): mint beyond MAX_SUPPLY reverts (ERC20Capped), an account
// without MINTER_ROLE cannot mint, mint to address zero reverts, transferFrom / burnFrom beyond the
// allowance revert (burning another's tokens needs their allowance), burn beyond the balance
// reverts; total supply never exceeds MAX_SUPPLY.
//
// Not ported as stated, and why:
//   ERC20-BASE-001 (total supply is constant): the crytic test is guarded by
//     `require(!isMintableOrBurnable)`, i.e. it applies only to fixed-supply tokens, and GPUToken
//     is both mintable and burnable. Its intent is kept in the refined form that does apply:
//     invariant_supplyMovesOnlyByMintAndBurn (supply == initial + minted - burnt, ghost counted).
//   Where crytic accepts either a revert or a `false` return (BASE-005/006/009/010) we require the
//     revert with the exact OpenZeppelin 5 custom error: GPUToken never returns false.
//   Where crytic narrows inputs to what its harness can reach (the caller's own balance, an
//     allowance above the balance, non-zero amounts, `amount / 2` for the second approve), the
//     fuzz tests below take the balance, allowance and amounts as fuzz inputs instead.
//   The other crytic ERC20 sets (Pausable, IncreaseAllowance) are out of scope: GPUToken is not
//     pausable, and OpenZeppelin 5 has no increaseAllowance/decreaseAllowance.
//   Crytic's assumption that an allowance of 2**256-1 may be "infinite" is made exact: with
//     OpenZeppelin 5 such an allowance must stay untouched by transferFrom and burnFrom.

import {GPUToken} from "../../contracts/GPUToken.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @dev The few Foundry cheatcodes used here (forge-std is not available on npm in a current
/// version, and these need nothing else).
interface Vm {
    function prank(address) external;
    function assume(bool) external pure;
}

/// @dev Shared helpers: the cheatcode handle, bounded inputs and assertions that say what failed.
abstract contract PropertyHelpers {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev An equality a property demands did not hold.
    error PropertyFailed(string what, uint256 got, uint256 want);
    /// @dev A call a property says must revert succeeded, or reverted for another reason.
    error RevertMismatch(string what, bool succeeded, bytes got, bytes want);

    /// @dev `x` mapped onto [lo, hi] (uniformly enough for fuzzing; no overflow at the extremes).
    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bad bounds");
        uint256 span = hi - lo;
        if (span == type(uint256).max) return x;
        return lo + (x % (span + 1));
    }

    function _eq(uint256 got, uint256 want, string memory what) internal pure {
        if (got != want) revert PropertyFailed(what, got, want);
    }

    function _true(bool ok, string memory what) internal pure {
        if (!ok) revert PropertyFailed(what, 0, 1);
    }
}

/// @notice Stateless fuzz tests: each one sets up balances and allowances from its inputs, makes
/// one call and checks the exact effect. The test contract is the token's admin and minter.
contract GPUTokenPropertiesTest is PropertyHelpers {
    address internal constant WHALE = address(0x3A1E);
    uint256 internal constant INITIAL_SUPPLY = 1_000_000 ether;

    GPUToken internal token;
    uint256 internal cap;

    function setUp() public {
        token = new GPUToken(address(this), WHALE, INITIAL_SUPPLY);
        cap = token.MAX_SUPPLY();
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Mints a bounded `amount` (anything the cap still allows) to `who`; returns the
    /// resulting balance.
    function _fund(address who, uint256 amount) internal returns (uint256) {
        amount = _bound(amount, 0, cap - token.totalSupply());
        if (amount > 0) token.mint(who, amount);
        return token.balanceOf(who);
    }

    /// @dev `owner` approves `spender` for `amount` (pranked).
    function _approve(address owner, address spender, uint256 amount) internal {
        vm.prank(owner);
        _true(token.approve(spender, amount), "approve returned false");
    }

    /// @dev Accounts that can act as a token holder: not zero, not the cheatcode address.
    function _assumeUser(address a) internal pure {
        vm.assume(a != address(0) && a != address(vm));
    }

    /// @dev Calls the token as `caller` and requires a revert with exactly `want`.
    function _expectRevertAs(address caller, bytes memory data, bytes memory want, string memory what) internal {
        vm.prank(caller);
        (bool ok, bytes memory got) = address(token).call(data);
        if (ok || keccak256(got) != keccak256(want)) revert RevertMismatch(what, ok, got, want);
    }

    // ------------------------------------------------------------------ ERC20-BASE

    /// ERC20-BASE-002: no user balance is higher than the total supply.
    function testFuzz_userBalanceNotHigherThanSupply(address user, uint256 amount, uint256 burnt) public {
        _assumeUser(user);
        uint256 bal = _fund(user, amount);
        vm.prank(user);
        token.burn(_bound(burnt, 0, bal));
        _true(token.balanceOf(user) <= token.totalSupply(), "BASE-002 balance > supply");
        _true(token.balanceOf(WHALE) <= token.totalSupply(), "BASE-002 whale balance > supply");
    }

    /// ERC20-BASE-003: the balances of distinct users add up to at most the total supply; here
    /// they are all the holders, so exactly to it.
    function testFuzz_usersBalancesNotHigherThanSupply(address a, address b, address c, uint256 x, uint256 y, uint256 z)
        public
    {
        _assumeUser(a);
        _assumeUser(b);
        _assumeUser(c);
        vm.assume(a != b && b != c && a != c && a != WHALE && b != WHALE && c != WHALE);
        _fund(a, x);
        _fund(b, y);
        _fund(c, z);
        uint256 moved = token.balanceOf(a) / 3; // read before the prank, which the next call takes
        vm.prank(a);
        token.transfer(b, moved);
        uint256 sum = token.balanceOf(a) + token.balanceOf(b) + token.balanceOf(c) + token.balanceOf(WHALE);
        _eq(sum, token.totalSupply(), "BASE-003 sum of balances != supply");
    }

    /// ERC20-BASE-004: address zero holds nothing after mints, transfers and burns.
    function testFuzz_zeroAddressBalance(address user, uint256 amount, uint256 moved, uint256 burnt) public {
        _assumeUser(user);
        uint256 bal = _fund(user, amount);
        moved = _bound(moved, 0, bal);
        vm.prank(user);
        token.transfer(WHALE, moved);
        vm.prank(user);
        token.burn(_bound(burnt, 0, bal - moved));
        _eq(token.balanceOf(address(0)), 0, "BASE-004 zero address balance");
    }

    /// ERC20-BASE-005: a transfer to address zero reverts.
    function testFuzz_transferToZeroAddress(address owner, uint256 amount, uint256 value) public {
        _assumeUser(owner);
        uint256 bal = _fund(owner, amount);
        value = _bound(value, 0, bal);
        _expectRevertAs(
            owner,
            abi.encodeCall(token.transfer, (address(0), value)),
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)),
            "BASE-005 transfer to zero"
        );
        _eq(token.balanceOf(owner), bal, "BASE-005 balance changed");
    }

    /// ERC20-BASE-006: a transferFrom to address zero reverts, even within balance and allowance.
    function testFuzz_transferFromToZeroAddress(address owner, address spender, uint256 amount, uint256 allow, uint256 value)
        public
    {
        _assumeUser(owner);
        _assumeUser(spender);
        uint256 bal = _fund(owner, amount);
        _approve(owner, spender, allow);
        value = _bound(value, 0, bal < allow ? bal : allow);
        _expectRevertAs(
            spender,
            abi.encodeCall(token.transferFrom, (owner, address(0), value)),
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)),
            "BASE-006 transferFrom to zero"
        );
        _eq(token.balanceOf(owner), bal, "BASE-006 balance changed");
        _eq(token.allowance(owner, spender), allow, "BASE-006 allowance changed");
    }

    /// ERC20-BASE-007: a transfer to oneself keeps the balance (and the supply).
    function testFuzz_selfTransfer(address owner, uint256 amount, uint256 value) public {
        _assumeUser(owner);
        uint256 bal = _fund(owner, amount);
        uint256 supply = token.totalSupply();
        value = _bound(value, 0, bal);
        vm.prank(owner);
        _true(token.transfer(owner, value), "BASE-007 self transfer failed");
        _eq(token.balanceOf(owner), bal, "BASE-007 self transfer changed balance");
        _eq(token.totalSupply(), supply, "BASE-007 self transfer changed supply");
    }

    /// ERC20-BASE-008: a transferFrom to the owner itself keeps the balance; it still spends the
    /// allowance like any transferFrom.
    function testFuzz_selfTransferFrom(address owner, address spender, uint256 amount, uint256 allow, uint256 value)
        public
    {
        _assumeUser(owner);
        _assumeUser(spender);
        uint256 bal = _fund(owner, amount);
        _approve(owner, spender, allow);
        value = _bound(value, 0, bal < allow ? bal : allow);
        vm.prank(spender);
        _true(token.transferFrom(owner, owner, value), "BASE-008 self transferFrom failed");
        _eq(token.balanceOf(owner), bal, "BASE-008 self transferFrom changed balance");
        _eq(
            token.allowance(owner, spender),
            allow == type(uint256).max ? allow : allow - value,
            "BASE-008 allowance not spent"
        );
    }

    /// ERC20-BASE-009: a transfer of more than the balance reverts and moves nothing.
    function testFuzz_transferMoreThanBalance(address owner, address target, uint256 amount, uint256 excess) public {
        _assumeUser(owner);
        _assumeUser(target);
        uint256 bal = _fund(owner, amount);
        uint256 targetBal = token.balanceOf(target);
        uint256 value = _bound(excess, bal + 1, type(uint256).max);
        _expectRevertAs(
            owner,
            abi.encodeCall(token.transfer, (target, value)),
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, owner, bal, value),
            "BASE-009 transfer above balance"
        );
        _eq(token.balanceOf(owner), bal, "BASE-009 source balance changed");
        _eq(token.balanceOf(target), targetBal, "BASE-009 target balance changed");
    }

    /// ERC20-BASE-010: a transferFrom of more than the owner's balance reverts even when the
    /// allowance covers it, and moves nothing.
    function testFuzz_transferFromMoreThanBalance(
        address owner,
        address spender,
        address target,
        uint256 amount,
        uint256 allow,
        uint256 excess
    ) public {
        _assumeUser(owner);
        _assumeUser(spender);
        _assumeUser(target);
        uint256 bal = _fund(owner, amount);
        uint256 targetBal = token.balanceOf(target);
        uint256 value = _bound(excess, bal + 1, type(uint256).max);
        allow = _bound(allow, value, type(uint256).max);
        _approve(owner, spender, allow);
        _expectRevertAs(
            spender,
            abi.encodeCall(token.transferFrom, (owner, target, value)),
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, owner, bal, value),
            "BASE-010 transferFrom above balance"
        );
        _eq(token.balanceOf(owner), bal, "BASE-010 source balance changed");
        _eq(token.balanceOf(target), targetBal, "BASE-010 target balance changed");
        _eq(token.allowance(owner, spender), allow, "BASE-010 allowance changed");
    }

    /// ERC20-BASE-011: a zero-amount transfer succeeds and changes no balance.
    function testFuzz_transferZeroAmount(address owner, address target, uint256 amount) public {
        _assumeUser(owner);
        _assumeUser(target);
        uint256 bal = _fund(owner, amount);
        uint256 targetBal = token.balanceOf(target);
        vm.prank(owner);
        _true(token.transfer(target, 0), "BASE-011 zero transfer failed");
        _eq(token.balanceOf(owner), bal, "BASE-011 source balance changed");
        _eq(token.balanceOf(target), targetBal, "BASE-011 target balance changed");
    }

    /// ERC20-BASE-012: a zero-amount transferFrom succeeds and changes no balance or allowance.
    function testFuzz_transferFromZeroAmount(address owner, address spender, address target, uint256 amount, uint256 allow)
        public
    {
        _assumeUser(owner);
        _assumeUser(spender);
        _assumeUser(target);
        uint256 bal = _fund(owner, amount);
        _approve(owner, spender, allow);
        uint256 targetBal = token.balanceOf(target);
        vm.prank(spender);
        _true(token.transferFrom(owner, target, 0), "BASE-012 zero transferFrom failed");
        _eq(token.balanceOf(owner), bal, "BASE-012 source balance changed");
        _eq(token.balanceOf(target), targetBal, "BASE-012 target balance changed");
        _eq(token.allowance(owner, spender), allow, "BASE-012 allowance changed");
    }

    /// ERC20-BASE-013: a valid transfer moves exactly `value` and leaves the supply alone.
    function testFuzz_transfer(address owner, address target, uint256 amount, uint256 value) public {
        _assumeUser(owner);
        _assumeUser(target);
        vm.assume(owner != target);
        uint256 bal = _fund(owner, amount);
        uint256 targetBal = token.balanceOf(target);
        uint256 supply = token.totalSupply();
        value = _bound(value, 0, bal);
        vm.prank(owner);
        _true(token.transfer(target, value), "BASE-013 transfer failed");
        _eq(token.balanceOf(owner), bal - value, "BASE-013 wrong source balance");
        _eq(token.balanceOf(target), targetBal + value, "BASE-013 wrong target balance");
        _eq(token.totalSupply(), supply, "BASE-013 supply changed");
    }

    /// ERC20-BASE-014: a valid transferFrom moves exactly `value` from the owner to the target.
    function testFuzz_transferFrom(
        address owner,
        address spender,
        address target,
        uint256 amount,
        uint256 allow,
        uint256 value
    ) public {
        _assumeUser(owner);
        _assumeUser(spender);
        _assumeUser(target);
        vm.assume(owner != target);
        uint256 bal = _fund(owner, amount);
        _approve(owner, spender, allow);
        uint256 targetBal = token.balanceOf(target);
        uint256 spenderBal = token.balanceOf(spender);
        uint256 supply = token.totalSupply();
        value = _bound(value, 0, bal < allow ? bal : allow);
        vm.prank(spender);
        _true(token.transferFrom(owner, target, value), "BASE-014 transferFrom failed");
        _eq(token.balanceOf(owner), bal - value, "BASE-014 wrong source balance");
        _eq(token.balanceOf(target), targetBal + value, "BASE-014 wrong target balance");
        if (spender != owner && spender != target) {
            _eq(token.balanceOf(spender), spenderBal, "BASE-014 spender balance changed");
        }
        _eq(token.totalSupply(), supply, "BASE-014 supply changed");
    }

    /// ERC20-BASE-015: approve sets the allowance to exactly `amount` (and nothing else).
    function testFuzz_setAllowance(address owner, address spender, address other, uint256 amount) public {
        _assumeUser(owner);
        _assumeUser(spender);
        vm.assume(other != spender);
        uint256 otherAllowance = token.allowance(owner, other);
        _approve(owner, spender, amount);
        _eq(token.allowance(owner, spender), amount, "BASE-015 allowance not set");
        _eq(token.allowance(owner, other), otherAllowance, "BASE-015 other allowance changed");
        if (owner != spender) _eq(token.allowance(spender, owner), 0, "BASE-015 reverse allowance set");
    }

    /// ERC20-BASE-016: a second approve overwrites the first, down or up (crytic: `amount / 2`).
    function testFuzz_setAllowanceTwice(address owner, address spender, uint256 first, uint256 second) public {
        _assumeUser(owner);
        _assumeUser(spender);
        _approve(owner, spender, first);
        _eq(token.allowance(owner, spender), first, "BASE-016 first allowance not set");
        _approve(owner, spender, first / 2);
        _eq(token.allowance(owner, spender), first / 2, "BASE-016 halved allowance not set");
        _approve(owner, spender, second);
        _eq(token.allowance(owner, spender), second, "BASE-016 second allowance not set");
    }

    /// ERC20-BASE-017: transferFrom spends exactly `value` of the allowance, except an allowance of
    /// 2**256-1, which OpenZeppelin treats as infinite and leaves untouched.
    function testFuzz_spendAllowanceAfterTransfer(
        address owner,
        address spender,
        address target,
        uint256 amount,
        uint256 allow,
        uint256 value,
        bool infinite
    ) public {
        _assumeUser(owner);
        _assumeUser(spender);
        _assumeUser(target);
        if (infinite) allow = type(uint256).max;
        uint256 bal = _fund(owner, amount);
        _approve(owner, spender, allow);
        value = _bound(value, 0, bal < allow ? bal : allow);
        vm.prank(spender);
        _true(token.transferFrom(owner, target, value), "BASE-017 transferFrom failed");
        _eq(
            token.allowance(owner, spender),
            allow == type(uint256).max ? allow : allow - value,
            "BASE-017 allowance not spent correctly"
        );
    }

    /// (no id) transferFrom beyond the allowance reverts, however large the balance.
    function testFuzz_transferFromMoreThanAllowance(
        address owner,
        address spender,
        address target,
        uint256 amount,
        uint256 allow,
        uint256 value
    ) public {
        _assumeUser(owner);
        _assumeUser(spender);
        _assumeUser(target);
        uint256 bal = _fund(owner, amount);
        vm.assume(bal > 0);
        allow = _bound(allow, 0, bal - 1);
        _approve(owner, spender, allow);
        value = _bound(value, allow + 1, bal);
        _expectRevertAs(
            spender,
            abi.encodeCall(token.transferFrom, (owner, target, value)),
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, spender, allow, value),
            "transferFrom above allowance"
        );
        _eq(token.balanceOf(owner), bal, "balance changed by refused transferFrom");
        _eq(token.allowance(owner, spender), allow, "allowance changed by refused transferFrom");
    }

    // ------------------------------------------------------------------ ERC20-BURNABLE

    /// ERC20-BURNABLE-001: burn lowers the caller's balance and the total supply by `value`.
    function testFuzz_burn(address owner, uint256 amount, uint256 value) public {
        _assumeUser(owner);
        uint256 bal = _fund(owner, amount);
        uint256 supply = token.totalSupply();
        value = _bound(value, 0, bal);
        vm.prank(owner);
        token.burn(value);
        _eq(token.balanceOf(owner), bal - value, "BURNABLE-001 wrong balance after burn");
        _eq(token.totalSupply(), supply - value, "BURNABLE-001 wrong supply after burn");
    }

    /// (no id) burn beyond the balance reverts.
    function testFuzz_burnMoreThanBalance(address owner, uint256 amount, uint256 value) public {
        _assumeUser(owner);
        uint256 bal = _fund(owner, amount);
        value = _bound(value, bal + 1, type(uint256).max);
        _expectRevertAs(
            owner,
            abi.encodeCall(token.burn, (value)),
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, owner, bal, value),
            "burn above balance"
        );
    }

    /// ERC20-BURNABLE-002: burnFrom lowers the owner's balance and the total supply by `value`.
    function testFuzz_burnFrom(address owner, address spender, uint256 amount, uint256 allow, uint256 value) public {
        _assumeUser(owner);
        _assumeUser(spender);
        uint256 bal = _fund(owner, amount);
        _approve(owner, spender, allow);
        uint256 spenderBal = token.balanceOf(spender);
        uint256 supply = token.totalSupply();
        value = _bound(value, 0, bal < allow ? bal : allow);
        vm.prank(spender);
        token.burnFrom(owner, value);
        _eq(token.balanceOf(owner), bal - value, "BURNABLE-002 wrong balance after burnFrom");
        _eq(token.totalSupply(), supply - value, "BURNABLE-002 wrong supply after burnFrom");
        if (spender != owner) _eq(token.balanceOf(spender), spenderBal, "BURNABLE-002 spender balance changed");
    }

    /// ERC20-BURNABLE-003: burnFrom spends exactly `value` of the allowance (not an infinite one).
    function testFuzz_burnFromUpdateAllowance(
        address owner,
        address spender,
        uint256 amount,
        uint256 allow,
        uint256 value,
        bool infinite
    ) public {
        _assumeUser(owner);
        _assumeUser(spender);
        if (infinite) allow = type(uint256).max;
        uint256 bal = _fund(owner, amount);
        _approve(owner, spender, allow);
        value = _bound(value, 0, bal < allow ? bal : allow);
        vm.prank(spender);
        token.burnFrom(owner, value);
        _eq(
            token.allowance(owner, spender),
            allow == type(uint256).max ? allow : allow - value,
            "BURNABLE-003 allowance not spent correctly"
        );
    }

    /// (no id) burning another's tokens needs their allowance: burnFrom beyond it reverts.
    function testFuzz_burnFromMoreThanAllowance(address owner, address spender, uint256 amount, uint256 allow, uint256 value)
        public
    {
        _assumeUser(owner);
        _assumeUser(spender);
        uint256 bal = _fund(owner, amount);
        vm.assume(bal > 0);
        allow = _bound(allow, 0, bal - 1);
        _approve(owner, spender, allow);
        uint256 supply = token.totalSupply();
        value = _bound(value, allow + 1, bal);
        _expectRevertAs(
            spender,
            abi.encodeCall(token.burnFrom, (owner, value)),
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, spender, allow, value),
            "burnFrom above allowance"
        );
        _eq(token.balanceOf(owner), bal, "balance changed by refused burnFrom");
        _eq(token.totalSupply(), supply, "supply changed by refused burnFrom");
    }

    // ------------------------------------------------------------------ ERC20-MINTABLE

    /// ERC20-MINTABLE-001: a mint by the minter raises the target's balance and the supply by
    /// `amount`, for any amount the cap allows.
    function testFuzz_mintTokens(address target, uint256 burnt, uint256 amount) public {
        _assumeUser(target);
        vm.prank(WHALE);
        token.burn(_bound(burnt, 0, INITIAL_SUPPLY)); // start from varied supplies
        uint256 bal = token.balanceOf(target);
        uint256 supply = token.totalSupply();
        amount = _bound(amount, 0, cap - supply);
        token.mint(target, amount);
        _eq(token.balanceOf(target), bal + amount, "MINTABLE-001 wrong balance after mint");
        _eq(token.totalSupply(), supply + amount, "MINTABLE-001 wrong supply after mint");
        _true(token.totalSupply() <= cap, "supply above MAX_SUPPLY");
    }

    /// (no id) minting past MAX_SUPPLY reverts with ERC20ExceededCap, from any supply.
    function testFuzz_mintBeyondCapReverts(address target, uint256 filled, uint256 amount) public {
        _assumeUser(target);
        filled = _bound(filled, 0, cap - INITIAL_SUPPLY);
        if (filled > 0) token.mint(target, filled);
        uint256 supply = token.totalSupply();
        // above the cap, below uint256 overflow (which would panic rather than hit the cap check)
        amount = _bound(amount, cap - supply + 1, type(uint256).max - supply);
        _expectRevertAs(
            address(this),
            abi.encodeCall(token.mint, (target, amount)),
            abi.encodeWithSelector(ERC20Capped.ERC20ExceededCap.selector, supply + amount, cap),
            "mint above cap"
        );
        _eq(token.totalSupply(), supply, "supply changed by refused mint");
        // exactly up to the cap is still allowed
        token.mint(target, cap - supply);
        _eq(token.totalSupply(), cap, "could not mint up to the cap");
    }

    /// (no id) an account without MINTER_ROLE cannot mint, whatever the amount.
    function testFuzz_nonMinterCannotMint(address caller, address target, uint256 amount) public {
        _assumeUser(caller);
        _assumeUser(target);
        vm.assume(caller != address(this));
        bytes32 role = token.MINTER_ROLE();
        uint256 supply = token.totalSupply();
        _expectRevertAs(
            caller,
            abi.encodeCall(token.mint, (target, amount)),
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role),
            "non-minter mint"
        );
        _eq(token.totalSupply(), supply, "supply changed by refused mint");
        // once granted the role, the same account can mint; once revoked, no longer
        token.grantRole(role, caller);
        amount = _bound(amount, 0, cap - supply);
        vm.prank(caller);
        token.mint(target, amount);
        _eq(token.totalSupply(), supply + amount, "granted minter could not mint");
        token.revokeRole(role, caller);
        _expectRevertAs(
            caller,
            abi.encodeCall(token.mint, (target, 1)),
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role),
            "revoked minter mint"
        );
    }

    /// (no id) minting to address zero reverts.
    function testFuzz_mintToZeroAddressReverts(uint256 amount) public {
        amount = _bound(amount, 0, cap - token.totalSupply());
        _expectRevertAs(
            address(this),
            abi.encodeCall(token.mint, (address(0), amount)),
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)),
            "mint to zero"
        );
    }
}

/// @notice Random transfers, approvals, transferFroms, burns, burnFroms, mints and minter-role
/// changes by four actors (actor 0 is the admin and first minter). Each call first computes from
/// the ghost state whether it must succeed and what it must change, then checks the token did
/// exactly that. A mismatch is recorded rather than reverted (the campaign ignores reverts) and is
/// reported by the invariant below.
contract GPUTokenHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    GPUToken public immutable token;
    uint256 public immutable cap;
    address[4] public actors;

    /// @dev Ghost accounting.
    uint256 public ghostMinted;
    uint256 public ghostBurnt;
    mapping(address => mapping(address => uint256)) public ghostAllowance;
    mapping(address => bool) public ghostMinter;

    uint256 public violations;
    string public firstViolation;
    uint256 public successes;

    constructor(GPUToken token_, address[4] memory actors_) {
        token = token_;
        cap = token_.MAX_SUPPLY();
        actors = actors_;
        ghostMinter[actors_[0]] = true;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % 4];
    }

    /// @dev A recipient: usually an actor, one time in eight address zero.
    function _to(uint256 seed) internal view returns (address) {
        return seed % 8 == 7 ? address(0) : actors[seed % 4];
    }

    function _violate(string memory what) internal {
        if (violations == 0) firstViolation = what;
        violations++;
    }

    function _check(bool ok, string memory what) internal {
        if (!ok) _violate(what);
    }

    /// ERC20-BASE-005/007/009/011/013.
    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        address to = _to(toSeed);
        uint256 fromBal = token.balanceOf(from);
        uint256 toBal = token.balanceOf(to);
        uint256 supply = token.totalSupply();
        amount = amount % (fromBal + 2); // at most one above the balance
        bool valid = to != address(0) && amount <= fromBal;
        vm.prank(from);
        try token.transfer(to, amount) returns (bool ok) {
            if (!valid) { _violate("invalid transfer succeeded (BASE-005/009)"); return; }
            _check(ok, "transfer returned false");
            successes++;
            if (from == to) {
                _check(token.balanceOf(from) == fromBal, "self transfer changed balance (BASE-007)");
            } else {
                _check(token.balanceOf(from) == fromBal - amount, "wrong source balance (BASE-011/013)");
                _check(token.balanceOf(to) == toBal + amount, "wrong target balance (BASE-011/013)");
            }
        } catch {
            _check(!valid, "valid transfer reverted (BASE-007/011/013)");
        }
        _check(token.totalSupply() == supply, "transfer changed supply");
    }

    /// ERC20-BASE-015/016.
    function approve(uint256 ownerSeed, uint256 spenderSeed, uint256 amount) external {
        address owner = _actor(ownerSeed);
        address spender = _to(spenderSeed);
        if (amount % 4 == 0) amount = type(uint256).max;
        else if (amount % 4 == 1) amount = amount % 1000 ether;
        vm.prank(owner);
        try token.approve(spender, amount) returns (bool ok) {
            if (spender == address(0)) { _violate("approve to address zero succeeded"); return; }
            _check(ok, "approve returned false");
            successes++;
            ghostAllowance[owner][spender] = amount;
            _check(token.allowance(owner, spender) == amount, "allowance not set (BASE-015/016)");
        } catch {
            _check(spender == address(0), "valid approve reverted (BASE-015)");
        }
    }

    /// ERC20-BASE-006/008/010/012/014/017.
    function transferFrom(uint256 spenderSeed, uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address spender = _actor(spenderSeed);
        address from = _actor(fromSeed);
        address to = _to(toSeed);
        uint256 fromBal = token.balanceOf(from);
        uint256 toBal = token.balanceOf(to);
        uint256 allow = token.allowance(from, spender);
        uint256 supply = token.totalSupply();
        uint256 limit = fromBal < allow ? fromBal : allow;
        amount = amount % (limit + 2);
        bool valid = to != address(0) && amount <= fromBal && amount <= allow;
        vm.prank(spender);
        try token.transferFrom(from, to, amount) returns (bool ok) {
            if (!valid) { _violate("invalid transferFrom succeeded (BASE-006/010)"); return; }
            _check(ok, "transferFrom returned false");
            successes++;
            if (from == to) {
                _check(token.balanceOf(from) == fromBal, "self transferFrom changed balance (BASE-008)");
            } else {
                _check(token.balanceOf(from) == fromBal - amount, "wrong source balance (BASE-012/014)");
                _check(token.balanceOf(to) == toBal + amount, "wrong target balance (BASE-012/014)");
            }
            uint256 wantAllow = allow == type(uint256).max ? allow : allow - amount;
            _check(token.allowance(from, spender) == wantAllow, "allowance not spent (BASE-017)");
            ghostAllowance[from][spender] = wantAllow;
        } catch {
            _check(!valid, "valid transferFrom reverted (BASE-008/012/014)");
        }
        _check(token.totalSupply() == supply, "transferFrom changed supply");
    }

    /// ERC20-BURNABLE-001.
    function burn(uint256 ownerSeed, uint256 amount) external {
        address owner = _actor(ownerSeed);
        uint256 bal = token.balanceOf(owner);
        uint256 supply = token.totalSupply();
        amount = amount % (bal + 2);
        bool valid = amount <= bal;
        vm.prank(owner);
        try token.burn(amount) {
            if (!valid) { _violate("burn above balance succeeded"); return; }
            successes++;
            ghostBurnt += amount;
            _check(token.balanceOf(owner) == bal - amount, "wrong balance after burn (BURNABLE-001)");
            _check(token.totalSupply() == supply - amount, "wrong supply after burn (BURNABLE-001)");
        } catch {
            _check(!valid, "valid burn reverted (BURNABLE-001)");
        }
    }

    /// ERC20-BURNABLE-002/003.
    function burnFrom(uint256 spenderSeed, uint256 ownerSeed, uint256 amount) external {
        address spender = _actor(spenderSeed);
        address owner = _actor(ownerSeed);
        uint256 bal = token.balanceOf(owner);
        uint256 allow = token.allowance(owner, spender);
        uint256 supply = token.totalSupply();
        uint256 limit = bal < allow ? bal : allow;
        amount = amount % (limit + 2);
        bool valid = amount <= bal && amount <= allow;
        vm.prank(spender);
        try token.burnFrom(owner, amount) {
            if (!valid) { _violate("burnFrom above balance or allowance succeeded"); return; }
            successes++;
            ghostBurnt += amount;
            _check(token.balanceOf(owner) == bal - amount, "wrong balance after burnFrom (BURNABLE-002)");
            _check(token.totalSupply() == supply - amount, "wrong supply after burnFrom (BURNABLE-002)");
            uint256 wantAllow = allow == type(uint256).max ? allow : allow - amount;
            _check(token.allowance(owner, spender) == wantAllow, "allowance not spent (BURNABLE-003)");
            ghostAllowance[owner][spender] = wantAllow;
        } catch {
            _check(!valid, "valid burnFrom reverted (BURNABLE-002)");
        }
    }

    /// ERC20-MINTABLE-001, the cap and the minter role.
    function mint(uint256 callerSeed, uint256 toSeed, uint256 amount) external {
        address caller = _actor(callerSeed);
        address to = _to(toSeed);
        uint256 toBal = token.balanceOf(to);
        uint256 supply = token.totalSupply();
        uint256 room = cap - supply;
        uint256 mode = amount % 8;
        if (mode == 0) amount = room; // fill the cap exactly
        else if (mode == 1) amount = room + 1 + (amount % 1 ether); // just past the cap
        else amount = amount % (room < 100_000 ether ? room + 1 : 100_000 ether);
        bool valid = ghostMinter[caller] && to != address(0) && amount <= room;
        vm.prank(caller);
        try token.mint(to, amount) {
            if (!valid) { _violate("invalid mint succeeded (non-minter, cap or zero address)"); return; }
            successes++;
            ghostMinted += amount;
            _check(token.balanceOf(to) == toBal + amount, "wrong balance after mint (MINTABLE-001)");
            _check(token.totalSupply() == supply + amount, "wrong supply after mint (MINTABLE-001)");
        } catch {
            _check(!valid, "valid mint reverted (MINTABLE-001)");
        }
    }

    /// The admin grants or revokes MINTER_ROLE for actors 1-3.
    function toggleMinter(uint256 actorSeed) external {
        address who = actors[1 + (actorSeed % 3)];
        bytes32 role = token.MINTER_ROLE();
        bool grant = !ghostMinter[who];
        vm.prank(actors[0]);
        if (grant) token.grantRole(role, who);
        else token.revokeRole(role, who);
        ghostMinter[who] = grant;
        _check(token.hasRole(role, who) == grant, "minter role not updated");
    }
}

/// @notice The stateful campaign: random handler call sequences, then these properties.
contract GPUTokenPropertiesInvariants is PropertyHelpers {
    uint256 internal constant INITIAL_SUPPLY = 1_000_000 ether;

    GPUToken internal token;
    GPUTokenHandler internal handler;
    address[4] internal actors = [address(0xAD1), address(0xA11CE), address(0xB0B), address(0xCA401)];

    function setUp() public {
        token = new GPUToken(actors[0], address(this), INITIAL_SUPPLY);
        uint256 share = INITIAL_SUPPLY / 4;
        for (uint256 i; i < 4; ++i) {
            token.transfer(actors[i], i == 3 ? token.balanceOf(address(this)) : share);
        }
        handler = new GPUTokenHandler(token, actors);
    }

    /// @dev Forge fuzzes the functions of these contracts only.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Every handler call did exactly what the properties say (the per-call properties:
    /// ERC20-BASE-005..017, ERC20-BURNABLE-001..003, ERC20-MINTABLE-001, cap and minter role).
    function invariant_everyCallBehavedAsSpecified() public view {
        if (handler.violations() != 0) revert PropertyFailed(handler.firstViolation(), handler.violations(), 0);
    }

    /// ERC20-BASE-001, in the form that applies to a mintable and burnable token: the supply moves
    /// only by what was minted and burnt.
    function invariant_supplyMovesOnlyByMintAndBurn() public view {
        _eq(
            token.totalSupply(),
            INITIAL_SUPPLY + handler.ghostMinted() - handler.ghostBurnt(),
            "supply != initial + minted - burnt"
        );
    }

    /// ERC20-BASE-003: the balances add up to the total supply (all holders are actors).
    function invariant_sumOfBalancesIsTotalSupply() public view {
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(handler));
        for (uint256 i; i < 4; ++i) {
            sum += token.balanceOf(actors[i]);
        }
        _eq(sum, token.totalSupply(), "sum of balances != total supply");
    }

    /// ERC20-BASE-002: no balance exceeds the total supply.
    function invariant_noBalanceAboveSupply() public view {
        uint256 supply = token.totalSupply();
        for (uint256 i; i < 4; ++i) {
            _true(token.balanceOf(actors[i]) <= supply, "balance above total supply");
        }
    }

    /// ERC20-BASE-004: address zero never holds tokens.
    function invariant_zeroAddressHoldsNothing() public view {
        _eq(token.balanceOf(address(0)), 0, "address zero balance");
    }

    /// The cap: the supply never exceeds MAX_SUPPLY.
    function invariant_supplyWithinCap() public view {
        _true(token.totalSupply() <= token.MAX_SUPPLY(), "supply above MAX_SUPPLY");
    }

    /// ERC20-BASE-015/016/017, ERC20-BURNABLE-003: every allowance equals its ghost, i.e. only
    /// approve, transferFrom and burnFrom change allowances, and by exactly what they should.
    function invariant_allowancesMatchGhost() public view {
        for (uint256 i; i < 4; ++i) {
            for (uint256 j; j < 4; ++j) {
                _eq(
                    token.allowance(actors[i], actors[j]),
                    handler.ghostAllowance(actors[i], actors[j]),
                    "allowance != ghost"
                );
            }
        }
    }

    /// Only accounts granted MINTER_ROLE hold it.
    function invariant_minterRolesMatchGhost() public view {
        bytes32 role = token.MINTER_ROLE();
        for (uint256 i; i < 4; ++i) {
            _true(token.hasRole(role, actors[i]) == handler.ghostMinter(actors[i]), "minter role != ghost");
        }
    }
}
