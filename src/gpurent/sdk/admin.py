"""Governance: parameters (through the timelock), its pending operations, pause, roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpurent.errors import DeadlineNotReached, InvalidInput, NotAuthorized
from gpurent.sdk.base import ZERO32, Base, Governed
from gpurent.sdk.deadlines import moment
from gpurent.sdk.inputs import Tokens
from gpurent.sdk.proposals import BY_METHOD, Parameter, arguments, change_text, parameter, shown
from gpurent.sdk.tx import Tx
from gpurent.types import GovernanceOperation, hex_id
from gpurent.units import to_tokens

if TYPE_CHECKING:
    from ape.contracts.base import ContractInstance

ROLES = ("DEFAULT_ADMIN_ROLE", "ORACLE_ROLE", "PAUSER_ROLE", "SLASHER_ROLE", "MINTER_ROLE")
CONTRACT_NAMES = ("token", "registry", "marketplace", "reputation")  # what `contract=` may name


class AdminCalls(Base):
    # ---------------------------------------------------------------- parameters

    def set_fee(self, fee_bps: int) -> Governed:
        return self.set_parameter("fee_bps", fee_bps)

    def set_treasury(self, treasury: str) -> Governed:
        return self.set_parameter("treasury", treasury)

    def set_timeouts(self, accept_timeout: int, start_timeout: int, completion_grace: int,
                     dispute_timeout: int) -> Governed:
        """Deadlines for jobs created from now on (open jobs keep theirs)."""
        return self.set_parameter("timeouts", accept_timeout, start_timeout, completion_grace, dispute_timeout)

    def set_dispute_bond(self, bond_bps: int, min_bond: Tokens) -> Governed:
        """Dispute bond of jobs created from now on: max(min_bond, maxCost * bond_bps / 10000)."""
        return self.set_parameter("dispute_bond", bond_bps, min_bond)

    def set_min_stake(self, amount: Tokens) -> Governed:
        return self.set_parameter("min_stake", amount)

    def set_unstake_cooldown(self, seconds: int) -> Governed:
        return self.set_parameter("unstake_cooldown", seconds)

    def set_parameter(self, key: str, *values: Any) -> Governed:
        """Sets the parameter ``key`` (one of :data:`~gpurent.sdk.proposals.PARAMETERS`) to
        ``values`` (text or typed: tokens as tokens), through the timelock when needed."""
        contract, param, args = self.parameter_call(key, *values)
        return self._govern(param.action, contract, param.method, *args)

    def parameter_call(self, key: str, *values: Any) -> tuple[ContractInstance, Parameter, tuple[Any, ...]]:
        """The setter of ``key`` and its arguments read from ``values`` (InvalidInput otherwise)."""
        param = parameter(key)
        return getattr(self, param.contract), param, arguments(param, values)

    def parameters(self) -> dict[str, Any]:
        accept, start, grace, dispute = self.marketplace.timeouts()
        terms = self.marketplace.terms(self.marketplace.termsVersion())
        return {
            "fee_bps": int(self.marketplace.feeBps()),
            "treasury": str(self.marketplace.treasury()),
            "terms_version": int(self.marketplace.termsVersion()),
            "accept_timeout_s": int(accept),
            "dispute_bond_bps": int(terms.bondBps),
            "dispute_min_bond": to_tokens(terms.minBond),
            "timelock_delay_s": self.timelock_delay(),
            "start_timeout_s": int(start),
            "completion_grace_s": int(grace),
            "dispute_timeout_s": int(dispute),
            "min_stake": to_tokens(self.registry.minStake()),
            "unstake_cooldown_s": int(self.registry.unstakeCooldown()),
            "fraud_slash_bps": int(self.reputation_system.fraudSlashBps()),
            "max_response_time_ms": int(self.reputation_system.maxResponseTimeMs()),
            "paused": self.paused(),
        }

    # ---------------------------------------------------------------- the timelock's queue

    def pending_operations(self) -> list[GovernanceOperation]:
        """Operations scheduled on the timelock and not yet executed or cancelled."""
        done = {bytes(log.id) for log in self._logs(self.timelock.CallExecuted)}
        done |= {bytes(log.id) for log in self._logs(self.timelock.Cancelled)}
        salts = {bytes(log.id): bytes(log.salt) for log in self._logs(self.timelock.CallSalt)}
        pending = []
        for log in self._logs(self.timelock.CallScheduled):
            op = bytes(log.id)
            if op in done:
                continue
            ready = int(self.timelock.getTimestamp(op))
            pending.append(GovernanceOperation(op_id="0x" + op.hex(), target=str(log.target),
                                               data="0x" + bytes(log.data).hex(),
                                               salt="0x" + salts.get(op, ZERO32).hex(), ready_at=ready,
                                               action="scheduled call"))
        return pending

    def pending_operation(self, op_id: str) -> GovernanceOperation:
        """The pending operation ``op_id``: InvalidInput when none is (unknown, executed or cancelled)."""
        for op in self.pending_operations():
            if op.op_id.lower() == str(op_id).lower():
                return op
        raise InvalidInput(f"no pending timelock operation {str(op_id)[:66]}")

    def ready_operation(self, op_id: str) -> GovernanceOperation:
        """The pending operation ``op_id`` once its delay has passed: DeadlineNotReached, saying
        from when, before."""
        op = self.pending_operation(op_id)
        now = self.chain_time()
        if now < op.ready_at:
            raise DeadlineNotReached(f"cannot execute: timelock operation {op.op_id[:10]}… is not ready (its delay "
                                     f"has not passed): executable from {moment(op.ready_at, now)}",
                                     name="TimelockUnexpectedOperationState")
        return op

    def execute_operation(self, op_id: str) -> Tx[None]:
        """Executes a scheduled timelock operation once its delay has passed."""
        op = self.ready_operation(op_id)
        return self._send("execute", self.timelock.execute, op.target, 0, bytes.fromhex(op.data[2:]),
                          ZERO32, bytes.fromhex(op.salt[2:]))

    def describe_call(self, op: GovernanceOperation) -> tuple[str, str, dict[str, Any]] | None:
        """The scheduled call as (contract name, method, arguments), read from its calldata with
        the packaged ABIs; None for a call to another contract or method."""
        for name, contract in self.contracts.items():
            if str(contract.address).lower() == op.target.lower():
                try:
                    selector, args = contract.decode_input(bytes.fromhex(op.data[2:]))
                except Exception:  # noqa: BLE001 - not one of its methods
                    return None
                return name, selector.split("(")[0], dict(args)
        return None

    def describe_operation(self, op: GovernanceOperation, current: dict[str, Any] | None = None) -> str:
        """What the operation changes, in words, against the ``current`` parameters (read when
        not given): "platform fee 2% → 3%", "grant PAUSER_ROLE to 0x… on Marketplace"."""
        call = self.describe_call(op)
        if call is None:
            return self.call_text(op)
        name, method, args = call
        values = tuple(args.values())
        if method in BY_METHOD and name in ("Marketplace", "ResourceRegistry"):
            return change_text(BY_METHOD[method], current or self.parameters(), values)
        if method in ("grantRole", "revokeRole") and len(values) == 2:
            names = {bytes(getattr(self.contracts[name], r)()): r for r in ROLES if hasattr(self.contracts[name], r)}
            role = names.get(bytes(values[0]), "0x" + bytes(values[0]).hex())
            verb, to = ("grant", "to") if method == "grantRole" else ("revoke", "from")
            return f"{verb} {role} {to} {values[1]} on {name}"
        if name == "GpurentTimelock" and method == "updateDelay":
            return f"timelock delay {shown('seconds', self.timelock_delay())} → {shown('seconds', values[0])}"
        return self.call_text(op)

    def call_text(self, op: GovernanceOperation) -> str:
        """The scheduled call as Contract.method(args) (its target and selector when not ours)."""
        call = self.describe_call(op)
        if call is None:
            return f"{op.target} {op.data[:10]}…"
        name, method, args = call
        shown_args = ", ".join(hex_id(v) if isinstance(v, (bytes, bytearray)) else str(v) for v in args.values())
        return f"{name}.{method}({shown_args})"

    # ---------------------------------------------------------------- pause

    def pause(self) -> list[Tx[None]]:
        """Pauses new jobs (Marketplace) and registrations (Registry): both or neither."""
        return self._set_paused(True)

    def unpause(self) -> list[Tx[None]]:
        return self._set_paused(False)

    def _set_paused(self, paused: bool) -> list[Tx[None]]:
        action = "pause" if paused else "unpause"
        targets = pause_targets((self.marketplace, self.registry), self.address, paused)
        return [self._send(action, getattr(c, action)) for c in targets]

    def paused(self) -> bool:
        return bool(self.marketplace.paused())

    # ---------------------------------------------------------------- roles

    def _role_target(self, role: str, contract: str | None) -> tuple[str, list[ContractInstance]]:
        role_key = role.upper().replace("-", "_")
        if not role_key.endswith("_ROLE"):
            role_key += "_ROLE"
        if role_key not in ROLES:
            raise InvalidInput(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        everyone = (self.token, self.registry, self.marketplace, self.reputation_system)
        if contract:
            return role_key, [dict(zip(CONTRACT_NAMES, everyone))[contract]]
        return role_key, [c for c in everyone if hasattr(c, role_key)]

    def grant_role(self, role: str, account: str, contract: str | None = None) -> list[Governed]:
        """Grants ``role`` on every contract that has it (or on ``contract``)."""
        key, contracts = self._role_target(role, contract)
        return [self._govern(f"grant {key}", c, "grantRole", getattr(c, key)(), account) for c in contracts]

    def revoke_role(self, role: str, account: str, contract: str | None = None) -> list[Governed]:
        key, contracts = self._role_target(role, contract)
        return [self._govern(f"revoke {key}", c, "revokeRole", getattr(c, key)(), account) for c in contracts]

    def renounce_role(self, role: str, contract: str | None = None) -> list[Tx[None]]:
        """Gives up ``role`` held by the account itself."""
        key, contracts = self._role_target(role, contract)
        return [self._send(f"renounce {key}", c.renounceRole, getattr(c, key)(), self.address) for c in contracts]

    def has_role(self, role: str, account: str) -> dict[str, bool]:
        key, contracts = self._role_target(role, None)
        return {str(c.contract_type.name): bool(c.hasRole(getattr(c, key)(), account)) for c in contracts}


def pause_targets(contracts: Any, address: str, paused: bool) -> list[Any]:
    """The contracts (of the marketplace and the registry) not yet in the ``paused`` state, once
    ``address`` is found to hold PAUSER_ROLE on every one of them: every role is checked first, so
    a missing one never leaves one contract paused alone."""
    action = "pause" if paused else "unpause"
    targets = [c for c in contracts if bool(c.paused()) != paused]
    for contract in targets:
        if not contract.hasRole(contract.PAUSER_ROLE(), address):
            raise NotAuthorized(f"{address} lacks the role needed to {action} "
                                f"({contract.contract_type.name} needs PAUSER_ROLE)",
                                name="AccessControlUnauthorizedAccount")
    return targets


TIMELOCK_ROLES = ("PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE")
ZERO_ADDRESS = "0x" + "00" * 20


def holds_timelock_role(timelock: Any, role: str, address: str) -> bool:
    """Whether ``address`` holds ``role`` on the timelock (EXECUTOR_ROLE held by the zero
    address opens execution to everyone, as OpenZeppelin's TimelockController defines)."""
    key = getattr(timelock, role)()
    return bool(timelock.hasRole(key, address)) or (role == "EXECUTOR_ROLE" and bool(timelock.hasRole(key, ZERO_ADDRESS)))


def require_timelock_role(timelock: Any, role: str, address: str, action: str) -> None:
    if not holds_timelock_role(timelock, role, address):
        raise NotAuthorized(f"{address} lacks the role needed to {action} (GpurentTimelock needs {role})",
                            name="AccessControlUnauthorizedAccount")
