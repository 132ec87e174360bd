"""Job definitions: canonical JSON round trip, every bound, path rules, TOML."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpurent.workload.spec import (
    MAX_ENV,
    MAX_INPUTS,
    MAX_SPEC_BYTES,
    InputMount,
    JobSpec,
    SealedSecrets,
    SpecError,
    check_path,
)

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
KEY = base64.b64encode(b"k" * 32).decode()
SEALED = base64.b64encode(b"s" * 60).decode()

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
    lambda n: not n.startswith(("GPURENT_", "NVIDIA_")) and n != "CUDA_VISIBLE_DEVICES")
values = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=50)
args = st.lists(values, min_size=1, max_size=5).map(tuple)
segments = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,10}", fullmatch=True).filter(lambda s: s not in (".", ".."))


@st.composite
def specs(draw: st.DrawFn) -> JobSpec:
    env = draw(st.dictionaries(names, values, max_size=5))
    roots = draw(st.lists(segments.filter(lambda s: "/" + s not in (
        "/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/scratch", "/tmp", "/run")),
        unique=True, max_size=4))
    inputs = tuple(InputMount(CID, "/" + r) for r in roots[1:])
    output = "/" + roots[0] if roots and draw(st.booleans()) else None
    return JobSpec(image=CID, entrypoint=draw(st.none() | args), command=draw(st.none() | args), env=env,
                   inputs=inputs, output=output, network=draw(st.booleans()),
                   result_key=draw(st.none() | st.just(KEY)))


@settings(max_examples=200, deadline=None)
@given(specs())
def test_canonical_round_trip(spec: JobSpec) -> None:
    data = spec.to_bytes()
    again = JobSpec.from_bytes(data)
    assert again == spec
    assert again.to_bytes() == data  # canonical: one document per definition


def test_bare_and_omitted_fields() -> None:
    spec = JobSpec(image=CID)
    assert spec.is_bare
    assert spec.to_bytes() == b'{"gpurent_job":1,"image":"%s"}' % CID.encode()
    assert not JobSpec(image=CID, command=("x",)).is_bare
    assert JobSpec(image=CID, env={"B": "2", "A": "1"}).to_bytes() == JobSpec(image=CID, env={"A": "1", "B": "2"}).to_bytes()


@pytest.mark.parametrize("path", [
    "../../etc", "/data/../../etc", "data", "/", "/data/", "//data", "/data//x", "/./data", "/proc", "/proc/x",
    "/sys/kernel", "/dev", "/etc/passwd", "/usr/lib", "/scratch", "/scratch/x", "/tmp", "/run/secrets", "/var/tmp",
    "/var/tmp/x", "/lib64", "/data\x00", "/da ta", "/dätä", "/" + "a" * 300, "/data\n",
])
def test_bad_paths(path: str) -> None:
    with pytest.raises(SpecError) as err:
        check_path(path, "output")
    assert "\n" not in str(err.value) and str(err.value).startswith("output:")


@pytest.mark.parametrize("path", ["/data", "/outputs", "/var/data", "/workspace/in.d", "/procs", "/tmpdata"])
def test_good_paths(path: str) -> None:
    assert check_path(path, "output") == path


def test_over_a_system_dir_refused() -> None:
    with pytest.raises(SpecError, match="/var/tmp"):
        JobSpec(image=CID, output="/var")  # /var holds /var/tmp


@pytest.mark.parametrize("inputs,output", [
    (["/data", "/data"], None), (["/data", "/data/sub"], None), (["/data/sub", "/data"], None),
    (["/data"], "/data"), (["/data"], "/data/out"), (["/out/in"], "/out"),
])
def test_nested_mounts(inputs: list[str], output: str | None) -> None:
    with pytest.raises(SpecError, match="equal or nested"):
        JobSpec(image=CID, inputs=tuple(InputMount(CID, p) for p in inputs), output=output)


def test_siblings_are_fine() -> None:
    JobSpec(image=CID, inputs=(InputMount(CID, "/data"), InputMount(CID, "/data2")), output="/data-out")


@pytest.mark.parametrize("kwargs,field", [
    ({"image": "nope"}, "image"),
    ({"env": {f"V{i}": "x" for i in range(MAX_ENV + 1)}}, "env"),
    ({"env": {"A": "x" * 5000}}, "env.A"),
    ({"env": {"A": "a\x00b"}}, "env.A"),
    ({"env": {"1A": "x"}}, "env"),
    ({"env": {"A-B": "x"}}, "env"),
    ({"env": {"GPURENT_JOB": "x"}}, "env"),
    ({"env": {"NVIDIA_VISIBLE_DEVICES": "all"}}, "env"),
    ({"env": {"CUDA_VISIBLE_DEVICES": "0"}}, "env"),
    ({"command": ()}, "command"),
    ({"command": "python x"}, "command"),
    ({"command": tuple("x" for _ in range(65))}, "command"),
    ({"entrypoint": ("a" * 5000,)}, "entrypoint[0]"),
    ({"entrypoint": ("a\x00",)}, "entrypoint[0]"),
    ({"inputs": tuple(InputMount(CID, f"/d{i}") for i in range(MAX_INPUTS + 1))}, "inputs"),
    ({"network": "yes"}, "network"),
    ({"result_key": "abc"}, "result_key"),
    ({"result_key": base64.b64encode(b"x" * 31).decode()}, "result_key"),
])
def test_bounds(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(SpecError) as err:
        JobSpec(**{"image": CID, **kwargs})  # type: ignore[arg-type]
    message = str(err.value)
    assert message.startswith(field + ":") and "\n" not in message


def test_secrets_rules() -> None:
    secrets = SealedSecrets("0x" + "ab" * 20, KEY, {"HF_TOKEN": SEALED})
    spec = JobSpec(image=CID, secrets=secrets)
    assert JobSpec.from_bytes(spec.to_bytes()) == spec
    with pytest.raises(SpecError, match="also an env name"):
        JobSpec(image=CID, env={"HF_TOKEN": "x"}, secrets=secrets)
    with pytest.raises(SpecError, match="secrets.provider"):
        SealedSecrets("0x" + "AB" * 20, KEY, {"A": SEALED})
    with pytest.raises(SpecError, match="secrets: more than"):
        SealedSecrets("0x" + "ab" * 20, KEY, {f"S{i}": SEALED for i in range(17)})
    with pytest.raises(SpecError, match="secrets.A"):
        SealedSecrets("0x" + "ab" * 20, KEY, {"A": base64.b64encode(b"x" * 9000).decode()})


@pytest.mark.parametrize("data,message", [
    (b"\xff\xfe", "not valid UTF-8"), (b"{", "not valid JSON"), (b"[]", "not a gpurent job"),
    (b'{"gpurent_job":2,"image":"%s"}' % CID.encode(), "not a gpurent job"),
    (b'{"gpurent_job":1,"image":"%s","evil":1}' % CID.encode(), "unknown field"),
    (b'{"gpurent_job":1}', "image: missing"),
    (b'{"gpurent_job":1,"image":"%s","env":[]}' % CID.encode(), "env:"),
    (b'{"gpurent_job":1,"image":"%s","env":{"A":1}}' % CID.encode(), "env.A"),
    (b'{"gpurent_job":1,"image":"%s","inputs":[{"cid":"%s"}]}' % (CID.encode(), CID.encode()), "inputs"),
    (b'{"gpurent_job":1,"image":"%s","network":1}' % CID.encode(), "network"),
    (b" " * (MAX_SPEC_BYTES + 1), "over"),
])
def test_from_bytes_refuses(data: bytes, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        JobSpec.from_bytes(data)


def test_toml(tmp_path: Path) -> None:
    path = tmp_path / "job.toml"
    path.write_text(f'image = "{CID}"\ncommand = ["python", "train.py"]\noutput = "/outputs"\nnetwork = true\n'
                    f'[env]\nEPOCHS = "3"\n[[inputs]]\ncid = "{CID}"\npath = "/data"\n')
    spec = JobSpec.from_toml(path)
    assert spec == JobSpec(image=CID, command=("python", "train.py"), env={"EPOCHS": "3"},
                           inputs=(InputMount(CID, "/data"),), output="/outputs", network=True)
    path.write_bytes(b'image = "\xff"\n')
    with pytest.raises(SpecError, match="not valid UTF-8"):
        JobSpec.from_toml(path)
    path.write_text("image = \n")
    with pytest.raises(SpecError, match="not valid TOML"):
        JobSpec.from_toml(path)
    path.write_text(f'image = "{CID}"\n[secrets]\nA = "x"\n')
    with pytest.raises(SpecError, match="secrets do not belong"):
        JobSpec.from_toml(path)
