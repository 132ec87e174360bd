"""The hostile-image test set: what a renter's image may try on a provider, run for real (Anvil,
Kubo, podman; jobs through the agent), each probe expected refused.

Probes (63 tried, 63 refused; 35 of them got through on main before this set): namespace and
keyring syscalls from a static C probe and from busybox, also through the i386 and x32 ABIs; mount
family calls that reached the kernel; capabilities an image label asks for; every GPU of the host,
which an image's NVIDIA_VISIBLE_DEVICES asks NVIDIA's hook for; every writable path a job sees
(walked from /proc/mounts: sized by the agent, no exec, and nothing else writable), including the
image's own VOLUMEs, and filling each; an image healthcheck; a 200 MB log flood against the
engine's own log; containers planted on the engine under the next job's label; archives that would
move a tag in the provider's engine (directly, through an OCI layout beside the manifest, or
through tar headers the engine reads another way), lie about their image id, carry a second image
or a compressed layer (a gzip bomb), or name one layer over and over; images whose volumes cannot
be covered. Counted: 26 syscalls and 1 capability set (SYSCALL_PROBES), 1 GPU env, 9 execs from
writable paths, 7 fills, 1 write anywhere else, 1 healthcheck, 1 flood, 2 planted containers, 2 tag
moves, 3 archives read another way (one more, pax path and size records, must load), 1 id lie, 2
second-image archives, 1 header bomb, 1 gzip-bomb layer, 1 layer named 16 times, 3
uncoverable-volume images.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from docker.errors import ImageNotFound, NotFound

from gpurent.agent.config import Limits, ResourceSpec
from gpurent.agent.runtime import LABEL, engine_log_mb
from gpurent.errors import ImageError, IntegrityError
from gpurent.images.archive import MAX_ENTRIES, MAX_VOLUMES, LayerFile, build_archive
from gpurent.images.kubo import UploadPart
from gpurent.images.store import IMAGE_FILE, METADATA_FILE, ImageMetadata, ImageStore
from tests.services import BUSYBOX, build_static, make_image

PROBE_SOURCE = Path(__file__).with_name("hostile_probe.c")
SCRATCH = 16 * 2**20  # tests.agents.agent_config's scratch_mb: every tmpfs the agent mounts
ENGINE_DEV = 64 * 2**20  # the engine's own /dev (a noexec tmpfs of 64 MiB)
AGENT_MOUNTS = {"/scratch", "/tmp", "/run", "/var/tmp", "/dev/shm"}
ENGINE_MOUNTS = {"/dev", "/dev/mqueue"}
SYSCALL_PROBES = ("unshare-user", "unshare-net", "unshare-mount", "unshare-pid", "unshare-uts", "unshare-ipc",
                  "unshare-cgroup", "clone-newuser", "clone3-newuser", "setns-net", "keyctl-user-keyring",
                  "keyctl-join-session", "add-key", "request-key", "bb-unshare-user", "bb-unshare-net",
                  "bb-nsenter-net", "i386-unshare-user", "i386-unshare-net", "i386-setns-net", "i386-keyctl",
                  "i386-mount-reach", "x32-unshare-user", "x32-keyctl", "mount-reach", "umount-reach", "capabilities")
# The job's image config asks for more: every GPU of the host (NVIDIA's hook reads the job's env),
# volumes (podman makes each a host-disk volume: writable, exec allowed, unsized, left behind), a
# capability label podman reads, a healthcheck the engine would exec.
IMAGE_VOLUMES = ("/data", "/scratch/deep")
HOSTILE_SETTINGS = {"Env": ["PATH=/bin:/usr/bin", "NVIDIA_VISIBLE_DEVICES=all", "CUDA_VERSION=12.4"],
                    "Volumes": {path: {} for path in IMAGE_VOLUMES}, "Healthcheck": {
    "Test": ["CMD", "/bin/busybox", "true"], "Interval": 10**9},
    "Labels": {"io.containers.capabilities": "SYS_ADMIN,NET_ADMIN,DAC_READ_SEARCH"}}
LINE = re.compile(r"^(\S+) (refused|ALLOWED) ?(.*)$", re.M)


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> LayerFile:
    """The static C probe, as a file of the job's image (/probe)."""
    return LayerFile("probe", build_static(PROBE_SOURCE, tmp_path_factory.mktemp("probe") / "probe"), 0o755)


