"""GPUToken: metadata, cap, minting role, burning."""

from __future__ import annotations

import ape
import pytest

from gpurent.units import TOKEN


def test_metadata_and_initial_supply(token, cast, params):
    assert (token.name(), token.symbol(), token.decimals()) == ("GPU Token", "GPU", 18)
    assert token.totalSupply() == params.initial_supply
    assert token.MAX_SUPPLY() == 10**9 * TOKEN < 2**96


def test_mint_only_minter_and_capped(token, cast):
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.mint(cast.outsider, 1, sender=cast.outsider)
    token.mint(cast.outsider, TOKEN, sender=cast.admin)
    room = token.MAX_SUPPLY() - token.totalSupply()
    with ape.reverts(token.ERC20ExceededCap):
        token.mint(cast.outsider, room + 1, sender=cast.admin)


def test_burn(token, cast):
    supply = token.totalSupply()
    token.burn(TOKEN, sender=cast.renter)
    assert supply - token.totalSupply() == TOKEN


def test_permit_signatures_with_a_leading_zero_byte_still_verify(token, cast, suite):
    """Ape returns r and s as minimal bytes; about one signature in 128 has a 31-byte r or s.
    Signing permits with successive values until one does, the padded signature must verify."""
    from ape import chain

    from gpurent.wire.permit import permit_message, sign_permit

    owner, spender = cast.renter, suite.marketplace.address
    deadline = chain.pending_timestamp + 3600
    for value in range(1, 2000):
        raw = owner.sign_message(permit_message(token, owner.address, spender, value, deadline))
        if len(bytes(raw.r)) < 32 or len(bytes(raw.s)) < 32:
            break
    else:
        pytest.fail("no short r or s in 2000 signatures")
    v, r, s = sign_permit(owner, token, spender, value, deadline)
    assert len(r) == len(s) == 32
    token.permit(owner, spender, value, deadline, v, r, s, sender=cast.outsider)
    assert token.allowance(owner, spender) == value
