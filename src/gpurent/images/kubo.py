"""A small client for the Kubo RPC API (``/api/v0``), the calls gpurent uses and no more.

Why not ipfshttpclient: its 0.7 release refuses any Kubo newer than 0.8 in ``connect()``, is no
longer maintained, and cannot stream an upload with a progress callback or a lazily computed
trailing part (the image metadata, whose digest is known only once the tar has gone through).
Every call here was checked against a real Kubo 0.42 node by the test suite.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import requests

from gpurent.errors import ImageError, ServiceUnavailable

Progress = Callable[[int], None]
CHUNKER = "size-262144"  # 256 KiB chunks
_READ = 1 << 20
PROBE_S = 5.0  # how long a node is given to answer `version` when a transfer broke off


@dataclass(frozen=True)
class AddedEntry:
    name: str
    cid: str
    size: int


@dataclass(frozen=True)
class UploadPart:
    """One file of a multipart upload; ``content`` may be produced lazily (a generator)."""

    name: str
    content: Iterable[bytes] | Callable[[], bytes]
    directory: bool = False  # a folder entry (no content), so empty folders are kept too


def api_url(address: str) -> str:
    """``http://host:port`` from a URL or a multiaddr such as ``/ip4/127.0.0.1/tcp/5001``."""
    text = address.strip()
    if text.startswith("/"):
        parts = text.strip("/").split("/")
        try:
            proto, host, _tcp, port = parts[0], parts[1], parts[2], parts[3]
        except IndexError:
            raise ImageError(f"cannot read the IPFS API address {address!r}") from None
        host = f"[{host}]" if proto == "ip6" else host
        return f"http://{host}:{port}"
    return text.rstrip("/") if "://" in text else f"http://{text.rstrip('/')}"


