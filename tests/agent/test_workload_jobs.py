"""Job definitions run by the provider agent for real (Anvil, Kubo, podman): a training job
with a dataset, a result encrypted to the renter and committed on chain, a secret that shows up
nowhere, outputs over the cap, and definitions the agent declines with a full refund."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from gpurent.images.kubo import UploadPart
from gpurent.types import JobStatus
from gpurent.workload.results import fetch_result
from gpurent.workload.seal import KeyPair, SealError, open_secret, seal_secret
from gpurent.workload.spec import InputMount, JobSpec, SealedSecrets

SHELL = ("/bin/busybox", "sh", "-c")
TOKEN = "hf_SECRET_" + os.urandom(12).hex()


def push_bytes(kubo, data: bytes, name: str = "f") -> str:
    return kubo.client().add([UploadPart(name, [data])], wrap=False)[-1].cid


def push_dataset(kubo, files: dict[str, bytes]) -> str:
    return kubo.client().add([UploadPart(n, [d]) for n, d in files.items()], wrap=True)[-1].cid


def local_blocks_hold(node, needle: bytes) -> bool:
    """Whether any block on ``node`` holds ``needle`` (every local ref, read with block/get)."""
    api = node.api_url.rstrip("/") + "/api/v0"
    refs = requests.post(f"{api}/refs/local", timeout=60).text.split()
    refs = [json.loads(r)["Ref"] if r.startswith("{") else r for r in refs]
    return any(needle in requests.post(f"{api}/block/get", params={"arg": ref}, timeout=60).content for ref in refs)


def files_hold(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_training_job_reads_its_dataset_and_the_renter_gets_its_files_back_sealed_and_committed(
        start_agent, push_image, renter_rent, renter2_rent, kubo, suite, chain, cast, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    runner = start_agent(fetch_timeout_s=10)
    dataset = {"part-0.bin": os.urandom(400_000), "part-1.bin": os.urandom(1000)}
    data_cid = push_dataset(kubo, dataset)
    renter_key = KeyPair.generate()
    keys = runner.agent.keys.current
    provider = runner.agent.gp.address.lower()
    secrets = SealedSecrets(provider=provider, key=keys.public_b64,
                            sealed={"HF_TOKEN": seal_secret(keys.public_bytes, "HF_TOKEN", cast.renter.address, TOKEN)})
    script = ("/bin/busybox sha256sum /data/part-0.bin /data/part-1.bin > /outputs/model.bin; "
              "mkdir /outputs/logs; echo \"epochs=$EPOCHS\" > /outputs/logs/train.txt; "
              "/bin/busybox printf %s \"$HF_TOKEN\" | /bin/busybox sha256sum")  # the value itself is never in it
    spec = JobSpec(image=push_image("exit 9"), entrypoint=SHELL, command=(script,), env={"EPOCHS": "3"},
                   inputs=(InputMount(data_cid, "/data"),), output="/outputs", result_key=renter_key.public_b64,
                   secrets=secrets)
    job = renter_rent.create_job(runner.gpu, push_bytes(kubo, spec.to_bytes()), 3600).value
    record = runner.wait_phase(job.job_id, "completed", "declined", "failed", timeout_s=120)
    assert record.phase == "completed" and record.exit_code == 0, (record.error, record.detail)

    # byte-identical files back, decrypted with the renter's key, from the CID committed on chain
    committed = renter_rent.result_cid(job.job_id)
    assert committed == record.result_cid
    out = tmp_path / "out"
    manifest = fetch_result(kubo.client(), committed, out, keypair=renter_key, job_id=job.job_id, timeout_s=30)
    expected = "".join(f"{hashlib.sha256(d).hexdigest()}  /data/{n}\n" for n, d in sorted(dataset.items()))
    assert (out / "model.bin").read_text() == expected
    assert (out / "logs" / "train.txt").read_text() == "epochs=3\n"
    assert manifest.file_count == 2 and not manifest.truncated and manifest.exit_code == 0
    with pytest.raises(Exception):  # sealed to the renter: no other key opens it
        fetch_result(kubo.client(), committed, tmp_path / "other", keypair=KeyPair.generate(), job_id=job.job_id,
                     timeout_s=30)

    # the direct path: accepted and started in one transaction
    jid = bytes.fromhex(job.job_id[2:])
    height = chain.blocks.height + 1
    (accepted,) = [e for e in suite.marketplace.JobAccepted.range(0, height) if e.jobId == jid]
    (started,) = [e for e in suite.marketplace.JobStarted.range(0, height) if e.jobId == jid]
    assert accepted.transaction_hash == started.transaction_hash
    phases = [p for p, _, _ in runner.agent.state.history(job.job_id)]
    assert "accepting" not in phases and phases.index("pulled") < phases.index("running")

    # the secret reached the container and nothing else
    home = runner.agent.home
    container_log = b"".join(p.read_bytes() for p in (home / "logs").rglob("*") if p.is_file())
    assert hashlib.sha256(TOKEN.encode()).hexdigest().encode() in container_log  # the container had it
    needle = TOKEN.encode()
    assert files_hold(home, needle) == []  # agent.db (+ WAL), the caches, the job's log
    assert TOKEN not in caplog.text
    assert not local_blocks_hold(kubo, needle)  # the provider's and the renter's node (one here)
    with pytest.raises(SealError):  # a second provider's key cannot open it
        open_secret(KeyPair.generate(), secrets.sealed["HF_TOKEN"], "HF_TOKEN", cast.renter.address)
    assert renter_rent.job(job.job_id).status == JobStatus.COMPLETED


def test_an_output_over_the_cap_is_stopped_and_truncated_with_a_clear_record(start_agent, push_image, renter_rent,
                                                                             kubo, tmp_path):
    runner = start_agent(fetch_timeout_s=10)
    runner.agent.config = replace(runner.agent.config,
                                  limits=replace(runner.agent.config.limits, output_max_mb=1, output_slack_mb=1))
    script = ("echo small > /outputs/a.txt; i=0; while [ $i -lt 40 ]; do "
              "/bin/busybox dd if=/dev/zero of=/outputs/big$i bs=262144 count=1 2>/dev/null; i=$((i+1)); done; "
              "sleep 60")
    spec = JobSpec(image=push_image("exit 9"), entrypoint=SHELL, command=(script,), output="/outputs")
    job = renter_rent.create_job(runner.gpu, push_bytes(kubo, spec.to_bytes()), 3600).value
    record = runner.wait_phase(job.job_id, "completed", "declined", "failed", timeout_s=120)
    assert record.phase == "completed", record.error
    details = [d for _, _, d in runner.agent.state.history(job.job_id) if d]
    assert any("output folder over 1 MiB" in d for d in details), details
    manifest = fetch_result(kubo.client(), record.result_cid, tmp_path / "out", keypair=None, job_id=job.job_id,
                            timeout_s=30)
    assert manifest.truncated and manifest.dropped_count > 0 and manifest.total_bytes <= 1 << 20
    assert (tmp_path / "out" / "a.txt").read_text() == "small\n"


def test_a_job_the_renter_ends_first_still_delivers_its_outputs(start_agent, push_image, renter_rent, kubo,
                                                                 tmp_path):
    """The renter completes a running job on chain (it saw the file it wanted) before the agent
    packed: the agent stops the container, packs the output folder and commits its CID with
    commitResult; the renter gets its files from the CID on chain."""
    runner = start_agent(fetch_timeout_s=10)
    pack, free = runner.agent.results.pack, []

    def watched_pack(*args, **kwargs):  # packing never holds the transaction lock (other jobs' txs)
        other = threading.Thread(target=lambda: free.append(runner.agent.tx_lock.acquire(timeout=5)
                                                            and runner.agent.tx_lock.release() is None))
        other.start()
        other.join()
        return pack(*args, **kwargs)

    runner.agent.results.pack = watched_pack
    renter_key = KeyPair.generate()
    script = "echo trained > /outputs/model.txt; sleep 300"
    spec = JobSpec(image=push_image("exit 9"), entrypoint=SHELL, command=(script,), output="/outputs",
                   result_key=renter_key.public_b64)
    job = renter_rent.create_job(runner.gpu, push_bytes(kubo, spec.to_bytes()), 3600).value
    runner.wait_phase(job.job_id, "running", timeout_s=120)
    out_file = runner.agent.home / "outputs" / job.job_id / "model.txt"
    deadline = time.monotonic() + 30
    while not out_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    renter_rent.complete_job(job.job_id)  # before the container ended: nothing was packed yet
    record = runner.wait_phase(job.job_id, "completed", "failed", timeout_s=60)
    assert record.phase == "completed" and record.result_cid, (record.error, record.detail)
    committed = renter_rent.result_cid(job.job_id)
    assert committed == record.result_cid
    fetch_result(kubo.client(), committed, tmp_path / "out", keypair=renter_key, job_id=job.job_id, timeout_s=30)
    assert (tmp_path / "out" / "model.txt").read_text() == "trained\n"
    assert free == [True]


def test_prewarming_ranks_the_images_and_inputs_inside_paid_definitions(start_agent, push_image, renter_rent,
                                                                        kubo):
    """The chain ranks paid definition CIDs; the image cache gets their images and the input
    cache their inputs (on main the image cache was handed definition CIDs, which are no image)."""
    runner = start_agent(fetch_timeout_s=10)
    image = push_image("exit 9")
    data_cid = push_dataset(kubo, {"part.bin": os.urandom(10_000)})
    spec = JobSpec(image=image, entrypoint=SHELL, command=("cat /data/part.bin > /dev/null; sleep 2",),
                   inputs=(InputMount(data_cid, "/data"),))
    job = renter_rent.create_job(runner.gpu, push_bytes(kubo, spec.to_bytes()), 3600).value
    record = runner.wait_phase(job.job_id, "completed", "declined", "failed", timeout_s=120)
    assert record.phase == "completed" and renter_rent.job(job.job_id).final_cost > 0, record.error
    assert runner.agent.maintainer.popular(10) == [image]
    assert runner.agent.popularity.inputs() == [data_cid]
    assert runner.agent.inputs.prewarm([data_cid], max_bytes=1 << 20, timeout_s=10) == []  # held already


def hostile_definitions(image: str, other_renter: str, keys: KeyPair, provider: str) -> dict[str, bytes]:
    base = {"gpurent_job": 1, "image": image}

    def doc(**fields) -> bytes:
        return json.dumps({**base, **fields}).encode()

    stolen = seal_secret(keys.public_bytes, "TOKEN", other_renter, "victim's token")
    return {
        "huge env": doc(env={f"V{i}": "x" * 4000 for i in range(60)} | {"BIG": "y" * 100_000}),
        "too many env": doc(env={f"V{i}": "x" for i in range(65)}),
        "path traversal": doc(inputs=[{"cid": image, "path": "/data/../../etc"}]),
        "relative traversal": doc(output="../../etc"),
        "mount over /proc": doc(output="/proc/self"),
        "mount over scratch": doc(inputs=[{"cid": image, "path": "/scratch"}]),
        "reserved env": doc(env={"NVIDIA_VISIBLE_DEVICES": "all"}),
        "network": doc(network=True),
        "stolen secret": doc(secrets={"provider": provider, "key": keys.public_b64, "sealed": {"TOKEN": stolen}}),
        "not json": b"\xff\xfe{",
    }


def test_hostile_and_unservable_definitions_are_declined_with_a_full_refund_and_the_agent_stays_up(
        start_agent, push_image, renter_rent, kubo, cast):
    runner = start_agent(fetch_timeout_s=3)
    runner.agent.config = replace(runner.agent.config, limits=replace(runner.agent.config.limits, input_max_mb=1))
    image = push_image("echo ran")
    big = push_dataset(kubo, {"big.bin": os.urandom(1_200_000)})
    cases = hostile_definitions(image, cast.renter2.address, runner.agent.keys.current, runner.agent.gp.address.lower())
    cases["missing input"] = JobSpec(image=image, inputs=(InputMount(
        "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "/data"),)).to_bytes()
    cases["input over the limit"] = JobSpec(image=image, inputs=(InputMount(big, "/data"),)).to_bytes()
    before = renter_rent.balance()
    jobs = {name: renter_rent.create_job(runner.gpu, push_bytes(kubo, data, name.replace(" ", "_")), 60).value
            for name, data in cases.items()}
    for name, job in jobs.items():
        record = runner.wait_phase(job.job_id, "declined", "completed", "failed", timeout_s=90)
        assert record.phase == "declined", (name, record.phase, record.error)
        assert record.error and "\n" not in record.error, (name, record.error)
        assert renter_rent.job(job.job_id).status == JobStatus.CANCELLED, name
    assert renter_rent.balance() == before  # every one refunded in full
    assert runner.thread.is_alive()
    # and it still runs a good job after them
    ok = renter_rent.create_job(runner.gpu, image, 3600).value
    assert runner.wait_phase(ok.job_id, "completed", "declined", timeout_s=90).phase == "completed"
