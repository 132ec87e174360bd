"""Whose fault a transfer that broke off is, and how long a dispute waits for a provider's record."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gpurent.errors import ImageError, ServiceUnavailable
from gpurent.images.kubo import KuboClient


def _serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stalling(rpc_answers: bool):
    class Stall(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):  # the RPC API: the node answers `version`, or is gone (500, not Kubo's)
            body = json.dumps({"Version": "0.30.0"}).encode() if rpc_answers else b"down"
            self.send_response(200 if rpc_answers else 502)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # the gateway: a few bytes, then nothing
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            time.sleep(5)

    return Stall


def test_a_gateway_stalling_mid_file_while_the_node_answers_is_the_contents_fault():
    """Kubo's gateway sends the headers and the first blocks, then waits for blocks no peer
    holds: the node is up (it answers `version`), the content is not to be had. On main this is
    ServiceUnavailable -> retried for node_retry_s -> declined as 'the provider's own node'."""
    server = _serve(_stalling(rpc_answers=True))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = KuboClient(url, gateway=url)
    client.version()
    try:
        with pytest.raises(ImageError, match="answers, so the content"):
            b"".join(client.read("bafyfake/image.tar", timeout=1))
    finally:
        server.shutdown()


def test_a_stream_broken_off_while_the_node_does_not_answer_is_still_the_nodes():
    server = _serve(_stalling(rpc_answers=False))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = KuboClient(url, gateway=url)
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            b"".join(client.read("bafyfake/image.tar", timeout=1))
        assert not isinstance(caught.value, ImageError)
        assert "broke off" in str(caught.value)
    finally:
        server.shutdown()


@pytest.mark.parametrize("wait_s", [300.0, 45.0, 1.0])
def test_a_dispute_waits_for_an_unreachable_provider_no_longer_than_record_wait(wait_s):
    """The oracle's per-job backoff (2, 4, … 256, 300 s) was not cut at record_wait: an
    unreachable provider's dispute was ruled ~510 s after it was first tried, not 300 s."""
    from gpurent.oracle.evidence import ProviderUnreachable, await_record
    from gpurent.oracle.oracle import dispute_retry_delay

    t, failures, first = 0.0, 0, 0.0
    while True:
        evidence = {"provider_record": {"reachable": False, "error": "down", "retry": True}}
        try:
            await_record(evidence, first, t, wait_s)
            break
        except ProviderUnreachable:
            failures += 1
            t += dispute_retry_delay(failures, first, t, wait_s)
        assert failures < 100
    assert t == pytest.approx(wait_s), f"ruled {t:.0f} s after the first try (record_wait {wait_s:g} s)"
    assert evidence["provider_record"]["waited_s"] == pytest.approx(wait_s, abs=0.1)


def test_a_dispute_failing_for_another_reason_keeps_its_backoff():
    from gpurent.oracle.oracle import DISPUTE_RETRY_MAX_S, dispute_retry_delay

    assert dispute_retry_delay(1, None, 1000.0, 300.0) == 2.0
    assert dispute_retry_delay(20, None, 1000.0, 300.0) == DISPUTE_RETRY_MAX_S
    assert dispute_retry_delay(3, 0.0, 299.0, 300.0) == 1.0
