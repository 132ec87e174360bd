"""The read-only SDK over plain JSON-RPC gives what the Ape-backed SDK gives, on the same
chain: every read the CLI's reading commands use, errors included; and it never signs."""

from __future__ import annotations

import pytest

from gpurent import errors
from gpurent.sdk.readonly import ReadOnlyGpurent

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
UNKNOWN = "0x" + "ab" * 32


@pytest.fixture
def ro(gp, manifest, chain):
    with ReadOnlyGpurent.connect_url(chain.provider.http_uri, manifest=manifest) as reader:
        yield reader


@pytest.fixture
def trades(gp, as_provider, as_renter, cast, chain):
    """Two GPUs (one unavailable), a completed job, a disputed and resolved one, an open one."""
    as_provider.register_provider("http://127.0.0.1:8765", stake=100)
    gpu = as_provider.register_resource("RTX4090", 16, 64, 500, "10").value
    other = as_provider.register_resource("A100 (80GB) #2", 32, 256, 1000, "4.5").value
    as_provider.update_availability(other.resource_id, False)
    jobs = [as_renter.create_job(gpu.resource_id, CID, 3600).value for _ in range(3)]
    for job in jobs[:2]:
        as_provider.accept_job(job.job_id)
        as_provider.start_job(job.job_id)
    chain.pending_timestamp = chain.pending_timestamp + 600
    as_provider.complete_job(jobs[0].job_id)
    as_renter.dispute_job(jobs[1].job_id, "stalled")
    gp.with_account(cast.oracle).resolve_dispute(jobs[1].job_id, "split", "bafy-evidence")
    return gpu, other, jobs


def test_every_read_is_the_same_over_json_rpc_and_over_ape(ro, gp, trades, cast):
    gpu, other, jobs = trades
    provider, renter = cast.provider.address, cast.renter.address
    for read in (lambda g: g.resources(), lambda g: g.resource(other.resource_id), lambda g: g.provider(provider),
                 lambda g: g.providers(), lambda g: g.provider_resources(provider), lambda g: g.resource_count(),
                 lambda g: g.reputation(provider), lambda g: g.validation(provider), lambda g: g.earnings(provider),
                 lambda g: g.jobs_of_user(renter), lambda g: g.jobs_of_provider(provider), lambda g: g.job_count(),
                 lambda g: g.quote(gpu.resource_id, 5400), lambda g: g.balance(renter),
                 lambda g: g.allowance(renter, g.marketplace.address), lambda g: g.eth_balance(renter),
                 lambda g: g.head_block(), lambda g: g.marketplace.address, lambda g: g.rpc_url):
        assert read(ro) == read(gp)
    for job in jobs:
        assert ro.job(job.job_id) == gp.job(job.job_id)
        assert ro.escrow(job.job_id) == gp.escrow(job.job_id)
        assert ro.accrued_cost(job.job_id) == gp.accrued_cost(job.job_id)
        assert ro.dispute(job.job_id) == gp.dispute(job.job_id)
    assert ro.dispute(jobs[1].job_id).evidence_cid == "bafy-evidence"  # not a vacuous None == None
    assert ro.resources()[1].gpu_model == "A100 (80GB) #2"  # the chain's bytes, as Ape gives them


def test_errors_are_the_same_exceptions(ro, gp, trades):
    for read in (lambda g: g.job(UNKNOWN), lambda g: g.resource(UNKNOWN), lambda g: g.job("0x12")):
        with pytest.raises(errors.GpurentError) as over_ape:
            read(gp)
        with pytest.raises(errors.GpurentError) as over_rpc:
            read(ro)
        assert (type(over_rpc.value), str(over_rpc.value)) == (type(over_ape.value), str(over_ape.value))
    with pytest.raises(errors.InvalidInput, match="not an address: '0xnope'"):
        ro.balance("0xnope")


def test_it_never_signs(ro, trades):
    with pytest.raises(errors.ConfigurationError, match="only reads"):
        ro.cancel_job(trades[2][2].job_id)
    with pytest.raises(errors.ConfigurationError, match="only reads"):
        ro.with_account(0)
    assert ro.job(trades[2][2].job_id).status.name == "CREATED"


def test_a_node_that_is_not_one_is_one_line(manifest, tmp_path):
    with pytest.raises(errors.ServiceUnavailable, match="no node answers at http://127.0.0.1:9"):
        ReadOnlyGpurent.connect_url("http://127.0.0.1:9", manifest=manifest)


@pytest.fixture
def node_answering():
    """An HTTP server on a free port that answers every POST with the body ``answer[0]``."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answer = [b""]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer[0])))
            self.end_headers()
            self.wfile.write(answer[0])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answer
    server.shutdown()


def test_a_node_answering_garbage_is_an_rpc_error(node_answering):
    from gpurent.sdk.jsonrpc import JsonRpc, RpcError

    url, answer = node_answering
    rpc = JsonRpc(url, max_bytes=1000)
    for body, problem in ((b"<html>", "is not JSON"), (b'{"jsonrpc": "2.0", "id": 99, "result": "0x1"}', "not a JSON-RPC answer"),
                          (b'{"jsonrpc": "2.0", "id": 3, "result": "' + b"0" * 2000 + b'"}', "over 1,000 bytes"),
                          (b"[" * 100 + b"]" * 100, "is not JSON"),
                          (b'{"jsonrpc": "2.0", "id": 5, "error": {"code": -32000, "message": "busy"}}', "error: busy")):
        answer[0] = body
        with pytest.raises(RpcError, match=problem):
            rpc.request("eth_chainId", [])
    answer[0] = b'{"jsonrpc": "2.0", "id": 1, "result": "0xZZ"}'
    with pytest.raises(RpcError, match="not a quantity"):
        ReadOnlyGpurent.connect_url(url)


def test_a_deployment_of_another_chain_is_refused_naming_both_ids(manifest, chain):
    """A named network whose RPC URL now serves another chain: its manifest (another chain id)
    must not be read against this node, by either SDK."""
    import dataclasses

    from gpurent.sdk.client import Gpurent

    other = dataclasses.replace(manifest, chain_id=manifest.chain_id + 1)
    for connect in (lambda: ReadOnlyGpurent.connect_url(chain.provider.http_uri, manifest=other),
                    lambda: Gpurent.connect(manifest=other)):
        with pytest.raises(errors.ConfigurationError) as refused:
            connect()
        message = str(refused.value)
        assert str(chain.chain_id) in message and str(other.chain_id) in message, message
        assert "\n" not in message and not isinstance(refused.value, errors.NotDeployedError)