@pytest.fixture
def push_hostile(kubo, engine_factory, tmp_path, engine):
    """Like tests.agents' push_image, with more settings in the image's run config."""
    ids: list[str] = []

    def push(script: str, name: str, files: tuple[LayerFile, ...] = (), settings: dict | None = None) -> str:
        folder = tmp_path / f"hostile{len(ids)}"
        folder.mkdir()
        info = build_archive(folder / "image.tar", [LayerFile("bin/busybox", BUSYBOX, 0o755),
                                                    LayerFile("payload", script.encode()), *files],
                             name, ["/bin/busybox", "sh", "/payload"], settings=settings)
        ids.append(info.image_id)
        return ImageStore(kubo.client(), engine_factory, workdir=folder).push_archive(folder / "image.tar").cid

    yield push
    for image_id in ids:
        try:
            engine.images.remove(image_id, force=True)
        except Exception:  # noqa: BLE001 - never loaded
            pass


def renter_logs(runner, record) -> str:
    return runner.agent.runtime.logs(record.container_id).decode(errors="replace")


def wait_logs(runner, record, marker: str, timeout_s: float = 120.0) -> str:
    deadline = time.monotonic() + timeout_s
    while marker not in (logs := renter_logs(runner, record)):
        assert time.monotonic() < deadline, logs
        time.sleep(0.5)
    return logs


def next_job_id(suite, renter) -> str:
    """The id the Marketplace gives the renter's next job (``renter << 96 | jobSeq``)."""
    return "0x" + ((int(renter.address, 16) << 96) | (suite.marketplace.jobCount() + 1)).to_bytes(32, "big").hex()


def test_a_job_makes_no_namespace_uses_no_keyring_and_writes_only_where_the_agent_sized(
        start_agent, push_hostile, renter_rent, probe):
    runner = start_agent()
    bb = "/bin/busybox"
    script = f"""
    /probe
    {bb} unshare -U {bb} true 2>/dev/null && echo "bb-unshare-user ALLOWED" || echo "bb-unshare-user refused"
    {bb} unshare -n {bb} true 2>/dev/null && echo "bb-unshare-net ALLOWED" || echo "bb-unshare-net refused"
    {bb} nsenter -t 1 -n {bb} true 2>/dev/null && echo "bb-nsenter-net ALLOWED" || echo "bb-nsenter-net refused"
    for d in {' '.join(sorted(AGENT_MOUNTS | set(IMAGE_VOLUMES)))}; do
      {bb} dd if=/dev/zero of=$d/fill bs=1048576 count=48 2>/dev/null
      echo "fill $d $({bb} stat -c %s $d/fill 2>/dev/null || echo 0)"; {bb} rm -f $d/fill
    done
    echo "gpu-env [$NVIDIA_VISIBLE_DEVICES]"
    echo hostile-done
    exec {bb} sleep 300
    """
    cid = push_hostile(script, "gpurent-test/probe:1", files=(probe,), settings=HOSTILE_SETTINGS)
    job = renter_rent.create_job(runner.gpu, cid, 3600).value
    record = runner.wait_phase(job.job_id, "running")
    attrs = runner.agent.runtime.engine.containers.get(record.container_id).attrs
    host = attrs["HostConfig"]
    assert any(o.startswith("seccomp=") and "unconfined" not in o for o in host["SecurityOpt"]), host["SecurityOpt"]
    assert attrs["Mounts"] == [], attrs["Mounts"]  # no volume on the host's disk for the image's VOLUMEs
    assert attrs["Config"]["Healthcheck"]["Test"] == ["NONE"], attrs["Config"]["Healthcheck"]
    logs = wait_logs(runner, record, "hostile-done")

    assert "gpu-env []" in logs, logs  # this job has no GPU: NVIDIA's hook is told none, not the image's "all"
    outcomes = {name: verdict for name, verdict, _ in LINE.findall(logs) if name != "writable"}
    assert {name: outcomes.get(name) for name in SYSCALL_PROBES} == {name: "refused" for name in SYSCALL_PROBES}, logs

    writable = {}
    for name, _, detail in LINE.findall(logs):
        if name == "writable":
            path, *fields = detail.split()
            writable[path] = dict(f.split("=", 1) for f in fields if "=" in f)
    sized = AGENT_MOUNTS | set(IMAGE_VOLUMES)
    assert sized <= set(writable) <= sized | ENGINE_MOUNTS, writable  # nothing else can be written
    for path, facts in writable.items():
        assert facts["exec"] == "no" and "noexec" in facts["opts"].split(","), (path, facts)
        cap = SCRATCH if path in sized else ENGINE_DEV
        assert facts["type"] in ("tmpfs", "mqueue") and int(facts["size"]) <= cap, (path, facts)
    fills = dict(re.findall(r"^fill (\S+) (\d+)$", logs, re.M))
    assert set(fills) == sized and all(0 < int(size) <= SCRATCH for size in fills.values()), fills
    renter_rent.complete_job(job.job_id)
    runner.wait_phase(job.job_id, "completed")


