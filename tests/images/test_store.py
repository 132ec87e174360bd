"""Push and pull through a real Kubo node and a real podman engine."""

from __future__ import annotations

import hashlib
import json

import pytest
from docker.errors import ImageNotFound

from gpurent.errors import ImageTooLarge, IntegrityError, InvalidInput, NotAGpurentImage, ServiceUnavailable
from gpurent.images.kubo import KuboClient, UploadPart
from gpurent.images.store import IMAGE_FILE, METADATA_FILE, SCHEMA, ImageMetadata, ImageStore, validate_cid
from tests.services import run_to_end


class Recorder:
    def __init__(self):
        self.phases: dict[str, list[int]] = {}
        self.totals: dict[str, int | None] = {}
        self._current = ""

    def begin(self, label, total):
        self._current = label
        self.phases[label] = []
        self.totals[label] = total

    def advance(self, done):
        self.phases[self._current].append(done)

    def end(self):
        pass


def test_push_records_metadata_beside_the_image(store, image_factory):
    path, info = image_factory("gpurent-test/meta:7")
    progress = Recorder()
    pushed = store.push_archive(path, uploader="0x00000000000000000000000000000000000000aa", transfer=progress)
    raw = path.read_bytes()
    meta = pushed.metadata
    assert (meta.name, meta.tag, meta.image_id) == ("gpurent-test/meta", "7", info.image_id)
    assert meta.size == len(raw) and meta.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert meta.uploader.endswith("aa") and meta.created.endswith("Z") and meta.schema == SCHEMA
    # the directory holds exactly the tar and the metadata, the tar byte for byte
    assert set(store.ipfs.ls(pushed.cid)) == {IMAGE_FILE, METADATA_FILE}
    assert store.ipfs.cat_bytes(f"{pushed.cid}/{IMAGE_FILE}") == raw
    assert store.metadata(pushed.cid) == meta
    assert store.ipfs.is_pinned(pushed.cid)
    assert sum(progress.phases["upload"]) == len(raw) and progress.totals["upload"] == len(raw)


def test_pushing_the_same_archive_twice_gives_the_same_image_bytes(store, image_factory):
    path, _ = image_factory()
    first, second = store.push_archive(path), store.push_archive(path)
    assert store.ipfs.ls(first.cid)[IMAGE_FILE] == store.ipfs.ls(second.cid)[IMAGE_FILE]


def test_pull_verifies_loads_and_pins(store, image_factory, engine, kubo):
    path, info = image_factory("gpurent-test/pull:1")
    pushed = store.push_archive(path)
    store.ipfs.pin_rm(pushed.cid)
    with pytest.raises(ImageNotFound):
        engine.images.get(info.image_id)
    progress = Recorder()
    pulled = store.pull(pushed.cid, transfer=progress)
    assert pulled.image_id == info.image_id
    assert engine.images.get(info.image_id).id == info.image_id
    assert store.ipfs.is_pinned(pushed.cid)
    assert sum(progress.phases["download"]) == pushed.metadata.size
    assert "load" in progress.phases
    assert not list(store.workdir.iterdir())  # the temporary tar is gone
    output = run_to_end(engine, info.image_id)
    assert len(output) == 4096


def test_push_from_the_engine(store, image_factory, engine):
    path, info = image_factory("gpurent-test/local:3")
    with path.open("rb") as handle:
        engine.images.load(handle)
    pushed = store.push_local("gpurent-test/local:3")
    assert (pushed.metadata.name, pushed.metadata.tag) == ("gpurent-test/local", "3")
    assert pushed.metadata.image_id == info.image_id
    engine.images.remove(info.image_id, force=True)
    assert store.pull(pushed.cid).image_id == info.image_id
    with pytest.raises(InvalidInput, match="no image 'gpurent-test/absent:1'"):
        store.push_local("gpurent-test/absent:1")


def test_tampered_bytes_are_refused_before_docker_load(store, image_factory, engine):
    path, info = image_factory("gpurent-test/tampered:1")
    honest = store.push_archive(path, uploader=None)
    forged_meta = ImageMetadata(**{**honest.metadata.__dict__, "digest": "sha256:" + "0" * 64})
    entries = store.ipfs.add([UploadPart(IMAGE_FILE, [path.read_bytes()]),
                              UploadPart(METADATA_FILE, [forged_meta.to_bytes()])], pin=False)
    forged = entries[-1].cid
    with pytest.raises(IntegrityError, match="failed verification"):
        store.pull(forged)
    with pytest.raises(ImageNotFound):
        engine.images.get(info.image_id)
    assert not store.ipfs.is_pinned(forged)
    assert not list(store.workdir.iterdir())


