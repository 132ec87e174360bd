"""A provider's endpoint: untrusted input, parsed once, then used only through its parsed parts.

The endpoint is a string any provider writes on chain (up to 256 bytes, and a raw contract call
skips the SDK's checks), so every caller (the renter's SDK, the oracle's evidence reads and
challenges) goes through :func:`provider_target`:

- **shape** (:func:`parse_endpoint`): ``http`` or ``https``, a host (a DNS name, a dotted-quad
  IPv4 or a bracketed IPv6 address), an optional port 1–65535 and an optional base path of
  unreserved characters; no userinfo, query, fragment, percent-escape, ``.``/``..`` segment,
  whitespace, control or non-ASCII character; at most :data:`MAX_ENDPOINT_BYTES` bytes.
- **routes**: a request URL is the parsed base plus a fixed route (:meth:`Endpoint.url`), never
  the string as written, so nothing the provider appends changes where the request goes.
- **targets**: unless the network is a local devnet, a host that resolves to a loopback,
  private, link-local, multicast, unspecified, reserved or otherwise non-global address is
  refused, every address it resolves to checked, and the address a connection actually reaches
  checked again (a name that resolves differently the second time gains nothing).
  ``GPURENT_PRIVATE_ENDPOINTS=allow|refuse`` overrides the default (allow on chain ids
  :data:`DEVNET_CHAIN_IDS`, refuse elsewhere).
- **transport** (:meth:`Target.session`): no redirects, no proxies or ``.netrc`` from the
  environment, and an ``Origin: null`` header, the web's mark of a request from an untrusted
  origin, which local services built for browsers (Kubo's RPC among them) refuse. The session's
  connections can be cut at a deadline (``cut_after``): a timeout bounds each read, and a
  provider that sends its headers a byte at a time answers every read in time.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from gpurent.errors import ConfigurationError, GpurentError, InvalidInput

MAX_ENDPOINT_BYTES = 256  # what the registry stores
DEVNET_CHAIN_IDS = frozenset({31337, 1337})  # Anvil/Hardhat and Ganache/Geth --dev: private targets allowed
PRIVATE_ENV = "GPURENT_PRIVATE_ENDPOINTS"
ORIGIN = "null"  # sent with every request to a provider (see the module's docstring)

_SCHEME = re.compile(r"(?i)(https?)://")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_PORT = re.compile(r"[0-9]{1,5}")
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_RESERVED = "@?#%\\"  # userinfo, query, fragment, escapes, backslashes: never in an endpoint
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidEndpoint(InvalidInput):
    """Raised when a provider endpoint is not an http(s) URL of the shape gpurent accepts."""


class EndpointRefused(GpurentError):
    """Raised when a provider endpoint resolves to an address this network's policy refuses, or
    does not resolve at all."""


@dataclass(frozen=True)
class Endpoint:
    """A parsed provider endpoint: ``scheme://host:port`` and a base path ("" or "/a/b")."""

    scheme: str
    host: str  # a lower-case DNS name or an IP address (IPv6 without brackets)
    port: int
    path: str

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == {"http": 80, "https": 443}[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"

    def url(self, *route: str) -> str:
        """The base followed by ``route``'s segments (fixed names and ids, each checked)."""
        for segment in route:
            if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
                raise InvalidInput(f"{segment[:80]!a} is not a URL path segment")
        return "/".join((self.base, *route))

    def __str__(self) -> str:
        return self.base


def parse_endpoint(text: object) -> Endpoint:
    """``text`` as an :class:`Endpoint`; InvalidEndpoint (one line, naming the rule) if it is not
    one (see the module's docstring for the shape)."""
    if not isinstance(text, str) or not text:
        raise InvalidEndpoint("the provider endpoint is empty")
    shown = f"the provider endpoint {text[:80]!a}{'…' if len(text) > 80 else ''}"
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ENDPOINT_BYTES:
        raise InvalidEndpoint(f"{shown} is longer than {MAX_ENDPOINT_BYTES} bytes")
    if not all(0x21 <= ord(c) <= 0x7E for c in text):
        raise InvalidEndpoint(f"{shown} holds whitespace, control or non-ASCII characters "
                              "(write an internationalised name in punycode)")
    scheme = _SCHEME.match(text)
    if scheme is None:
        raise InvalidEndpoint(f"{shown} is not an http:// or https:// URL")
    rest = text[scheme.end():]
    authority, _, path = rest.partition("/")
    for mark, what in (("@", "user name or password"), ("?", "query"), ("#", "fragment"),
                       ("%", "percent-escape"), ("\\", "backslash")):
        if mark in (authority if mark == "@" else rest):
            raise InvalidEndpoint(f"{shown} has a {what}: an endpoint is scheme://host[:port][/path] only")
    host, port = _host_port(authority, shown, 443 if scheme.group(1).lower() == "https" else 80)
    segments = path.split("/") if path else []
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash is fine
    if any(not _SEGMENT.fullmatch(s) or s in (".", "..") for s in segments):
        raise InvalidEndpoint(f"{shown} has a path with empty or dot segments or characters outside "
                              "A-Z a-z 0-9 . _ ~ -")
    return Endpoint(scheme.group(1).lower(), host, port, "".join(f"/{s}" for s in segments))


def _host_port(authority: str, shown: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        inside, bracket, after = authority[1:].partition("]")
        try:
            host = str(ipaddress.IPv6Address(inside)) if bracket else ""
        except ValueError:
            host = ""
        if not host:
            raise InvalidEndpoint(f"{shown} has a malformed IPv6 address")
    else:
        host, colon, port = authority.partition(":")
        after = colon + port
        host = host.lower().rstrip(".")
        labels = host.split(".")
        if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise InvalidEndpoint(f"{shown} has no valid host name")
        if labels[-1].isdigit() or _is_numeric(host):  # no TLD is numeric: an address, so a strict one
            try:
                host = str(ipaddress.IPv4Address(host))
            except ValueError:
                raise InvalidEndpoint(f"{shown} has a host that is neither a name nor a dotted-quad address") from None
    if not after:
        return host, default_port
    if not after.startswith(":") or not _PORT.fullmatch(after[1:]) or not 1 <= int(after[1:]) <= 65535:
        raise InvalidEndpoint(f"{shown} has a port outside 1-65535")
    return host, int(after[1:])


def _is_numeric(host: str) -> bool:
    """Whether the C resolver would read ``host`` as an address (``0x7f000001``, ``127.1``)."""
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


# ---------------------------------------------------------------- where a request may go

def private_targets_allowed(chain_id: int) -> bool:
    """Whether provider endpoints may reach non-global addresses on this chain: the
    :data:`PRIVATE_ENV` setting, else only on a local devnet (:data:`DEVNET_CHAIN_IDS`)."""
    setting = os.environ.get(PRIVATE_ENV, "").strip().lower()
    if not setting:
        return chain_id in DEVNET_CHAIN_IDS
    if setting in ("allow", "refuse"):
        return setting == "allow"
    raise ConfigurationError(f"{PRIVATE_ENV} must be allow or refuse, got {setting[:40]!a}")


def refusal(address: IPAddress) -> str | None:
    """Why a provider endpoint may not reach ``address`` off a devnet; None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-global"


def check_address(text: str, endpoint: Endpoint) -> None:
    """EndpointRefused unless ``text`` (an IP address) is one a provider endpoint may reach."""
    address = ipaddress.ip_address(text.split("%")[0])
    if (why := refusal(address)) is not None:
        raise EndpointRefused(f"the provider endpoint {endpoint} reaches {address}, a {why} address: refused "
                              f"off a local devnet ({PRIVATE_ENV}=allow on a private network)")


def resolve(endpoint: Endpoint) -> list[str]:
    """Every address ``endpoint``'s host resolves to (EndpointRefused if none)."""
    try:
        found = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise EndpointRefused(f"the provider endpoint {endpoint} does not resolve ({err})") from None
    return sorted({str(info[4][0]) for info in found})


@dataclass(frozen=True)
class Target:
    """A provider's endpoint as the renter or the oracle may use it on this network."""

    endpoint: Endpoint
    allow_private: bool

    def url(self, *route: str) -> str:
        return self.endpoint.url(*route)

    def connect(self, timeout_s: float, tls: bool = True) -> socket.socket:
        """A socket to the endpoint (TLS for https), under the same checks as :meth:`session`:
        each address resolved is checked first, the peer reached checked again (a tunnel or a
        WebSocket, where a requests session does not serve)."""
        import ssl

        addresses = resolve(self.endpoint)
        if not self.allow_private:
            for address in addresses:
                check_address(address, self.endpoint)
        last: OSError | None = None
        for address in addresses:
            try:
                sock = socket.create_connection((address, self.endpoint.port), timeout=timeout_s)
            except OSError as err:
                last = err
                continue
            try:
                if not self.allow_private:
                    check_address(str(sock.getpeername()[0]), self.endpoint)
                if tls and self.endpoint.scheme == "https":
                    sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.endpoint.host)
            except BaseException:
                sock.close()
                raise
            return sock
        raise EndpointRefused(f"the provider endpoint {self.endpoint} does not answer ({last})")

    def session(self) -> requests.Session:
        """A session for one exchange with the provider: the host resolved and every address
        checked first (unless private targets are allowed), each connection's peer checked
        again, no redirects, nothing taken from the environment, ``Origin: null`` sent."""
        session = _NoRedirects()
        session.trust_env = False  # no proxy, no .netrc credentials for a provider's host
        session.headers["Origin"] = ORIGIN
        if not self.allow_private:
            for address in resolve(self.endpoint):
                check_address(address, self.endpoint)
        adapter = _GuardedAdapter(self.endpoint, check=not self.allow_private)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


def provider_target(text: object, chain_id: int) -> Target:
    """The endpoint ``text`` (as read from the chain) parsed, under this chain's policy."""
    return Target(parse_endpoint(text), private_targets_allowed(chain_id))


class _NoRedirects(requests.Session):
    """A session that follows no redirect, whatever its caller asks."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)

    def cut_after(self, seconds: float) -> threading.Timer:
        """Shuts every connection of this session down in ``seconds`` (cancel the timer to keep
        them): a read blocked on one ends at once, whatever the peer still sends."""
        adapters = [a for a in self.adapters.values() if isinstance(a, _GuardedAdapter)]

        def cut() -> None:
            for adapter in adapters:
                adapter.cut()

        timer = threading.Timer(max(0.0, seconds), cut)
        timer.daemon = True
        timer.start()
        return timer


class _GuardedAdapter(HTTPAdapter):
    """Connection pools whose connections check the address they reached before any byte goes
    (``check``), and are known to the adapter, so that :meth:`cut` can shut them down."""

    def __init__(self, endpoint: Endpoint, check: bool = True):
        self.endpoint, self.check = endpoint, check
        self.connections: weakref.WeakSet[HTTPConnection] = weakref.WeakSet()
        super().__init__(max_retries=0)

    def cut(self) -> None:
        for conn in list(self.connections):
            sock = getattr(conn, "sock", None)  # the TLS socket once wrapped
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # closed already
                pass

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        endpoint, check, known = self.endpoint, self.check, self.connections

        def guarded(conn_cls: type[HTTPConnection]) -> type[HTTPConnection]:
            class Guarded(conn_cls):  # type: ignore[valid-type,misc]
                def _new_conn(self) -> socket.socket:
                    sock: socket.socket = super()._new_conn()
                    try:
                        if check:
                            check_address(str(sock.getpeername()[0]), endpoint)
                    except EndpointRefused:
                        sock.close()
                        raise
                    known.add(self)
                    return sock

            return Guarded

        class Plain(HTTPConnectionPool):
            ConnectionCls = guarded(HTTPConnection)

        class Secure(HTTPSConnectionPool):
            ConnectionCls = guarded(HTTPSConnection)  # type: ignore[assignment]

        self.poolmanager.pool_classes_by_scheme = {"http": Plain, "https": Secure}