def test_a_200_mb_log_flood_leaves_the_engines_log_within_the_cap(start_agent, push_image, renter_rent):
    runner = start_agent()
    cap = engine_log_mb(runner.agent.config.limits) * 2**20
    line = "0123456789" * 10
    script = f"/bin/busybox yes {line} | /bin/busybox head -c 200000000\necho flood-done\nexec /bin/busybox sleep 300\n"
    job = renter_rent.create_job(runner.gpu, push_image(script, "gpurent-test/flood:1"), 3600).value
    record = runner.wait_phase(job.job_id, "running")
    log_path = Path(runner.agent.runtime.engine.containers.get(record.container_id).attrs["LogPath"])
    largest, deadline = 0, time.monotonic() + 300
    while True:
        size = log_path.stat().st_size
        largest = max(largest, size)
        with log_path.open("rb") as handle:
            handle.seek(max(0, size - 4096))
            if b"flood-done" in handle.read():
                break
        assert time.monotonic() < deadline, f"the flood did not end (engine log {size} bytes)"
        time.sleep(0.2)
    assert largest <= cap + 2**20, f"the engine's log reached {largest} bytes (cap {cap})"
    renter_rent.complete_job(job.job_id)
    runner.wait_phase(job.job_id, "completed", timeout_s=120)


def test_containers_planted_under_the_next_jobs_label_are_never_started(start_agent, push_image, renter_rent,
                                                                       suite, cast, engine, tmp_path):
    runner = start_agent()
    owner = runner.agent.runtime.owner
    job_id = next_job_id(suite, cast.renter)
    path, planted = make_image(tmp_path, "gpurent-test/planted:1", b"echo PLANTED-RAN; exec /bin/busybox sleep 300")
    with path.open("rb") as handle:
        engine.images.load(handle)
    command = ["/bin/busybox", "sh", "/payload"]
    # another stack's container (same job id on another chain): our job label and the name we would use
    foreign = engine.containers.create(planted.image_id, command, name=owner.name(job_id), labels={LABEL: job_id})
    # one claiming every label of ours, but never recorded by this agent, from another image, without the lockdown
    forged = engine.containers.create(planted.image_id, command, name=f"{owner.name(job_id)}-forged",
                                      labels=owner.labels(job_id))
    try:
        job = renter_rent.create_job(runner.gpu, push_image("echo renter-own-job; exec sleep 300"), 3600).value
        assert job.job_id == job_id
        record = runner.wait_phase(job_id, "running")
        assert record.container_id not in (foreign.id, forged.id)
        foreign.reload()
        assert foreign.status == "created"  # never started, left to whoever made it
        with pytest.raises(NotFound):
            engine.containers.get(forged.id)  # "ours" but not what we made: removed, never started
        wait_logs(runner, record, "renter-own-job")
        assert "PLANTED-RAN" not in renter_logs(runner, record)
        assert runner.agent.runtime.find(job_id).id == record.container_id
        renter_rent.complete_job(job_id)
        runner.wait_phase(job_id, "completed")
    finally:
        for container in (foreign, forged):
            try:
                container.remove(force=True)
            except NotFound:
                pass
        engine.images.remove(planted.image_id, force=True)


