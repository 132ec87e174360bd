"""A job's inputs for real: fetched from another Kubo node into the input cache, bounded,
leased and evicted, and bind-mounted read-only into a locked-down podman container beside a
writable, watched output folder."""

from __future__ import annotations

import hashlib
import os
import time
from decimal import Decimal

import pytest

from gpurent.agent.config import Limits, ResourceSpec
from gpurent.agent.inputs import InputCache, InputError
from gpurent.agent.outputs import fresh_output_dir, usage
from gpurent.agent.runtime import Bind, Owner, Runtime, Workload, lockdown_differences
from gpurent.images.kubo import UploadPart
from tests.services import make_image

MISSING_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
SPEC = ResourceSpec("RTX4090", 1, 1, 1, Decimal(1))
LIMITS = Limits(scratch_mb=16)


class Progress:
    def __init__(self):
        self.total, self.done, self.ended = None, 0, False

    def begin(self, label, total):
        self.total = total

    def advance(self, n):
        self.done += n

    def end(self):
        self.ended = True


def push_dataset(node, files: dict[str, bytes]) -> str:
    entries = node.client().add([UploadPart(name, [data]) for name, data in files.items()], wrap=True)
    return entries[-1].cid


@pytest.fixture
def two_nodes(nodes):
    renter = nodes.start("renter")
    provider = nodes.start("provider", peers=[renter])
    return renter, provider


def test_an_input_is_fetched_from_a_peer_extracted_byte_identical_and_then_served_from_the_cache(two_nodes, tmp_path):
    renter, provider = two_nodes
    files = {"train.bin": os.urandom(300_000), "labels.txt": b"cat\ndog\n"}
    cid = push_dataset(renter, files)
    cache = InputCache(provider.client(), tmp_path / "inputs", quota_bytes=10 << 20)
    progress = Progress()
    got = cache.ensure(cid, job_id="0xjob", max_bytes=1 << 20, timeout_s=30, transfer=progress)
    assert got.source == "peers" and got.path.is_dir()
    assert {p.name: p.read_bytes() for p in got.path.iterdir()} == files
    assert progress.total and progress.done >= sum(map(len, files.values())) and progress.ended
    assert provider.client().is_pinned(cid) and cache.leases() == [(cid, "0xjob")]
    again = cache.ensure(cid, job_id="0xjob2", max_bytes=1 << 20, timeout_s=30)
    assert again.source == "cache" and cache.has(cid)


def test_a_missing_input_and_one_over_the_limit_are_refused_and_leave_nothing(two_nodes, tmp_path):
    renter, provider = two_nodes
    cache = InputCache(provider.client(), tmp_path / "inputs", quota_bytes=10 << 20)
    with pytest.raises(InputError, match=MISSING_CID):
        cache.ensure(MISSING_CID, job_id="0xa", max_bytes=1 << 20, timeout_s=2)
    big = push_dataset(renter, {"big.bin": os.urandom(200_000)})
    with pytest.raises(InputError, match="over this provider's limit"):
        cache.ensure(big, job_id="0xb", max_bytes=100_000, timeout_s=30)
    assert cache.leases() == [] and cache.total_bytes() == 0
    assert not any((tmp_path / "inputs").glob(".get-*")) and not provider.client().is_pinned(big)


def test_clean_up_removes_the_least_recently_used_unleased_input_first(two_nodes, tmp_path):
    renter, provider = two_nodes
    now = [1000.0]
    cache = InputCache(provider.client(), tmp_path / "inputs", quota_bytes=250_000, clock=lambda: now[0])
    a, b, c = (push_dataset(renter, {f"{n}.bin": os.urandom(100_000)}) for n in "abc")
    for cid in (a, b, c):
        now[0] += 10
        cache.ensure(cid, job_id=f"job-{cid[-4:]}", max_bytes=1 << 20, timeout_s=30)
    cache.release(b, f"job-{b[-4:]}")
    cache.release(c, f"job-{c[-4:]}")
    # a is the oldest but leased; b is the least recently used of the rest
    assert cache.cleanup() == [b]
    assert not cache.location(b).exists() and not provider.client().is_pinned(b) and cache.location(a).exists()


def test_the_output_folder_measure_stops_past_its_bound(tmp_path):
    out = fresh_output_dir(tmp_path, "0xjob")
    (out / "a").write_bytes(b"x" * 5000)
    (out / "sub").mkdir()
    (out / "sub" / "b").write_bytes(b"y" * 5000)
    os.symlink("/etc/passwd", out / "link")  # counted as a link, never followed
    assert not usage(out, 1 << 20).over and usage(out, 1 << 20).bytes >= 10_000
    assert usage(out, 6000).over


def test_inputs_are_mounted_read_only_and_the_output_writable_without_weakening_the_lockdown(
        two_nodes, tmp_path, engine, engine_factory):
    renter, provider = two_nodes
    cid = push_dataset(renter, {"d.bin": b"dataset bytes"})
    cache = InputCache(provider.client(), tmp_path / "inputs", quota_bytes=10 << 20)
    data = cache.ensure(cid, job_id="0xjob", max_bytes=1 << 20, timeout_s=30).path
    out = fresh_output_dir(tmp_path, "0xjob")
    archive, info = make_image(tmp_path, "gpurent-test/mounts:1", os.urandom(64))
    engine.images.load(archive.read_bytes())
    script = ("/bin/busybox sha256sum /data/d.bin > /outputs/model.bin; "
              "echo x > /data/new 2>/dev/null && echo DATA-WRITABLE; "
              "/bin/busybox cp /bin/busybox /outputs/bb && /outputs/bb true 2>/dev/null && echo OUT-EXEC; "
              "echo $GREETING; exit 0")
    workload = Workload(entrypoint=("/bin/busybox", "sh", "-c"), command=(script,), env=(("GREETING", "hi there"),),
                        binds=(Bind(data, "/data"), Bind(out, "/outputs", writable=True)))
    runtime = Runtime(engine, Owner(31337, "0x" + "11" * 20, "0x" + "22" * 20))
    job = "0x" + os.urandom(32).hex()
    cid_ = runtime.create(job, info.image_id, SPEC, LIMITS, None, workload=workload)
    try:
        container = engine.containers.get(cid_)
        options = runtime.options(job, SPEC, LIMITS, None, workload=workload)
        assert lockdown_differences(container.attrs, info.image_id, options) == []
        # the same container without the binds asked for is not one the agent would adopt
        assert "host mounts" in lockdown_differences(container.attrs, info.image_id,
                                                     runtime.options(job, SPEC, LIMITS, None))
        runtime.start(cid_)
        deadline = time.monotonic() + 60
        while not (state := runtime.state(cid_)).ended:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        logs = bytes(runtime.logs(cid_)).decode()
        assert state.exit_code == 0, logs
        assert "hi there" in logs and "DATA-WRITABLE" not in logs and "OUT-EXEC" not in logs, logs
        digest = hashlib.sha256(b"dataset bytes").hexdigest()
        assert (out / "model.bin").read_text().startswith(digest)
        assert not (data / "new").exists()
    finally:
        runtime.remove(cid_)
        engine.images.remove(info.image_id, force=True)
