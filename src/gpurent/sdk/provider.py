"""A renter's view of a job from its provider's endpoint: phase, timeline and logs, signed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import requests

from gpurent.errors import GpurentError
from gpurent.http import call, error_text
from gpurent.wire.access import sign_access

if TYPE_CHECKING:
    from ape.api.accounts import AccountAPI

    from gpurent.sdk.client import Gpurent
    from gpurent.types import Job


class ProviderEndpoint:
    """A provider agent's HTTP endpoint, asked about one job at a time, signing as its renter."""

    def __init__(self, url: str, account: AccountAPI | None, chain_id: int, timeout_s: float = 10.0):
        self.url, self.account, self.chain_id, self.timeout_s = url.rstrip("/"), account, chain_id, timeout_s

    @classmethod
    def for_job(cls, gp: Gpurent, job: Job) -> ProviderEndpoint:
        """The endpoint of ``job``'s provider (from the registry), signing as ``gp``'s account."""
        return cls(gp.provider(job.provider).endpoint, gp.account, gp.manifest.chain_id)

    def _get(self, job_id: str, suffix: str = "", stream: bool = False, **params: Any) -> requests.Response:
        headers = sign_access(self.account, self.chain_id, job_id)
        response = call("GET", f"{self.url}/jobs/{job_id}{suffix}", f"the provider's endpoint {self.url} does not answer",
                        headers=headers, params=params, stream=stream, timeout=None if stream else self.timeout_s)
        if response.status_code >= 400:
            raise GpurentError(f"the provider refused: {error_text(response, 'error')}")
        return response

    def phase(self, job_id: str) -> dict[str, Any]:
        return dict(self._get(job_id).json())

    def logs(self, job_id: str, follow: bool = False, offset: int = 0) -> Iterator[bytes]:
        response = self._get(job_id, "/logs", stream=True, offset=offset, follow=int(follow))
        yield from response.iter_content(chunk_size=None)
