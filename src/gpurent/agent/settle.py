"""Settling running jobs as they run: a periodic ``partialRelease`` of everything accrued.

A dispute stops billing and puts only what the escrow still holds in question, so an agent
that is paid every ``settle_interval`` seconds has at most one interval's earnings at stake
when a renter disputes late in a long job. ``completeJob`` settles the remainder as before.

Settling never disturbs a job's flow: a job that was disputed or completed meanwhile
(``MarketplaceInvalidJobState``) or has nothing new to release (``MarketplaceNothingToRelease``,
a release in the same second) is expected and skipped; any other failure (a node hiccup, a
nonce race) is logged and tried again at the next interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from gpurent.errors import ContractRevert

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

log = logging.getLogger("gpurent.provider")

# disputed or settled meanwhile, nothing new accrued, or the stake backs no more early pay
EXPECTED = ("MarketplaceNothingToRelease", "MarketplaceInvalidJobState", "MarketplaceReleaseAboveStake")


class Settler:
    """Decides when a running job is due a partial release and sends it, on the caller's
    thread under the agent's transaction lock."""

    def __init__(self, gp: Gpurent, interval_s: float, clock: Callable[[], float], tx_lock: threading.RLock):
        self.gp, self.interval_s, self.clock, self.tx_lock = gp, interval_s, clock, tx_lock
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
                log.debug("job %s: nothing to settle now (%s)", job_id, err)
            else:
                self._retry_later(job_id, err)
            return False
        except Exception as err:  # noqa: BLE001 - a node or network hiccup must not touch the job
            self._retry_later(job_id, err)
            return False
        log.info("job %s: accrued earnings released", job_id)
        return True

    def _retry_later(self, job_id: str, err: Exception) -> None:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        log.warning("job %s: partial release failed, retrying in %.0f s: %s", job_id, self.interval_s, reason)

    def forget(self, job_id: str) -> None:
        self._last.pop(job_id, None)
