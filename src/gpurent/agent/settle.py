"""Settling jobs: a periodic ``partialRelease`` of everything accrued while they run, and the
final settlement at the container's own end.

A dispute stops billing and puts only what the escrow still holds in question, so an agent
that is paid every ``settle_interval`` seconds has at most one interval's earnings at stake
when a renter disputes late in a long job. ``completeJob`` settles the remainder as before.

Settling never disturbs a job's flow: a job that was disputed or completed meanwhile
(``MarketplaceInvalidJobState``) or has nothing new to release (``MarketplaceNothingToRelease``,
a release in the same second) is expected and skipped; any other failure (a node hiccup, a
nonce race) is logged and tried again at the next interval.

A job whose container ended on its own is settled with ``completeJobAt`` at the end the engine
recorded (``State.FinishedAt``), not when the agent noticed: a container that exits while the
agent or the engine is down is billed for its run, not for the downtime. The engine's time is on
the host's clock and the chain's may differ (a devnet's can run ahead), so the end is placed by
its age: chain time now minus how long ago, on the host's clock, the container ended; then
clamped to the job's start and chain time now, the bounds the contract enforces. A container
that is gone, or whose engine recorded no end (a zero ``FinishedAt``, as after a host reboot), is
settled at the chain time the agent last saw it running (recorded every few seconds while it
watches), so the time the agent or the host was down is not billed either. A job stopped at its
cap, or never seen running, is settled with ``completeJob`` (now, capped).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from gpurent.errors import ContractRevert
from gpurent.logfmt import labels

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

log = logging.getLogger("gpurent.provider")

# disputed or settled meanwhile, nothing new accrued, or the stake backs no more early pay
EXPECTED = ("MarketplaceNothingToRelease", "MarketplaceInvalidJobState", "MarketplaceReleaseAboveStake")


def end_time(finished_at: float | None, chain_now: int, chain_start: int, host_now: float) -> int | None:
    """Chain time a container ended that the engine recorded as ending at ``finished_at`` (host
    Unix time; ``host_now`` is the host's clock now), within [``chain_start``, ``chain_now``];
    None when the engine recorded no end or the job has no start."""
    if finished_at is None or chain_start <= 0:
        return None
    age = max(0.0, host_now - finished_at)  # an end "in the future" (clock skew) is now
    ended = chain_now - int(age)  # rounded towards now: the provider's second, never the renter's
    return max(chain_start, min(chain_now, ended))


class Settler:
    """Decides when a running job is due a partial release and sends it, on the caller's
    thread under the agent's transaction lock."""

    def __init__(self, gp: Gpurent, interval_s: float, clock: Callable[[], float], tx_lock: threading.RLock,
                 withdraw_min: Decimal = Decimal(10)):
        self.gp, self.interval_s, self.clock, self.tx_lock = gp, interval_s, clock, tx_lock
        self.withdraw_min = withdraw_min
        self._last: dict[str, float] = {}  # job id -> chain time of the last attempt

    def due(self, job_id: str, chain_start: int | None) -> bool:
        """Whether ``settle_interval`` has passed since the job started or was last settled
        (after a restart: since it started, so the first look settles at once)."""
        if not chain_start:
            return False
        return self.clock() - self._last.get(job_id, float(chain_start)) >= self.interval_s

    def tick(self, job_id: str, chain_start: int | None) -> bool:
        """Releases what the job accrued if it is due; True when a release was mined."""
        if not self.due(job_id, chain_start):
            return False
        self._last[job_id] = self.clock()
        return self.release(job_id)

    def release(self, job_id: str) -> bool:
        """One ``partialRelease`` of everything accrued; never raises."""
        try:
            with self.tx_lock:
                self.gp.partial_release(job_id)
        except ContractRevert as err:
            if err.name in EXPECTED:
                log.debug("job %s: nothing to settle now (%s)", job_id, err, extra=labels(job=job_id))
            else:
                self._retry_later(job_id, err)
            return False
        except Exception as err:  # noqa: BLE001 - a node or network hiccup must not touch the job
            self._retry_later(job_id, err)
            return False
        log.info("job %s: accrued earnings released", job_id, extra=labels(job=job_id))
        return True

    def complete(self, job_id: str, finished_at: float | None, chain_start: int | None,
                 last_seen: int | None = None, result_cid: str | None = None) -> int | None:
        """Completes a running job at the end its engine recorded (``finished_at``, host time),
        else when it was ``last_seen`` running (chain time), else now; returns the chain time it
        was settled at (None: now). With ``result_cid`` the settlement commits the job's result
        (``completeJobWithResult``). The caller holds the transaction lock and has checked that
        the job is Running."""
        chain_now = int(self.clock())
        ended = end_time(finished_at, chain_now, chain_start or 0, time.time())
        if ended is None and last_seen is not None and chain_start:
            ended = max(chain_start, min(chain_now, last_seen))
        if result_cid is not None:
            return self._complete_with_result(job_id, ended if ended is not None else chain_now, result_cid)
        if ended is not None:
            try:
                self.gp.complete_job_at(job_id, ended)
                log.info("job %s: settled at its container's end (chain time %d)", job_id, ended,
                         extra=labels(job=job_id))
                return ended
            except ContractRevert as err:  # the block came before the clock said: settle now
                if err.name != "MarketplaceInvalidEndTime":
                    raise
                log.warning("job %s: %s; settling now", job_id, err, extra=labels(job=job_id))
        self.gp.complete_job(job_id)
        return None

    def _complete_with_result(self, job_id: str, ended: int, result_cid: str) -> int:
        try:
            self.gp.complete_job_with_result(job_id, ended, result_cid)
        except ContractRevert as err:  # the block came before the clock said: settle at the block's time
            if err.name != "MarketplaceInvalidEndTime":
                raise
            log.warning("job %s: %s; settling now", job_id, err, extra=labels(job=job_id))
            ended = max(ended, int(self.clock()))
            self.gp.complete_job_with_result(job_id, min(ended, self.gp.chain_time()), result_cid)
        log.info("job %s: settled at chain time %d with result %s", job_id, ended, result_cid, extra=labels(job=job_id))
        return ended

    def withdraw_if_due(self) -> bool:
        """Withdraws the provider's held earnings once they reach ``withdraw_min`` tokens;
        True when a withdrawal was mined. Never raises: what is held stays held, for the next
        settlement (or ``gpurent provider withdraw``)."""
        try:
            with self.tx_lock:
                held = self.gp.held_earnings()
                if held.empty or held.amount < self.withdraw_min:
                    return False
                paid = self.gp.withdraw_earnings().value
        except Exception as err:  # noqa: BLE001 - a node or network hiccup must not stop the agent
            log.warning("withdrawing earnings failed, kept for later: %s", str(err).splitlines()[0] if str(err) else err)
            return False
        log.info("withdrew %s GPU of earnings (fee %s to the treasury)", paid.amount, paid.fee)
        return True

    def _retry_later(self, job_id: str, err: Exception) -> None:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        log.warning("job %s: partial release failed, retrying in %.0f s: %s", job_id, self.interval_s, reason,
                    extra=labels(job=job_id))

    def forget(self, job_id: str) -> None:
        self._last.pop(job_id, None)
