"""The gateway asking agents which images they hold (gpurent.sdk.images_here), against real HTTP
servers on 127.0.0.1 that answer honestly, wrongly, hugely, slowly, by redirect or not at all:
each gives its state or None (unknown), the request returns within its bound whatever they do,
and an answer is kept, so a second page view asks no agent again."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from gpurent.sdk.images_here import ImageProbe, agent_ask
from tests.oracle.rogue_provider import LoopbackServer, QuietHandler

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
CHAIN_ID = 31337  # a local devnet: 127.0.0.1 is an allowed provider address


class Agent(LoopbackServer):
    """Answers ``GET /images/<cid>`` with ``body`` (``"slow"``: nothing for ``hang_s``)."""

    def __init__(self, body: bytes | str, status: int = 200, headers: dict[str, str] | None = None, hang_s: float = 5.0):
        self.asked: Counter[str] = Counter()
        agent = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                agent.asked[self.path] += 1
                if body == "slow":
                    time.sleep(hang_s)
                    return
                data = body if isinstance(body, bytes) else body.encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.serve(Handler)


def answer(state: str, cid: str = CID) -> bytes:
    return ('{"cid": "%s", "state": "%s"}' % (cid, state)).encode()


@pytest.fixture
def agents():
    honest = Agent(answer("ready")).start()
    servers = {
        "0x" + "01" * 20: honest,
        "0x" + "02" * 20: Agent(answer("stored")).start(),
        "0x" + "03" * 20: Agent(answer("everywhere")).start(),  # not a state
        "0x" + "04" * 20: Agent(answer("ready", cid="bafyother")).start(),  # about another image
        "0x" + "05" * 20: Agent(b"[" * 100_000).start(),  # over the cap
        "0x" + "06" * 20: Agent("slow").start(),
        "0x" + "07" * 20: Agent(b"", 302, {"Location": honest.url + "/images/" + CID}).start(),  # no redirect followed
        "0x" + "08" * 20: Agent(b'{"error": "not found"}', 404).start(),  # an agent from before the route
    }
    yield servers
    for server in servers.values():
        server.stop()


def probe_of(servers, **options) -> ImageProbe:
    endpoints = {address: server.url for address, server in servers.items()}
    endpoints["0x" + "09" * 20] = "http://127.0.0.1:1"  # nothing listens there
    return ImageProbe(lambda wanted: {a: endpoints[a] for a in wanted if a in endpoints},
                      agent_ask(CHAIN_ID, timeout_s=1.0), timeout_s=1.0, **options)


def test_each_agent_says_its_state_or_is_unknown_and_the_request_stays_within_its_bound(agents):
    probe = probe_of(agents)
    asked = [*agents, "0x" + "09" * 20, "0x" + "0a" * 20]  # the last: no endpoint in the index
    started = time.monotonic()
    states = probe.states(CID, [a.upper().replace("0X", "0x") for a in asked])  # any case, one answer per provider
    took = time.monotonic() - started
    assert states == {"0x" + "01" * 20: "ready", "0x" + "02" * 20: "stored", **{a: None for a in asked[2:]}}
    assert took < 3.0, took  # the slow agent waits 5 s; the probe does not
    assert agents["0x" + "01" * 20].asked == Counter({f"/images/{CID}": 1})  # the redirect did not lead here
    probe.close()


def test_an_answer_is_kept_so_a_second_page_asks_no_agent_again(agents):
    now = [1000.0]
    probe = probe_of(agents, clock=lambda: now[0], ttl_s=30.0, unknown_ttl_s=10.0)
    honest, broken = "0x" + "01" * 20, "0x" + "03" * 20
    for _ in range(3):
        assert probe.states(CID, [honest, broken]) == {honest: "ready", broken: None}
    assert sum(agents[honest].asked.values()) == 1 and sum(agents[broken].asked.values()) == 1
    now[0] += 11  # an unknown answer is asked again sooner than a known one
    probe.states(CID, [honest, broken])
    assert sum(agents[honest].asked.values()) == 1 and sum(agents[broken].asked.values()) == 2
    now[0] += 20
    probe.states(CID, [honest])
    assert sum(agents[honest].asked.values()) == 2
    probe.close()


def test_concurrent_pages_share_one_question_to_an_agent(agents):
    slowish = Agent(answer("ready"))
    gate = threading.Event()
    handler = slowish.httpd.RequestHandlerClass
    original = handler.do_GET

    def held(self) -> None:  # noqa: ANN001 - the handler
        gate.wait(5)
        original(self)

    handler.do_GET = held  # type: ignore[method-assign]
    slowish.start()
    address = "0x" + "0b" * 20
    probe = ImageProbe(lambda wanted: {address: slowish.url}, agent_ask(CHAIN_ID, timeout_s=5.0), timeout_s=5.0)
    results: list[dict] = []
    pages = [threading.Thread(target=lambda: results.append(probe.states(CID, [address]))) for _ in range(8)]
    for page in pages:
        page.start()
    time.sleep(0.5)
    gate.set()
    for page in pages:
        page.join(10)
    assert results == [{address: "ready"}] * 8 and sum(slowish.asked.values()) == 1
    probe.close()
    slowish.stop()


class HeaderDripper(LoopbackServer):
    """Sends a status line, then a header one byte every ``every_s`` (each read of the client
    is answered in time, so a per-read timeout never fires), for ``for_s`` seconds."""

    def __init__(self, every_s: float = 0.2, for_s: float = 8.0):
        self.asked = 0

        class Handler(QuietHandler):
            def do_GET(handler) -> None:  # noqa: N802,N805 - http.server's naming
                self.asked += 1
                handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                handler.wfile.flush()
                ends = time.monotonic() + for_s
                try:
                    while time.monotonic() < ends:
                        time.sleep(every_s)
                        handler.wfile.write(b"a")
                        handler.wfile.flush()
                except OSError:  # the client let go: what a bounded reader does
                    return

        self.serve(Handler)


def test_an_agent_that_drips_its_headers_holds_no_question_past_its_deadline():
    """A hostile endpoint that sends its headers a byte at a time answers every read in time:
    only a deadline over the whole exchange frees the probe's worker (else one such provider,
    asked about a few distinct CIDs, holds every worker of the gateway's probe for good)."""
    dripper = HeaderDripper().start()
    ask = agent_ask(CHAIN_ID, timeout_s=1.0)
    started = time.monotonic()
    assert ask(dripper.url, CID) is None
    took = time.monotonic() - started
    dripper.stop()
    assert took < 2.5, f"the question held its thread {took:.1f} s past a 1 s deadline"


