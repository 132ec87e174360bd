"""A lean JSON-RPC client for bulk reads (``eth_getLogs`` over block ranges, block headers in
one batched request): what the indexer needs to read a chain fast, without a per-call cost."""

from __future__ import annotations

import itertools
from typing import Any

import requests

from gpurent.errors import ServiceUnavailable


class RpcError(Exception):
    """The node answered with an error (for eth_getLogs often: the range is too large)."""


class JsonRpc:
    def __init__(self, url: str, timeout_s: float = 60.0):
        self.url = url
        self.timeout_s = timeout_s
        self._session = requests.Session()
        self._ids = itertools.count(1)

    def _post(self, body: Any) -> Any:
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout_s)
        except requests.RequestException as err:
            raise ServiceUnavailable(f"the chain node at {self.url} is not answering: {err}") from err
        if response.status_code >= 400:
            raise RpcError(f"HTTP {response.status_code}: {response.text[:200]}")
        return response.json()

    def call(self, method: str, *params: Any) -> Any:
        answer = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        if "error" in answer:
            raise RpcError(str(answer["error"].get("message", answer["error"])))
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        if not calls:
            return []
        first = next(self._ids)
        self._ids = itertools.count(first + len(calls))
        body = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = {a["id"]: a for a in self._post(body)}
        results = []
        for i in range(len(calls)):
            answer = answers.get(first + i)
            if answer is None or "error" in answer:
                raise RpcError(str(answer["error"] if answer else "missing answer in batch"))
            results.append(answer["result"])
        return results

    # -- what the indexer reads ----------------------------------------------------------------
    def head(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def logs(self, addresses: list[str], start: int, stop: int) -> list[dict[str, Any]]:
        return list(self.call("eth_getLogs", {"address": addresses, "fromBlock": hex(start), "toBlock": hex(stop)}))

    def headers(self, numbers: list[int]) -> dict[int, tuple[str, int]]:
        """Block number -> (hash, timestamp), in one batched request per 500 blocks."""
        found: dict[int, tuple[str, int]] = {}
        for i in range(0, len(numbers), 500):
            chunk = numbers[i:i + 500]
            for number, block in zip(chunk, self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk]),
                                     strict=True):
                if block is None:
                    raise RpcError(f"block {number} is not there (the chain moved back)")
                found[number] = (str(block["hash"]), int(block["timestamp"], 16))
        return found

    def calls(self, to: str, datas: list[bytes], block: int) -> list[bytes]:
        """``eth_call`` of each calldata on ``to`` at ``block``, in one batched request."""
        answers = self.batch([("eth_call", [{"to": to, "data": "0x" + d.hex()}, hex(block)]) for d in datas])
        return [bytes.fromhex(str(a).removeprefix("0x")) for a in answers]
