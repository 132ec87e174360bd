"""GPUToken: metadata, cap, minting role, burning."""

from __future__ import annotations

import ape

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
