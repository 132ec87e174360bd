"""Chain set-up shared by the benchmarks that run on Ape's own local chain."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import Any

from gpurent.units import TOKEN


@dataclass
class Deployed:
    """A fresh deployment on Ape's local chain, its provider and renter funded, and the SDK."""

    suite: Any
    gp: Any  # gpurent.sdk.Gpurent, connected by manifest, no account
    admin: Any
    provider: Any
    renter: Any


def deploy_funded(project: Any, test_accounts: Any, funds_tokens: int = 10_000) -> Deployed:
    """Deploys the suite (accounts 0-2: admin, oracle, treasury), funds the provider (3) and the
    renter (5) with ``funds_tokens`` each, and connects the SDK by the deployment's manifest."""
    from ape import chain

    from gpurent.deployment import deploy_suite
    from gpurent.manifest import Manifest
    from gpurent.sdk import Gpurent

    admin, oracle, treasury, provider, renter = (test_accounts[i] for i in (0, 1, 2, 3, 5))
    suite = deploy_suite(project, admin, oracle=oracle.address, treasury=treasury.address)
    for who in (provider, renter):
        suite.token.transfer(who, funds_tokens * TOKEN, sender=admin)
    manifest = Manifest(chain_id=chain.chain_id, block=0, deployer=admin.address,
                        contracts={n: c.address for n, c in suite.as_dict().items()})
    return Deployed(suite, Gpurent.connect(manifest=manifest), admin, provider, renter)


def list_gpu(suite: Any, admin: Any, provider: Any, model: str, memory_gb: int, price_tokens: int) -> bytes:
    """Funds ``provider``, registers it with the minimum stake and lists one GPU (16 vCPU, 500
    GB of disk) at ``price_tokens`` per hour; returns the GPU's resource id."""
    token, registry = suite.token, suite.registry
    token.transfer(provider, 1_000 * TOKEN, sender=admin)
    token.approve(registry, registry.minStake(), sender=provider)
    registry.registerProvider("http://127.0.0.1:8765", registry.minStake(), sender=provider)
    tx = registry.registerResource(model, 16, memory_gb, 500, price_tokens * TOKEN, sender=provider)
    return tx.events.filter(registry.ResourceRegistered)[0].resourceId


GPU_MODELS = ("A100", "H100", "RTX4090", "L4", "A10", "V100", "RTX3090", "T4")


def fill_gpus(engine: Any, count: int, first_block: int, seed: int = 7) -> list[str]:
    """Adds ``count`` GPUs (100 per provider) to an index through the indexer's own projector
    (the rows ResourceRegistered events make; registering them on-chain would take hours here);
    returns their ids."""
    import random

    from gpurent.indexer.events import DecodedEvent
    from gpurent.indexer.project import Projector

    rng = random.Random(seed)
    ids: list[str] = []
    with engine.begin() as db:
        projector = Projector(db, undo_from=2**62)
        for n in range(count // 100):
            owner = f"0x{n + 1:040x}"
            projector.apply(DecodedEvent("ResourceRegistry", "ProviderRegistered",
                                         {"provider": owner, "endpoint": "http://x", "stake": 100 * TOKEN},
                                         first_block, "0x0", f"0x{n:064x}", 0), 0)
            for k in range(100):
                rid = f"0x{owner[2:]}{k + 1:024x}"
                ids.append(rid)
                projector.apply(DecodedEvent(
                    "ResourceRegistry", "ResourceRegistered",
                    {"resourceId": rid, "provider": owner, "gpuModel": rng.choice(GPU_MODELS),
                     "vcpu": rng.choice([4, 8, 16, 32]), "memoryGB": rng.choice([16, 24, 40, 80]),
                     "storageGB": 500, "pricePerHour": rng.randint(1, 400) * TOKEN // 10},
                    first_block, "0x0", f"0x{n:064x}", k + 1), 0)
        projector.flush()
    return ids


def wait_for(url: str, process: subprocess.Popen[bytes], what: str, body: dict[str, Any] | None = None) -> None:
    import requests

    deadline = time.monotonic() + 120
    while True:
        try:
            answer = requests.post(url, json=body, timeout=2) if body else requests.get(url, timeout=2)
            if answer.status_code == 200:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the {what} did not start ({url})")
        time.sleep(0.2)
