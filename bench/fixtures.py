"""Chain set-up shared by the benchmarks that run on Ape's own local chain."""

from __future__ import annotations

from typing import Any

from gpurent.units import TOKEN


def list_gpu(suite: Any, admin: Any, provider: Any, model: str, memory_gb: int, price_tokens: int) -> bytes:
    """Funds ``provider``, registers it with the minimum stake and lists one GPU (16 vCPU, 500
    GB of disk) at ``price_tokens`` per hour; returns the GPU's resource id."""
    token, registry = suite.token, suite.registry
    token.transfer(provider, 1_000 * TOKEN, sender=admin)
    token.approve(registry, registry.minStake(), sender=provider)
    registry.registerProvider("http://127.0.0.1:8765", registry.minStake(), sender=provider)
    tx = registry.registerResource(model, 16, memory_gb, 500, price_tokens * TOKEN, sender=provider)
    return tx.events.filter(registry.ResourceRegistered)[0].resourceId
