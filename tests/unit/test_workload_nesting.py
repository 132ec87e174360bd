"""Hostile documents nested deep or tar members that are sparse: refused with a one-line error
(a RecursionError escaping the parser kept a job's GPU held forever, retried every 5 s)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from gpurent.workload import results as results_mod
from gpurent.workload.results import ResultError, ResultFile, ResultInfo, ResultManifest
from gpurent.workload.seal import KeyPair, SealError, open_secret, seal
from gpurent.workload.spec import SpecError, JobSpec

RENTER = "0x" + "11" * 20
DEEP = 5_000


def test_a_deeply_nested_definition_is_a_spec_error() -> None:
    data = b'{"gpurent_job":1,"image":"x","env":' + b"[" * DEEP + b"]" * DEEP + b"}"
    with pytest.raises(SpecError, match="not valid JSON"):
        JobSpec.from_bytes(data)


def test_a_deeply_nested_sealed_secret_is_a_seal_error() -> None:
    provider = KeyPair.generate()
    import base64

    sealed = base64.b64encode(seal(provider.public_bytes, b"[" * DEEP + b"]" * DEEP)).decode()
    with pytest.raises(SealError, match="not a gpurent secret"):
        open_secret(provider, sealed, "TOKEN", RENTER)


@pytest.mark.parametrize("reader", [ResultInfo.from_bytes, ResultManifest.from_bytes])
def test_a_deeply_nested_result_document_is_a_result_error(reader) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ResultError):
        reader(b"[" * DEEP + b"]" * DEEP)


@pytest.mark.parametrize("fmt", ["gnu", "pax"])
def test_a_sparse_member_in_a_payload_is_refused(tmp_path: Path, fmt: str) -> None:
    """A sparse member of a few KiB would extract to its declared size (the holes as NULs): GNU
    tar writes both kinds (the old GNU type and PAX 1.0), and both are refused before a byte."""
    size = 1 << 30
    src = tmp_path / "src"
    src.mkdir()
    with (src / "big.bin").open("wb") as f:
        f.truncate(size)  # one hole, no data: what a hostile provider packs
    tar_path = tmp_path / "payload"
    subprocess.run(["tar", f"--format={fmt}", "--sparse", "-cf", str(tar_path), "-C", str(src), "big.bin"],
                   check=True)
    assert tar_path.stat().st_size < 64 * 1024
    zeros = hashlib.sha256()
    chunk = bytes(1 << 20)
    for _ in range(size >> 20):
        zeros.update(chunk)
    manifest = ResultManifest((ResultFile("big.bin", size, zeros.hexdigest()),), 1, size, False)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ResultError, match="not a plain file"), tar_path.open("rb") as stream:
        results_mod._extract(stream, dest, manifest, "bafy-test")
    assert not (dest / "big.bin").exists()


def test_a_malformed_tar_is_a_result_error(tmp_path: Path) -> None:
    tar_path = tmp_path / "payload"
    tar_path.write_bytes(b"\0" * 100 + b"not a tar" * 100)
    manifest = ResultManifest((ResultFile("a", 1, "00" * 32),), 1, 1, False)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ResultError), tar_path.open("rb") as stream:
        results_mod._extract(stream, dest, manifest, "bafy-test")
