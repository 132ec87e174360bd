"""Shared fixtures: the whole suite deployed once per session on Anvil, cast of accounts.

Ape wraps every test in a chain snapshot, so each test starts from the deployed state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from gpurent.sdk import Gpurent
from gpurent.deployment import DeploymentParams, Suite, deploy_suite
from gpurent.manifest import Manifest
from gpurent.units import TOKEN

pytest_plugins = ["tests.services", "tests.agents", "tests.postgres"]  # Kubo, podman, images, agents, PostgreSQL

PRICE = 10 * TOKEN  # the SPEC's worked example: 10 tokens per hour
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
FUNDS = 10_000 * TOKEN


@dataclass
class Cast:
    admin: Any
    oracle: Any
    treasury: Any
    provider: Any
    provider2: Any
    renter: Any
    renter2: Any
    outsider: Any


def worth(suite: Suite, who: Any, providers: tuple[Any, ...] = ()) -> int:
    """What ``who`` owns: its tokens plus what the marketplace holds for it — its earnings not
    withdrawn yet (settling credits a provider instead of transferring), and, for the treasury,
    the fees held on the earnings of ``providers``."""
    amount, _ = suite.marketplace.earningsOf(who)
    fees = sum(suite.marketplace.earningsOf(p)[1] for p in providers)
    return suite.token.balanceOf(who) + amount + fees


def escrowed(suite: Suite, providers: tuple[Any, ...]) -> int:
    """The marketplace's tokens less the earnings (and fees) it holds for ``providers``: what
    is locked for open jobs, and bonds."""
    held = sum(sum(suite.marketplace.earningsOf(p)) for p in providers)
    return suite.token.balanceOf(suite.marketplace) - held


@pytest.fixture(scope="session")
def cast(accounts) -> Cast:
    return Cast(*accounts[:8])


@pytest.fixture(scope="session")
def params() -> DeploymentParams:
    # the oracle tests' 4 s report periods; no timelock delay, so governance calls made through
    # the timelock (govern below, or the SDK) take effect at once
    return DeploymentParams(report_period=4, timelock_delay=0)


@pytest.fixture(scope="session")
def suite(project, cast, params) -> Suite:
    s = deploy_suite(
        project, cast.admin, oracle=cast.oracle.address, treasury=cast.treasury.address, params=params
    )
    for who in (cast.provider, cast.provider2, cast.renter, cast.renter2, cast.outsider):
        s.token.transfer(who, FUNDS, sender=cast.admin)
    return s


@pytest.fixture(scope="session")
def token(suite):
    return suite.token


@pytest.fixture(scope="session")
def registry(suite):
    return suite.registry


@pytest.fixture(scope="session")
def reputation(suite):
    return suite.reputation


@pytest.fixture(scope="session")
def market(suite):
    return suite.marketplace


def govern(suite: Suite, admin, method, *args):
    """Runs an admin call the way governance must: scheduled on the timelock by its proposer
    (the deployer, ``admin``) and executed (the session's timelock has no delay)."""
    target = method.contract.address
    data = method.encode_input(*args)
    salt = os.urandom(32)
    suite.timelock.schedule(target, 0, data, bytes(32), salt, 0, sender=admin)
    return suite.timelock.execute(target, 0, data, bytes(32), salt, sender=admin)


def register_provider(suite: Suite, provider, *, stake: int | None = None, endpoint: str = "http://127.0.0.1:8765"):
    amount = suite.registry.minStake() if stake is None else stake
    suite.token.approve(suite.registry, amount, sender=provider)
    return suite.registry.registerProvider(endpoint, amount, sender=provider)


def register_resource(suite: Suite, provider, *, price: int = PRICE, model: str = "RTX4090") -> bytes:
    tx = suite.registry.registerResource(model, 16, 64, 500, price, sender=provider)
    return tx.events.filter(suite.registry.ResourceRegistered)[0].resourceId


def create_job(suite: Suite, renter, resource_id, *, duration: int = 3600, cid: str = CID):
    """Approves exactly the job's maxCost and creates it; returns (jobId, receipt)."""
    price = suite.registry.getResource(resource_id).pricePerHour
    suite.token.approve(suite.marketplace, price * duration // 3600, sender=renter)
    tx = suite.marketplace.createJob(resource_id, cid, duration, price * duration // 3600, sender=renter)
    return tx.events.filter(suite.marketplace.JobCreated)[0].jobId, tx


def dispute(suite: Suite, job_id, who, reason: str = "x", at: int | None = None):
    """Approves the job's dispute bond and disputes it as ``who`` (at chain time ``at``, if
    given); returns the receipt."""
    from ape import chain

    at = at if at is not None else chain.pending_timestamp
    # the approval is mined a second before, so the dispute lands at ``at`` exactly however long
    # the approval took in wall-clock time (a test's expected split depends on that second)
    head = chain.blocks.head.timestamp
    chain.pending_timestamp = max(at - 1, head + 1)
    suite.token.approve(suite.marketplace, suite.marketplace.disputeBond(job_id), sender=who)
    chain.pending_timestamp = max(at, chain.blocks.head.timestamp + 1)
    return suite.marketplace.disputeJob(job_id, reason, sender=who)


@pytest.fixture
def resource_id(suite, cast):
    register_provider(suite, cast.provider)
    return register_resource(suite, cast.provider)


@pytest.fixture
def job_id(suite, cast, resource_id):
    return create_job(suite, cast.renter, resource_id)[0]


@pytest.fixture
def running_job(suite, cast, job_id, chain):
    suite.marketplace.acceptJob(job_id, sender=cast.provider)
    tx = suite.marketplace.startJob(job_id, sender=cast.provider)
    return job_id, tx.timestamp


@pytest.fixture(scope="session")
def manifest(suite, cast, chain) -> Manifest:
    return Manifest(
        chain_id=chain.chain_id,
        block=0,
        deployer=cast.admin.address,
        contracts={name: c.address for name, c in suite.as_dict().items()},
    )


@pytest.fixture(scope="session")
def gp(manifest) -> Gpurent:
    """Read-only SDK over the session's deployment (packaged ABIs, not the project's)."""
    return Gpurent.connect(manifest=manifest)


@pytest.fixture
def as_provider(gp, cast) -> Gpurent:
    return gp.with_account(cast.provider)


@pytest.fixture
def as_renter(gp, cast) -> Gpurent:
    return gp.with_account(cast.renter)


@pytest.fixture
def gpu(as_provider):
    as_provider.register_provider("http://127.0.0.1:8765", stake=100)
    return as_provider.register_resource("RTX4090", 16, 64, 500, "10").value
