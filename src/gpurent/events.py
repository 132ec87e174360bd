"""Fast decoding of the gpurent contracts' event logs, straight from ``eth_getLogs`` results.

``EventDecoder`` maps each (contract address, topic0) to its ABI entry once and decodes a raw
log with ``eth_abi`` alone: several times faster than going through a web3 or Ape contract
object per log, which matters to the indexer's backfill.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from gpurent.manifest import CONTRACTS


@dataclass(frozen=True)
class DecodedEvent:
    contract: str  # GPUToken, ResourceRegistry, Marketplace, ReputationSystem
    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


def _abi(name: str) -> list[dict[str, Any]]:
    return list(json.loads(resources.files("gpurent.abi").joinpath(f"{name}.json").read_text())["abi"])


def _canonical(kind: dict[str, Any]) -> str:
    if kind["type"].startswith("tuple"):
        inner = ",".join(_canonical(c) for c in kind["components"])
        return f"({inner}){kind['type'][5:]}"
    return str(kind["type"])


def _normal(value: Any, kind: str) -> Any:
    if kind == "address":
        return str(value).lower()
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


class EventDecoder:
    def __init__(self, addresses: dict[str, str]):
        from eth_utils import keccak, to_checksum_address

        self._by_key: dict[tuple[str, bytes], tuple[str, dict[str, Any], list[str], list[str]]] = {}
        for contract in CONTRACTS:
            address = to_checksum_address(addresses[contract]).lower()
            for entry in _abi(contract):
                if entry["type"] != "event" or entry.get("anonymous"):
                    continue
                types = [_canonical(i) for i in entry["inputs"]]
                topic = bytes(keccak(text=f"{entry['name']}({','.join(types)})"))
                indexed = [t for t, i in zip(types, entry["inputs"], strict=True) if i["indexed"]]
                plain = [t for t, i in zip(types, entry["inputs"], strict=True) if not i["indexed"]]
                self._by_key[(address, topic)] = (contract, entry, indexed, plain)
        self.addresses = sorted({a for a, _ in self._by_key})

    def decode(self, log: dict[str, Any]) -> DecodedEvent | None:
        """The event of a raw log (web3's AttributeDict or JSON-RPC dict); None if unknown."""
        from eth_abi import decode

        topics = [_bytes(t) for t in log["topics"]]
        found = self._by_key.get((str(log["address"]).lower(), topics[0])) if topics else None
        if found is None:
            return None
        contract, entry, indexed, plain = found
        values_indexed = [decode([t], topic)[0] for t, topic in zip(indexed, topics[1:], strict=True)]
        values_plain = list(decode(plain, _bytes(log["data"]))) if plain else []
        args: dict[str, Any] = {}
        for item in entry["inputs"]:
            source = values_indexed if item["indexed"] else values_plain
            args[item["name"]] = _normal(source.pop(0), item["type"])
        return DecodedEvent(contract=contract, name=entry["name"], args=args, block_number=_int(log["blockNumber"]),
                            block_hash="0x" + _bytes(log["blockHash"]).hex(),
                            tx_hash="0x" + _bytes(log["transactionHash"]).hex(), log_index=_int(log["logIndex"]))


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int(str(value), 16)
