"""A provider's endpoint is untrusted input (issue 16): hostile endpoints registered by a raw
contract call, bypassing the SDK, and a hostile provider on a real HTTP server, against the SDK,
the `gpurent` CLI and the oracle, on the session chain and real Kubo nodes.

Registration refuses every endpoint that is not http(s)://host[:port][/path]; every use parses
the on-chain string again and builds its URLs from the parsed base, so a fragment, a query or a
path cannot aim the oracle's challenge POST at its own Kubo; off a devnet (or with the policy
forced on) no request reaches a loopback, private or link-local address; no redirect is
followed; a record of the wrong shape is "malformed" in one line; a stalled stream ends."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from gpurent.cli.root import make_root
from gpurent.errors import GpurentError, ServiceUnavailable
from gpurent.images.store import ImageStore
from gpurent.manifest import Manifest, save_manifest
from gpurent.oracle.config import OracleConfig
from gpurent.oracle.evidence import EvidenceGatherer
from gpurent.oracle.oracle import Oracle
from gpurent.oracle.state import ChallengeOutcome
from gpurent.sdk.provider import MalformedAnswer, ProviderEndpoint
from gpurent.wire import endpoint as endpoint_mod
from gpurent.wire.endpoint import PRIVATE_ENV, EndpointRefused, InvalidEndpoint, parse_endpoint, refusal
from gpurent.wire.protocol import Challenge
from gpurent.wire.record import RECORD_CAP, TEXT_MAX
from tests.conftest import CID, create_job, register_provider, register_resource

RENTER = "5"  # cast.renter's test-account index
Handler = Callable[[BaseHTTPRequestHandler], None]


class Hostile:
    """A provider endpoint on 127.0.0.1 (a real ThreadingHTTPServer) whose answers each test
    sets: ``on["record"]``, ``on["logs"]``, ``on["challenge"]`` write the answer to a request;
    ``hits`` lists every request as (method, path)."""

    def __init__(self) -> None:
        self.on: dict[str, Handler] = {}
        self.hits: list[tuple[str, str]] = []
        hostile = self

        class Serve(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def _answer(self, kind: str) -> None:
                hostile.hits.append((self.command, self.path))
                try:
                    hostile.on.get(kind, answer_json({"error": "not found"}, 404))(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._answer("logs" if self.path.split("?")[0].endswith("/logs") else "record")

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer("challenge")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def answer_json(body: Any, status: int = 200) -> Handler:
    def answer(request: BaseHTTPRequestHandler) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    return answer


def redirect(to: str) -> Handler:
    def answer(request: BaseHTTPRequestHandler) -> None:
        request.send_response(302)
        request.send_header("Location", to)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return answer


def stall_after(data: bytes, hold_s: float = 120.0) -> Handler:
    """A 200 that sends ``data`` and then nothing, holding the connection open."""
    def answer(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.end_headers()
        request.wfile.write(data)
        request.wfile.flush()
        time.sleep(hold_s)

    return answer


@pytest.fixture
def hostile() -> Iterator[Callable[[], Hostile]]:
    servers: list[Hostile] = []

    def start() -> Hostile:
        servers.append(Hostile())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def cli(suite, cast, chain, tmp_path, monkeypatch):
    """Runs `gpurent ARGS` in process; the state folder holds the session deployment's manifest."""
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GPURENT_NETWORK", raising=False)
    save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                           contracts={n: c.address for n, c in suite.as_dict().items()}))
    runner, root = CliRunner(mix_stderr=False), make_root()
    return lambda *args: runner.invoke(root, list(args))


def one_line(result, text: str, code: int = 1) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def job_on(suite, cast, endpoint: str) -> str:
    """A job of the renter on a GPU of a provider registered with ``endpoint`` by a raw
    contract call (no SDK check); returns the job id."""
    register_provider(suite, cast.provider, endpoint=endpoint)
    return hex_id(create_job(suite, cast.renter, register_resource(suite, cast.provider))[0])


