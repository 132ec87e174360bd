"""Workloads: job definitions pushed and read back, secrets sealed to a provider, results fetched.

``create_job`` here accepts a :class:`~gpurent.workload.spec.JobSpec` as well as a plain CID: a
bare spec (an image alone) commits the image CID itself, as before definitions; any other is
pushed to IPFS and its CID committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from gpurent.errors import InvalidInput
from gpurent.sdk.history import HistoryCalls
from gpurent.sdk.inputs import Tokens, parse_id
from gpurent.sdk.tx import Tx
from gpurent.types import Job

if TYPE_CHECKING:
    from gpurent.images.kubo import KuboClient
    from gpurent.workload.results import ResultManifest
    from gpurent.workload.seal import KeyPair
    from gpurent.workload.spec import JobSpec, SealedSecrets

RESULTS_KEY = "keys/results.key"
DEFINITION_NAME = "job.json"
READ_TIMEOUT_S = 60.0


def results_key_path() -> Path:
    from gpurent.settings import state_home

    return state_home() / RESULTS_KEY


def results_keypair(create: bool = True) -> KeyPair | None:
    """The renter's results key (``$GPURENT_HOME/keys/results.key``, 0600), made on first use."""
    from gpurent.workload.seal import KeyPair

    path = results_key_path()
    if not create and not path.exists():
        return None
    return KeyPair.load_or_create(path)


def _ipfs(ipfs: KuboClient | None) -> KuboClient:
    if ipfs is not None:
        return ipfs
    from gpurent.local.ipfs import ipfs_client

    return ipfs_client()


class WorkloadCalls(HistoryCalls):
    def push_job(self, spec: JobSpec, *, ipfs: KuboClient | None = None) -> str:
        """Pushes the definition (pinned) and returns its CID; a bare spec is its image CID."""
        if spec.is_bare:
            return spec.image
        from gpurent.images.kubo import UploadPart

        data = spec.to_bytes()
        added = _ipfs(ipfs).add([UploadPart(DEFINITION_NAME, lambda: data)], wrap=False, pin=True)
        return added[-1].cid

    def create_job(self, resource_id: str | bytes, image_cid: str | JobSpec, duration_s: int, *,
                   max_cost: Tokens | None = None, use_permit: bool = True,
                   ipfs: KuboClient | None = None) -> Tx[Job]:
        """Creates a job for a CID (an image or a pushed definition) or a :class:`JobSpec`."""
        from gpurent.workload.spec import JobSpec

        cid = self.push_job(image_cid, ipfs=ipfs) if isinstance(image_cid, JobSpec) else image_cid
        return super().create_job(resource_id, cid, duration_s, max_cost=max_cost, use_permit=use_permit)

    def job_spec(self, job_id: str | bytes, *, ipfs: KuboClient | None = None,
                 timeout_s: float = READ_TIMEOUT_S) -> JobSpec:
        """What the job committed to: its definition read back (validated) from its CID."""
        from gpurent.workload.spec import read_definition

        job = self.job(job_id)
        if not job.image_cid:
            raise InvalidInput(f"job {job.job_id} has no definition CID on chain")
        return read_definition(_ipfs(ipfs), job.image_cid, timeout_s)

    def seal_secrets(self, provider: str, secrets: Mapping[str, str]) -> SealedSecrets:
        """Seals each NAME -> VALUE to ``provider``'s published key, bound to this renter."""
        from gpurent.workload.seal import seal_secret
        from gpurent.workload.spec import SealedSecrets, SpecError, check_name

        reader = getattr(self, "encryption_key_of", None)  # the chain helper's registry read
        if reader is None:
            raise InvalidInput("this gpurent cannot read providers' encryption keys: secrets need the newer SDK")
        key = reader(provider)
        if not key:
            raise InvalidInput(f"provider {provider} has published no encryption key: it cannot take secrets")
        import base64

        renter = self.address.lower()
        sealed = {}
        for name, value in secrets.items():
            check_name(name, "secrets")
            if "\x00" in value:
                raise SpecError(f"secrets.{name}: contains a NUL byte")
            sealed[name] = seal_secret(bytes(key), name, renter, value)
        return SealedSecrets(provider.lower(), base64.b64encode(bytes(key)).decode(), sealed)

    def result_of(self, job_id: str | bytes) -> str | None:
        """The result CID the provider committed with the settlement (None before)."""
        return cast(Any, self).result_cid(job_id)  # type: ignore[no-any-return]

    def fetch_results(self, job_id: str | bytes, out_dir: Path, keypair: KeyPair | None = None, *,
                      ipfs: KuboClient | None = None, timeout_s: float = READ_TIMEOUT_S,
                      max_bytes: int | None = None, progress: Any = None,
                      allow_unsealed: bool = False) -> ResultManifest:
        """Fetches, verifies, decrypts and writes a job's result into ``out_dir``. A result left
        unsealed although the job's definition named a result key is refused (ResultError:
        the provider published it in the clear), unless ``allow_unsealed``."""
        from gpurent.types import hex_id
        from gpurent.workload.results import ResultError, fetch_result

        jid = hex_id(parse_id(job_id, "job"))
        cid = self.result_of(jid)
        if not cid:
            raise ResultError(f"job {jid} has no result committed on chain (yet)")
        pair = keypair if keypair is not None else results_keypair(create=False)
        node = _ipfs(ipfs)
        sealed_to = None if allow_unsealed else self.job_spec(jid, ipfs=node, timeout_s=timeout_s).result_key
        return fetch_result(node, cid, Path(out_dir), keypair=pair, job_id=jid, timeout_s=timeout_s,
                            max_bytes=max_bytes, progress=progress, expect_sealed=sealed_to is not None)
