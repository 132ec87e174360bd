"""The gpurent SDK: one :class:`Gpurent` object over the deployed contracts (token, registry,
marketplace, reputation, governance) and the renter's client of a provider's endpoint.

    from gpurent.sdk import Gpurent
    gp = Gpurent.connect(network="ethereum:local:foundry", account=0)
"""

from gpurent.sdk.client import Gpurent, connect, parse_id, resolve_account

__all__ = ["Gpurent", "connect", "parse_id", "resolve_account"]
