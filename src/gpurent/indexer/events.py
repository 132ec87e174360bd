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


FAST = {"address", "bool", "bytes32", "string", "bytes"} | {f"uint{n}" for n in range(8, 257, 8)}


def static_word(kind: str, word: bytes) -> Any:
    """One ABI word of a static type, already in the shape ``normalise`` gives."""
    if kind == "address":
        return "0x" + word[12:].hex()
    if kind == "bool":
        return word[31] == 1
    if kind == "bytes32":
        return "0x" + word.hex()
    return int.from_bytes(word, "big")


def fast_decode(kinds: list[str], data: bytes) -> list[Any]:
    """ABI decoding of the types our events use (:data:`FAST`), by slicing (several times eth_abi's
    speed); the values come in the shape :func:`normalise` gives eth_abi's."""
    out = []
    for i, kind in enumerate(kinds):
        word = data[32 * i:32 * i + 32]
        if kind in ("string", "bytes"):
            start = int.from_bytes(word, "big")
            size = int.from_bytes(data[start:start + 32], "big")
            raw = data[start + 32:start + 32 + size]
            out.append(raw.decode("utf-8", errors="replace") if kind == "string" else "0x" + raw.hex())
        else:
            out.append(static_word(kind, word))
    return out


def normalise(value: Any, kind: str) -> Any:
    """A value as ``eth_abi`` decodes it, in the shape the fast path gives (hex text, lower-case addresses)."""
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
        if all(t in FAST for t in indexed) and all(t in FAST for t in plain):
            values_indexed = [static_word(t, topic) for t, topic in zip(indexed, topics[1:], strict=True)]
            values_plain = fast_decode(plain, _bytes(log["data"])) if plain else []
            normal = False
        else:
            values_indexed = [decode([t], topic)[0] for t, topic in zip(indexed, topics[1:], strict=True)]
            values_plain = list(decode(plain, _bytes(log["data"]))) if plain else []
            normal = True
        args: dict[str, Any] = {}
        plain_iter, indexed_iter = iter(values_plain), iter(values_indexed)
        for item in entry["inputs"]:
            value = next(indexed_iter) if item["indexed"] else next(plain_iter)
            args[item["name"]] = normalise(value, item["type"]) if normal else value
        return DecodedEvent(contract=contract, name=entry["name"], args=args, block_number=_int(log["blockNumber"]),
                            block_hash="0x" + _bytes(log["blockHash"]).hex(),
                            tx_hash="0x" + _bytes(log["transactionHash"]).hex(), log_index=_int(log["logIndex"]))


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int(str(value), 16)
