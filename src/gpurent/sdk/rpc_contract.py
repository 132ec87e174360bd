"""A deployed contract read over plain JSON-RPC with its packaged ABI (``gpurent/abi``): view
calls (``contract.getJob(job_id)``) and event queries (``contract.JobCreated.range(start,
stop, search_topics=…)``) with the shape of Ape's ``ContractInstance`` that the SDK's read
methods use, so that one SDK code path serves both (see :mod:`.readonly`).

Values come out as Ape gives them: addresses checksummed, structs with attribute access, a
single output bare, several as a tuple; logs with their arguments as attributes and in
``event_arguments``, and ``block_number`` / ``log_index``. Everything the node returns is
decoded strictly; what does not decode is an :class:`~gpurent.sdk.jsonrpc.RpcError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from types import SimpleNamespace
from typing import Any

from gpurent.artifacts import abi, abi_signature, abi_type
from gpurent.errors import ContractRevert, InvalidInput
from gpurent.sdk.jsonrpc import JsonRpc, RpcError, data_bytes, quantity

LOG_PAGE_BLOCKS = 10_000  # blocks asked for in one eth_getLogs (public nodes refuse wide ranges)
REVERTED = 3  # the JSON-RPC error code of a reverted call ("execution reverted", with its data)


class CallReverted(ContractRevert):
    """Raised when a view call reverts; ``data`` is the revert data (the custom error)."""

    def __init__(self, function: str, data: bytes):
        from gpurent.reverts import RevertData, translate

        self.data = data
        translated = translate(RevertData(data), f"call {function}")
        super().__init__(str(translated), getattr(translated, "name", ""), getattr(translated, "inputs", None))


@cache
def packaged_abi(name: str) -> dict[str, dict[str, Any]]:
    """The functions and events of contract ``name``'s packaged ABI, by name."""
    return {entry["name"]: entry for entry in abi(name) if entry["type"] in ("function", "event")}


def _keccak(data: bytes) -> bytes:
    from eth_utils.crypto import keccak

    return bytes(keccak(data))


def checksum(address: Any) -> str:
    """``address`` (0x and 40 hex digits; if in mixed case, checksummed) in its checksummed
    form, as Ape writes addresses; InvalidInput for anything else."""
    from eth_utils.address import is_address, to_checksum_address

    if not isinstance(address, str) or not is_address(address):
        raise InvalidInput(f"not an address: {str(address)[:80]!r}")
    return str(to_checksum_address(address))


def _shaped(param: dict[str, Any], value: Any) -> Any:
    """A decoded value as Ape gives it: checksummed addresses, structs with attributes."""
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = dict(param, type=kind[:kind.rindex("[")])
        return [_shaped(inner, item) for item in value]
    if kind == "tuple":
        return SimpleNamespace(**{c["name"]: _shaped(c, v) for c, v in zip(param["components"], value)})
    if kind == "address":
        return checksum(value)
    return value


def _decode(params: list[dict[str, Any]], data: bytes, what: str) -> tuple[Any, ...]:
    from eth_abi.abi import decode

    try:
        values = decode([abi_type(p) for p in params], data, strict=True)
    except Exception as err:  # eth_abi's DecodingError family, or data of the wrong size
        raise RpcError(what, f"does not decode as ({','.join(abi_type(p) for p in params)}): {type(err).__name__}") \
            from None
    return tuple(_shaped(p, v) for p, v in zip(params, values))


def _encode(types: list[str], args: tuple[Any, ...], what: str) -> bytes:
    from eth_abi.abi import encode

    values = list(args)
    for i, kind in enumerate(types):  # an address named plainly, not by the encoder's class name
        if kind == "address":
            try:
                values[i] = checksum(values[i])
            except InvalidInput as err:
                raise InvalidInput(f"cannot {what}: {err}") from None
    try:
        return bytes(encode(types, values))
    except Exception as err:  # eth_abi's EncodingError family: a value that does not fit its type
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise InvalidInput(f"cannot {what}: {first}") from None


class RpcContract:
    """Contract ``name`` (a packaged ABI) at ``address``, read through ``rpc``."""

    def __init__(self, rpc: JsonRpc, name: str, address: str):
        self.rpc, self.name, self.address = rpc, name, checksum(address)
        self._abi = packaged_abi(name)

    def __getattr__(self, attr: str) -> Any:
        entry = self.__dict__.get("_abi", {}).get(attr)
        if entry is None:
            raise AttributeError(f"{self.name} has no function or event {attr!r}")
        return (RpcMethod if entry["type"] == "function" else RpcEvent)(self, entry)

    def __repr__(self) -> str:
        return f"<{self.name} {self.address} (JSON-RPC)>"


