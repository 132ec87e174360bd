"""Reading a deployment from where a network publishes it, and checking it against the chain.

A source is a file path, an http(s) URL, an IPFS CID (read through a Kubo node) or the address of
the network's Marketplace (the other addresses read from the chain). A file, URL or CID holds
either a bare manifest (see :mod:`gpurent.manifest`) or a network document::

    {"deployment": {<manifest>}, "ipfs_peers": ["/ip4/…/tcp/4001/p2p/12D3…"],
     "oracle_urls": ["http://203.0.113.5:7300"]}

Everything read is untrusted: at most ``MAX_SOURCE_BYTES`` within ``SOURCE_TIMEOUT_S``, of
exactly its shape, on the chain the RPC serves, with code at every address, the five contracts
linked as one deployment's are (:func:`verify`). Only plain JSON-RPC
is spoken (no Ape import): a join takes a second, not Ape's start-up.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError
from gpurent.manifest import CONTRACTS, MAX_MANIFEST_BYTES, Manifest, ManifestError
from gpurent.sdk.jsonrpc import JsonRpc, RpcError, quantity
from gpurent.wire.protocol import ADDRESS

MAX_SOURCE_BYTES = MAX_MANIFEST_BYTES
SOURCE_TIMEOUT_S = 15.0
RPC_TIMEOUT_S = 10.0
MAX_PEERS = 16
MAX_URL = 200
MAX_ADMINS = 16  # distinct admin holders of a Marketplace looked at for its timelock
MAX_LOGS = 1000  # grant logs read from one eth_getLogs
READ_DEADLINE_S = 60.0  # the whole read of a deployment from a node
_WORD = re.compile(r"0x[0-9a-fA-F]{64}")
_CID = re.compile(r"Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{50,120}")
MULTIADDR = re.compile(r"/(ip4|ip6|dns4|dns6|dns)/[0-9A-Za-z.:_-]{1,100}/(tcp|udp)/\d{1,5}(/quic-v1)?/p2p/\w{20,80}")
ADMIN_ROLE = "0x" + "00" * 32
ROLE_GRANTED = "0x2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d"  # RoleGranted(bytes32,address,address)
SELECTOR = {"token()": "0xfc0c546a", "registry()": "0x7b103999", "links()": "0x68c62c9c",
            "periodLength()": "0xd2ca2115"}


class DeploymentSourceError(ConfigurationError, ValueError):
    """Raised when a deployment cannot be read from its source, or does not match the chain."""


@dataclass(frozen=True)
class Published:
    """What a source holds: the deployment and, from a network document, how to reach the network."""

    manifest: Manifest
    ipfs_peers: tuple[str, ...] = ()
    oracle_urls: tuple[str, ...] = ()


# ------------------------------------------------------------------------------ JSON-RPC
class Rpc:
    """The bounded JSON-RPC client (:class:`~gpurent.sdk.jsonrpc.JsonRpc`) to one node, with a
    deadline on the whole read (``READ_DEADLINE_S`` from the first call) and every failure a
    one-line DeploymentSourceError."""

    def __init__(self, url: str, timeout_s: float = RPC_TIMEOUT_S, deadline_s: float = READ_DEADLINE_S):
        if not url.startswith(("http://", "https://")) or len(url) > MAX_URL:
            raise DeploymentSourceError(f"--rpc must be an http(s) URL of at most {MAX_URL} characters, not {url[:60]!r}")
        self.url, self.timeout_s, self.deadline_s = url.rstrip("/"), timeout_s, deadline_s
        self._rpc = JsonRpc(self.url, timeout_s, max_bytes=MAX_SOURCE_BYTES)
        self._deadline: float | None = None

    def call(self, method: str, *params: Any) -> Any:
        from gpurent.errors import ServiceUnavailable

        now = time.monotonic()
        self._deadline = deadline = self._deadline or now + self.deadline_s
        late = DeploymentSourceError(f"{self.url} did not finish answering within {self.deadline_s:g} s")
        if now >= deadline:
            raise late
        self._rpc.timeout_s = min(self.timeout_s, deadline - now)
        try:
            return self._rpc.request(method, list(params))
        except (ServiceUnavailable, RpcError) as err:
            if time.monotonic() >= deadline:
                raise late from None
            if isinstance(err, RpcError):
                raise DeploymentSourceError(f"{self.url}: {str(err)[:200]}") from None
            raise DeploymentSourceError(f"no JSON-RPC node answers at {self.url}") from None

    def quantity(self, method: str, *params: Any) -> int:
        try:
            return quantity(self.call(method, *params), method)
        except RpcError as err:
            raise DeploymentSourceError(f"{self.url}: {str(err)[:200]}") from None

    def chain_id(self) -> int:
        return self.quantity("eth_chainId")

    def has_code(self, address: str, block: str = "latest") -> bool:
        code = self.call("eth_getCode", address, block)
        return isinstance(code, str) and code not in ("0x", "0x0", "")

    def words_call(self, to: str, signature: str, words: int = 1) -> list[str]:
        """The first ``words`` 32-byte words (64 hex digits each) a view function without
        arguments returns."""
        try:
            result = self.call("eth_call", {"to": to, "data": SELECTOR[signature]}, "latest")
        except DeploymentSourceError as err:
            if "revert" not in str(err):
                raise
            result = None
        if not isinstance(result, str) or not re.fullmatch(r"0x([0-9a-fA-F]{64})+", result) or len(result) < 2 + 64 * words:
            raise DeploymentSourceError(f"{to} does not answer {signature} (is it a gpurent contract?)")
        return [result[2 + 64 * i:2 + 64 * (i + 1)] for i in range(words)]

    def address_call(self, to: str, signature: str, words: int = 1) -> list[str]:
        """The ``words`` addresses a view function without arguments returns."""
        got = self.words_call(to, signature, words)
        if any(w[:24].strip("0") for w in got):
            raise DeploymentSourceError(f"{to} does not answer {signature} with addresses (is it a gpurent contract?)")
        return [_checksum("0x" + w[24:]) for w in got]


def _checksum(address: Any) -> str:
    from gpurent.errors import InvalidInput
    from gpurent.sdk.rpc_contract import checksum

    try:
        return checksum(address)
    except InvalidInput as err:
        raise DeploymentSourceError(str(err)) from None


# ------------------------------------------------------------------------------ reading a source
def _bounded_text(data: bytes, where: str) -> str:
    if len(data) > MAX_SOURCE_BYTES:
        raise DeploymentSourceError(f"{where}: over {MAX_SOURCE_BYTES:,} bytes: not a deployment")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DeploymentSourceError(f"{where}: not UTF-8 text: not a deployment") from None


def _from_file(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise DeploymentSourceError(f"{path}: over {MAX_SOURCE_BYTES:,} bytes: not a deployment")
        return _bounded_text(path.read_bytes(), str(path))
    except OSError as err:
        raise DeploymentSourceError(f"{path}: cannot read it ({err.strerror or err})") from None


def _from_url(url: str) -> str:
    from gpurent.capped import fetch_whole
    from gpurent.errors import ServiceUnavailable

    try:
        return _bounded_text(fetch_whole(url, "a deployment", max_bytes=MAX_SOURCE_BYTES, timeout_s=SOURCE_TIMEOUT_S),
                             url)
    except (ServiceUnavailable, ValueError) as err:
        if isinstance(err, DeploymentSourceError):
            raise
        raise DeploymentSourceError(str(err)) from None


def _from_ipfs(cid: str, ipfs_api: str | None) -> str:
    from gpurent.errors import GpurentError
    from gpurent.images.kubo import KuboClient
    from gpurent.local.ipfs import ipfs_client

    try:
        client = KuboClient(ipfs_api) if ipfs_api else ipfs_client()
        data = client.cat_bytes(cid, length=MAX_SOURCE_BYTES + 1, timeout=SOURCE_TIMEOUT_S)
    except GpurentError as err:
        raise DeploymentSourceError(f"cannot read {cid} from IPFS: {str(err).splitlines()[0] if str(err) else err}") \
            from None
    return _bounded_text(data, f"ipfs {cid}")


def parse_published(text: str, where: str) -> Published:
    """A bare manifest or a network document; DeploymentSourceError naming ``where`` otherwise."""
    from gpurent.safejson import loads_bounded

    try:
        data = loads_bounded(text, 8, max_bytes=MAX_SOURCE_BYTES)
    except ValueError as err:
        raise DeploymentSourceError(f"{where}: not JSON ({str(err).splitlines()[0][:80]})") from None
    if not isinstance(data, dict):
        raise DeploymentSourceError(f"{where}: not a JSON object")
    if "deployment" not in data:
        return Published(_manifest(json.dumps(data), where))
    if extra := sorted(set(data) - {"deployment", "ipfs_peers", "oracle_urls"}):
        raise DeploymentSourceError(f"{where}: unknown field(s) {', '.join(map(repr, extra))[:120]}")
    return Published(_manifest(json.dumps(data["deployment"]), where),
                     checked_peers(data.get("ipfs_peers", []), where), checked_urls(data.get("oracle_urls", []), where))


def _manifest(text: str, where: str) -> Manifest:
    try:
        return Manifest.from_json(text)
    except ManifestError as err:
        raise DeploymentSourceError(f"{where}: not a deployment manifest: {err}") from None


def checked_peers(peers: Any, where: str) -> tuple[str, ...]:
    """IPFS swarm multiaddrs, each ``/ip4|ip6|dns…/…/tcp|udp/PORT/p2p/PEERID``, at most ``MAX_PEERS``."""
    if not isinstance(peers, (list, tuple)) or len(peers) > MAX_PEERS:
        raise DeploymentSourceError(f"{where}: ipfs_peers must be a list of at most {MAX_PEERS} multiaddrs")
    for peer in peers:
        if not isinstance(peer, str) or not MULTIADDR.fullmatch(peer):
            raise DeploymentSourceError(f"{where}: {str(peer)[:80]!r} is not a peer multiaddr "
                                        "(/ip4/ADDR/tcp/PORT/p2p/PEERID)")
    return tuple(peers)


def checked_urls(urls: Any, where: str) -> tuple[str, ...]:
    """Oracle URLs: http(s), printable, at most ``MAX_URL`` characters, at most ``MAX_PEERS``."""
    if not isinstance(urls, (list, tuple)) or len(urls) > MAX_PEERS:
        raise DeploymentSourceError(f"{where}: oracle_urls must be a list of at most {MAX_PEERS} URLs")
    for url in urls:
        if not isinstance(url, str) or not re.fullmatch(r"https?://[\w.:\[\]-]{1,%d}(/[\w./-]*)?" % MAX_URL, url):
            raise DeploymentSourceError(f"{where}: {str(url)[:80]!r} is not an oracle URL (http://HOST:PORT)")
    return tuple(u.rstrip("/") for u in urls)


def _from_chain(rpc: Rpc, marketplace: str) -> Manifest:
    """The deployment whose Marketplace is at ``marketplace``: token and registry from it, the
    reputation system from the registry's links, the timelock from the admin grants on the
    Marketplace (at most ``MAX_ADMINS`` holders), the first block and the deployer from the
    token's deployment. :func:`verify` then checks the links."""
    marketplace = _checksum(marketplace)
    if not rpc.has_code(marketplace):
        raise DeploymentSourceError(f"no contract at {marketplace} on the chain at {rpc.url}")
    token, = rpc.address_call(marketplace, "token()")
    registry, = rpc.address_call(marketplace, "registry()")
    _, reputation = rpc.address_call(registry, "links()", 2)
    grants = _grants(rpc, marketplace)
    holders = list(dict.fromkeys(holder for holder, _, _ in grants))
    if len(holders) > MAX_ADMINS:
        raise DeploymentSourceError(f"{marketplace} has {len(holders)} admin holders (over {MAX_ADMINS}): not a gpurent "
                                    "deployment; add it from its deployment file instead")
    timelocks = [h for h in holders if rpc.has_code(h)]
    if not timelocks:
        raise DeploymentSourceError(f"no admin contract (timelock) found among {marketplace}'s admin grants")
    _, block, tx_hash = min(_grants(rpc, token) or grants, key=lambda g: g[1])
    deploy_tx = rpc.call("eth_getTransactionByHash", tx_hash)
    if not isinstance(deploy_tx, dict) or not ADDRESS.fullmatch(str(deploy_tx.get("from", ""))):
        raise DeploymentSourceError(f"cannot read the deployment transaction {tx_hash}")
    return Manifest(chain_id=rpc.chain_id(), block=block, deployer=_checksum(deploy_tx["from"]),
                    contracts={"GPUToken": token, "ResourceRegistry": registry, "Marketplace": marketplace,
                               "ReputationSystem": reputation, "GpurentTimelock": timelocks[-1]})


