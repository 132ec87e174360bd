"""Deploys and wires the whole contract suite: one place that knows the roles and parameters.

Used by ``ape run deploy``, the test suite and the benchmarks, so all three run the same wiring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpurent.units import TOKEN

ESCROW_DUST = 1  # base units left in the Marketplace for good (see deploy_suite)


@dataclass(frozen=True)
class DeploymentParams:
    """Governance parameters the suite is deployed with (all amounts in base units)."""

    fee_bps: int = 200  # 2% platform fee
    min_stake: int = 100 * TOKEN
    unstake_cooldown: int = 7 * 24 * 3600
    initial_supply: int = 100_000_000 * TOKEN
    accept_timeout: int = 24 * 3600  # a Created job expires after this (renter refunded)
    start_timeout: int = 3600
    completion_grace: int = 15 * 60
    dispute_timeout: int = 3 * 24 * 3600
    dispute_bond_bps: int = 1000  # a disputer posts 10% of the job's maxCost ...
    dispute_min_bond: int = TOKEN // 100  # ... and at least 0.01 token
    report_period: int = 3600  # the oracle's report period (ReputationSystem.periodLength)
    # Seconds between scheduling a governance change on the timelock and its execution. Zero
    # (local test chains) makes schedule + execute immediate; a real network wants days.
    timelock_delay: int = 2 * 24 * 3600


@dataclass(frozen=True)
class Suite:
    """The deployed contracts (Ape contract instances)."""

    token: Any
    registry: Any
    reputation: Any
    marketplace: Any
    timelock: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "GPUToken": self.token,
            "ResourceRegistry": self.registry,
            "ReputationSystem": self.reputation,
            "Marketplace": self.marketplace,
            "GpurentTimelock": self.timelock,
        }


def deploy_suite(
    project: Any,
    deployer: Any,
    *,
    oracle: str,
    treasury: str,
    pauser: str | None = None,
    params: DeploymentParams = DeploymentParams(),
) -> Suite:
    """Deploys GPUToken, ResourceRegistry, ReputationSystem, Marketplace and the timelock, and
    grants roles.

    ``deployer`` wires everything, then hands every DEFAULT_ADMIN_ROLE to the timelock (whose
    proposer and executor it is) and keeps only the pauser and minter roles; ``oracle`` gets
    the oracle roles (it slashes only through the ReputationSystem, which the registry caps);
    ``treasury`` receives platform fees; ``pauser`` (default: the deployer) may pause
    registrations and new jobs.
    """
    from gpurent.sdk.fees import fee_fields

    tx = {"sender": deployer, **fee_fields()}  # one cap for the whole deployment: base fees only fall meanwhile
    token = project.GPUToken.deploy(deployer, deployer, params.initial_supply, **tx)
    registry = project.ResourceRegistry.deploy(
        token, deployer, params.min_stake, params.unstake_cooldown, **tx
    )
    marketplace = project.Marketplace.deploy(
        token, registry, deployer, treasury, params.fee_bps, **tx
    )
    reputation = project.ReputationSystem.deploy(
        registry, marketplace, deployer, params.report_period, **tx
    )
    timelock = project.GpurentTimelock.deploy(
        params.timelock_delay, [deployer.address], [deployer.address], **tx
    )
    # Escrow dust: the Marketplace's token balance never returns to zero, so locking a job is
    # always a nonzero-to-nonzero balance write (about 17k gas less than zero-to-nonzero).
    token.transfer(marketplace, ESCROW_DUST, **tx)
    registry.setLinks(marketplace, reputation, **tx)
    reputation.grantRole(reputation.ORACLE_ROLE(), oracle, **tx)
    registry.grantRole(registry.SLASHER_ROLE(), reputation, **tx)
    registry.grantRole(registry.ORACLE_ROLE(), oracle, **tx)
    marketplace.grantRole(marketplace.ORACLE_ROLE(), oracle, **tx)
    marketplace.setTimeouts(
        params.accept_timeout, params.start_timeout, params.completion_grace,
        params.dispute_timeout, **tx
    )
    marketplace.setDisputeBond(params.dispute_bond_bps, params.dispute_min_bond, **tx)
    if pauser is not None and pauser != deployer.address:
        for contract in (registry, marketplace):
            contract.grantRole(contract.PAUSER_ROLE(), pauser, **tx)
    admin_role = token.DEFAULT_ADMIN_ROLE()
    for contract in (token, registry, marketplace, reputation):
        contract.grantRole(admin_role, timelock, **tx)
        contract.renounceRole(admin_role, deployer, **tx)
    return Suite(token=token, registry=registry, reputation=reputation, marketplace=marketplace,
                 timelock=timelock)
