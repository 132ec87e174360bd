"""Deployment manifests: which addresses the suite has on which chain.

One JSON file per chain id under ``<state home>/deployments/``; written atomically, so a crash
never leaves a half-written manifest.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gpurent.settings import state_home

CONTRACTS = ("GPUToken", "ResourceRegistry", "Marketplace", "ReputationSystem", "GpurentTimelock")


@dataclass(frozen=True)
class Manifest:
    """Addresses and parameters of one deployment of the suite."""

    chain_id: int
    block: int  # block of the first deployment transaction: where indexers start
    deployer: str
    contracts: dict[str, str]
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        missing = [name for name in CONTRACTS if name not in data.get("contracts", {})]
        if missing:
            raise ValueError(f"manifest lacks {', '.join(missing)}")
        return cls(**data)


def node_chain_id() -> int:
    """The chain id the connected node reports (Ape's own figure can be its network's default)."""
    from ape import chain

    web3 = getattr(chain.provider, "web3", None)
    return int(web3.eth.chain_id) if web3 is not None else int(chain.chain_id)


def manifest_path(chain_id: int, home: Path | None = None) -> Path:
    return (home or state_home()) / "deployments" / f"{chain_id}.json"


def load_manifest(chain_id: int, home: Path | None = None) -> Manifest | None:
    """The manifest for ``chain_id``, or None when the suite was never deployed there."""
    path = manifest_path(chain_id, home)
    if not path.exists():
        return None
    return Manifest.from_json(path.read_text())


def save_manifest(manifest: Manifest, home: Path | None = None) -> Path:
    """Writes the manifest atomically (temporary file + rename)."""
    path = manifest_path(manifest.chain_id, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        handle.write(manifest.to_json())
    os.replace(tmp, path)
    return path
