"""Hostile HTTP requests, sent byte for byte over a raw socket (so a request can carry what no
HTTP library would send: ``Content-Length: -1``, a chunked body, a garbled request line), and
the checks every gpurent daemon must pass for each: a status (a JSON 4xx for what is refused),
never a dropped connection, never a 500.

Used by the HTTP fuzz sets of the agent (tests/agent/test_http_fuzz.py) and the oracle
(tests/oracle/test_http_fuzz.py); both print how many requests they tried and how many were
refused, for the issue's closing note."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

SEED = 16  # the mutation draws are fixed: the same requests every run


@dataclass(frozen=True)
class Probe:
    name: str
    raw: bytes
    expect: tuple[int, ...]  # the statuses that are right for it


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no status line came back (the connection was dropped)
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(method: str, path: str, headers: Iterable[tuple[str, str]] = (), body: bytes | None = None,
            length: str | None = "auto", version: str = "HTTP/1.0") -> bytes:
    """The bytes of one request; ``length`` "auto" sends the body's true Content-Length, None
    none, any other text that text."""
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers]
    if length == "auto" and body is not None:
        lines.append(f"Content-Length: {len(body)}")
    elif length not in (None, "auto"):
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + (body or b"")


def send(port: int, raw: bytes, timeout_s: float = 30.0) -> Reply:
    """Sends ``raw`` and reads the whole answer (the servers close after each)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(raw)
        except OSError:  # refused before the body was all sent: the answer is what counts
            pass
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return Reply(0, {}, data)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Reply(int(parts[1]), headers, body)


@dataclass
class Tally:
    """What a fuzz set tried, and how it was answered."""

    what: str
    tried: int = 0
    refused: int = 0  # a JSON 4xx
    answered: int = 0  # a 2xx
    statuses: dict[int, int] = field(default_factory=dict)

    def check(self, port: int, probe: Probe) -> Reply:
        reply = send(port, probe.raw)
        self.tried += 1
        self.statuses[reply.status] = self.statuses.get(reply.status, 0) + 1
        assert reply.status in probe.expect, (probe.name, reply.status, reply.body[:300])
        if reply.status >= 300:
            body = reply.json()  # a JSON error, not an HTML page or nothing
            assert isinstance(body, dict) and isinstance(body.get("error"), str), (probe.name, reply.body[:300])
            assert reply.headers.get("content-type") == "application/json", (probe.name, reply.headers)
            self.refused += 400 <= reply.status < 500
        else:
            self.answered += 1
        return reply

    def run(self, port: int, probes: Iterable[Probe]) -> None:
        for probe in probes:
            self.check(port, probe)

    def line(self) -> str:
        return (f"{self.what} HTTP fuzz: {self.tried} requests tried, {self.refused} refused with a JSON 4xx, "
                f"{self.answered} answered 2xx; statuses {dict(sorted(self.statuses.items()))}")


CLIENT_ERROR = tuple(range(400, 500))
BAD_LENGTHS = ("-1", "abc", "1e3", "0x10", "10" * 20, "18446744073709551617", " ", "5, 6", "+5")


def framing_probes(method: str, path: str) -> Iterator[Probe]:
    """Every shape of body framing that must be refused on ``method path``: bad lengths, two
    lengths that differ, a chunked body, a 2 MB body behind ``Content-Length: -1``."""
    for bad in BAD_LENGTHS:
        yield Probe(f"{method} {path} Content-Length {bad!r}", request(method, path, body=b"{}", length=bad), (400,))
    yield Probe(f"{method} {path} two lengths", request(method, path, [("Content-Length", "2")], b"{}", length="3"),
                (400,))
    yield Probe(f"{method} {path} chunked", request(method, path, [("Transfer-Encoding", "chunked")],
                                                    b"2\r\n{}\r\n0\r\n\r\n", length=None, version="HTTP/1.1"), (411,))
    yield Probe(f"{method} {path} -1 with 2 MB", request(method, path, body=b"[" + b"1," * 1_000_000 + b"1]",
                                                         length="-1"), (400,))


def method_and_path_probes(known: Iterable[str]) -> Iterator[Probe]:
    """Other methods on every known path, unknown and garbled paths, garbled request lines."""
    for path in known:
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO", "get"):
            yield Probe(f"{method} {path}", request(method, path), (405,))
    for path in ("/", "/nope", "/health/x", "/../../etc/passwd", "/%00", "/%ff%fe", "/heartbeat/x",
                 "/challenge/x", "/jobs", "/jobs/", "/" + "a" * 5000, "/x?y=" + "%" * 100):
        yield Probe(f"GET {path[:40]}", request("GET", path), (400, 404))
    yield Probe("GET //health", request("GET", "//health"), (200, 404))  # the same view, or none
    for raw in (b"garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.0 extra\r\n\r\n",
                b"GET /" + b"a" * 70_000 + b" HTTP/1.0\r\n\r\n",
                b"GET / HTTP/1.0\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n",
                b"GET / HTTP/1.0\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n",
                b"GET / HTTP/1.0\r\nno colon here\r\n\r\n", b"\xff\xfe\x00 / HTTP/1.0\r\n\r\n"):
        yield Probe(f"raw {raw[:30]!r}", raw, CLIENT_ERROR)


HOSTILE_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 1.5, -0.0, 2**63, 2**64, 2**70, 10**30, 1e300, "", "x",
                                   "0x", "0x" + "00" * 32, "0x" + "zz" * 32, "1" * 5000, "\u0000\u202e", [], {}, [1],
                                   {"a": 1}, "NaN", "Infinity")
JSON_ONLY_BY_TEXT = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000)  # spelt into the body text


def mutations(valid: dict[str, Any], count: int, seed: int = SEED) -> Iterator[tuple[str, bytes]]:
    """``count`` bodies, each ``valid`` with one to three fields replaced by hostile values,
    removed, or joined by junk, or a non-finite number spelt into its text."""
    rng = random.Random(seed)
    keys = list(valid)
    for _ in range(count):
        body = dict(valid)
        notes = []
        for key in rng.sample(keys, rng.randint(1, min(3, len(keys)))):
            roll = rng.random()
            if roll < 0.15:
                body.pop(key)
                notes.append(f"-{key}")
            elif roll < 0.3:
                body[key] = "@@" + key  # replaced in the text below
                notes.append(f"{key}=text")
            else:
                body[key] = rng.choice(HOSTILE_VALUES)
                notes.append(f"{key}={str(body[key])[:20]!r}")
        if rng.random() < 0.1:
            body["extra" * rng.randint(1, 3)] = rng.choice(HOSTILE_VALUES)
        text = json.dumps(body)
        for key in keys:
            text = text.replace(f'"@@{key}"', rng.choice(JSON_ONLY_BY_TEXT))
        yield " ".join(notes), text.encode()


def shape_bodies() -> Iterator[tuple[str, bytes]]:
    """Bodies of every shape but an object: scalars, non-finite numbers, deep nests, junk bytes."""
    for text in (b"", b"[]", b'"x"', b"null", b"1e400", b"Infinity", b"-Infinity", b"NaN", b"1", b"true", b"{",
                 b"{}", b'{"a":', b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
                 b"[" * 100_000, b'"' + b"\\" * 1001 + b'"', b"1" * 5000, b"\x00" * 64):
        yield text[:24].decode("latin-1"), text
