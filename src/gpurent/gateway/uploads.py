"""Image uploads through the gateway: the request body (a docker-archive tar, as ``docker save``
writes it) is spooled to disk, never held in memory, then pushed by the same ``ImageStore`` as
``gpurent images push``, which validates the archive before IPFS sees a byte.

Bounds: the image size limit (announced in Content-Length: refused before reading; streamed:
refused the moment the body passes it), ``idle_s`` without a byte (a stalled client: 408),
``total_s`` for the whole body, and ``at_once`` uploads per replica (then 503 with
Retry-After). Whatever is refused leaves nothing on disk and nothing pinned.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from gpurent.errors import GpurentError
from gpurent.gateway.errors import ApiError
from gpurent.images.store import ImageStore, PushedImage
from gpurent.settings import format_size


@dataclass
class Uploads:
    store: ImageStore
    spool: Path | None = None  # where bodies wait (default: the system's temp folder)
    idle_s: float = 30.0
    total_s: float = 3600.0
    at_once: int = 4
    _running: int = 0

    async def receive(self, request: Any, uploader: str) -> PushedImage:
        limit = self.store.max_bytes
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise ApiError(413 if length.isdigit() else 400,
                                f"the image is {format_size(int(length))}, over the {format_size(limit)} limit"
                                if length.isdigit() else "Content-Length is not a byte count")
        if self._running >= self.at_once:
            raise ApiError(503, f"{self.at_once} uploads are running: try again shortly", {"Retry-After": "10"})
        self._running += 1
        fd, name = tempfile.mkstemp(prefix="gpurent-upload-", suffix=".tar", dir=self.spool)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                seen = 0
                async for chunk in self._chunks(request.stream()):
                    seen += len(chunk)
                    if seen > limit:
                        raise ApiError(413, f"the image is over the {format_size(limit)} limit")
                    out.write(chunk)
            if seen == 0:
                raise ApiError(400, "the body is empty: send the docker-archive tar (docker save) as the body")
            try:
                return await run_in_threadpool(self.store.push_archive, path, uploader)
            except GpurentError as err:  # said of the spooled file: the client never sees its path
                raise ApiError(400, str(err).splitlines()[0].replace(str(path), "the upload")) from None
        finally:
            self._running -= 1
            path.unlink(missing_ok=True)

    async def _chunks(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        deadline = time.monotonic() + self.total_s
        iterator = stream.__aiter__()
        while True:
            wait = min(self.idle_s, deadline - time.monotonic())
            if wait <= 0:
                raise ApiError(408, f"the upload took over {self.total_s:g} s")
            try:
                chunk = await asyncio.wait_for(iterator.__anext__(), wait)
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:
                raise ApiError(408, f"the upload stalled: nothing for {wait:g} s") from None
            except ClientDisconnect:
                raise ApiError(400, "the client went away mid-upload") from None
            if chunk:
                yield chunk