def _grants(rpc: Rpc, address: str) -> list[tuple[str, int, str]]:
    """(holder, block, transaction hash) of each admin-role grant on ``address``, at most
    ``MAX_LOGS``; DeploymentSourceError for a log not of its shape."""
    logs = rpc.call("eth_getLogs", {"address": address, "topics": [ROLE_GRANTED, ADMIN_ROLE], "fromBlock": "0x0",
                                    "toBlock": "latest"})
    if not isinstance(logs, list):
        raise DeploymentSourceError(f"{rpc.url} answered eth_getLogs with {type(logs).__name__}")
    grants = []
    for log in logs[:MAX_LOGS]:
        topics = log.get("topics") if isinstance(log, dict) else None
        if not isinstance(topics, list) or len(topics) != 4 or not all(isinstance(t, str) and _WORD.fullmatch(t)
                                                                        for t in topics) \
                or topics[2][2:26].strip("0") or not isinstance(log.get("transactionHash"), str) \
                or not _WORD.fullmatch(log["transactionHash"]) or not isinstance(log.get("blockNumber"), str) \
                or not re.fullmatch(r"0x[0-9a-fA-F]{1,16}", log["blockNumber"]):
            raise DeploymentSourceError(f"{rpc.url} answered eth_getLogs with a log not of its shape: "
                                        f"{json.dumps(log)[:100]!r}")
        grants.append((_checksum("0x" + topics[2][-40:]), int(log["blockNumber"], 16), log["transactionHash"]))
    return grants


