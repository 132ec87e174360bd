"""A job's result and the renter's history through the gateway, for real (Anvil, Kubo, podman, a
provider agent, an index, the gateway): the renter reads the committed result and downloads its
stored files as committed; no one else does; a stored payload that differs from its commitment is
cut short, never delivered whole."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest
import requests

from gpurent.gateway.results import CutShort, Results
from gpurent.gateway.uploads import Uploads
from gpurent.images.kubo import UploadPart
from gpurent.images.store import ImageStore
from gpurent.workload.results import ResultInfo
from gpurent.workload.spec import JobSpec
from tests.agent.test_gateway_streams import serve_gateway
from tests.gateway.test_gateway import sign_in

SHELL = ("/bin/busybox", "sh", "-c")


def push_bytes(kubo, data: bytes, name: str = "f") -> str:
    return kubo.client().add([UploadPart(name, [data])], wrap=False)[-1].cid


@pytest.fixture
def finished(start_agent, push_image, renter2_rent, kubo, tmp_path, manifest, chain, gp):
    runner = start_agent()
    spec = JobSpec(image=push_image("exit 9"), entrypoint=SHELL, output="/outputs",
                   command=("echo trained > /outputs/model.txt; mkdir /outputs/logs; echo ok > /outputs/logs/a.txt",))
    job = renter2_rent.create_job(runner.gpu, push_bytes(kubo, spec.to_bytes()), 3600).value
    record = runner.wait_phase(job.job_id, "completed", "declined", "failed", timeout_s=120)
    assert record.phase == "completed" and record.result_cid, record.error
    server = serve_gateway(tmp_path, manifest, chain, gp, Uploads(ImageStore(kubo.client())))
    yield server, job.job_id, record.result_cid
    server.stop()


def test_the_renter_gets_the_committed_result_and_its_history_and_no_one_else_does(finished, cast, renter2_rent):
    server, job_id, cid = finished
    url, api = server.url, f"{server.url}/api/v1"
    mine = {"Authorization": f"Bearer {sign_in(url, cast.renter2)}"}

    summary = requests.get(f"{api}/instances/{job_id}/result", headers=mine, timeout=30)
    assert summary.status_code == 200, summary.text
    got = summary.json()
    assert got["resultCid"] == cid == renter2_rent.result_cid(job_id) and got["sealed"] is False
    files = {f["path"]: f for f in got["manifest"]["files"]}
    assert files["model.txt"]["sha256"] == hashlib.sha256(b"trained\n").hexdigest(), files
    assert files["logs/a.txt"]["size"] == 3

    payload = requests.get(f"{api}/instances/{job_id}/result/payload", headers=mine, timeout=30)
    assert payload.status_code == 200 and int(payload.headers["content-length"]) == got["payloadBytes"]
    assert hashlib.sha256(payload.content).hexdigest() == got["payloadSha256"]
    with tarfile.open(fileobj=io.BytesIO(payload.content)) as tar:
        assert tar.extractfile("model.txt").read() == b"trained\n"
    stored = requests.get(f"{api}/instances/{job_id}/result/manifest", headers=mine, timeout=30)
    assert stored.status_code == 200 and hashlib.sha256(stored.content).hexdigest() == got["manifestSha256"]

    # the renter's history: the job's status changes, newest first
    history = requests.get(f"{api}/history", headers=mine, timeout=30).json()["items"]
    ours = [h for h in history if h["jobId"] == job_id]
    assert [h["status"] for h in ours] == ["Completed", "Running", "Accepted", "Created"], history
    assert {h["role"] for h in ours} == {"renter"} and ours[0]["totalCost"] is not None
    assert [h["block"] for h in history] == sorted((h["block"] for h in history), reverse=True)
    served = requests.get(f"{api}/history", headers={"Authorization": f"Bearer {sign_in(url, cast.provider)}"},
                          timeout=30).json()["items"]
    assert {h["role"] for h in served if h["jobId"] == job_id} == {"provider"}

    # another renter sees neither the result nor the job in its history
    theirs = {"Authorization": f"Bearer {sign_in(url, cast.renter)}"}
    for path in ("result", "result/payload", "result/manifest"):
        refused = requests.get(f"{api}/instances/{job_id}/{path}", headers=theirs, timeout=30)
        assert refused.status_code == 404 and "error" in refused.json(), refused.text
    assert job_id not in {h["jobId"] for h in requests.get(f"{api}/history", headers=theirs, timeout=30).json()["items"]}
    assert requests.get(f"{api}/instances/{job_id}/result", timeout=30).status_code == 401


def test_a_payload_unlike_its_commitment_is_cut_short(kubo):
    """A provider's stored payload whose bytes differ from result.json: the stream never ends
    whole (its last block is held back until the hash matched)."""
    job_id = "0x" + "ab" * 32
    real, fake = b"x" * 300_000, b"y" * 300_000
    info = ResultInfo(job=job_id, sealed=False, manifest_sha256=hashlib.sha256(b"{}").hexdigest(),
                      payload_sha256=hashlib.sha256(real).hexdigest(), payload_bytes=len(real))
    parts = [UploadPart("result.json", [info.to_bytes()]), UploadPart("manifest", [b"{}"]),
             UploadPart("payload", [fake])]
    cid = kubo.client().add(parts, wrap=True)[-1].cid
    results = Results(kubo.client())
    size, chunks = results.payload(job_id, cid)
    assert size == len(real)
    delivered = b""
    with pytest.raises(CutShort):
        for block in chunks:
            delivered += block
    assert len(delivered) < size
    longer = kubo.client().add([UploadPart("result.json", [info.to_bytes()]), UploadPart("manifest", [b"{}"]),
                                UploadPart("payload", [real + b"tail"])], wrap=True)[-1].cid
    _, chunks = results.payload(job_id, longer)
    assert b"".join(chunks) == real  # never more than committed: the tail is not sent, the rest matches
