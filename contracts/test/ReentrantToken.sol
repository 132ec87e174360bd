// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";

/// @notice TEST ONLY. A token with ERC777-style receive hooks: every transfer to a contract
/// calls `onTokenReceived` on it, which gives a malicious receiver a chance to re-enter the
/// contract that is paying it.
interface ITokenReceiver {
    function onTokenReceived(address from, uint256 amount) external;
}

contract ReentrantToken is ERC20, ERC20Burnable {
    mapping(address receiver => bool) public hooked;

    constructor() ERC20("Hooked", "HOOK") {
        _mint(msg.sender, 1_000_000 ether);
    }

    /// @notice Opts the caller in to receive hooks.
    function registerHook() external {
        hooked[msg.sender] = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (hooked[to] && from != address(0)) {
            ITokenReceiver(to).onTokenReceived(from, value);
        }
    }
}

/// @notice TEST ONLY. A renter (or provider) contract that re-enters the Marketplace from the
/// token hook: on receiving its refund or payout it calls the armed function again.
contract ReentrancyAttacker is ITokenReceiver {
    address public immutable market;
    bytes public payload; // call made on re-entry
    uint256 public reentries;

    constructor(address market_) {
        market = market_;
    }

    function arm(bytes calldata payload_) external {
        payload = payload_;
    }

    function exec(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    function onTokenReceived(address, uint256) external {
        if (payload.length == 0) return;
        bytes memory data = payload;
        delete payload; // one re-entry attempt
        reentries += 1;
        (bool ok, bytes memory ret) = market.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
