"""Workloads on a real Kubo node: data push, definitions read back, results fetched verified and
decrypted, a tampered block in the node's blockstore detected with nothing written."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpurent.cli.root import make_root
from gpurent.images.kubo import UploadPart
from gpurent.workload.data import push_data
from gpurent.workload.results import ResultError, fetch_result, pack_outputs
from gpurent.workload.seal import KeyPair
from gpurent.workload.spec import MAX_SPEC_BYTES, InputMount, JobSpec, SpecError, read_definition

JOB = "0x" + "5e" * 32
GPU = "0x" + "01" * 32


def _outputs(root: Path) -> dict[str, bytes]:
    files = {"model/weights.bin": os.urandom(700_000), "metrics.json": b'{"loss": 0.1}', "frames/0001.png": b"\x89PNG"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _published(kubo, tmp_path: Path, key: KeyPair | None) -> tuple[str, dict[str, bytes]]:
    src, packed = tmp_path / "outputs", tmp_path / "packed"
    src.mkdir()
    files = _outputs(src)
    pack_outputs(src, packed, job_id=JOB, cap_bytes=10**9, result_key=key.public_bytes if key else None, exit_code=0)
    return push_data(kubo.client(), packed).cid, files


@pytest.mark.parametrize("sealed", [True, False])
def test_result_round_trip_byte_identical(kubo, tmp_path, sealed):
    key = KeyPair.generate() if sealed else None
    cid, files = _published(kubo, tmp_path, key)
    out = tmp_path / "got"
    manifest = fetch_result(kubo.client(), cid, out, keypair=key, job_id=JOB, timeout_s=30)
    assert manifest.file_count == 3
    for name, data in files.items():
        assert hashlib.sha256((out / name).read_bytes()).digest() == hashlib.sha256(data).digest()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".got.partial")]


def test_wrong_key_other_job_or_no_key_refused(kubo, tmp_path):
    key = KeyPair.generate()
    cid, _ = _published(kubo, tmp_path, key)
    for kwargs, text in [({"keypair": KeyPair.generate(), "job_id": JOB}, "another key"),
                         ({"keypair": None, "job_id": JOB}, "not here"),
                         ({"keypair": key, "job_id": "0x" + "77" * 32}, "another job")]:
        with pytest.raises(ResultError, match=text):
            fetch_result(kubo.client(), cid, tmp_path / "got", timeout_s=30, **kwargs)
        assert not (tmp_path / "got").exists()


def test_an_unsealed_result_is_refused_when_the_definition_named_a_key(kubo, tmp_path):
    """The provider left in the clear what the renter asked sealed: said, nothing written."""
    cid, files = _published(kubo, tmp_path, None)
    with pytest.raises(ResultError, match="not sealed although the job's definition named your result key"):
        fetch_result(kubo.client(), cid, tmp_path / "got", keypair=KeyPair.generate(), job_id=JOB, timeout_s=30,
                     expect_sealed=True)
    assert not (tmp_path / "got").exists()
    fetch_result(kubo.client(), cid, tmp_path / "got", keypair=None, job_id=JOB, timeout_s=30)  # taken knowingly
    assert (tmp_path / "got" / "metrics.json").read_bytes() == files["metrics.json"]


def _blocks(repo: Path) -> list[Path]:
    return [p for p in (repo / "blocks").rglob("*.data")]


def test_tampered_block_detected_nothing_written(nodes, tmp_path):
    node = nodes.start("tamper")
    key = KeyPair.generate()
    before = set(_blocks(Path(node.repo)))
    cid, _ = _published(node, tmp_path, key)
    new = sorted(set(_blocks(Path(node.repo))) - before, key=lambda p: p.stat().st_size)
    big = new[-1]  # a 256 KiB raw leaf of the sealed payload
    data = bytearray(big.read_bytes())
    data[len(data) // 2] ^= 0xFF
    big.write_bytes(bytes(data))
    with pytest.raises(ResultError, match="does not match its commitment"):
        fetch_result(node.client(), cid, tmp_path / "got", keypair=key, job_id=JOB, timeout_s=30)
    assert not (tmp_path / "got").exists()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_read_definition(kubo, tmp_path):
    ipfs = kubo.client()
    image = ipfs.add([UploadPart("gpurent.json", lambda: b"{}"), UploadPart("image.tar", lambda: b"x")])[-1].cid
    assert read_definition(ipfs, image, 30) == JobSpec(image=image)
    spec = JobSpec(image=image, command=("python", "train.py"), inputs=(InputMount(image, "/data"),), output="/outputs")
    cid = ipfs.add([UploadPart("job.json", lambda: spec.to_bytes())], wrap=False)[-1].cid
    assert read_definition(ipfs, cid, 30) == spec
    huge = ipfs.add([UploadPart("x", lambda: b" " * (MAX_SPEC_BYTES + 10))], wrap=False)[-1].cid
    with pytest.raises(SpecError, match="over"):
        read_definition(ipfs, huge, 30)
    folder = ipfs.add([UploadPart("other.txt", lambda: b"x")])[-1].cid
    with pytest.raises(SpecError, match="not a gpurent image"):
        read_definition(ipfs, folder, 30)


@pytest.fixture
def cli(tmp_path, monkeypatch, kubo):
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GPURENT_IPFS_API", kubo.api_url)
    runner = CliRunner(mix_stderr=False)
    root = make_root()

    def run(*args: str, code: int = 0):
        result = runner.invoke(root, list(args), catch_exceptions=True)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
        assert "Traceback" not in result.stderr + result.stdout
        return result

    return run


def test_data_push_round_trip(cli, kubo, tmp_path):
    folder = tmp_path / "dataset"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "a.bin").write_bytes(os.urandom(300_000))
    (folder / "labels.csv").write_text("a,1\n")
    pushed = json.loads(cli("--json", "data", "push", str(folder)).stdout)
    ipfs = kubo.client()
    assert ipfs.cat_bytes(f"{pushed['cid']}/train/a.bin") == (folder / "train" / "a.bin").read_bytes()
    assert pushed["size"] == 300_004 and pushed["files"] == 2 and pushed["cid"].startswith("bafy")
    single = json.loads(cli("--json", "data", "push", str(folder / "labels.csv")).stdout)
    assert single["digest"] == "sha256:" + hashlib.sha256(b"a,1\n").hexdigest()
    assert ipfs.is_pinned(single["cid"])
    os.symlink("/etc/passwd", folder / "link")
    bad = cli("data", "push", str(folder), code=1)
    assert len(bad.stderr.strip().splitlines()) == 1 and "symlink" in bad.stderr


def test_keys_show_public_only(cli, tmp_path):
    shown = json.loads(cli("--json", "keys", "show").stdout)
    key_file = tmp_path / "home" / "keys" / "results.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert key_file.read_text().strip() not in json.dumps(shown)
    assert KeyPair.load(key_file).public_b64 == shown["public_key"]


CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.mark.parametrize("flags,text", [
    (["--env", "A=" + "x" * 5000], "env.A"),
    (["--input", f"{CID}:../../etc"], "inputs.path"),
    (["--input", f"{CID}:/proc"], "/proc"),
    (["--output", "/scratch"], "/scratch"),
    (["--input", f"{CID}:/data", "--input", f"{CID}:/data"], "equal or nested"),
    (["--input", f"{CID}:/data", "--output", "/data/out"], "equal or nested"),
    (["--env", "A=a\x00b"], "NUL"),
    ([x for i in range(70) for x in ("--input", f"{CID}:/d{i}")], "inputs: more than 16"),
    (["--env", "GPURENT_JOB=1"], "reserved"),
    (["--cmd", "python 'unclosed"], "--cmd"),
    (["--input", "nocolon"], "CID:/PATH"),
])
def test_every_validation_error_is_one_line(cli, flags, text):
    result = cli("jobs", "create", "--gpu", GPU, "--image", CID, "--hours", "1", *flags, code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], result.stderr


def test_non_utf8_toml_is_one_line(cli, tmp_path):
    path = tmp_path / "job.toml"
    path.write_bytes(b'image = "\xff\xfe"\n')
    result = cli("jobs", "create", "--gpu", GPU, "--spec", str(path), "--hours", "1", code=2)
    assert len(result.stderr.strip().splitlines()) == 1 and "UTF-8" in result.stderr