def test_metadata_naming_another_image_id_is_refused_after_load(store, image_factory):
    path, _ = image_factory("gpurent-test/wrongid:1")
    meta = store.push_archive(path).metadata
    lying = ImageMetadata(**{**meta.__dict__, "image_id": "sha256:" + "1" * 64})
    cid = store.ipfs.add([UploadPart(IMAGE_FILE, [path.read_bytes()]), UploadPart(METADATA_FILE, [lying.to_bytes()])],
                         pin=False)[-1].cid
    with pytest.raises(IntegrityError, match="metadata names"):
        store.pull(cid)
    assert not store.ipfs.is_pinned(cid)


@pytest.mark.parametrize("text", ["", "hello", "Qm123", "bafy-not-a-cid", "0x1234"])
def test_malformed_cids_are_refused_before_any_request(text):
    with pytest.raises(InvalidInput, match="is not a CID"):
        validate_cid(text)


def test_cids_in_the_usual_spellings_are_accepted():
    v1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    assert validate_cid(v1) == v1
    assert validate_cid(f"/ipfs/{v1}") == v1 and validate_cid(f"ipfs://{v1}") == v1
    assert validate_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").startswith("Qm")


def test_content_that_is_not_a_gpurent_image_is_named_as_such(store):
    plain_file = store.ipfs.add([UploadPart("notes.txt", [b"just a file"])], wrap=False, pin=False)[-1].cid
    with pytest.raises(NotAGpurentImage, match="it is a single file"):
        store.pull(plain_file)
    other_dir = store.ipfs.add([UploadPart("a.txt", [b"a"]), UploadPart("b.txt", [b"b"])], pin=False)[-1].cid
    with pytest.raises(NotAGpurentImage, match="no gpurent.json"):
        store.metadata(other_dir)
    bad_doc = store.ipfs.add([UploadPart(IMAGE_FILE, [b"x"]),
                              UploadPart(METADATA_FILE, [json.dumps({"schema": "other/1"}).encode()])],
                             pin=False)[-1].cid
    with pytest.raises(NotAGpurentImage, match="not valid"):
        store.metadata(bad_doc)


def test_size_limit_applies_to_push_and_pull(kubo, engine_factory, image_factory, tmp_path):
    path, _ = image_factory(size=200_000)
    roomy = ImageStore(kubo.client(), engine_factory, max_bytes=1 << 30, workdir=tmp_path)
    tight = ImageStore(kubo.client(), engine_factory, max_bytes=100_000, workdir=tmp_path)
    with pytest.raises(ImageTooLarge, match="over the 97.7 KiB limit"):
        tight.push_archive(path)
    cid = roomy.push_archive(path).cid
    roomy.ipfs.pin_rm(cid)
    with pytest.raises(ImageTooLarge):
        tight.pull(cid)
    assert not tight.ipfs.is_pinned(cid)


def test_a_cid_no_peer_holds_fails_within_the_timeout(store):
    missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    with pytest.raises(Exception, match="not found within 2 s"):
        store.metadata(missing, timeout_s=2)


def test_a_node_that_does_not_run_is_reported(tmp_path):
    from gpurent.local.process import free_port

    store = ImageStore(KuboClient(f"http://127.0.0.1:{free_port()}"), max_bytes=1, workdir=tmp_path)
    with pytest.raises(ServiceUnavailable, match="no IPFS node answers"):
        store.metadata("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")


def test_ls_inspect_and_rm(store, image_factory):
    path, _ = image_factory("gpurent-test/listed:1")
    pushed = store.push_archive(path)
    listed = {i.cid: i.metadata for i in store.list()}
    assert listed[pushed.cid] == pushed.metadata
    details = store.inspect(pushed.cid)
    assert details["pinned"] and details["local_bytes"] == details["total_bytes"] > pushed.metadata.size
    store.remove(pushed.cid)
    assert pushed.cid not in {i.cid for i in store.list()}
    assert store.inspect(pushed.cid)["pinned"] is False
    with pytest.raises(InvalidInput, match="not pinned"):
        store.remove(pushed.cid)


def test_staging_files_a_killed_pull_left_are_swept(store, image_factory):
    import os
    import time

    store.workdir.mkdir(parents=True, exist_ok=True)
    stale, recent = store.workdir / "pull-old.tar", store.workdir / "pull-new.tar"
    for path in (stale, recent):
        path.write_bytes(b"x" * 1024)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    store.staging_dir(1)
    assert not stale.exists() and recent.exists()
