"""The SDK's bounds (gpurent.limits) are the contracts' public constants, read from the chain."""

import pytest

from gpurent import limits


@pytest.mark.parametrize("name, contract", sorted(limits.ON_CHAIN.items()))
def test_limit_is_the_contracts_constant(suite, name, contract):
    assert getattr(limits, name) == getattr(suite.as_dict()[contract], name)()


def test_every_public_bound_is_named_once(suite):
    """Each MAX_ constant of the three contracts has its mirror in gpurent.limits."""
    for contract in set(limits.ON_CHAIN.values()):
        deployed = suite.as_dict()[contract]
        names = {abi.name for abi in deployed.contract_type.view_methods if abi.name.startswith("MAX_")}
        assert names == {n for n, c in limits.ON_CHAIN.items() if c == contract and n.startswith("MAX_")}
