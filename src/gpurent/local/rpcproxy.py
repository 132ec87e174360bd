"""The devnet's JSON-RPC as other machines see it (`gpurent up --public ADDRESS`).

Anvil answers on 127.0.0.1 only: its cheat methods (``evm_increaseTime``,
``anvil_setStorageAt``, ``anvil_impersonateAccount``…) and the accounts it signs for would let
any machine that reaches it bill every job to its cap or rewrite escrow. Other machines reach
this proxy instead, which forwards only reads and signed transactions (:data:`ALLOWED`); every
other method is the JSON-RPC error -32601 "method not allowed". A request body is at most
:data:`BODY_LIMIT` bytes, a batch at most :data:`BATCH_MAX` calls, an answer at most
:data:`ANSWER_LIMIT` bytes.

    python -m gpurent.local.rpcproxy --listen 10.0.0.5:8545 --upstream http://127.0.0.1:8545
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any

from gpurent.http import HttpServer, read_json, send_json

# What a provider, renter or indexer on another machine needs: reads, and transactions it signed
# itself. Not eth_sendTransaction / eth_sign* (Anvil signs with its unlocked test accounts),
# eth_accounts, filters (state kept on the node), debug_* / trace_* (heavy), anvil_* / evm_* /
# hardhat_* (cheats).
ALLOWED = frozenset({
    "eth_chainId", "net_version", "web3_clientVersion", "eth_syncing",
    "eth_blockNumber", "eth_getBlockByNumber", "eth_getBlockByHash", "eth_getBlockReceipts",
    "eth_getBlockTransactionCountByNumber", "eth_getBlockTransactionCountByHash",
    "eth_getTransactionByHash", "eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByBlockHashAndIndex",
    "eth_getTransactionReceipt", "eth_getTransactionCount", "eth_getBalance", "eth_getCode", "eth_getStorageAt",
    "eth_getProof", "eth_call", "eth_estimateGas", "eth_createAccessList", "eth_getLogs",
    "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory", "eth_blobBaseFee",
    "eth_sendRawTransaction",
})
BODY_LIMIT = 1 << 20  # bytes of one request
BATCH_MAX = 100  # calls in one batch
ANSWER_LIMIT = 32 << 20  # bytes of Anvil's answer to one request (a wide eth_getLogs)
UPSTREAM_TIMEOUT_S = 30.0

NOT_ALLOWED, INVALID_REQUEST, INTERNAL = -32601, -32600, -32603


def rpc_error(call_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": call_id, "error": {"code": code, "message": message}}


def refusal(call: Any) -> dict[str, Any] | None:
    """The error answering ``call`` here (None: it goes to Anvil)."""
    if not isinstance(call, dict) or not isinstance(call.get("method"), str) \
            or not isinstance(call.get("params", []), (list, dict)):
        call_id = call.get("id") if isinstance(call, dict) else None
        return rpc_error(call_id if isinstance(call_id, (str, int)) else None, INVALID_REQUEST, "invalid request")
    if call["method"] not in ALLOWED:
        return rpc_error(call.get("id"), NOT_ALLOWED, "method not allowed")
    return None


class Proxy:
    """Answers JSON-RPC on ``listen`` (host, port) with what :data:`ALLOWED` lets through to
    ``upstream``."""

    def __init__(self, listen: tuple[str, int], upstream: str):
        self.upstream = upstream
        self.server = HttpServer(listen[0], listen[1], "gpurent-rpc", self._get, self._post)

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        send_json(request, 405, {"error": "JSON-RPC is POSTed"})

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        body = read_json(request, BODY_LIMIT)
        if isinstance(body, list):
            if not 0 < len(body) <= BATCH_MAX:
                send_json(request, 200, rpc_error(None, INVALID_REQUEST, f"a batch holds 1 to {BATCH_MAX} calls"))
                return
            refused = [r for r in map(refusal, body) if r is not None]
            allowed = [call for call in body if refusal(call) is None]
            answers = self._forward(allowed) if allowed else []
            send_json(request, 200, (answers if isinstance(answers, list) else [answers]) + refused)
            return
        send_json(request, 200, refusal(body) or self._forward(body))

    def _forward(self, calls: Any) -> Any:
        """Anvil's answer to ``calls`` (re-encoded: nothing but the parsed JSON travels on)."""
        data = json.dumps(calls).encode()
        forward = urllib.request.Request(self.upstream, data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(forward, timeout=UPSTREAM_TIMEOUT_S) as response:
                answer = response.read(ANSWER_LIMIT + 1)
            if len(answer) > ANSWER_LIMIT:
                return _each(calls, INTERNAL, f"the answer is over {ANSWER_LIMIT} bytes: ask for less")
            return json.loads(answer)
        except (OSError, ValueError):  # urllib's errors are OSErrors
            return _each(calls, INTERNAL, "the chain did not answer")


def _each(calls: Any, code: int, message: str) -> Any:
    if isinstance(calls, list):
        return [rpc_error(call.get("id"), code, message) for call in calls]
    return rpc_error(calls.get("id"), code, message)


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gpurent.local.rpcproxy", description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=address, required=True, metavar="HOST:PORT")
    parser.add_argument("--upstream", required=True, metavar="URL", help="Anvil's JSON-RPC URL (on 127.0.0.1)")
    args = parser.parse_args(argv)
    proxy = Proxy(args.listen, args.upstream)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    proxy.server.start()
    print(f"serving JSON-RPC on {args.listen[0]}:{proxy.server.port} (reads and signed transactions) "
          f"for {args.upstream}", flush=True)
    while not stopped.wait(1.0):
        pass
    proxy.server.stop()


if __name__ == "__main__":
    main()
