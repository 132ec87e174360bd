"""Packing a result (provider side): deterministic tar, drops with a record, sealing."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from gpurent.workload.results import (
    MANIFEST_FILE,
    PAYLOAD_FILE,
    RESULT_FILE,
    ResultError,
    ResultInfo,
    ResultManifest,
    pack_outputs,
)
from gpurent.workload.seal import KeyPair, open_sealed, open_stream

JOB = "0x" + "ab" * 32


def _tree(root: Path) -> None:
    (root / "model").mkdir(parents=True)
    (root / "model" / "weights.bin").write_bytes(os.urandom(200_000))
    (root / "log.txt").write_text("done\n")
    (root / "empty").mkdir()
    os.symlink("/etc/passwd", root / "passwd")
    os.mkfifo(root / "pipe")


def test_pack_plain_is_deterministic_and_drops_with_a_record(tmp_path: Path) -> None:
    src = tmp_path / "out"
    _tree(src)
    first, second = tmp_path / "r1", tmp_path / "r2"
    packed = pack_outputs(src, first, job_id=JOB, cap_bytes=10**9, result_key=None, exit_code=3)
    pack_outputs(src, second, job_id=JOB, cap_bytes=10**9, result_key=None, exit_code=3)
    for name in (RESULT_FILE, MANIFEST_FILE, PAYLOAD_FILE):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    manifest = ResultManifest.from_bytes((first / MANIFEST_FILE).read_bytes())
    assert manifest == packed.manifest
    assert [f.path for f in manifest.files] == ["log.txt", "model/weights.bin"]
    assert {d.path: d.reason.split(" ")[0] for d in manifest.dropped} == {"passwd": "symlink", "pipe": "not"}
    assert manifest.dropped_count == 2 and manifest.exit_code == 3 and not manifest.truncated
    with tarfile.open(first / PAYLOAD_FILE) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["empty", "log.txt", "model", "model/weights.bin"]
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        assert {m.mode for m in members} == {0o644, 0o755}
    info = ResultInfo.from_bytes((first / RESULT_FILE).read_bytes())
    assert info.job == JOB and not info.sealed and info.payload_bytes == (first / PAYLOAD_FILE).stat().st_size


def test_cap_truncates_with_a_record(tmp_path: Path) -> None:
    src = tmp_path / "out"
    src.mkdir()
    for name in ("a", "b", "c"):
        (src / name).write_bytes(b"x" * 1000)
    packed = pack_outputs(src, tmp_path / "r", job_id=JOB, cap_bytes=2500, result_key=None, exit_code=0)
    assert packed.truncated and packed.file_count == 2 and packed.total_bytes == 2000
    assert packed.manifest.dropped[0].path == "c" and "cap" in packed.manifest.dropped[0].reason


def test_sealed_pack_reveals_nothing(tmp_path: Path) -> None:
    src = tmp_path / "out"
    src.mkdir()
    (src / "secret-weights.txt").write_text("the model's weights " * 100)
    pair = KeyPair.generate()
    dst = tmp_path / "r"
    pack_outputs(src, dst, job_id=JOB, cap_bytes=10**9, result_key=pair.public_bytes, exit_code=0)
    for name in (MANIFEST_FILE, PAYLOAD_FILE):
        assert b"weights" not in (dst / name).read_bytes()
    assert sorted(os.listdir(dst)) == [MANIFEST_FILE, PAYLOAD_FILE, RESULT_FILE]
    manifest = ResultManifest.from_bytes(open_sealed(pair, (dst / MANIFEST_FILE).read_bytes()))
    assert manifest.files[0].path == "secret-weights.txt"
    tar_bytes = io.BytesIO()
    with open(dst / PAYLOAD_FILE, "rb") as handle:
        open_stream(pair, handle, tar_bytes)
    tar_bytes.seek(0)
    with tarfile.open(fileobj=tar_bytes) as tar:
        assert tar.extractfile("secret-weights.txt").read() == (src / "secret-weights.txt").read_bytes()  # type: ignore[union-attr]


@pytest.mark.parametrize("change", [
    lambda d: d["files"][0].update(path="../evil"), lambda d: d["files"][0].update(path="/abs"),
    lambda d: d["files"][0].update(sha256="zz"), lambda d: d.update(file_count=5),
    lambda d: d.update(total_bytes=2), lambda d: d["files"].append(dict(d["files"][0])),
    lambda d: d.update(exit_code="0"), lambda d: d.pop("dropped"),
])
def test_manifest_refuses_a_bad_document(tmp_path: Path, change) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "out"
    src.mkdir()
    (src / "f").write_text("x")
    packed = pack_outputs(src, tmp_path / "r", job_id=JOB, cap_bytes=100, result_key=None, exit_code=0)
    doc = packed.manifest.to_json()
    change(doc)
    with pytest.raises(ResultError):
        ResultManifest.from_bytes(json.dumps(doc).encode())
