"""Reading a deployment from an untrusted JSON-RPC node: a hostile node's odd answers are one-line
DeploymentSourceErrors (never a traceback), the whole read is bounded in time, and a deployment
whose contracts do not link as one deployment's do is refused whatever its source."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_utils import to_checksum_address

from gpurent.deploysource import DeploymentSourceError, Rpc, read_source, verify
from gpurent.errors import ConfigurationError
from gpurent.manifest import CONTRACTS, Manifest

MARKET, TOKEN, REPUTATION = "11" * 20, "22" * 20, "44" * 20
LINKS = "0x68c62c9c"


def word(hex40: str) -> str:
    return "00" * 12 + hex40


def node(answer: Callable[[str, list[Any]], Any]) -> Iterator[str]:
    """A JSON-RPC node on a free port whose result for (method, params) is ``answer``'s."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": answer(req["method"], req["params"])})
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def hostile(logs: Any, code: str = "0x6000") -> Callable[[str, list[Any]], Any]:
    """A node with code everywhere, a Marketplace linked to its token, registry and reputation
    system, and ``logs`` for every eth_getLogs."""
    def answer(method: str, params: list[Any]) -> Any:
        if method == "eth_call":
            return "0x" + (word(MARKET) + word(REPUTATION) if params[0]["data"] == LINKS else word(TOKEN))
        return {"eth_chainId": "0x7a69", "eth_getCode": code, "eth_getLogs": logs}.get(method)
    return answer


GRANT = {"topics": ["0x" + "ab" * 32, "0x" + "00" * 32, "0x" + word("55" * 20), "0x" + word("66" * 20)],
         "blockNumber": "0x1", "transactionHash": "0x" + "77" * 32}


@pytest.mark.parametrize("logs", [
    [{"topics": [1, 2, 3, 4], "blockNumber": "0xzz", "transactionHash": "0x1"}],  # the reviewer's
    [GRANT | {"blockNumber": "0xzz"}],
    [GRANT | {"blockNumber": 7}],
    [GRANT | {"topics": GRANT["topics"][:3] + ["0x12"]}],
    [GRANT | {"topics": GRANT["topics"][:2] + ["0x" + "ff" * 32, GRANT["topics"][3]]}],  # not an address word
    [GRANT | {"transactionHash": None}],
    ["not a log"],
    {"not": "a list"},
])
def test_a_hostile_rpc_answering_odd_logs_is_one_line_not_a_traceback(logs):
    for url in node(hostile(logs)):
        with pytest.raises(ConfigurationError) as raised:
            read_source("0x" + MARKET, Rpc(url))
        assert isinstance(raised.value, DeploymentSourceError) and "\n" not in str(raised.value)


def test_a_marketplace_with_more_admin_holders_than_the_cap_is_refused_before_asking_for_their_code():
    asked: list[str] = []
    grants = [GRANT | {"topics": GRANT["topics"][:2] + ["0x" + word(f"{i:040x}"), GRANT["topics"][3]]}
              for i in range(1, 1001)]

    def answer(method: str, params: list[Any]) -> Any:
        asked.append(method)
        return hostile(grants)(method, params)

    for url in node(answer):
        with pytest.raises(DeploymentSourceError, match="1000 admin holders .over 16."):
            read_source("0x" + MARKET, Rpc(url))
    assert asked.count("eth_getCode") == 1  # the Marketplace's only


def test_the_whole_read_is_bounded_by_one_deadline():
    def slow(method: str, params: list[Any]) -> Any:
        time.sleep(0.4)
        return hostile([GRANT] * 3)(method, params)

    for url in node(slow):
        started = time.monotonic()
        with pytest.raises(DeploymentSourceError, match="did not finish answering within 1 s"):
            read_source("0x" + MARKET, Rpc(url, deadline_s=1.0))
        assert time.monotonic() - started < 10


def test_a_deployment_whose_five_contracts_are_one_address_is_refused():
    """verify() checked only the chain id and that code exists at each address: a document naming
    any contract (here one address for all five) as the Marketplace was accepted from a file/URL."""
    one = to_checksum_address("0x" + "ab" * 20)
    manifest = Manifest(chain_id=31337, block=1, deployer=one, contracts={n: one for n in CONTRACTS})
    for url in node(lambda method, params: {"eth_chainId": "0x7a69", "eth_getCode": "0x6000"}.get(method, "0x")):
        with pytest.raises(DeploymentSourceError, match="one address for two contracts"):
            verify(manifest, Rpc(url))


def test_a_lookalike_marketplace_beside_the_real_token_is_refused():
    """Five distinct addresses with code, but the Marketplace's token is not the manifest's."""
    contracts = {n: to_checksum_address(f"0x{i + 1:040x}") for i, n in enumerate(CONTRACTS)}
    manifest = Manifest(chain_id=31337, block=1, deployer=contracts["GPUToken"], contracts=contracts)
    for url in node(hostile([])):
        with pytest.raises(DeploymentSourceError, match=r"Marketplace.token\(\) is .*not one deployment"):
            verify(manifest, Rpc(url))
