"""Deployment manifests: which addresses the suite has on which chain.

One JSON file per chain id under ``<state home>/deployments/``; written atomically, so a crash
never leaves a half-written manifest. Read back, a manifest must have exactly its fields, of
their types (a corrupt, truncated or extended file is a :class:`ManifestError` naming the file
and what is wrong, in one line).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError
from gpurent.safejson import loads_bounded
from gpurent.settings import state_home

CONTRACTS = ("GPUToken", "ResourceRegistry", "Marketplace", "ReputationSystem", "GpurentTimelock")
MAX_MANIFEST_BYTES = 1 << 20  # a manifest is a few hundred bytes: a bigger file is not one
MAX_MANIFEST_DEPTH = 8  # its deepest value (a parameter) is 3 levels down
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{1,40}")  # hex, at most an address long


class ManifestError(ConfigurationError, ValueError):
    """Raised when a deployment manifest is not valid JSON of the manifest's shape."""


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
        """The manifest in ``text``; ManifestError (a ValueError) unless it is JSON of exactly
        the manifest's fields and types."""
        try:
            data = loads_bounded(text, MAX_MANIFEST_DEPTH, max_bytes=MAX_MANIFEST_BYTES)
        except ValueError as err:
            raise ManifestError(f"not JSON of a manifest ({_first_line(err)})") from None
        if not isinstance(data, dict):
            raise ManifestError(f"not a JSON object but {type(data).__name__}")
        fields = {"chain_id", "block", "deployer", "contracts", "parameters"}
        if extra := sorted(set(data) - fields):
            raise ManifestError(f"unknown field(s) {', '.join(map(repr, extra))[:200]}")
        if absent := [name for name in ("chain_id", "block", "deployer", "contracts") if name not in data]:
            raise ManifestError(f"lacks the field(s) {', '.join(absent)}")
        for name in ("chain_id", "block"):
            if type(data[name]) is not int or data[name] < 0:
                raise ManifestError(f"{name} must be a whole number of 0 or more, not {_shown(data[name])}")
        contracts = data["contracts"]
        if not isinstance(contracts, dict):
            raise ManifestError(f"contracts must be an object of addresses, not {_shown(contracts)}")
        if missing := [name for name in CONTRACTS if name not in contracts]:
            raise ManifestError(f"manifest lacks {', '.join(missing)}")
        if extra := sorted(set(contracts) - set(CONTRACTS)):
            raise ManifestError(f"unknown contract(s) {', '.join(map(repr, extra))[:200]}")
        for name, address in [("deployer", data["deployer"]), *((f"contracts.{k}", v) for k, v in contracts.items())]:
            if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
                raise ManifestError(f"{name} must be an address (0x and hex digits), not {_shown(address)}")
        if not isinstance(data.get("parameters", {}), dict):
            raise ManifestError(f"parameters must be an object, not {_shown(data['parameters'])}")
        return cls(**data)


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def _shown(value: Any) -> str:
    """A wrong value, shortened, for a one-line message."""
    text = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


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
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{path.stat().st_size:,} bytes, over {MAX_MANIFEST_BYTES:,}")
        manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
        if manifest.chain_id != chain_id:
            raise ManifestError(f"it is the manifest of chain {manifest.chain_id}, not {chain_id}")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not a deployment manifest (not UTF-8 text)") from None
    except ManifestError as err:
        raise ManifestError(f"{path}: not a deployment manifest: {err}") from None
    except OSError as err:
        raise ManifestError(f"{path}: cannot read the deployment manifest ({err.strerror or err})") from None
    return manifest


def save_manifest(manifest: Manifest, home: Path | None = None) -> Path:
    """Writes the manifest atomically (temporary file + rename)."""
    return write_atomically(manifest_path(manifest.chain_id, home), manifest.to_json())


def write_atomically(path: Path, text: str) -> Path:
    """Writes ``text`` to ``path`` through a temporary file beside it and a rename: a reader (or
    a crash) never sees half of it. Also writes the network records (:mod:`gpurent.networks`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path
