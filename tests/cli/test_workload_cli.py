"""`gpurent jobs create/spec/results` with definitions, on a real Anvil and a real Kubo."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gpurent.images.kubo import UploadPart
from gpurent.sdk.client import Gpurent
from gpurent.workload.data import push_data
from gpurent.workload.results import pack_outputs
from gpurent.workload.seal import KeyPair
from tests.cli.test_cli import RENTER, assert_one_line_error, cli, listed_gpu  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("ipfs_env")


@pytest.fixture
def ipfs_env(monkeypatch, kubo):
    monkeypatch.setenv("GPURENT_IPFS_API", kubo.api_url)


@pytest.fixture
def image(kubo) -> str:
    from gpurent.images.store import ImageMetadata

    meta = ImageMetadata(name="gpurent-test/train", tag=os.urandom(4).hex(), size=1, digest="sha256:" + "0" * 64,
                         image_id=None, uploader=None, created="2026-01-01T00:00:00Z")
    return kubo.client().add([UploadPart("image.tar", lambda: b"x"),
                              UploadPart("gpurent.json", meta.to_bytes)])[-1].cid


def _create(cli, gpu: str, *flags: str) -> dict:  # noqa: F811
    return cli("--json", "--account", RENTER, "jobs", "create", "--gpu", gpu, "--hours", "1", "--yes", "--force",
               *flags)


def test_flags_and_toml_give_the_same_definition(cli, listed_gpu, image, kubo, tmp_path):  # noqa: F811
    data = push_data(kubo.client(), _tree(tmp_path / "ds")).cid
    flags = _create(cli, listed_gpu, "--image", image, "--cmd", "python train.py --epochs 3", "--env", "EPOCHS=3",
                    "--env", "LR=0.1", "--input", f"{data}:/data", "--output", "/outputs")
    toml = tmp_path / "job.toml"
    toml.write_text(f'image = "{image}"\ncommand = ["python", "train.py", "--epochs", "3"]\noutput = "/outputs"\n'
                    f'[env]\nLR = "0.1"\nEPOCHS = "3"\n[[inputs]]\ncid = "{data}"\npath = "/data"\n')
    from_file = _create(cli, listed_gpu, "--spec", str(toml))
    assert flags["image"] == from_file["image"] != image  # the definition's CID, not the image's
    shown = cli("--json", "jobs", "spec", flags["id"])
    key = KeyPair.load(tmp_path / "keys" / "results.key")
    assert shown == {"definition": flags["image"], "image": image, "command": "python train.py --epochs 3",
                     "env EPOCHS": "3", "env LR": "0.1", f"input /data": data, "output": "/outputs",
                     "network": False, "results": f"sealed to {key.public_b64}"}
    plain = cli("jobs", "spec", flags["id"]).stdout
    assert "python train.py --epochs 3" in plain


def test_bare_image_commits_the_image_cid(cli, listed_gpu, image):  # noqa: F811
    job = _create(cli, listed_gpu, "--image", image)
    assert job["image"] == image
    assert cli("--json", "jobs", "spec", job["id"])["image"] == image


def test_hostile_text_is_escaped(cli, listed_gpu, image):  # noqa: F811
    job = _create(cli, listed_gpu, "--image", image, "--env", "EVIL=\x1b[31mred\x1b]0;title\x07")
    plain = cli("jobs", "spec", job["id"]).stdout
    assert "\x1b" not in plain and "\x07" not in plain


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "model.bin").write_bytes(os.urandom(400_000))
    (root / "log.txt").write_text("ok\n")
    return root


def _result_for(cli, listed_gpu, image, kubo, tmp_path, monkeypatch) -> tuple[str, dict, Path]:  # noqa: F811
    job = _create(cli, listed_gpu, "--image", image, "--output", "/outputs")
    key = KeyPair.load(tmp_path / "keys" / "results.key")
    src = _tree(tmp_path / "outputs")
    pack_outputs(src, tmp_path / "packed", job_id=job["id"], cap_bytes=10**9, result_key=key.public_bytes, exit_code=0)
    cid = push_data(kubo.client(), tmp_path / "packed").cid
    # the chain helper's ResultCommitted read; here the CID the provider would have committed
    monkeypatch.setattr(Gpurent, "result_cid", lambda self, job_id: cid, raising=False)
    return cid, job, src


def test_results_fetched_verified_and_decrypted(cli, listed_gpu, image, kubo, tmp_path, monkeypatch):  # noqa: F811
    _cid, job, src = _result_for(cli, listed_gpu, image, kubo, tmp_path, monkeypatch)
    out = tmp_path / "got"
    done = cli("--json", "--account", RENTER, "jobs", "results", job["id"], "-o", str(out))
    assert done["files"] == 2
    for name in ("sub/model.bin", "log.txt"):
        assert (out / name).read_bytes() == (src / name).read_bytes()


def test_jobs_show_lists_the_result_cid_size_and_file_count(cli, listed_gpu, image, kubo, tmp_path,  # noqa: F811
                                                            monkeypatch):
    cid, job, _ = _result_for(cli, listed_gpu, image, kubo, tmp_path, monkeypatch)
    shown = cli("--json", "jobs", "show", job["id"])
    assert shown["result_cid"] == cid and shown["result_files"] == 2
    assert shown["result_size"].endswith(("kB", "KB", "KiB", "MB", "MiB")), shown["result_size"]


def test_an_unsealed_result_is_refused_unless_allowed(cli, listed_gpu, image, kubo, tmp_path, monkeypatch):  # noqa: F811
    job = _create(cli, listed_gpu, "--image", image, "--output", "/outputs")  # names the renter's result key
    src = _tree(tmp_path / "outputs")
    pack_outputs(src, tmp_path / "packed", job_id=job["id"], cap_bytes=10**9, result_key=None, exit_code=0)
    cid = push_data(kubo.client(), tmp_path / "packed").cid
    monkeypatch.setattr(Gpurent, "result_cid", lambda self, job_id: cid, raising=False)
    out = tmp_path / "got"
    result = cli("--account", RENTER, "jobs", "results", job["id"], "-o", str(out), code=2)
    assert_one_line_error(result, "published it in the clear")
    assert not out.exists()
    done = cli("--json", "--account", RENTER, "jobs", "results", job["id"], "-o", str(out), "--allow-unsealed")
    assert done["files"] == 2 and (out / "log.txt").read_text() == "ok\n"


def test_tampered_result_one_line_exit_2_nothing_written(cli, listed_gpu, image, nodes, tmp_path, monkeypatch):  # noqa: F811
    node = nodes.start("tampered")
    monkeypatch.setenv("GPURENT_IPFS_API", node.api_url)
    before = set(Path(node.repo, "blocks").rglob("*.data"))
    _cid, job, _ = _result_for(cli, listed_gpu, image, node, tmp_path, monkeypatch)
    block = max(set(Path(node.repo, "blocks").rglob("*.data")) - before, key=lambda p: p.stat().st_size)
    data = bytearray(block.read_bytes())
    data[100] ^= 1
    block.write_bytes(bytes(data))
    out = tmp_path / "got"
    result = cli("--account", RENTER, "jobs", "results", job["id"], "-o", str(out), code=2)
    assert_one_line_error(result, "does not match its commitment")
    assert not out.exists()


def test_secret_never_in_argv_or_definition(cli, listed_gpu, image, kubo, cast, monkeypatch, tmp_path):  # noqa: F811
    from gpurent.workload.seal import SealError, open_secret
    from gpurent.workload.spec import read_definition

    provider_key = KeyPair.generate()
    # the chain helper's registry read (encryptionKeyOf); here the key the provider would publish
    monkeypatch.setattr(Gpurent, "encryption_key_of", lambda self, p: provider_key.public_bytes, raising=False)
    value = "hf_" + os.urandom(12).hex()
    monkeypatch.setenv("HF_TOKEN", value)
    args = ("--image", image, "--secret", "HF_TOKEN", "--output", "/outputs")
    assert value not in " ".join(args)
    job = _create(cli, listed_gpu, *args)
    raw = kubo.client().cat_bytes(job["image"])
    assert value.encode() not in raw and b"HF_TOKEN" in raw
    spec = read_definition(kubo.client(), job["image"], 30)
    assert spec.secrets is not None and spec.secrets.provider == cast.provider.address.lower()
    renter = cast.renter.address
    sealed = spec.secrets.sealed["HF_TOKEN"]
    shown = cli("jobs", "spec", job["id"]).stdout
    assert "HF_TOKEN" in shown and value not in shown and sealed not in shown
    with pytest.raises(SealError):
        open_secret(KeyPair.generate(), sealed, "HF_TOKEN", renter)  # a second provider cannot
    assert open_secret(provider_key, sealed, "HF_TOKEN", renter) == value
