"""The SDK over plain JSON-RPC, for reading: :class:`ReadOnlyGpurent` is the same
:class:`~gpurent.sdk.client.Gpurent` (every read method the same code), its contracts read by
:class:`~gpurent.sdk.rpc_contract.RpcContract` instead of Ape. Ape is never imported, which
is what makes ``gpurent gpus list`` or ``jobs show`` start in well under a second.

    from gpurent.sdk.readonly import ReadOnlyGpurent
    with ReadOnlyGpurent.connect_url("http://127.0.0.1:8545") as gp:
        gpus = gp.resources()

It cannot sign: a transaction (or ``with_account``) is a ConfigurationError naming the way to
one (``Gpurent.connect`` with an account).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from gpurent.errors import ConfigurationError, NotDeployedError
from gpurent.manifest import CONTRACTS, Manifest
from gpurent.sdk.base import deployment_of
from gpurent.sdk.accounts import AccountRef
from gpurent.sdk.client import Gpurent
from gpurent.sdk.jsonrpc import JsonRpc, data_bytes, quantity
from gpurent.sdk.reader import GpurentReader
from gpurent.sdk.rpc_contract import CallReverted, RpcContract, checksum
from gpurent.sdk.tx import Tx

if TYPE_CHECKING:
    from ape.contracts.base import ContractInstance

READ_ONLY = ("this connection only reads (plain JSON-RPC): a transaction needs an account "
             "(Gpurent.connect(account=…), or --account on the command line)")


class ReadOnlyGpurent(Gpurent):
    """The deployed gpurent contracts read over the JSON-RPC of the node at :attr:`rpc_url`."""

    def __init__(self, manifest: Manifest, rpc: JsonRpc):
        contracts = {name: RpcContract(rpc, name, manifest.contracts[name]) for name in CONTRACTS}
        # RpcContract offers the part of Ape's ContractInstance that the read methods use
        super().__init__(manifest, cast("dict[str, ContractInstance]", contracts))
        self._rpc = rpc

    @classmethod
    def connect_url(cls, url: str, *, manifest: Manifest | None = None) -> ReadOnlyGpurent:
        """Reads the deployment of the chain whose node answers at ``url`` (its manifest from the
        state folder, by the chain id the node reports); NotDeployedError when there is none."""
        rpc = JsonRpc(url)
        try:
            chain_id = quantity(rpc.request("eth_chainId", []), "eth_chainId")
            manifest = deployment_of(chain_id, manifest)
            if manifest is None or not data_bytes(rpc.request("eth_getCode", [
                    manifest.contracts["Marketplace"], "latest"]), "eth_getCode"):
                raise NotDeployedError(chain_id)
            return cls(manifest, rpc)
        except BaseException:
            rpc.close()
            raise

    # ================================================================ what Ape did for Base

    @property
    def rpc_url(self) -> str:
        return self._rpc.url

    def head_block(self) -> int:
        return quantity(self._rpc.request("eth_blockNumber", []), "eth_blockNumber")

    def chain_time(self) -> int:
        block = self._rpc.request("eth_getBlockByNumber", ["pending", False])
        return quantity(block.get("timestamp") if isinstance(block, dict) else None, "eth_getBlockByNumber")

    def eth_balance(self, address: str) -> int:
        return quantity(self._rpc.request("eth_getBalance", [checksum(address), "latest"]), "eth_getBalance")

    def _call(self, action: str, method: Any, *args: Any) -> Any:
        from gpurent.reverts import RevertData, translate

        try:
            return method(*args)
        except CallReverted as err:  # named for what was attempted, as over Ape
            raise translate(RevertData(err.data), action) from None

    def _send(self, action: str, method: Callable[..., Any], *args: Any) -> Tx[None]:
        raise ConfigurationError(f"cannot {action}: {READ_ONLY}")

    def with_account(self, account: AccountRef) -> ReadOnlyGpurent:
        raise ConfigurationError(READ_ONLY)

    def close(self) -> None:
        self._rpc.close()


_READER: type[GpurentReader] = ReadOnlyGpurent  # mypy: both SDK objects are readers
_SIGNER: type[GpurentReader] = Gpurent
