"""A node's JSON-RPC over plain HTTP, bounded: what the read-only SDK (:mod:`.readonly`) stands
on instead of Ape, so that a command that only reads starts in a fraction of a second.

The node is someone else's server: each answer is read with
:func:`~gpurent.capped.capped_request` (at most :data:`MAX_ANSWER_BYTES`, within ``timeout_s``)
and parsed by :func:`~gpurent.safejson.loads_bounded`; anything that is not a JSON-RPC answer
to the request is an :class:`RpcError`, never a traceback.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from gpurent.errors import GpurentError

MAX_ANSWER_BYTES = 32 << 20  # one answer (a page of logs is the largest): more is refused
TIMEOUT_S = 30.0  # one request, connection and whole answer
MAX_DEPTH = 8  # a log list is 4 levels deep; a block 3


class RpcError(GpurentError):
    """Raised when the node answers a JSON-RPC request with an error, or with something that is
    not a JSON-RPC answer (too large, not JSON, of the wrong shape)."""

    def __init__(self, method: str, problem: str, code: int | None = None, data: str | None = None):
        self.method, self.problem, self.code, self.data = method, problem, code, data
        super().__init__(f"the node's answer to {method} {problem}")


class JsonRpc:
    """JSON-RPC requests to the node at ``url`` (http or https), one connection kept open."""

    def __init__(self, url: str, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_ANSWER_BYTES):
        import requests

        self.url, self.timeout_s, self.max_bytes = url, timeout_s, max_bytes
        self._session = requests.Session()
        self._ids = itertools.count(1)

    def request(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of ``method(params)``; RpcError when the node answers an error (its
        ``code`` and ``data`` kept: a revert's data is how the SDK names the custom error),
        ServiceUnavailable when no node answers."""
        from gpurent.capped import capped_request
        from gpurent.safejson import loads_bounded

        request_id = next(self._ids)
        got = capped_request("POST", self.url, f"no node answers at {self.url}", max_bytes=self.max_bytes,
                             deadline=time.monotonic() + self.timeout_s, session=self._session,
                             json_body={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        if got.truncated:
            raise RpcError(method, f"is over {self.max_bytes:,} bytes")
        if got.timed_out:
            raise RpcError(method, f"did not finish within {self.timeout_s:g} s ({got.error})")
        try:
            answer = loads_bounded(got.body, MAX_DEPTH)
        except ValueError:
            raise RpcError(method, f"is not JSON (HTTP {got.status})") from None
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            raise RpcError(method, f"is not a JSON-RPC answer to it (HTTP {got.status})")
        if (error := answer.get("error")) is not None:
            if not isinstance(error, dict):
                raise RpcError(method, "is an error of the wrong shape")
            code, data, message = error.get("code"), error.get("data"), str(error.get("message") or "no message")
            raise RpcError(method, f"is an error: {message[:300]}", code if isinstance(code, int) else None,
                           data if isinstance(data, str) else None)
        if "result" not in answer:
            raise RpcError(method, "has neither a result nor an error")
        return answer["result"]

    def close(self) -> None:
        self._session.close()


def quantity(value: Any, method: str) -> int:
    """A JSON-RPC quantity ("0x1a") as an int; RpcError for anything else."""
    if not isinstance(value, str) or not value.startswith("0x") or not 2 < len(value) <= 66:
        raise RpcError(method, f"is not a quantity: {str(value)[:80]!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise RpcError(method, f"is not a quantity: {value[:80]!r}") from None


def data_bytes(value: Any, method: str) -> bytes:
    """JSON-RPC data ("0x…", an even number of hex digits) as bytes; RpcError otherwise."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) % 2:
        raise RpcError(method, f"is not hex data: {str(value)[:80]!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RpcError(method, f"is not hex data: {value[:80]!r}") from None
