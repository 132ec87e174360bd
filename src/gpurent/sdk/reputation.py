"""ReputationSystem: scores, the oracle's penalties, rewards and validation reports."""

from __future__ import annotations

import functools
import os
from decimal import Decimal

from gpurent.errors import InvalidInput
from gpurent.limits import BPS
from gpurent.sdk.base import Base, Governed
from gpurent.sdk.tx import Tx
from gpurent.types import PenaltyReason, Reputation, Validation, ValidationReport


class ReputationCalls(Base):
    def reputation(self, provider: str | None = None) -> Reputation:
        provider = provider or self.address
        return Reputation.from_chain(provider, self.reputation_system.getReputation(provider))

    def update_reputation(self, provider: str, uptime: Decimal | str, avg_response_ms: int) -> Governed:
        """Overrides a provider's measurements (governance, through the timelock): uptime as a
        0-1 ratio."""
        bps = int(Decimal(str(uptime)) * BPS)
        if not 0 <= bps <= BPS:
            raise InvalidInput(f"uptime {uptime} must be between 0 and 1")
        return self._govern("override the reputation of", self.reputation_system, "updateReputation", provider,
                            (bps, int(avg_response_ms), 0, 0))

    def calculate_score(self, uptime: Decimal | str, avg_response_ms: int, completion: Decimal | str,
                        dispute_rate: Decimal | str) -> int:
        """The SPEC formula on given components (0-1 ratios), as the contract computes it."""
        bps = [int(Decimal(str(x)) * BPS) for x in (uptime, completion, dispute_rate)]
        return int(self._call("calculate a score", self.reputation_system.calculateScore,
                              (bps[0], int(avg_response_ms), bps[1], bps[2])))

    def apply_penalty(self, provider: str, reason: PenaltyReason | str, incident: bytes | None = None) -> Tx[None]:
        """Penalises `provider` (ORACLE_ROLE) for `incident`, which the contract penalises once;
        without one a fresh random incident is used (a manual, one-off penalty)."""
        if isinstance(reason, str):
            key = reason.replace("-", "_").upper()
            if key not in PenaltyReason.__members__:
                raise InvalidInput(f"unknown penalty {reason!r}: one of "
                                   + ", ".join(r.name.lower().replace("_", "-") for r in PenaltyReason))
            reason = PenaltyReason[key]
        incident = incident if incident is not None else os.urandom(32)
        if len(incident) != 32:
            raise InvalidInput("an incident is 32 bytes")
        return self._send("penalise", self.reputation_system.applyPenalty, provider, int(reason), incident)

    def incident_recorded(self, provider: str, incident: bytes) -> bool:
        """Whether a penalty for `incident` was already applied to `provider` (by any oracle)."""
        return bool(self._call("read an incident", self.reputation_system.incidentRecorded, provider, incident))

    def reward(self, provider: str, bonus: int) -> Tx[None]:
        """Adds ``bonus`` reward points to `provider`'s score (ORACLE_ROLE), within the
        contract's cap per period."""
        return self._send("reward", self.reputation_system.reward, provider, bonus)

    # ---------------------------------------------------------------- governance (through the timelock)

    def set_penalty_points(self, reason: PenaltyReason, points: int) -> Governed:
        """Points a penalty of ``reason`` costs from now on."""
        return self._govern("set penalty points", self.reputation_system, "setPenaltyPoints", int(reason), points)

    def set_fraud_slash_bps(self, bps: int) -> Governed:
        """The share of stake a data-fraud penalty slashes (capped on chain)."""
        return self._govern("set the fraud slash", self.reputation_system, "setFraudSlashBps", bps)

    def set_max_response_time(self, ms: int) -> Governed:
        """The challenge response time that scores zero."""
        return self._govern("set the max response time", self.reputation_system, "setMaxResponseTimeMs", ms)

    def set_priors(self, heartbeat_prior: int, challenge_prior: int) -> Governed:
        """The neutral heartbeat slots and challenges a newcomer's score starts from."""
        return self._govern("set the reputation priors", self.reputation_system, "setPriors",
                            heartbeat_prior, challenge_prior)

    def submit_validation_report(self, provider: str, period: int, report: ValidationReport, *,
                                 gas: int | None = None) -> Tx[None]:
        """Stores one period's report on `provider` (ORACLE_ROLE); once per provider and period.
        ``gas`` sends it with that limit instead of an estimate (a node estimates on its latest
        block, which on a chain that mines on demand may be older than the period's end)."""
        method = self.reputation_system.submitValidationReport
        if gas is not None:
            method = functools.partial(method, gas=gas)
        return self._send("report on", method, provider, period, report.as_tuple())

    def validation(self, provider: str | None = None) -> Validation:
        """Heartbeats and challenges reported on `provider`, summed over periods."""
        provider = provider or self.address
        return Validation.from_chain(self._call("read the validation of",
                                                self.reputation_system.getValidation, provider))
