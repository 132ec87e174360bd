"""The job-definition side of `gpurent jobs`: flags and job.toml to a JobSpec, secrets, the
definition shown back, results fetched. Every bad definition is one line and exit code 2."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import click

from gpurent.command import App
from gpurent.errors import GpurentError

MISMATCH_EXIT = 2


class DefinitionError(click.ClickException):
    """A definition or result that is refused: one line, exit code 2."""

    exit_code = MISMATCH_EXIT


def _spec_error(err: Exception) -> DefinitionError:
    from gpurent.output import safe_text

    return DefinitionError(safe_text(str(err).splitlines()[0] if str(err) else type(err).__name__))


def _split(text: str, what: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text))
    except ValueError as err:
        raise DefinitionError(f"{what}: cannot be split as a shell would ({err})") from None


def spec_from(image: str | None, command: str | None, entrypoint: str | None, env: tuple[str, ...],
              inputs: tuple[str, ...], output: str | None, network: bool | None, spec_file: Path | None,
              ports: tuple[str, ...] = ()) -> Any:
    """The JobSpec the flags (or job.toml) describe; DefinitionError on anything invalid."""
    from gpurent.images.store import validate_cid
    from gpurent.workload.spec import InputMount, JobSpec, SpecError

    if image is not None:
        image = validate_cid(image)  # a malformed image CID: one line, exit 1, as before definitions
    try:
        if spec_file is not None:
            if command or entrypoint or env or inputs or output or ports or network is not None:
                raise DefinitionError("--spec: give the definition in the file or as flags, not both")
            spec = JobSpec.from_toml(spec_file)
            if image is not None and image != spec.image:
                raise DefinitionError(f"--image differs from the image in {spec_file}")
            return spec
        if image is None:
            raise DefinitionError("--image: missing (or give --spec job.toml)")
        variables = {}
        for item in env:
            name, sep, value = item.partition("=")
            if not sep:
                raise DefinitionError(f"--env: {item[:40]!r} is not K=V")
            if name in variables:
                raise DefinitionError(f"--env: {name[:40]!r} given twice")
            variables[name] = value
        mounts = []
        for item in inputs:
            cid, sep, path = item.partition(":")
            if not sep:
                raise DefinitionError(f"--input: {item[:60]!r} is not CID:/PATH")
            mounts.append(InputMount(cid, path))
        return JobSpec(image=image, entrypoint=_split(entrypoint, "--entrypoint") if entrypoint else None,
                       command=_split(command, "--cmd") if command else None, env=variables,
                       inputs=tuple(mounts), output=output, network=bool(network),
                       ports=tuple(port_flag(item) for item in ports))
    except (SpecError, GpurentError) as err:
        raise _spec_error(err) from None


def port_flag(text: str) -> Any:
    """``--port``: ``8000`` (HTTP, the renter only), ``8000/public`` (HTTP, anyone) or ``22/tcp``."""
    from gpurent.workload.spec import PortSpec

    number, _, kind = text.partition("/")
    if not number.isdigit() or len(number) > 5 or kind not in ("", "http", "tcp", "public"):
        raise DefinitionError(f"--port: {text[:40]!r} is not PORT, PORT/tcp or PORT/public")
    return PortSpec(int(number), "tcp" if kind == "tcp" else "http", public=kind == "public")


def with_result_key(spec: Any, no_encrypt: bool) -> Any:
    """Results sealed to the renter's key unless --no-encrypt; a bare image stays bare."""
    import dataclasses

    from gpurent.sdk.workload import results_keypair

    if spec.is_bare or no_encrypt or spec.result_key is not None:
        return spec
    pair = results_keypair()
    assert pair is not None
    return dataclasses.replace(spec, result_key=pair.public_b64)


def with_secrets(gp: Any, spec: Any, provider: str, names: tuple[str, ...]) -> Any:
    """Each --secret NAME's value from the env var NAME or a hidden prompt (never argv), sealed."""
    import dataclasses

    from gpurent.workload.spec import SpecError, check_name

    values: dict[str, str] = {}
    try:
        for name in names:
            check_name(name, "--secret")
            if name in values:
                raise DefinitionError(f"--secret: {name} given twice")
            value = os.environ.get(name)
            if value is None:
                value = click.prompt(f"Value of secret {name}", hide_input=True, err=True)
            values[name] = value
        return dataclasses.replace(spec, secrets=gp.seal_secrets(provider, values))
    except SpecError as err:
        raise _spec_error(err) from None