def read_source(source: str, rpc: Rpc, ipfs_api: str | None = None) -> Published:
    """What ``source`` holds (a path, a URL, a CID or a Marketplace address), checked against
    the chain ``rpc`` serves (:func:`verify`)."""
    if ADDRESS.fullmatch(source):
        published = Published(_from_chain(rpc, source))
    else:
        if source.startswith(("http://", "https://")):
            text = _from_url(source)
        elif _CID.fullmatch(source) and not Path(source).exists():
            text = _from_ipfs(source, ipfs_api)
        else:
            path = Path(source).expanduser()
            if not path.is_file():
                raise DeploymentSourceError(f"{source[:100]!r} is not a file, an http(s) URL, an IPFS CID or a "
                                            "contract address")
            text = _from_file(path)
        published = parse_published(text, source[:100])
    verify(published.manifest, rpc)
    return published


def verify(manifest: Manifest, rpc: Rpc) -> None:
    """DeploymentSourceError unless the chain at ``rpc`` is the manifest's, its five addresses are
    distinct and hold code, and the contracts link to each other as one deployment's do (the
    Marketplace's token and registry, the registry's Marketplace and ReputationSystem): a
    lookalike contract beside the real ones is refused, whatever the source."""
    chain_id = rpc.chain_id()
    if chain_id != manifest.chain_id:
        raise DeploymentSourceError(f"the deployment is for chain {manifest.chain_id}, but {rpc.url} serves chain "
                                    f"{chain_id}")
    contracts = {name: manifest.contracts[name] for name in CONTRACTS}
    if len({a.lower() for a in contracts.values()}) != len(contracts):
        raise DeploymentSourceError("the deployment names one address for two contracts: "
                                    + ", ".join(f"{n} {a}" for n, a in contracts.items()))
    for name, address in contracts.items():
        if not ADDRESS.fullmatch(address) or not rpc.has_code(address):
            raise DeploymentSourceError(f"no contract at {name} {address} on chain {chain_id} ({rpc.url})")
    market, registry = _checksum(contracts["Marketplace"]), _checksum(contracts["ResourceRegistry"])
    links = {"Marketplace.token()": (rpc.address_call(market, "token()"), [contracts["GPUToken"]]),
             "Marketplace.registry()": (rpc.address_call(market, "registry()"), [registry]),
             "ResourceRegistry.links()": (rpc.address_call(registry, "links()", 2),
                                          [market, contracts["ReputationSystem"]])}
    for call, (got, want) in links.items():
        if [a.lower() for a in got] != [a.lower() for a in want]:
            raise DeploymentSourceError(f"{call} is {', '.join(got)}, not {', '.join(want)}: the contracts are not "
                                        "one deployment")
