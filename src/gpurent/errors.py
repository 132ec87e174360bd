"""One exception family for everything gpurent raises.

A contract's revert becomes a ``ContractRevert`` subclass carrying the Solidity error's name and
inputs; which subclass, and its message, is :mod:`gpurent.reverts`' job.
"""

from __future__ import annotations

from typing import Any


class GpurentError(Exception):
    """Raised for every gpurent failure; the root of the family."""


class ConfigurationError(GpurentError):
    """Raised when the environment is not set up: no deployment, no account, no network."""


class NotDeployedError(ConfigurationError):
    """Raised when the connected chain has no gpurent deployment (or this state folder knows none)."""

    def __init__(self, chain_id: int):
        self.chain_id = chain_id
        super().__init__(
            f"no gpurent deployment on chain {chain_id}: to try gpurent on this machine run `gpurent up` "
            f"(a local chain with everything deployed); on another chain, `ape run deploy` first"
        )


class PortTaken(ConfigurationError):
    """Raised when a port a local service must listen on is taken by another process; ``service``
    names the service (``chain``, ``ipfs``, ``indexer``, ``oracle``, ``provider``) and the message
    the options that pick another port, in each command that starts it."""

    OPTIONS = {
        "chain": "`gpurent up --chain-port N` (or `gpurent devnet up --port N`)",
        "ipfs": "`gpurent up --ipfs-ports API,GATEWAY,SWARM` (or `gpurent ipfs up --api-port N --gateway-port N "
                "--swarm-port N`)",
        "indexer": "`gpurent up --indexer-port N` (or `gpurent devnet up --indexer-port N`, "
                   "`gpurent indexer up --port N`)",
        "oracle": "`gpurent up --oracle-port N` (on the first `up`; later: listen_port in oracle.toml)",
        "provider": "`gpurent up --agent-port N` (on the first `up`; later: listen_port in provider.toml)",
    }

    def __init__(self, port: int, service: str):
        self.port, self.service = port, service
        options = self.OPTIONS.get(service, "its --port option")
        super().__init__(f"port {port} is taken by another process (wanted for the {service}): stop it, or pick "
                         f"another port with {options}; 0 picks any free port")


class JobNotKnown(GpurentError):
    """A provider answered 404 for a job: it does not know it (yet: an agent finds a new job
    from the chain's events within seconds)."""


class InvalidInput(GpurentError, ValueError):
    """Raised when an argument is malformed before anything is sent (id, CID, amount)."""


class ServiceUnavailable(GpurentError, ConnectionError):
    """Raised when a service gpurent needs does not answer (IPFS node, container engine)."""


class ImageError(GpurentError):
    """Raised when an image cannot be pushed, fetched, verified or loaded."""


class NotAGpurentImage(ImageError):
    """Raised when a CID exists but is not an image pushed by gpurent."""


class ImageTooLarge(ImageError):
    """Raised when an image exceeds the configured size limit."""


class IntegrityError(ImageError):
    """Raised when fetched image bytes do not match the digest in their metadata."""


class ContractRevert(GpurentError):
    """Raised when a contract call reverts; ``name`` and ``inputs`` are the Solidity error's."""

    def __init__(self, message: str, name: str = "", inputs: dict[str, Any] | None = None):
        self.name = name
        self.inputs = inputs or {}
        super().__init__(message)


class UnknownJob(ContractRevert):
    """Raised when a job id does not exist."""


class InvalidJobState(ContractRevert):
    """Raised when a job is not in a state the action allows."""


class NotAuthorized(ContractRevert):
    """Raised when the account may not do this (wrong party or missing role)."""


class DeadlineNotReached(ContractRevert):
    """Raised when a deadline-based action comes too early."""


class DeadlinePassed(ContractRevert):
    """Raised when an action comes too late (a dispute window closed, a job expired)."""


class InsufficientFunds(ContractRevert):
    """Raised when the balance or the allowance is too small."""


class UnknownResource(ContractRevert):
    """Raised when a resource id does not exist."""


class ResourceUnavailable(ContractRevert):
    """Raised when a resource cannot take jobs (unavailable, retired, provider under-staked)."""


class StakeError(ContractRevert):
    """Raised when a stake operation is not possible now."""


class Paused(ContractRevert):
    """Raised when the contract is paused for new work."""


class AlreadyRecorded(ContractRevert):
    """Raised when the oracle's report or penalty was already recorded (by this or another oracle)."""


class InvalidArgument(ContractRevert):
    """Raised when the contract rejects an argument (price, duration, CID, fee, ...)."""