def _reader_definition(app: App, job_id: str) -> tuple[Any, Any]:
    from gpurent.local.ipfs import ipfs_client
    from gpurent.workload.spec import SpecError, read_definition

    gp = app.reader()
    job = gp.job(job_id)
    if not job.image_cid:
        raise DefinitionError(f"job {job.job_id} has no definition CID on chain")
    try:
        return job, read_definition(ipfs_client(), job.image_cid, 60.0)
    except SpecError as err:
        raise _spec_error(err) from None


def show_spec(app: App, job_id: str) -> None:
    job, spec = _reader_definition(app, job_id)
    data: dict[str, Any] = {"definition": job.image_cid, "image": spec.image}
    if spec.entrypoint is not None:
        data["entrypoint"] = shlex.join(spec.entrypoint)
    if spec.command is not None:
        data["command"] = shlex.join(spec.command)
    for name, value in spec.env.items():
        data[f"env {name}"] = value
    for mount in spec.inputs:
        data[f"input {mount.path}"] = mount.cid
    if spec.output is not None:
        data["output"] = spec.output
    data["network"] = spec.network
    data["results"] = f"sealed to {spec.result_key}" if spec.result_key else "not sealed"
    if spec.secrets is not None:
        data["secrets"] = ", ".join(spec.secrets.sealed) + f" (sealed to provider {spec.secrets.provider})"
    if spec.is_bare:
        data["note"] = "a bare image: the image's own command, no inputs, no result files"
    app.output.data(data, title=f"Job {job.job_id}")


def result_rows(gp: Any, job: Any) -> dict[str, Any]:
    """What `jobs show` adds: the result CID, its size and (with the key here) its file count."""
    getter = getattr(gp, "result_cid", None)
    if getter is None:
        return {}
    try:
        cid = getter(job.job_id)
    except GpurentError as err:
        return {"result": f"unknown ({err})"}
    if not cid:
        return {}
    rows: dict[str, Any] = {"result_cid": cid}
    from gpurent.local.ipfs import ipfs_client
    from gpurent.settings import format_size
    from gpurent.sdk.workload import results_keypair
    from gpurent.workload.results import ResultError, read_manifest, read_result_info

    try:
        ipfs = ipfs_client()
        info = read_result_info(ipfs, cid, job_id=job.job_id, timeout_s=20.0)
        rows["result_size"] = format_size(info.payload_bytes)
        pair = results_keypair(create=False)
        if not info.sealed or pair is not None:
            rows["result_files"] = read_manifest(ipfs, cid, info, pair, 20.0).file_count
    except (ResultError, GpurentError) as err:
        rows["result_check"] = str(err).splitlines()[0][:200]
    return rows


def fetch(app: App, job_id: str, out_dir: Path, *, allow_unsealed: bool = False) -> None:
    from gpurent.local.ipfs import ipfs_client
    from gpurent.output import safe_text
    from gpurent.sdk.workload import results_keypair
    from gpurent.workload.results import ResultError

    gp = app.sdk()
    ipfs = ipfs_client()
    state: dict[str, int] = {"begun": 0, "done": 0}
    try:
        with app.output.transfer() as transfer:
            def progress(done: int, total: int) -> None:
                if not state["begun"]:
                    transfer.begin("fetching the result", total)
                    state["begun"] = 1
                transfer.advance(done - state["done"])
                state["done"] = done

            manifest = gp.fetch_results(job_id, out_dir, results_keypair(create=False), ipfs=ipfs,
                                        progress=progress, allow_unsealed=allow_unsealed)
            if state["begun"]:
                transfer.end()
    except ResultError as err:
        raise _spec_error(err) from None
    app.output.done(f"wrote {manifest.file_count} file(s), {manifest.total_bytes:,} bytes, to {safe_text(str(out_dir))}"
                    + (f"; {manifest.dropped_count} dropped by the provider (see the manifest)"
                       if manifest.dropped_count else "")
                    + ("; truncated at the provider's cap" if manifest.truncated else ""))
    app.output.data({"files": manifest.file_count, "bytes": manifest.total_bytes, "truncated": manifest.truncated,
                     "dropped": manifest.dropped_count, "exit_code": manifest.exit_code})
