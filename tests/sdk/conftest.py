from __future__ import annotations

import pytest

from gpurent.client import Gpurent
from gpurent.manifest import Manifest


@pytest.fixture(scope="session")
def manifest(suite, cast, chain) -> Manifest:
    return Manifest(
        chain_id=chain.chain_id,
        block=0,
        deployer=cast.admin.address,
        contracts={name: c.address for name, c in suite.as_dict().items()},
    )


@pytest.fixture(scope="session")
def rent(manifest) -> Gpurent:
    """Read-only SDK over the session's deployment (packaged ABIs, not the project's)."""
    return Gpurent.connect(manifest=manifest)


@pytest.fixture
def as_provider(rent, cast) -> Gpurent:
    return rent.with_account(cast.provider)


@pytest.fixture
def as_renter(rent, cast) -> Gpurent:
    return rent.with_account(cast.renter)


@pytest.fixture
def gpu(as_provider):
    as_provider.register_provider("http://127.0.0.1:8765", stake=100)
    return as_provider.register_resource("RTX4090", 16, 64, 500, "10")
