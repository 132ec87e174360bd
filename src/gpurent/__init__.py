"""gpurent: decentralized GPU rental on an EVM chain, Docker images over IPFS.

The contracts in ``contracts/`` are the system of record; this package deploys and drives them.
"""

from gpurent.deployment import DeploymentParams, Suite, deploy_suite
from gpurent.units import TOKEN, to_base_units, to_tokens

__all__ = [
    "TOKEN",
    "DeploymentParams",
    "Suite",
    "deploy_suite",
    "to_base_units",
    "to_tokens",
]
__version__ = "0.1.0"
