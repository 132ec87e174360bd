"""The ingress's parts on their own: the relay (half-close, back-pressure, close), access tokens,
port declarations, routes, the response-head rewrite, the exec protocol's checks, and what a
renter's SDK accepts of a provider's record of ports."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from gpurent.agent.ingress import Answer, ingress_route, parse_head, rewrite_response_head
from gpurent.agent.shell import BadSession, Demux, handshake_problem, parse_request
from gpurent.agent.tokens import COOKIE, Tokens, token_from
from gpurent.relay import Relay
from gpurent.wire.access import AccessDenied
from gpurent.wire.record import parse_record
from gpurent.workload.spec import JobSpec, PortSpec, SpecError

JOB = "0x" + "ab" * 32
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def _pair_relay(**kwargs):
    client, a = socket.socketpair()
    b, upstream = socket.socketpair()
    relay = Relay(a, b, idle_s=kwargs.pop("idle_s", 10.0), **kwargs)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    return client, upstream, relay, thread


def test_the_relay_passes_bytes_and_each_half_close_both_ways():
    client, upstream, _, thread = _pair_relay(pending_a=b"HEAD ")
    client.sendall(b"request")
    client.shutdown(socket.SHUT_WR)  # the request's end travels through
    got = b""
    while chunk := upstream.recv(100):
        got += chunk
    assert got == b"HEAD request"
    upstream.sendall(b"answer")
    upstream.close()
    assert client.recv(100) == b"answer" and client.recv(100) == b""
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_relay_holds_a_bounded_buffer_for_a_side_that_does_not_read():
    client, upstream, relay, thread = _pair_relay()
    upstream.setblocking(False)
    sent = 0
    client.settimeout(0.5)
    try:
        while sent < 64 << 20:
            sent += client.send(b"x" * 65536)
    except (TimeoutError, BlockingIOError):
        pass
    assert sent < 16 << 20  # the client was stopped (kernel buffers plus the relay's bounded one), not buffered whole
    relay.close()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_relay_ends_on_close_and_when_idle():
    client, upstream, relay, thread = _pair_relay()
    relay.close()
    thread.join(timeout=5)
    assert not thread.is_alive() and client.recv(10) == b""
    client, upstream, relay, thread = _pair_relay(idle_s=0.3)
    started = time.monotonic()
    thread.join(timeout=5)
    assert not thread.is_alive() and time.monotonic() - started < 3


def test_tokens_name_one_job_one_signer_and_expire():
    tokens = Tokens(ttl_s=60)
    signer = "0x" + "12" * 20
    token, expires = tokens.issue(JOB, signer, now=1000)
    assert expires == 1060 and tokens.check(token, JOB, now=1059) == signer
    with pytest.raises(AccessDenied, match="expired"):
        tokens.check(token, JOB, now=1060)
    with pytest.raises(AccessDenied, match="another job"):
        tokens.check(token, "0x" + "cd" * 32, now=1000)
    with pytest.raises(AccessDenied, match="not issued by this agent"):
        Tokens().check(token, JOB, now=1000)  # another agent process (or this one restarted)
    forged = token.replace(signer, "0x" + "34" * 20)
    with pytest.raises(AccessDenied, match="not issued"):
        tokens.check(forged, JOB, now=1000)
    for junk in ("", "gpr1.x", token + "\n", token * 3, "Bearer " + token):
        with pytest.raises(AccessDenied, match="malformed"):
            tokens.check(junk, JOB, now=1000)
    assert token_from({"Authorization": f"Bearer {token}"}) == token
    assert token_from({}, f"a=1; {COOKIE}={token}") == token
    assert token_from({"Authorization": "Basic abc"}) is None


def test_port_declarations_are_checked_and_round_trip():
    spec = JobSpec(image=CID, ports=(PortSpec(9000, public=True), PortSpec(22, "tcp"), PortSpec(8000)))
    assert [p.port for p in spec.ports] == [22, 8000, 9000]  # sorted: one canonical definition
    assert JobSpec.from_bytes(spec.to_bytes()) == spec and spec.port(22).protocol == "tcp"
    for ports, message in (([{"port": 0}], "1 to 65535"), ([{"port": 70000}], "1 to 65535"),
                           ([{"port": True}], "1 to 65535"), ([{"port": 80, "protocol": "udp"}], "http, tcp"),
                           ([{"port": 22, "protocol": "tcp", "public": True}], "only an http port"),
                           ([{"port": 80}, {"port": 80}], "declared twice"), ([{"port": 80, "x": 1}], "each must"),
                           ([{"port": p} for p in range(1, 10)], "more than 8"), ({"port": 80}, "must be a list")):
        with pytest.raises(SpecError, match=message):
            JobSpec.from_json({"gpurent_job": 1, "image": CID, "ports": ports})


def test_routes_and_the_response_head_rewrite():
    assert ingress_route(f"/jobs/{JOB}/ports/8000/a/b?x=1") == (JOB, "ports", 8000, "/a/b", "x=1")
    assert ingress_route(f"/jobs/{JOB}/ports/8000") == (JOB, "ports", 8000, "/", "")
    assert ingress_route(f"/jobs/{JOB}/tunnel/22") == (JOB, "tunnel", 22, "/", "")
    for path in (f"/jobs/{JOB}/ports/x/", f"/jobs/{JOB[:-1]}/ports/80/", f"/jobs/{JOB}/logs", "/health",
                 f"/jobs/{JOB}/ports/123456/"):
        assert ingress_route(path) is None
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5"
    assert rewrite_response_head(head) == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
    upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade"
    assert rewrite_response_head(upgrade) == upgrade + b"\r\n\r\n"


def test_the_exec_protocol_refuses_what_is_not_a_session():
    assert parse_request('{"cmd": ["ls", "-l"], "tty": true, "rows": 40, "cols": 120}') == (["ls", "-l"], True, 40, 120)
    for text, message in (("nope", "JSON"), ("[]", "object"), ('{"cmd": []}', "cmd"), ('{"cmd": "ls"}', "cmd"),
                          ('{"cmd": ["a\\u0000b"]}', "cmd"), ('{"cmd": [""]}', "cmd"),
                          ('{"cmd": ["ls"], "tty": 1}', "tty"), ('{"cmd": ["ls"], "rows": 0}', "rows"),
                          ('{"cmd": ["ls"], "cols": 5000}', "rows"), ('{"cmd": ["x"] }'.replace('["x"]', str(["x"] * 65)).replace("'", '"'), "cmd")):
        with pytest.raises(BadSession, match=message):
            parse_request(text)
    good = {"Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    assert handshake_problem(good) is None
    assert "WebSocket" in handshake_problem({**good, "Upgrade": "h2c"})
    assert "version" in handshake_problem({**good, "Sec-WebSocket-Version": "8"})
    assert "Key" in handshake_problem({**good, "Sec-WebSocket-Key": "short"})
    demux = Demux()
    frames = b"\x01\x00\x00\x00\x00\x00\x00\x02hi" + b"\x02\x00\x00\x00\x00\x00\x00\x03err" + b"\x01\x00\x00"
    assert demux.feed(frames) == [(1, b"hi"), (2, b"err")]
    assert demux.feed(b"\x00\x00\x00\x00\x01!") == [(1, b"!")]  # a header split across reads


def test_a_renters_sdk_refuses_a_record_whose_ports_are_not_ports():
    base = {"job_id": JOB, "phase": "running", "exit_code": None, "timeline": []}
    ok = parse_record({**base, "ports": [{"port": 8000, "protocol": "http", "public": False,
                                         "path": f"/jobs/{JOB}/ports/8000/"}]})
    assert ok["ports"][0]["port"] == 8000 and parse_record(base)["ports"] == []
    for ports in ("x", [{"port": "8000", "protocol": "http"}], [{"port": 8000, "protocol": "ftp"}],
                  [{"port": 8000, "protocol": "http", "path": "https://evil.example/"}],
                  [{"port": 8000, "protocol": "http", "public": "yes"}], [{"port": 1, "protocol": "tcp"}] * 9):
        with pytest.raises(ValueError, match="port"):
            parse_record({**base, "ports": ports})


def test_the_fronts_head_parser_and_its_answers():
    head = parse_head(b"GET /jobs/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nCookie:  c=1 ", "10.0.0.1")
    assert (head.command, head.target, head.client) == ("GET", "/jobs/x", "10.0.0.1")
    assert head.headers.get("host") == "a" and head.headers.get("X-A") == "1, 2" and head.get("cookie") == "c=1"
    assert head.items()[0] == ("Host", "a")
    for bad in (b"GET /x", b"GET /x HTTP/2.0", b"G\x01T /x HTTP/1.1", b"GET /x HTTP/1.1\r\nno-colon",
                b"GET /x HTTP/1.1\r\nBad Name: v", b"GET /x HTTP/1.1\r\nA: b\x00c",
                b"GET /x HTTP/1.1" + b"\r\nA: b" * 101):
        with pytest.raises(ValueError):
            parse_head(bad, "c")
    refusal = Answer(429, "busy", (("Retry-After", "1"),)).encode()
    assert refusal.startswith(b"HTTP/1.1 429 Too Many Requests\r\n") and b"Retry-After: 1\r\n" in refusal
    assert refusal.endswith(b'\r\n\r\n{"error": "busy"}') and b"Content-Length: 17\r\n" in refusal
    redirect = Answer(303, "", (("Location", "/a"),)).encode()
    assert redirect.endswith(b"Location: /a\r\n\r\n") and b"Content-Length: 0" in redirect


def test_a_provider_that_serves_no_public_ports_declines_a_definition_with_one(tmp_path):
    from gpurent.agent.config import Limits
    from gpurent.agent.keys import ProviderKeys
    from gpurent.agent.plan import refusal

    keys, who = ProviderKeys(tmp_path), "0x" + "12" * 20
    public = JobSpec(image=CID, ports=(PortSpec(8000, public=True), PortSpec(22, "tcp")))
    private = JobSpec(image=CID, ports=(PortSpec(8000), PortSpec(22, "tcp")))
    assert refusal(public, Limits(), keys, who, who, public_ports=False) == (
        "the definition marks port 8000 public, and this provider serves no public ports")
    assert refusal(public, Limits(), keys, who, who, public_ports=True) is None
    assert refusal(private, Limits(), keys, who, who, public_ports=False) is None
