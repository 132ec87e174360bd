"""What every part of the SDK stands on: the deployed contracts, the signer, and one way to
send a transaction, make a call, read events and run a governance call.

The per-contract parts (:mod:`.token`, :mod:`.registry`, :mod:`.market`, :mod:`.history`,
:mod:`.reputation`, :mod:`.admin`) are mixins over :class:`Base`, composed into one
:class:`~gpurent.sdk.client.Gpurent`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Self

from gpurent.artifacts import contract_type
from gpurent.errors import (
    ConfigurationError,
    ContractRevert,
    NotAuthorized,
    NotDeployedError,
)
from gpurent.manifest import CONTRACTS, Manifest, load_manifest, node_chain_id
from gpurent.reverts import RevertData, insufficient_balance, translate
from gpurent.sdk import fees
from gpurent.sdk.accounts import AccountRef, resolve_account
from gpurent.sdk.traces import captured_stdout
from gpurent.sdk.tx import Tx
from gpurent.types import GovernanceOperation

if TYPE_CHECKING:
    from ape.api.accounts import AccountAPI
    from ape.contracts.base import ContractEvent, ContractInstance
    from ape.types.events import ContractLog

Governed = Tx[None] | GovernanceOperation  # mined at once, or left scheduled on the timelock
ZERO32 = bytes(32)


def deployment_of(chain_id: int, manifest: Manifest | None) -> Manifest | None:
    """``manifest`` (else the state folder's for ``chain_id``) for the node reporting
    ``chain_id``: ConfigurationError when it is another chain's deployment (a named network whose
    RPC URL now serves another chain)."""
    if manifest is None:
        return load_manifest(chain_id)
    if manifest.chain_id != chain_id:
        raise ConfigurationError(f"the node serves chain {chain_id}, but the deployment is chain "
                                 f"{manifest.chain_id}'s: check the network's RPC URL")
    return manifest


class Base:
    """The deployed gpurent contracts on one chain, and the account that signs (if any)."""

    def __init__(self, manifest: Manifest, contracts: dict[str, ContractInstance],
                 account: AccountAPI | None = None, network_context: AbstractContextManager[Any] | None = None):
        self.manifest = manifest
        self.token = contracts["GPUToken"]
        self.registry = contracts["ResourceRegistry"]
        self.marketplace = contracts["Marketplace"]
        self.reputation_system = contracts["ReputationSystem"]
        self.contracts = contracts
        self.account = account
        # Ape's providers print a call trace to the process's stdout when a transaction reverts
        # (unconditionally, to the stdout of import time). quiet_traces keeps it off fd 1 and in
        # last_trace_output instead: for single-threaded programs like the CLI, whose stdout
        # is data (--json).
        self.quiet_traces = False
        self.last_trace_output = ""
        self._network_context = network_context

    # ================================================================ construction

    @classmethod
    def connect(cls, network: str | None = None, account: AccountRef = None, *,
                manifest: Manifest | None = None) -> Self:
        """Connects to ``network`` (an Ape network choice; default: the one already connected,
        else Ape's default) and loads the deployment manifest of its chain."""
        from ape import networks

        context = None
        active = networks.active_provider
        reuse = active is not None and active.is_connected and (
            network is None or network in (active.network_choice, f"{active.network_choice}".rsplit(":", 1)[0]))
        if not reuse:
            context = networks.parse_network_choice(network or networks.default_ecosystem.name)
            context.__enter__()
        try:
            from ape import chain

            chain_id = node_chain_id()
            manifest = deployment_of(chain_id, manifest)
            if manifest is None or not chain.provider.get_code(manifest.contracts["Marketplace"]):
                raise NotDeployedError(chain_id)
            contracts = {
                name: chain.contracts.instance_at(manifest.contracts[name], contract_type=contract_type(name),
                                                  fetch_from_explorer=False, detect_proxy=False)
                for name in CONTRACTS
            }
            return cls(manifest, contracts, resolve_account(account), context)
        except BaseException:
            if context is not None:
                context.__exit__(None, None, None)
            raise

    def with_account(self, account: AccountRef) -> Self:
        """The same deployment, signing as ``account`` (alias, test-account index or account)."""
        return type(self)(self.manifest, dict(self.contracts), resolve_account(account))

    def close(self) -> None:
        """Disconnects if ``connect`` opened the connection."""
        if self._network_context is not None:
            self._network_context.__exit__(None, None, None)
            self._network_context = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================ plumbing

    @property
    def address(self) -> str:
        return str(self._signer().address)

    def _signer(self) -> AccountAPI:
        if self.account is None:
            raise ConfigurationError("this needs an account: pass account= (an Ape alias or test-account index)")
        return self.account

    def _send(self, action: str, method: Callable[..., Any], *args: Any) -> Tx[None]:
        from ape.exceptions import ApeException

        sender = self._signer()
        with captured_stdout(self.quiet_traces) as captured:
            try:
                gas = fees.gas_fields(method, args, sender)
                receipt = fees.send(lambda fee: method(*args, sender=sender, **fee, **gas), sender)
            except ApeException as err:
                raise translate(err, action) from err
            finally:
                self.last_trace_output = captured()
        return Tx(None, receipt)

    def _call(self, action: str, method: Any, *args: Any) -> Any:
        from ape.exceptions import ApeException

        try:
            return method(*args)
        except ApeException as err:
            translated = translate(err, action)
            if type(translated) is ContractRevert and (data := self._revert_bytes(method, args)):
                translated = translate(RevertData(data), action)
            raise translated from err

    @staticmethod
    def _revert_bytes(method: Any, args: tuple[Any, ...]) -> bytes | None:
        """Re-runs a failed view call through web3 to get the exact revert data (Anvil's
        message for a custom error it cannot name is lossy text)."""
        from ape import chain

        web3 = getattr(chain.provider, "web3", None)
        if web3 is None:
            return None
        try:
            web3.eth.call({"to": method.contract.address, "data": method.encode_input(*args)})
        except Exception as err:  # web3 raises several kinds; all carry .data when there is any
            data = getattr(err, "data", None)
            if isinstance(data, str) and data.startswith("0x"):
                return bytes.fromhex(data[2:])
        return None

    def _logs(self, event: ContractEvent, **topics: Any) -> Iterator[ContractLog]:
        yield from event.range(self.manifest.block, self.head_block() + 1, search_topics=topics or None)

    def _ensure_allowance(self, spender: str, units: int, action: str) -> None:
        """Approves ``spender`` for ``units`` when the allowance is short (after checking the
        balance covers them, so the error names the balance, not the allowance)."""
        owner = self.address
        balance = int(self.token.balanceOf(owner))
        if balance < units:
            raise insufficient_balance(action, balance, units)
        if int(self.token.allowance(owner, spender)) < units:
            self._send("approve", self.token.approve, spender, units)

    # ================================================================ the chain

    def chain_time(self) -> int:
        """The timestamp the next block will carry (what a transaction sent now is billed at)."""
        from ape import chain

        return int(chain.pending_timestamp)

    @property
    def rpc_url(self) -> str:
        """The HTTP JSON-RPC URL of the connected node (for bulk readers such as the indexer)."""
        from ape import chain

        return str(chain.provider.http_uri)

    def head_block(self) -> int:
        from ape import chain

        return int(chain.blocks.height)

    def eth_balance(self, address: str) -> int:
        """The ether (in wei) ``address`` holds for gas."""
        from ape import chain

        return int(chain.provider.get_balance(address))

    # ================================================================ governance: the timelock

    @property
    def timelock(self) -> ContractInstance:
        return self.contracts["GpurentTimelock"]

    def timelock_delay(self) -> int:
        """Seconds a governance change waits on the timelock before it can be executed."""
        return int(self.timelock.getMinDelay())

    def _govern(self, action: str, contract: ContractInstance, method: str, *args: Any) -> Governed:
        """Runs an admin call: directly when this account holds DEFAULT_ADMIN_ROLE itself,
        else through the timelock, scheduled now and executed at once when the delay is zero
        (a local chain); otherwise the operation is left scheduled and returned, for
        :meth:`execute_operation` once it is ready. Either way the call is first run as the
        timelock will run it, so a value its setter refuses is refused before it is scheduled."""
        admin = contract.DEFAULT_ADMIN_ROLE()
        if contract.hasRole(admin, self.address):
            return self._send(action, getattr(contract, method), *args)
        timelock = self.timelock
        data = bytes(getattr(contract, method).encode_input(*args))
        schedule, op = self.schedule_of(contract, data, action)
        self._send(f"schedule ({action})", timelock.schedule, *schedule)
        if schedule[-1] == 0:
            return self._send(action, timelock.execute, *schedule[:-1])
        return op

    def schedule_of(self, contract: ContractInstance, data: bytes,
                    action: str) -> tuple[tuple[Any, ...], GovernanceOperation]:
        """The arguments of the timelock's ``schedule`` for the call ``data`` on ``contract``
        (a fresh salt, the timelock's delay) and the operation it makes: NotAuthorized when the
        timelock holds no DEFAULT_ADMIN_ROLE there, the setter's own refusal (in the SDK's words)
        when the call would revert as the timelock runs it."""
        timelock = self.timelock
        if not contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), timelock.address):
            raise NotAuthorized(f"nobody can {action}: the timelock holds no DEFAULT_ADMIN_ROLE on "
                                f"{contract.contract_type.name} (nor does the caller)",
                                name="AccessControlUnauthorizedAccount")
        self._check_as(str(timelock.address), contract, data, action)
        salt = os.urandom(32)
        delay = self.timelock_delay()
        op = bytes(timelock.hashOperation(contract.address, 0, data, ZERO32, salt))
        operation = GovernanceOperation(op_id="0x" + op.hex(), target=str(contract.address), data="0x" + data.hex(),
                                        salt="0x" + salt.hex(), ready_at=self.chain_time() + delay, action=action)
        return (str(contract.address), 0, data, ZERO32, salt, delay), operation

    def _check_as(self, sender: str, contract: ContractInstance, data: bytes, action: str) -> None:
        """Runs the call ``data`` as ``sender`` (``eth_call``, nothing sent) and raises its revert
        in the SDK's words."""
        from ape import chain

        web3 = getattr(chain.provider, "web3", None)
        if web3 is None:
            return
        try:
            web3.eth.call({"from": sender, "to": str(contract.address), "data": "0x" + data.hex()})
        except Exception as err:  # web3 raises several kinds; a revert carries .data
            raw = getattr(err, "data", None)
            if isinstance(raw, str) and raw.startswith("0x") and len(raw) >= 10:
                raise translate(RevertData(bytes.fromhex(raw[2:])), action) from None
            raise ContractRevert(f"cannot {action}: {str(err)[:200]}") from None