def test_a_recorded_container_is_adopted_only_while_it_is_what_the_agent_would_make(engine, tmp_path):
    from gpurent.agent.runtime import Owner, Runtime

    owner = Owner(31337, "0x" + "cd" * 20, "0x" + os.urandom(20).hex())
    runtime = Runtime(engine, owner)
    job_id = "0x" + os.urandom(32).hex()
    spec, limits = ResourceSpec("RTX4090", 1, 1, 10, Decimal(1)), Limits(pids=64, scratch_mb=16)
    images = []
    for name in ("gpurent-test/adopt:1", "gpurent-test/adopt:2"):
        path, info = make_image(tmp_path, name, os.urandom(64))
        with path.open("rb") as handle:
            engine.images.load(handle)
        images.append(info.image_id)
    try:
        first = runtime.create(job_id, images[0], spec, limits, None)
        assert runtime.create(job_id, images[0], spec, limits, None, known=first) == first  # a restart adopts it
        unrecorded = runtime.create(job_id, images[0], spec, limits, None)  # not the one recorded: a fresh one
        assert unrecorded != first and not _exists(engine, first)
        other_image = runtime.create(job_id, images[1], spec, limits, None, known=unrecorded)
        assert other_image != unrecorded and not _exists(engine, unrecorded)
        weaker = runtime.create(job_id, images[1], spec, Limits(pids=999, scratch_mb=16), None, known=other_image)
        assert weaker != other_image and not _exists(engine, other_image)
    finally:
        for container in engine.containers.list(all=True, filters={"label": f"{LABEL}={job_id}"}):
            container.remove(force=True)
        for image_id in images:
            engine.images.remove(image_id, force=True)


def _exists(engine, container_id: str) -> bool:
    try:
        engine.containers.get(container_id)
    except NotFound:
        return False
    return True


def test_a_renters_archive_never_moves_or_adds_a_tag_in_the_providers_engine(store, image_factory, engine):
    tag = f"gpurent-test/victim-{os.urandom(4).hex()}:latest"
    victim_path, victim = image_factory(tag)
    with victim_path.open("rb") as handle:
        engine.images.load(handle)  # the provider's own image under that tag
    hostile_path, hostile = image_factory(tag)  # another image claiming the tag
    pulled = store.pull(store.push_archive(hostile_path).cid)
    assert pulled.image_id == hostile.image_id
    assert engine.images.get(tag).id == victim.image_id  # the tag did not move
    assert engine.images.get(hostile.image_id).tags == []  # loaded by id, named nothing
    fresh = f"gpurent-test/claimed-{os.urandom(4).hex()}:1"
    claimed_path, claimed = image_factory(fresh)
    store.pull(store.push_archive(claimed_path).cid)
    assert engine.images.get(claimed.image_id).tags == []
    with pytest.raises(ImageNotFound):
        engine.images.get(fresh)  # no new name either


