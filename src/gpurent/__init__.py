"""gpurent: decentralized GPU rental on an EVM chain, Docker images over IPFS.

    import gpurent
    gp = gpurent.connect(network="ethereum:local:foundry", account=0)
    gpus = gp.resources()
    job = gp.create_job(gpus[0].resource_id, "bafy…", 3600).value   # a Tx: value and receipt

The contracts in ``contracts/`` are the system of record; this package deploys and drives them.
"""

from gpurent.sdk import Gpurent, Tx, connect, parse_id
from gpurent.deployment import DeploymentParams, Suite, deploy_suite
from gpurent.errors import (
    ConfigurationError,
    ContractRevert,
    GpurentError,
    InvalidInput,
    NotDeployedError,
)
from gpurent.types import (
    DisputeOutcome,
    EscrowRecord,
    Job,
    JobStatus,
    PenaltyReason,
    ProviderInfo,
    Reputation,
    Resource,
)
from gpurent.units import TOKEN, to_base_units, to_tokens

__all__ = [
    "TOKEN",
    "ConfigurationError",
    "ContractRevert",
    "DeploymentParams",
    "DisputeOutcome",
    "EscrowRecord",
    "Gpurent",
    "GpurentError",
    "InvalidInput",
    "Job",
    "JobStatus",
    "NotDeployedError",
    "PenaltyReason",
    "ProviderInfo",
    "Reputation",
    "Resource",
    "Suite",
    "Tx",
    "connect",
    "deploy_suite",
    "parse_id",
    "to_base_units",
    "to_tokens",
]
__version__ = "0.1.0"