def hex_id(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


def kubo_alive(node) -> bool:
    try:
        return requests.post(f"{node.api_url}/api/v0/id", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def oracle(gp, cast, tmp_path, kubo) -> Iterator[Oracle]:
    """An Oracle object on the session chain (test account 1), not started."""
    config = OracleConfig(listen_port=0, secret="endpoints", heartbeat_interval_s=1, period_s=4,
                          evidence_timeout_s=5, challenge_expiry_s=5)
    made = Oracle(gp.with_account(cast.oracle), config, tmp_path / "oracle", ImageStore(kubo.client()))
    yield made
    made.shutdown()


def challenge_of(job_id: str) -> Challenge:
    return Challenge(job_id, CID, 0, 16, b"\x01" * 32, time.time() + 5)


HOSTILE_SHAPES = {
    "file": "file:///etc/passwd",
    "gopher": "gopher://127.0.0.1:70/",
    "escape": "http://provider.example\x1b]0;pwned\x07:8765",
    "newline": "http://provider.example:8765\r\nX-Injected: 1",
    "space": "http://provider.example/ a",
    "userinfo": "http://renter:secret@provider.example:8765",
    "query": "http://provider.example:8765/?next=http://127.0.0.1",
    "fragment": "http://127.0.0.1:5001/api/v0/shutdown#",
    "percent": "http://provider.example/%2e%2e/admin",
    "dot-segments": "http://provider.example/a/../../admin",
    "numeric-host": "http://0x7f000001:5001",
    "short-ipv4": "http://127.1:5001",
    "port-zero": "http://provider.example:0",
    "port-high": "http://provider.example:65536",
    "no-host": "http://:8765",
    "non-ascii": "http://prövider.example",
    "too-long": "http://provider.example/" + "a" * 250,
    "empty": "",
}


# ---------------------------------------------------------------- registration


@pytest.mark.parametrize("endpoint", HOSTILE_SHAPES.values(), ids=HOSTILE_SHAPES.keys())
def test_registration_refuses_hostile_endpoints(as_provider, endpoint):
    with pytest.raises(InvalidEndpoint) as refused:
        as_provider.register_provider(endpoint, stake=100)
    assert len(str(refused.value).splitlines()) == 1 and "\x1b" not in str(refused.value)
    assert not as_provider.provider().registered  # nothing was sent
    as_provider.register_provider("https://gpu-7.provider.example:8443/agent/", stake=100)
    with pytest.raises(InvalidEndpoint):
        as_provider.update_endpoint(endpoint)
    assert as_provider.provider().endpoint == "https://gpu-7.provider.example:8443/agent/"


@pytest.mark.parametrize("endpoint, words", [
    ("file:///etc/passwd", "not an http:// or https:// URL"),
    ("http://a.example\x07:1", "control"),
    ("http://u:p@a.example", "user name or password"),
    ("http://a.example/?q=1", "query"),
    ("http://a.example/#x", "fragment"),
])
def test_the_cli_refuses_a_hostile_endpoint_in_one_line(cli, gp, cast, endpoint, words):
    one_line(cli("--account", "3", "provider", "register", "--endpoint", endpoint), words)
    assert not gp.provider(cast.provider.address).registered


def test_endpoint_parts_and_address_policy():
    parsed = parse_endpoint("HTTPS://GPU.Provider.Example:8443/agent/")
    assert parsed.base == "https://gpu.provider.example:8443/agent"
    assert parsed.url("jobs", "0xab", "logs") == "https://gpu.provider.example:8443/agent/jobs/0xab/logs"
    assert parse_endpoint("http://[::1]:80").base == "http://[::1]"
    with pytest.raises(GpurentError):
        parsed.url("jobs", "../../api/v0/shutdown")
    for address, why in [("127.0.0.1", "loopback"), ("10.0.0.7", "private"), ("192.168.1.1", "private"),
                         ("169.254.169.254", "link-local"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"),
                         ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("fe80::1", "link-local"),
                         ("fc00::1", "private"), ("100.64.0.1", "non-global")]:
        assert refusal(ipaddress.ip_address(address)) == why, address
    assert refusal(ipaddress.ip_address("8.8.8.8")) is None
    assert refusal(ipaddress.ip_address("2606:4700::1111")) is None


# ---------------------------------------------------------------- use of an endpoint from the chain


def test_the_oracle_never_aims_its_challenge_at_its_own_kubo(suite, cast, nodes, oracle):
    """The issue's attack: a provider's endpoint naming the oracle's own Kubo RPC. Registered
    by a raw call (the SDK refuses it), with a fragment, with a path, each is used only through
    its parsed base and fixed route, and the request carries ``Origin: null``: Kubo stays up."""
    victim = nodes.start("victim")
    assert kubo_alive(victim)
    job_id = job_on(suite, cast, "http://127.0.0.1:1")
    for endpoint in (f"{victim.api_url}/api/v0/shutdown#", f"{victim.api_url}/api/v0/shutdown",
                     f"{victim.api_url}/api/v0/shutdown?arg=", victim.api_url):
        suite.registry.updateEndpoint(endpoint, sender=cast.provider)
        answer = oracle.ask(cast.provider.address, challenge_of(job_id), b"x" * 16)
        assert answer.outcome == ChallengeOutcome.TIMEOUT, (endpoint, answer)
        record = oracle.evidence.provider_record(cast.provider.address, job_id)
        assert "job" not in record, (endpoint, record)
        assert kubo_alive(victim), f"{endpoint} shut the oracle's Kubo down ({answer.detail})"


def test_a_raw_registered_hostile_endpoint_is_refused_at_use(suite, cast, gp, cli, hostile):
    """Each hostile shape, written on chain by a raw call: the renter's SDK refuses it before
    sending anything, `jobs show` says why in its phase line, the oracle's evidence counts it as
    no record, and a query or fragment appended to a real endpoint never reaches it."""
    server = hostile()
    server.on["record"] = answer_json({"error": "should never be asked"}, 500)
    renter = gp.with_account(cast.renter)
    shapes = {**{k: v for k, v in HOSTILE_SHAPES.items() if k not in ("too-long", "empty")},
              "query-here": f"{server.url}/?x=", "fragment-here": f"{server.url}/#"}
    job_id = job_on(suite, cast, server.url)
    gatherer = EvidenceGatherer(gp.with_account(cast.oracle), None, None, 1.0, 5.0)  # type: ignore[arg-type]
    for name, endpoint in shapes.items():
        suite.registry.updateEndpoint(endpoint, sender=cast.provider)
        job = renter.job(job_id)
        with pytest.raises(InvalidEndpoint):
            ProviderEndpoint.for_job(renter, job).phase(job_id)
        shown = cli("--json", "--account", RENTER, "jobs", "show", job_id)
        assert shown.exit_code == 0 and "Traceback" not in shown.stdout + shown.stderr, (name, shown.stderr)
        assert json.loads(shown.stdout)["phase"].startswith("unknown (the provider endpoint"), (name, shown.stdout)
        assert "\x1b" not in shown.stdout
        one_line(cli("--account", RENTER, "jobs", "logs", job_id), "the provider endpoint")
        record = gatherer.provider_record(cast.provider.address, job_id)
        assert record["reachable"] is False and "the provider endpoint" in record["error"], (name, record)
    assert server.hits == []


@pytest.fixture
def private_refused(monkeypatch):
    """The policy off a devnet, forced on for the session's devnet."""
    monkeypatch.setenv(PRIVATE_ENV, "refuse")


def test_private_targets_are_refused_off_a_devnet(suite, cast, gp, cli, hostile, oracle, private_refused, monkeypatch):
    """With the policy on, no request reaches 127.0.0.1 or a name resolving there: not the
    renter's signed GET, not `jobs logs`, not the oracle's challenge or evidence read; and a name
    that resolved to a public address first and to loopback at connect time is caught there."""
    server = hostile()
    server.on["record"] = answer_json({"job_id": "x"})
    renter = gp.with_account(cast.renter)
    job_id = job_on(suite, cast, server.url)
    for endpoint in (server.url, f"http://localhost:{server.port}/agent", f"http://[::ffff:127.0.0.1]:{server.port}"):
        suite.registry.updateEndpoint(endpoint, sender=cast.provider)
        with pytest.raises(EndpointRefused, match="loopback"):
            ProviderEndpoint.for_job(renter, renter.job(job_id)).phase(job_id)
        shown = cli("--json", "--account", RENTER, "jobs", "show", job_id)
        assert "loopback address: refused" in json.loads(shown.stdout)["phase"], shown.stdout
        one_line(cli("--account", RENTER, "jobs", "logs", job_id), "loopback address: refused")
        answer = oracle.ask(cast.provider.address, challenge_of(job_id), b"x" * 16)
        assert answer.outcome == ChallengeOutcome.TIMEOUT and "loopback" in answer.detail, answer
        record = oracle.evidence.provider_record(cast.provider.address, job_id)
        assert record["reachable"] is False and "loopback" in record["error"], record
    assert server.hits == []

    # DNS rebinding: the name checks out as public, the connection lands on loopback
    monkeypatch.setattr(endpoint_mod, "resolve", lambda endpoint: ["93.184.216.34"])
    suite.registry.updateEndpoint(f"http://localhost:{server.port}", sender=cast.provider)
    with pytest.raises(EndpointRefused, match="reaches 127.0.0.1, a loopback address"):
        ProviderEndpoint.for_job(renter, renter.job(job_id)).phase(job_id)
    suite.registry.updateEndpoint(f"https://localhost:{server.port}", sender=cast.provider)  # before any TLS byte
    with pytest.raises(EndpointRefused, match="reaches 127.0.0.1, a loopback address"):
        list(ProviderEndpoint.for_job(renter, renter.job(job_id)).logs(job_id))
    assert server.hits == []


# ---------------------------------------------------------------- what a provider answers

GOOD = {"job_id": None, "phase": "pulling", "bytes_done": 10, "bytes_total": 100, "exit_code": None,
        "capped": False, "error": None, "image_cid": CID, "timeline": [{"phase": "pulling", "at": 1.0, "detail": ""}]}
MALFORMED = {
    "empty-object": b"{}",
    "bytes-lots": {"bytes_done": "lots"},
    "bytes-negative": {"bytes_total": -1},
    "bool-exit-code": {"exit_code": True},
    "list": b"[1, 2, 3]",
    "html": b"<html>hello</html>",
    "phase-markup": {"phase": "[/x] \x1b]0;pwned\x07"},
    "timeline-object": {"timeline": {"phase": "running"}},
    "timeline-at-text": {"timeline": [{"phase": "running", "at": "yesterday"}]},
    "huge-detail": {"timeline": [{"phase": "running", "at": 1, "detail": "x" * (TEXT_MAX + 1)}]},
    "huge-error": {"error": "e" * (TEXT_MAX + 1)},
    "over-cap": {"error": "e" * RECORD_CAP},
    "nested": b"[" * 10_000 + b"]" * 10_000,
    "other-job": {"job_id": "0x" + "0d" * 32},
}


def test_a_malformed_record_is_one_line_and_a_redirect_is_never_followed(suite, cast, gp, cli, hostile, oracle):
    server, indexer = hostile(), hostile()
    indexer.on["record"] = answer_json(GOOD)
    job_id = job_on(suite, cast, server.url)
    renter = gp.with_account(cast.renter)
    endpoint = ProviderEndpoint.for_job(renter, renter.job(job_id))
    good = {**GOOD, "job_id": job_id}
    server.on["record"] = answer_json(good)
    assert endpoint.phase(job_id)["bytes_done"] == 10  # a well-formed record reads
    shown = cli("--json", "--account", RENTER, "jobs", "show", job_id)
    assert json.loads(shown.stdout)["phase"] == "pulling (10/100 bytes)", shown.stdout

    cases = {name: body if isinstance(body, bytes) else json.dumps({**good, **body}).encode()
             for name, body in MALFORMED.items()}
    for name, body in cases.items():
        server.on["record"] = answer_json(body)
        with pytest.raises(MalformedAnswer):
            endpoint.phase(job_id)
        shown = cli("--json", "--account", RENTER, "jobs", "show", job_id)
        assert shown.exit_code == 0 and "Traceback" not in shown.stdout + shown.stderr, (name, shown.stderr)
        assert "the provider's answer is malformed" in json.loads(shown.stdout)["phase"], (name, shown.stdout)
        assert "\x1b" not in shown.stdout

    for status in (301, 302, 307, 308):  # to the renter's own indexer, say
        server.on["record"] = redirect(f"{indexer.url}/jobs/{job_id}")
        server.on["logs"] = redirect(f"{indexer.url}/jobs/{job_id}/logs")
        with pytest.raises(MalformedAnswer, match="redirect"):
            endpoint.phase(job_id)
        with pytest.raises(MalformedAnswer, match="redirect"):
            list(endpoint.logs(job_id))
        shown = cli("--json", "--account", RENTER, "jobs", "show", job_id)
        assert "the provider's answer is malformed" in json.loads(shown.stdout)["phase"], shown.stdout
        one_line(cli("--account", RENTER, "jobs", "logs", job_id), "redirect, not followed")
        server.on["challenge"] = redirect(f"{indexer.url}/challenge")
        assert oracle.ask(cast.provider.address, challenge_of(job_id), b"x" * 16).outcome == ChallengeOutcome.TIMEOUT
        assert "redirect, not followed" in oracle.evidence.provider_record(cast.provider.address, job_id)["error"]
    assert indexer.hits == []


def run_bounded(what: Callable[[], Any], bound_s: float) -> Any:
    """``what()`` on a thread of its own; fails if it is still running after ``bound_s``."""
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["value"] = what()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            done["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    began = time.monotonic()
    thread.start()
    thread.join(bound_s)
    assert not thread.is_alive(), f"still running after {bound_s} s"
    return done, time.monotonic() - began


def test_a_stalled_log_stream_ends_in_one_line(suite, cast, gp, cli, hostile):
    """`jobs logs` against a provider that sends a line and then nothing ends (default 10 s
    idle bound) with a one-line error; one that never answers at all, likewise."""
    server = hostile()
    server.on["logs"] = stall_after(b"first line\n")
    job_id = job_on(suite, cast, server.url)
    (done, took) = run_bounded(lambda: cli("--account", RENTER, "jobs", "logs", job_id), 60)
    result = done["value"]
    assert result.stdout == "first line\n"
    one_line(result, "log stream stalled after 11 bytes")

    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        suite.registry.updateEndpoint(f"http://127.0.0.1:{silent.getsockname()[1]}", sender=cast.provider)
        (done, took) = run_bounded(lambda: cli("--account", RENTER, "jobs", "logs", job_id), 60)
        one_line(done["value"], "does not answer")
        (done, took) = run_bounded(lambda: cli("--json", "--account", RENTER, "jobs", "show", job_id), 60)
        assert "unknown (the provider's endpoint" in json.loads(done["value"].stdout)["phase"]
    finally:
        silent.close()


def test_a_followed_stream_reconnects_from_its_offset_then_gives_up(suite, cast, gp, hostile):
    """``logs(follow=True)``: a stream silent for ``follow_idle_s`` is reconnected from the byte
    it reached; ``follow_reconnects`` silent reconnects in a row end the follow with a clear
    error, within a bound; a provider that stops answering ends it at once."""
    server = hostile()
    served = iter([b"one\n", b"two\n"])
    server.on["logs"] = lambda request: stall_after(next(served, b""), hold_s=30)(request)
    job_id = job_on(suite, cast, server.url)
    renter = gp.with_account(cast.renter)
    endpoint = ProviderEndpoint(renter.provider(cast.provider.address).endpoint, renter.account,
                                renter.manifest.chain_id, timeout_s=2, follow_idle_s=1, follow_reconnects=2)
    got: list[bytes] = []

    def follow() -> None:
        for chunk in endpoint.logs(job_id, follow=True):
            got.append(chunk)

    (done, took) = run_bounded(follow, 30)
    assert b"".join(got) == b"one\ntwo\n"
    assert isinstance(done.get("error"), ServiceUnavailable) and "no log output" in str(done["error"]), done
    offsets = [path.split("offset=")[1].split("&")[0] for method, path in server.hits]
    assert offsets == ["0", "4", "8", "8", "8"], offsets  # resumed where it was; 2 silent reconnects allowed
    assert took < 20

    # the provider stops answering altogether: the reconnect fails, and says so
    server.stop()
    endpoint.timeout_s = 1
    got.clear()
    (done, took) = run_bounded(follow, 20)
    assert isinstance(done.get("error"), ServiceUnavailable) and "does not answer" in str(done["error"]), done


def test_the_agent_refuses_a_hostile_endpoint_in_its_own_config():
    from gpurent.agent.config import parse_config
    from gpurent.errors import ConfigurationError

    resources = [{"model": "RTX4090", "vcpu": 1, "memory_gb": 1, "price": "1"}]
    assert parse_config({"provider": {"endpoint": "https://gpu.example/agent"}, "resources": resources}).endpoint
    for endpoint in ("file:///etc/passwd", "http://gpu.example/#", "http://u@gpu.example"):
        with pytest.raises(ConfigurationError, match="provider.endpoint: the provider endpoint"):
            parse_config({"provider": {"endpoint": endpoint}, "resources": resources})