class RpcMethod:
    """A view function of an :class:`RpcContract`: calling it sends ``eth_call`` at the latest block."""

    def __init__(self, contract: RpcContract, entry: dict[str, Any]):
        self.contract, self.entry = contract, entry
        self.name = str(entry["name"])
        self.selector = _keccak(abi_signature(entry).encode())[:4]

    def encode_input(self, *args: Any) -> bytes:
        inputs = self.entry["inputs"]
        if len(args) != len(inputs):
            raise InvalidInput(f"cannot call {self.name}: {len(args)} argument(s) given, {len(inputs)} expected")
        return self.selector + _encode([abi_type(p) for p in inputs], args, f"call {self.name}")

    def __call__(self, *args: Any) -> Any:
        call = {"to": self.contract.address, "data": "0x" + self.encode_input(*args).hex()}
        try:
            result = self.contract.rpc.request("eth_call", [call, "latest"])
        except RpcError as err:
            if err.code == REVERTED or (err.data or "").startswith("0x"):
                raise CallReverted(self.name, data_bytes(err.data or "0x", "eth_call")) from None
            raise
        values = _decode(self.entry["outputs"], data_bytes(result, "eth_call"), f"eth_call of {self.name}")
        return values[0] if len(values) == 1 else values


class RpcEvent:
    """An event of an :class:`RpcContract`, queried with ``eth_getLogs``."""

    def __init__(self, contract: RpcContract, entry: dict[str, Any]):
        self.contract, self.entry = contract, entry
        self.name = str(entry["name"])
        self.topic = _keccak(abi_signature(entry).encode())
        self._indexed = [p for p in entry["inputs"] if p["indexed"]]
        self._data = [p for p in entry["inputs"] if not p["indexed"]]

    def range(self, start: int, stop: int, search_topics: dict[str, Any] | None = None) -> Iterator[RpcLog]:
        """The event's logs in blocks [start, stop), oldest first, where each indexed argument
        named in ``search_topics`` has the given value."""
        topics = self._topics(search_topics or {})
        for low in range(start, stop, LOG_PAGE_BLOCKS):
            high = min(stop, low + LOG_PAGE_BLOCKS) - 1
            found = self.contract.rpc.request("eth_getLogs", [{
                "address": self.contract.address, "fromBlock": hex(low), "toBlock": hex(high), "topics": topics}])
            if not isinstance(found, list):
                raise RpcError("eth_getLogs", "is not a list of logs")
            for raw in found:
                yield self._log(raw)

    def _topics(self, search: dict[str, Any]) -> list[str | None]:
        if unknown := set(search) - {p["name"] for p in self._indexed}:
            raise InvalidInput(f"{self.name} has no indexed argument {sorted(unknown)[0]!r}")
        topics: list[str | None] = ["0x" + self.topic.hex()]
        for param in self._indexed:
            value = search.get(param["name"])
            topics.append(None if value is None else
                          "0x" + _encode([abi_type(param)], (value,), f"search {self.name} logs").hex())
        while topics[-1] is None:
            topics.pop()
        return topics

    def _log(self, raw: Any) -> RpcLog:
        what = f"eth_getLogs of {self.name}"
        if not isinstance(raw, dict) or not isinstance(raw.get("topics"), list):
            raise RpcError(what, "is not a log")
        topics = [data_bytes(t, what) for t in raw["topics"]]
        if len(topics) != 1 + len(self._indexed) or topics[0] != self.topic:
            raise RpcError(what, "has a log of another event")
        if str(raw.get("address", "")).lower() != self.contract.address.lower():
            raise RpcError(what, "has a log of another contract")
        args: dict[str, Any] = {}
        for param, topic in zip(self._indexed, topics[1:]):
            static = not (param["type"] in ("string", "bytes") or param["type"].endswith("]")
                          or param["type"].startswith("tuple"))
            # an indexed dynamic value is stored as its hash: the topic itself
            args[param["name"]] = _decode([param], topic, what)[0] if static else topic
        args.update(zip((p["name"] for p in self._data), _decode(self._data, data_bytes(raw.get("data"), what), what)))
        return RpcLog(self.name, args, quantity(raw.get("blockNumber"), what), quantity(raw.get("logIndex"), what),
                      str(raw.get("transactionHash", "")))


class RpcLog:
    """One decoded log: its arguments as attributes and in ``event_arguments``."""

    def __init__(self, event_name: str, arguments: dict[str, Any], block_number: int, log_index: int,
                 transaction_hash: str):
        self.event_name, self.event_arguments = event_name, arguments
        self.block_number, self.log_index, self.transaction_hash = block_number, log_index, transaction_hash

    def __getattr__(self, attr: str) -> Any:
        arguments = self.__dict__.get("event_arguments", {})
        if attr in arguments:
            return arguments[attr]
        raise AttributeError(f"the {self.__dict__.get('event_name', '')} log has no argument {attr!r}")
