"""Governance: parameters (through the timelock), its pending operations, pause, roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpurent.errors import InvalidInput, NotAuthorized
from gpurent.sdk.base import ZERO32, Base, Governed
from gpurent.sdk.inputs import Tokens, tokens_in
from gpurent.sdk.tx import Tx
from gpurent.types import GovernanceOperation
from gpurent.units import to_tokens

if TYPE_CHECKING:
    from ape.contracts.base import ContractInstance

ROLES = ("DEFAULT_ADMIN_ROLE", "ORACLE_ROLE", "PAUSER_ROLE", "SLASHER_ROLE", "MINTER_ROLE")
CONTRACT_NAMES = ("token", "registry", "marketplace", "reputation")  # what `contract=` may name


class AdminCalls(Base):
    # ---------------------------------------------------------------- parameters

    def set_fee(self, fee_bps: int) -> Governed:
        return self._govern("set the fee", self.marketplace, "setFee", fee_bps)

    def set_treasury(self, treasury: str) -> Governed:
        return self._govern("set the treasury", self.marketplace, "setTreasury", treasury)

    def set_timeouts(self, accept_timeout: int, start_timeout: int, completion_grace: int,
                     dispute_timeout: int) -> Governed:
        """Deadlines for jobs created from now on (open jobs keep theirs)."""
        return self._govern("set the timeouts", self.marketplace, "setTimeouts", accept_timeout, start_timeout,
                            completion_grace, dispute_timeout)

    def set_dispute_bond(self, bond_bps: int, min_bond: Tokens) -> Governed:
        """Dispute bond of jobs created from now on: max(min_bond, maxCost * bond_bps / 10000)."""
        return self._govern("set the dispute bond", self.marketplace, "setDisputeBond", bond_bps,
                            tokens_in(min_bond, "bond"))

    def set_min_stake(self, amount: Tokens) -> Governed:
        return self._govern("set the minimum stake", self.registry, "setMinStake", tokens_in(amount, "stake"))

    def set_unstake_cooldown(self, seconds: int) -> Governed:
        return self._govern("set the unstake cooldown", self.registry, "setUnstakeCooldown", seconds)

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

    def execute_operation(self, op_id: str) -> Tx[None]:
        """Executes a scheduled timelock operation once its delay has passed."""
        for op in self.pending_operations():
            if op.op_id.lower() == op_id.lower():
                return self._send("execute", self.timelock.execute, op.target, 0, bytes.fromhex(op.data[2:]),
                                  ZERO32, bytes.fromhex(op.salt[2:]))
        raise InvalidInput(f"no pending timelock operation {op_id}")

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