def test_an_archive_lying_about_its_image_leaves_nothing_loaded(store, image_factory, engine):
    path, info = image_factory("gpurent-test/liar:1")
    meta = store.push_archive(path).metadata
    _, promised = image_factory("gpurent-test/promised:1")
    lying = ImageMetadata(**{**meta.__dict__, "image_id": promised.image_id})
    cid = store.ipfs.add([UploadPart(IMAGE_FILE, [path.read_bytes()]), UploadPart(METADATA_FILE, [lying.to_bytes()])],
                         pin=False)[-1].cid
    with pytest.raises(IntegrityError, match="metadata names"):
        store.pull(cid)
    for image_id in (info.image_id, promised.image_id):
        with pytest.raises(ImageNotFound):
            engine.images.get(image_id)
    assert not store.ipfs.is_pinned(cid)


def _combine(out: Path, first: Path, second: Path, twice: bool) -> Path:
    """A tar of both archives' files: one manifest listing both images, or (``twice``) each
    archive's own manifest.json, one after the other."""
    manifests = []
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as combined:
        for source in (first, second):
            with tarfile.open(source) as tar:
                for member in tar.getmembers():
                    data = tar.extractfile(member) if member.isfile() else None
                    if member.name == "manifest.json":
                        manifests.append(json.loads(data.read()))
                        if not twice:
                            continue
                        data.seek(0)
                    combined.addfile(member, data)
        if not twice:
            manifest = json.dumps(manifests[0] + manifests[1]).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            combined.addfile(info, io.BytesIO(manifest))
    return out


@pytest.mark.parametrize("twice", [False, True], ids=["two-images-in-one-manifest", "two-manifests"])
def test_an_archive_carrying_a_second_image_is_refused_and_leaves_nothing(store, image_factory, engine, tmp_path,
                                                                         twice):
    first_path, first = image_factory("gpurent-test/first:1")
    second_path, second = image_factory("gpurent-test/second:1")
    archive = _combine(tmp_path / "both.tar", first_path, second_path, twice)
    meta = store.push_archive(archive).metadata
    honest_first = ImageMetadata(**{**meta.__dict__, "image_id": first.image_id})
    cid = store.ipfs.add([UploadPart(IMAGE_FILE, [archive.read_bytes()]),
                          UploadPart(METADATA_FILE, [honest_first.to_bytes()])], pin=False)[-1].cid
    with pytest.raises(ImageError, match="exactly one image|more than once"):
        store.pull(cid)
    for image_id in (first.image_id, second.image_id):
        with pytest.raises(ImageNotFound):
            engine.images.get(image_id)


def test_an_archive_of_endless_entries_is_refused_before_the_engine(store, image_factory, engine, tmp_path):
    """A header bomb (every entry costs the provider memory to list) is refused at the bound."""
    path, info = image_factory("gpurent-test/bomb:1")
    bomb = tmp_path / "bomb.tar"
    with tarfile.open(path) as tar, tarfile.open(bomb, "w", format=tarfile.USTAR_FORMAT) as out:
        for member in tar.getmembers():
            out.addfile(member, tar.extractfile(member) if member.isfile() else None)
        for i in range(MAX_ENTRIES):
            out.addfile(tarfile.TarInfo(f"filler/{i}"), io.BytesIO())
    with pytest.raises(ImageError, match=f"over {MAX_ENTRIES} entries"):
        store.pull(store.push_archive(bomb).cid)
    with pytest.raises(ImageNotFound):
        engine.images.get(info.image_id)


@pytest.mark.parametrize("volumes", [[f"/v{i}" for i in range(MAX_VOLUMES + 1)], ["/data:exec,size=100g"],
                                     ["/proc/sys/kernel"]], ids=["too-many-volumes", "options-in-a-path", "in-proc"])
