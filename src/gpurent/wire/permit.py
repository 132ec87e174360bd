"""EIP-2612 permits for GPUToken, signed through an Ape account (no raw keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eip712.messages import EIP712Domain, EIP712Message
from eth_pydantic_types import abi

if TYPE_CHECKING:
    from ape.api.accounts import AccountAPI
    from ape.contracts.base import ContractInstance


class Permit(EIP712Message):
    """The ``Permit`` struct of EIP-2612 (OpenZeppelin ERC20Permit)."""

    owner: abi.address
    spender: abi.address
    value: abi.uint256
    nonce: abi.uint256
    deadline: abi.uint256


def permit_message(token: ContractInstance, owner: str, spender: str, value: int, deadline: int) -> Permit:
    """The permit ``owner`` signs to let ``spender`` move ``value`` base units until ``deadline``."""
    domain = token.eip712Domain()
    # validated from a mapping: the domain rides as an extra field (EIP712Message's own way)
    return Permit.model_validate({
        "owner": owner,
        "spender": spender,
        "value": value,
        "nonce": token.nonces(owner),
        "deadline": deadline,
        "eip712_domain": EIP712Domain(
            name=domain.name,
            version=domain.version,
            chainId=domain.chainId,
            verifyingContract=domain.verifyingContract,
        ),
    })


def sign_permit(account: AccountAPI, token: ContractInstance, spender: str, value: int, deadline: int) -> tuple[int, bytes, bytes]:
    """Signs a permit with an Ape account; returns ``(v, r, s)`` for ``createJobWithPermit``."""
    message = permit_message(token, account.address, spender, value, deadline)
    signature = account.sign_message(message)
    if signature is None:
        raise RuntimeError(f"account {account.address} declined to sign the permit")
    # Ape gives r and s as minimal big-endian bytes: one signature in 128 has a leading zero
    # byte, and a 31-byte value would be right-padded into bytes32 (a wrong signature). Pad left.
    return signature.v, bytes(signature.r).rjust(32, b"\0"), bytes(signature.s).rjust(32, b"\0")
