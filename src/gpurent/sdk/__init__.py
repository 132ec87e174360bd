"""The gpurent SDK: one :class:`Gpurent` object over the deployed contracts (token, registry,
marketplace, reputation, governance) and the renter's client of a provider's endpoint.

    from gpurent.sdk import Gpurent
    gp = Gpurent.connect(network="ethereum:local:foundry", account=0)
    created = gp.create_job(gpu_id, cid, 3600)    # a Tx: created.value is the Job, created.gas_used…

    reader = ReadOnlyGpurent.connect_url("http://127.0.0.1:8545")   # reads only, over JSON-RPC: no Ape
"""

from gpurent.sdk.accounts import resolve_account
from gpurent.sdk.base import Governed
from gpurent.sdk.client import Gpurent, connect
from gpurent.sdk.inputs import parse_id
from gpurent.sdk.reader import GpurentReader
from gpurent.sdk.readonly import ReadOnlyGpurent
from gpurent.sdk.tx import Tx

__all__ = ["Gpurent", "GpurentReader", "Governed", "ReadOnlyGpurent", "Tx", "connect", "parse_id", "resolve_account"]
