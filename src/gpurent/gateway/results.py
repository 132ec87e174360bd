"""A job's result through the gateway, for the renter's browser: the CID its provider committed
on chain, the public ``result.json`` checked against the job, and the stored files streamed from
IPFS as they are. The gateway never holds the renter's results key: a sealed result is opened
in the browser (or by the SDK), which checks each file against the hashes of ``result.json``;
the gateway checks them too, and cuts a download whose bytes differ from the commitment (the
client sees a short body, never a complete wrong one)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gpurent.errors import ImageError
from gpurent.gateway.errors import ApiError
from gpurent.images.kubo import KuboClient
from gpurent.workload.results import (MANIFEST_FILE, MAX_MANIFEST_BYTES, PAYLOAD_FILE, ResultError, ResultInfo,
                                      ResultManifest, read_manifest, read_result_info)

log = logging.getLogger("gpurent.gateway")

PARTS = (MANIFEST_FILE, PAYLOAD_FILE)
READ_TIMEOUT_S = 20.0


class CutShort(Exception):
    """A stored file whose bytes are not what result.json commits to (the stream stops)."""


@dataclass(frozen=True)
class Results:
    ipfs: KuboClient
    timeout_s: float = READ_TIMEOUT_S

    def summary(self, job_id: str, cid: str) -> dict[str, Any]:
        """result.json (checked against the job) and, when unsealed, its file list."""
        info = self._info(job_id, cid)
        answer: dict[str, Any] = {"resultCid": cid, "sealed": info.sealed, "manifestSha256": info.manifest_sha256,
                                  "payloadSha256": info.payload_sha256, "payloadBytes": info.payload_bytes,
                                  "parts": list(PARTS)}
        if not info.sealed:
            try:
                manifest: ResultManifest = read_manifest(self.ipfs, cid, info, None, self.timeout_s)
            except ResultError as err:
                raise ApiError(502, str(err)) from None
            answer["manifest"] = manifest.to_json()
        return answer

    def manifest(self, job_id: str, cid: str) -> bytes:
        """The stored manifest (sealed or not) as committed: its hash checked, at most
        ``MAX_MANIFEST_BYTES``."""
        info = self._info(job_id, cid)
        data = bytearray()
        try:
            for block in self.ipfs.cat(f"{cid}/{MANIFEST_FILE}", stall_s=self.timeout_s):
                data += block
                if len(data) > MAX_MANIFEST_BYTES:
                    raise ApiError(502, f"result CID {cid}: the manifest is over {MAX_MANIFEST_BYTES} bytes")
        except ImageError as err:
            raise ApiError(502, f"result CID {cid} cannot be read: {str(err).splitlines()[0][:200]}") from None
        if hashlib.sha256(data).hexdigest() != info.manifest_sha256:
            raise ApiError(502, f"result CID {cid} does not match its commitment: the manifest's hash differs")
        return bytes(data)

    def payload(self, job_id: str, cid: str) -> tuple[int, Iterator[bytes]]:
        """The committed size of the payload and its bytes from IPFS, checked as they pass: never
        more than committed, and the last block held back until the whole hash matched (else
        :class:`CutShort`, and the client has a body shorter than its Content-Length)."""
        info = self._info(job_id, cid)
        return info.payload_bytes, self._checked(f"{cid}/{PAYLOAD_FILE}", info.payload_bytes, info.payload_sha256)

    def _checked(self, path: str, size: int, digest_hex: str) -> Iterator[bytes]:
        digest, got, held = hashlib.sha256(), 0, b""
        for block in self.ipfs.cat(path, stall_s=self.timeout_s):
            block = block[:max(0, size - got)]
            got += len(block)
            digest.update(block)
            if held:
                yield held
            held = block
        if got != size or digest.hexdigest() != digest_hex:
            log.warning("cut the download of %s: its bytes do not match result.json", path)
            raise CutShort(f"{path} does not match its hash in result.json")
        if held:
            yield held

    def _info(self, job_id: str, cid: str) -> ResultInfo:
        try:
            return read_result_info(self.ipfs, cid, job_id=job_id, timeout_s=self.timeout_s)
        except ResultError as err:
            raise ApiError(502, str(err)) from None