class KuboClient:
    """Kubo's RPC API at ``url``; every failure is a ServiceUnavailable or an ImageError.

    The two say whose fault it is. ServiceUnavailable: the node itself failed (connection
    refused or reset, no answer in time, a stream broken off, a 502/503/504 or a 5xx that is not
    Kubo's own error document, Kubo shutting down): worth asking again once it is back.
    ImageError: the node answered and the answer is about the content (no such path, not found
    within the deadline, not a directory…): asking again gets the same answer.

    With the same node's HTTP ``gateway``, whole-file reads go through it: Kubo's gateway
    streams about three times faster than the RPC ``cat`` (measured by bench/ipfs.py).
    """

    def __init__(self, url: str, timeout_s: float = 30.0, gateway: str | None = None):
        self.url = api_url(url)
        self.gateway = api_url(gateway) if gateway else None
        self.timeout_s = timeout_s
        self._session = requests.Session()

    # -- plumbing ------------------------------------------------------------------------
    def _post(self, command: str, params: dict[str, Any] | None = None, *, stream: bool = False,
              timeout: float | None = None, deadline: float | None = None, **kwargs: Any) -> requests.Response:
        """One RPC call. ``deadline`` (s) makes Kubo itself give up (content no peer holds)
        before the socket's own timeout does, so the answer is an error Kubo explains."""
        if deadline is not None:
            params = {**(params or {}), "timeout": f"{deadline}s"}
            timeout = deadline + 5
        try:
            response = self._session.post(f"{self.url}/api/v0/{command}", params=params, stream=stream,
                                          timeout=timeout if timeout is not None else self.timeout_s, **kwargs)
        except requests.ConnectionError as err:
            raise ServiceUnavailable(
                f"no IPFS node answers at {self.url}: start one with `gpurent ipfs up` "
                "or set GPURENT_IPFS_API") from err
        except requests.Timeout as err:
            raise ServiceUnavailable(f"the IPFS node at {self.url} did not answer `{command}` in time") from err
        if response.status_code >= 400:
            message = _kubo_message(response, command)
            if _node_failed(response, message):
                raise ServiceUnavailable(f"the IPFS node at {self.url} failed `{command}`: {message}")
            raise ImageError(message)
        return response

    def _json(self, command: str, params: Any = None, **kwargs: Any) -> Any:
        return self._post(command, params, **kwargs).json()

    # -- node ----------------------------------------------------------------------------
    def version(self, *, timeout: float | None = None) -> str:
        return str(self._json("version", timeout=timeout)["Version"])

    def broke_off(self, err: ServiceUnavailable) -> NoReturn:
        """Whose fault a transfer that broke off mid-file (reset, stalled, cut short) is: this
        node is asked ``version`` within :data:`PROBE_S`. A node that answers is up, so the
        content is what could not be had (no peer holds the rest of it): ImageError, final. A
        node that does not answer is down: ``err`` again, worth asking once the node is back.
        The one judgement of this for the agent's pull and the oracle's image check."""
        try:
            self.version(timeout=PROBE_S)
        except ServiceUnavailable:
            raise err from err.__cause__
        raise ImageError(f"{err}; the IPFS node at {self.url} answers, so the content is what could not be "
                         "had (no connected peer holds the rest of it)") from err

    def identity(self) -> dict[str, Any]:
        return dict(self._json("id"))

    def swarm_connect(self, multiaddr: str) -> None:
        self._post("swarm/connect", {"arg": multiaddr})

    def swarm_peers(self) -> list[str]:
        peers = self._json("swarm/peers").get("Peers") or []
        return [str(p["Peer"]) for p in peers]

    def repo_stat(self) -> dict[str, int]:
        stat = self._json("repo/stat", {"size-only": "true"})
        return {"repo_size": int(stat.get("RepoSize", 0)), "storage_max": int(stat.get("StorageMax", 0))}

    def repo_gc(self) -> int:
        """Runs garbage collection; returns how many blocks were removed."""
        response = self._post("repo/gc", {"quiet": "true"}, stream=True, timeout=600)
        return sum(1 for line in response.iter_lines() if line)

    # -- content -------------------------------------------------------------------------
    def add(self, parts: list[UploadPart], *, wrap: bool = True, pin: bool = True,
            progress: Progress | None = None) -> list[AddedEntry]:
        """Streams ``parts`` into one upload (256 KiB chunks, CIDv1, raw leaves); with ``wrap``
        the last entry is the directory holding them all."""
        boundary = uuid.uuid4().hex
        params = {"chunker": CHUNKER, "cid-version": "1", "raw-leaves": "true",
                  "wrap-with-directory": str(wrap).lower(), "pin": str(pin).lower(), "quieter": "false"}
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        body = _multipart(parts, boundary, progress)
        response = self._post("add", params, data=body, headers=headers, stream=True, timeout=None)
        entries = []
        for line in response.iter_lines():
            if not line:
                continue
            item = json.loads(line)
            if "Message" in item and "Hash" not in item:
                raise ImageError(f"IPFS add failed: {item['Message']}")
            entries.append(AddedEntry(str(item.get("Name", "")), str(item["Hash"]), int(item.get("Size", 0))))
        if not entries:
            raise ImageError("IPFS add returned nothing")
        return entries

    def cat(self, path: str, *, offset: int = 0, length: int | None = None, timeout: float | None = None,
            chunk: int = _READ, stall_s: float | None = None) -> Iterator[bytes]:
        """Streams the bytes of ``path`` (``CID`` or ``CID/name``), optionally a slice.
        ``timeout`` bounds the whole read (Kubo gives up); ``stall_s`` instead bounds each wait
        for more bytes, for a large file whose total time depends on its size."""
        params: dict[str, Any] = {"arg": path}
        if offset:
            params["offset"] = offset
        if length is not None:
            params["length"] = length
        if stall_s is not None:
            response = self._post("cat", params, stream=True, timeout=stall_s)
        else:
            response = self._post("cat", params, stream=True, deadline=timeout)
        try:
            yield from _checked_stream(response, path, self.url)
        except ServiceUnavailable as err:
            self.broke_off(err)

    def read(self, path: str, *, timeout: float | None = None) -> Iterator[bytes]:
        """Streams a whole file: through the gateway when there is one, else ``cat``."""
        if self.gateway is None:
            yield from self.cat(path, timeout=timeout)
            return
        url = f"{self.gateway}/ipfs/{path}"
        try:
            response = self._session.get(url, stream=True, timeout=timeout or self.timeout_s)
        except (requests.ConnectionError, requests.ConnectTimeout) as err:
            raise ServiceUnavailable(f"the IPFS gateway at {self.gateway} does not answer") from err
        except requests.Timeout as err:  # connected, but no header while the gateway looked for the blocks
            raise ImageError(f"{path} was not found within {timeout} s: no connected IPFS peer holds it") from err
        if response.status_code >= 400:
            message = (f"reading {path} from the IPFS gateway failed: HTTP {response.status_code} "
                       f"{response.text.strip()[:200]}")
            if response.status_code in _GATEWAY_DOWN_STATUS:  # its 504 is a retrieval timeout: the content's
                raise ServiceUnavailable(message)
            raise ImageError(message)
        try:
            yield from response.iter_content(_READ)
        except requests.RequestException as err:  # mid-file (reset, cut short, stalled): the node's or the content's
            broken = ServiceUnavailable(f"the IPFS gateway at {self.gateway} broke off reading {path}: {err}")
            broken.__cause__ = err
            self.broke_off(broken)

    def cat_bytes(self, path: str, *, offset: int = 0, length: int | None = None,
                  timeout: float | None = None) -> bytes:
        return b"".join(self.cat(path, offset=offset, length=length, timeout=timeout))

    def get_tar(self, cid: str, *, timeout: float | None = None) -> Iterator[bytes]:
        """Streams ``cid`` (a file or a whole directory tree) as the uncompressed tar ``ipfs get``
        makes, its entries under the name ``cid``."""
        response = self._post("get", {"arg": cid, "archive": "true"}, stream=True, timeout=timeout)  # per read: a big input takes long
        try:
            yield from _checked_stream(response, cid, self.url)
        except ServiceUnavailable as err:
            self.broke_off(err)

    def stat(self, path: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Size, type and CID of ``/ipfs/<path>``, plus how much of it this node holds."""
        return dict(self._json("files/stat", {"arg": f"/ipfs/{path}", "with-local": "true"}, deadline=timeout))

    def ls(self, cid: str, *, timeout: float | None = None) -> dict[str, str]:
        """The entries of a directory CID: name -> CID."""
        objects = self._json("ls", {"arg": cid, "resolve-type": "false", "size": "false"}, deadline=timeout)
        links = objects["Objects"][0].get("Links") or []
        return {str(link["Name"]): str(link["Hash"]) for link in links}

    # -- pins ----------------------------------------------------------------------------
    def pin_add(self, cid: str, *, timeout: float | None = None) -> None:
        self._post("pin/add", {"arg": cid, "recursive": "true"}, timeout=timeout)

    def pin_rm(self, cid: str) -> None:
        self._post("pin/rm", {"arg": cid, "recursive": "true"})

    def pins(self) -> set[str]:
        """Every recursive pin (their root CIDs)."""
        response = self._post("pin/ls", {"type": "recursive", "stream": "true"}, stream=True)
        return {json.loads(line)["Cid"] for line in response.iter_lines() if line}

    def is_pinned(self, cid: str) -> bool:
        try:
            response = self._post("pin/ls", {"arg": cid, "type": "recursive"})
        except ImageError as err:
            if "not pinned" in str(err):
                return False
            raise
        return bool(response.json().get("Keys"))


# HTTP statuses that say the node (or a proxy before it) is not serving, whatever the content
_NODE_DOWN_STATUS = frozenset({502, 503, 504})
_GATEWAY_DOWN_STATUS = frozenset({502, 503})
# what Kubo says when it is the node that stops, not the content that is missing: an RPC call
# cut by the daemon's shutdown (SIGINT, a restart) ends with one of these
_SHUTDOWN_MARKERS = ("context canceled", "shutting down", "process closing", "node is closed", "daemon is closing")


def _shutting_down(message: str) -> bool:
    text = message.lower()
    return any(marker in text for marker in _SHUTDOWN_MARKERS)


def _kubo_message(response: requests.Response, command: str) -> str:
    try:
        message = str(response.json().get("Message", "")).strip()
    except ValueError:
        message = response.text.strip()[:200]
    return f"IPFS {command} failed: {message or f'HTTP {response.status_code}'}"


def _node_failed(response: requests.Response, message: str) -> bool:
    """Whether an error answer is the node's failure rather than one about the content: a
    502/503/504, a 5xx that is not Kubo's own error document (``{"Message", "Code", "Type":
    "error"}``: something else answered on the node's port), or Kubo shutting down."""
    if response.status_code in _NODE_DOWN_STATUS or _shutting_down(message):
        return True
    if response.status_code < 500:
        return False
    try:
        document = response.json()
    except ValueError:
        return True
    return not (isinstance(document, dict) and document.get("Type") == "error" and "Message" in document)


