"""The SDK facade: one object that holds the deployed contracts and an optional signer.

    import gpurent
    gp = gpurent.connect(network="ethereum:local:foundry", account="alice")
    job = gp.create_job(resource_id, "bafy...", duration_s=3600).value

Every external contract function has a method here, named for what a user does; each lives in
the module of its contract (:mod:`.token`, :mod:`.registry`, :mod:`.market`, :mod:`.history`,
:mod:`.reputation`, :mod:`.admin`, over :mod:`.base`). A transaction returns a
:class:`~gpurent.sdk.tx.Tx`: its result and its receipt. Amounts go in and come out as
``Decimal`` tokens; errors come out as ``gpurent.errors`` exceptions.
"""

from __future__ import annotations

from gpurent.sdk.admin import AdminCalls
from gpurent.sdk.accounts import AccountRef
from gpurent.sdk.history import HistoryCalls
from gpurent.sdk.reputation import ReputationCalls
from gpurent.sdk.token import TokenCalls
from gpurent.sdk.workload import WorkloadCalls


class Gpurent(WorkloadCalls, TokenCalls, HistoryCalls, ReputationCalls, AdminCalls):
    """The deployed gpurent contracts on one chain, and the account that signs (if any)."""


def connect(network: str | None = None, account: AccountRef = None) -> Gpurent:
    """Module-level shortcut for :meth:`Gpurent.connect`."""
    return Gpurent.connect(network=network, account=account)


__all__ = ["Gpurent", "connect"]
