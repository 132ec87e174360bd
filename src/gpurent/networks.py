"""Named networks: where a chain is, which deployment is on it, how to reach its IPFS and oracles.

One JSON record per network under ``<state home>/networks/<name>.json`` (written atomically;
read back, each must be of exactly its shape), and ``networks/current`` naming the one in use
(``gpurent network use NAME``). ``--network NAME`` (or ``GPURENT_NETWORK``) then selects the
record's RPC and deployment wherever an Ape network choice goes.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpurent.deploysource import DeploymentSourceError, checked_peers, checked_urls
from gpurent.errors import ConfigurationError
from gpurent.manifest import Manifest, ManifestError, write_atomically
from gpurent.safejson import loads_bounded
from gpurent.settings import state_home

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_RECORD_BYTES = 1 << 20


class UnknownNetwork(ConfigurationError):
    """Raised when a network name has no record."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"no network named {name!r}: add it with `gpurent network add {name} --rpc URL "
                         "--deployment SOURCE` (see `gpurent network list`)")


@dataclass(frozen=True)
class Network:
    """One named network."""

    name: str
    rpc: str
    manifest: Manifest
    source: str  # where the deployment was read from
    ipfs_peers: tuple[str, ...] = ()  # the network's Kubo swarm multiaddrs
    oracle_urls: tuple[str, ...] = ()

    @property
    def chain_id(self) -> int:
        return self.manifest.chain_id

    def to_json(self) -> str:
        doc = asdict(self) | {"manifest": json.loads(self.manifest.to_json()), "ipfs_peers": list(self.ipfs_peers),
                              "oracle_urls": list(self.oracle_urls)}
        return json.dumps(doc, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> Network:
        try:
            data = loads_bounded(text, 8, max_bytes=MAX_RECORD_BYTES)
        except ValueError as err:
            raise ConfigurationError(f"{where}: not a network record ({str(err)[:80]})") from None
        fields = {"name", "rpc", "manifest", "source", "ipfs_peers", "oracle_urls"}
        if not isinstance(data, dict) or set(data) != fields:
            raise ConfigurationError(f"{where}: not a network record (fields {', '.join(sorted(fields))})")
        if not isinstance(data["name"], str) or not NAME.fullmatch(data["name"]) or not isinstance(data["rpc"], str) \
                or not isinstance(data["source"], str):
            raise ConfigurationError(f"{where}: not a network record (name, rpc and source are text)")
        try:
            return cls(data["name"], data["rpc"], Manifest.from_json(json.dumps(data["manifest"])), data["source"],
                       checked_peers(data["ipfs_peers"], where), checked_urls(data["oracle_urls"], where))
        except (ManifestError, DeploymentSourceError) as err:
            raise ConfigurationError(f"{where}: not a network record: {err}") from None


def checked_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ConfigurationError(f"{name[:40]!r} is not a network name (lowercase letters, digits, - and _, "
                                 "at most 32, starting with a letter or digit)")
    return name


def networks_dir(home: Path | None = None) -> Path:
    return (home or state_home()) / "networks"


def _path(name: str) -> Path:
    return networks_dir() / f"{checked_name(name)}.json"


def save(network: Network) -> Path:
    """Writes the record atomically (temporary file + rename)."""
    return write_atomically(_path(network.name), network.to_json())


def load(name: str) -> Network:
    """The record of ``name``; UnknownNetwork if there is none."""
    path = _path(name)
    if not path.exists():
        raise UnknownNetwork(name)
    if path.stat().st_size > MAX_RECORD_BYTES:
        raise ConfigurationError(f"{path}: over {MAX_RECORD_BYTES:,} bytes: not a network record")
    network = Network.from_json(path.read_text(encoding="utf-8", errors="replace"), str(path))
    if network.name != name:
        raise ConfigurationError(f"{path}: the record of network {network.name!r}, not {name!r}")
    return network


def find(name: str) -> Network | None:
    """The record of ``name`` if ``name`` is a network name with a record; None otherwise (an Ape
    network choice such as ``ethereum:local:foundry`` or a URL is never a network name)."""
    return load(name) if NAME.fullmatch(name) and _path(name).exists() else None


def names() -> list[str]:
    folder = networks_dir()
    return sorted(p.stem for p in folder.glob("*.json") if NAME.fullmatch(p.stem)) if folder.exists() else []


def remove(name: str) -> None:
    path = _path(name)
    if not path.exists():
        raise UnknownNetwork(name)
    path.unlink()
    if current() == name:
        (networks_dir() / "current").unlink(missing_ok=True)


def current() -> str | None:
    """The network ``gpurent network use`` chose, if its record still exists."""
    marker = networks_dir() / "current"
    name = marker.read_text(encoding="utf-8", errors="replace").strip()[:64] if marker.exists() else ""
    return name if NAME.fullmatch(name) and _path(name).exists() else None


def use(name: str) -> Network:
    network = load(name)
    networks_dir().mkdir(parents=True, exist_ok=True)
    (networks_dir() / "current").write_text(name + "\n")
    return network


def selected(choice: str | None) -> Network | None:
    """The named network ``choice`` names (``--network`` / GPURENT_NETWORK), or, with no choice,
    the one in use; None when the choice is an Ape network choice, or nothing was chosen."""
    if choice:
        return find(choice)
    name = current()
    return load(name) if name else None


def describe(network: Network) -> dict[str, Any]:
    return {"name": network.name, "rpc": network.rpc, "chain_id": network.chain_id, "source": network.source,
            "marketplace": network.manifest.contracts["Marketplace"], "contracts": network.manifest.contracts,
            "block": network.manifest.block, "ipfs_peers": list(network.ipfs_peers),
            "oracle_urls": list(network.oracle_urls), "current": current() == network.name}