def test_questions_under_way_are_bounded_whatever_the_number_of_images_asked():
    """Distinct CIDs miss every kept answer: a flood of them against slow agents must not queue
    questions without end (memory, and agents asked long after every request returned)."""
    slow = Agent("slow", hang_s=0.2).start()
    address = "0x" + "0c" * 20
    probe = ImageProbe(lambda wanted: {address: slow.url}, agent_ask(CHAIN_ID, timeout_s=0.5),
                       timeout_s=0.2, workers=2, asking=8)
    pages = [threading.Thread(target=probe.states, args=(f"bafy{i:04d}", [address])) for i in range(60)]
    for page in pages:
        page.start()
    for page in pages:
        page.join(10)
    asked, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < 1.0:  # every request returned: what the pool still asks is its backlog
        time.sleep(0.1)
        if (now := sum(slow.asked.values())) != asked:
            asked, quiet_since = now, time.monotonic()
    probe.close()
    slow.stop()
    assert asked <= 8 + 16, f"{asked} questions asked for 60 requests that returned (unbounded backlog)"


def test_an_endpoint_on_a_private_address_is_never_asked_off_a_devnet(monkeypatch, agents):
    """The address policy applies on the probe's path: off a devnet, an endpoint that resolves
    to 127.0.0.1 is unknown and gets no request."""
    monkeypatch.setenv("GPURENT_PRIVATE_ENDPOINTS", "refuse")
    honest = "0x" + "01" * 20
    probe = ImageProbe(lambda wanted: {honest: agents[honest].url}, agent_ask(CHAIN_ID, timeout_s=1.0), timeout_s=1.0)
    assert probe.states(CID, [honest]) == {honest: None}
    assert sum(agents[honest].asked.values()) == 0
    probe.close()