def _checked_stream(response: requests.Response, path: str, node: str) -> Iterator[bytes]:
    """The body; Kubo reports an error met mid-stream in the ``X-Stream-Error`` trailer (about
    the content, unless it says the node is shutting down); a stream broken off is the node's."""
    try:
        yield from response.iter_content(_READ)
    except requests.RequestException as err:
        raise ServiceUnavailable(f"the IPFS node at {node} broke off reading {path}: {err}") from err
    trailer = response.raw.headers.get("X-Stream-Error") if response.raw is not None else None
    if trailer:
        if _shutting_down(trailer):
            raise ServiceUnavailable(f"the IPFS node at {node} stopped while reading {path}: {trailer}")
        raise ImageError(f"reading {path} from IPFS failed: {trailer}")


def _multipart(parts: list[UploadPart], boundary: str, progress: Progress | None) -> Iterator[bytes]:
    """The multipart body, produced lazily: a part's content is read only when its turn comes."""
    for part in parts:
        kind = "application/x-directory" if part.directory else "application/octet-stream"
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"{quote(part.name, safe='/')}\"\r\nContent-Type: {kind}\r\n\r\n").encode()
        content = part.content
        for block in ([content()] if callable(content) else content):
            if block:
                yield block
                if progress:
                    progress(len(block))
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()