def test_an_image_whose_volumes_cannot_be_covered_is_refused_and_leaves_nothing(store, engine, tmp_path, volumes):
    info = build_archive(tmp_path / "image.tar", [LayerFile("bin/busybox", BUSYBOX, 0o755),
                                                  LayerFile("payload", os.urandom(64))],
                         "gpurent-test/volumes:1", ["/bin/busybox", "true"],
                         settings={"Volumes": {path: {} for path in volumes}})
    try:
        with pytest.raises(ImageError, match="volume"):
            store.pull(store.push_archive(tmp_path / "image.tar").cid)
        with pytest.raises(ImageNotFound):
            engine.images.get(info.image_id)
    finally:
        try:
            engine.images.remove(info.image_id, force=True)
        except NotFound:
            pass


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = size, 946684800
    return info.tobuf(tarfile.USTAR_FORMAT)


def _members(archive: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(archive) as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]


def _with_oci_layout(honest: Path, out: Path, tag: str) -> Path:
    """The archive plus an OCI layout of the same image whose index names ``tag`` (as Docker's own
    ``save`` writes both): podman loads the OCI layout first."""
    members = _members(honest)
    files = {m.name: data for m, data in members if data is not None}
    legacy = json.loads(files["manifest.json"])[0]
    config, layer = files[legacy["Config"]], files[legacy["Layers"][0]]

    def ref(media: str, blob: bytes) -> dict:
        return {"mediaType": media, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(), "size": len(blob)}

    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": ref("application/vnd.oci.image.config.v1+json", config),
                           "layers": [ref("application/vnd.oci.image.layer.v1.tar", layer)]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        **ref("application/vnd.oci.image.manifest.v1+json", manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag, "io.containerd.image.name": tag}}]}).encode()
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        extra = {f"blobs/sha256/{hashlib.sha256(b).hexdigest()}": b for b in (config, layer, manifest)}
        for name, data in {**extra, "oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def _split_view(honest: Path, out: Path, tag: str) -> Path:
    """Each tar reader sees another manifest.json: a size field led by NULs is 0 to Python's
    tarfile and 3 blocks to Go's archive/tar, so Go skips the tag-less manifest Python reads, and
    Python skips the tagged one Go reads."""
    members = _members(honest)
    manifest = next(json.loads(data) for m, data in members if m.name == "manifest.json")
    with out.open("wb") as handle:
        for member, data in members:
            if member.name != "manifest.json":
                handle.write(member.tobuf(tarfile.USTAR_FORMAT) + (data or b"") + bytes(-len(data or b"") % 512))
        pad = bytearray(_tar_header("pad", 0))
        pad[124:136] = bytes(7) + b"3000" + bytes(1)
        pad[148:156] = b" " * 8
        pad[148:156] = b"%06o\0 " % sum(pad)
        handle.write(bytes(pad))
        handle.write(_tar_header("manifest.json", 512) + json.dumps(manifest).encode().ljust(512))  # Python's
        handle.write(_tar_header("junk", 1024))
        tagged = [{**manifest[0], "RepoTags": [tag]}]
        handle.write(_tar_header("manifest.json", 512) + json.dumps(tagged).encode().ljust(512))  # Go's
        handle.write(bytes(1024))
    return out


def _with_pax(records: dict[str, str]):
    """Every entry behind a pax header of its path and size (as Go writes for a layer over 8 GiB),
    plus ``records``."""
    def build(honest: Path, out: Path, tag: str) -> Path:
        with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
            for member, data in _members(honest):
                member.pax_headers = {"path": member.name, "size": str(member.size), **records}
                tar.addfile(member, io.BytesIO(data) if data is not None else None)
        return out
    return build


TRICKS = {"oci-layout-beside-the-manifest": _with_oci_layout, "tar-headers-read-two-ways": _split_view,
          "pax-path-and-size": _with_pax({}), "pax-other-records": _with_pax({"uid": "0", "mtime": "946684800.5"})}
LOADS = ("oci-layout-beside-the-manifest", "pax-path-and-size")  # what honest tools write: loads, names nothing


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_an_archive_read_another_way_by_the_engine_names_nothing(store, image_factory, engine, tmp_path, trick):
    honest_path, honest = image_factory("gpurent-test/honest:1")
    tag = f"gpurent-test/hijacked-{os.urandom(4).hex()}:latest"
    archive = TRICKS[trick](honest_path, tmp_path / "hostile.tar", tag)
    cid = store.push_archive(archive).cid
    if trick in LOADS:
        assert store.pull(cid).image_id == honest.image_id
        assert engine.images.get(honest.image_id).tags == []
    else:
        with pytest.raises(ImageError, match="not a plain ustar entry"):
            store.pull(cid)
        with pytest.raises(ImageNotFound):
            engine.images.get(honest.image_id)
    with pytest.raises(ImageNotFound):
        engine.images.get(tag)


def test_an_archive_with_a_compressed_layer_is_refused_before_it_expands(store, engine, tmp_path):
    """A gzip bomb: 64 MiB of zeros (and busybox) in about 1 MiB; zeros alone compress 1,000 to 1."""
    zeros = tmp_path / "zeros"
    with zeros.open("wb") as handle:
        handle.truncate(64 * 2**20)
    honest = tmp_path / "honest.tar"
    info = build_archive(honest, [LayerFile("bin/busybox", BUSYBOX, 0o755), LayerFile("zeros", zeros)],
                         "gpurent-test/bomb-layer:1", ["/bin/busybox", "true"])
    bomb = tmp_path / "bomb.tar"
    with tarfile.open(bomb, "w", format=tarfile.USTAR_FORMAT) as out:
        for member, data in _members(honest):
            if member.name.endswith("/layer.tar"):
                data = gzip.compress(data, compresslevel=9, mtime=0)
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    assert bomb.stat().st_size < 2 * 2**20 < 64 * 2**20
    try:
        with pytest.raises(ImageError, match="compressed"):
            store.pull(store.push_archive(bomb).cid)
        with pytest.raises(ImageNotFound):
            engine.images.get(info.image_id)
    finally:
        try:
            engine.images.remove(info.image_id, force=True)
        except NotFound:
            pass


def _repeated_layer(honest: Path, out: Path, times: int) -> str:
    """The archive with its one layer named ``times`` over (in the manifest and the config's
    diff_ids): the engine unpacks it each time. Returns the image id."""
    members = _members(honest)
    files = {m.name: data for m, data in members if data is not None}
    manifest = json.loads(files["manifest.json"])
    old_config = manifest[0]["Config"]
    config = json.loads(files[old_config])
    config["rootfs"]["diff_ids"] *= times
    config["history"] *= times
    blob = json.dumps(config).encode()
    config_name = hashlib.sha256(blob).hexdigest() + ".json"
    manifest[0]["Config"], manifest[0]["Layers"] = config_name, manifest[0]["Layers"] * times
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        for member, data in members:
            if member.name not in ("manifest.json", old_config):
                tar.addfile(member, io.BytesIO(data) if data is not None else None)
        for name, data in ((config_name, blob), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return "sha256:" + config_name.removesuffix(".json")


def test_an_archive_naming_one_layer_over_and_over_is_refused_before_it_multiplies(store, engine, tmp_path):
    """8 MiB of layer named 16 times: 128 MiB on the provider's disk from an 8 MiB archive."""
    zeros = tmp_path / "zeros"
    with zeros.open("wb") as handle:
        handle.truncate(8 * 2**20)
    build_archive(tmp_path / "honest.tar", [LayerFile("zeros", zeros)], "gpurent-test/repeat:1", ["/zeros"])
    image_id = _repeated_layer(tmp_path / "honest.tar", tmp_path / "repeat.tar", 16)
    try:
        with pytest.raises(ImageError, match="over and over"):
            store.pull(store.push_archive(tmp_path / "repeat.tar").cid)
        with pytest.raises(ImageNotFound):
            engine.images.get(image_id)
    finally:
        try:
            engine.images.remove(image_id, force=True)
        except NotFound:
            pass
