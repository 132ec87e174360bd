"""Uploads through the gateway: an image (a docker-archive tar, as ``docker save`` writes it,
pushed by the same ``ImageStore`` as ``gpurent images push``, which validates the archive before
IPFS sees a byte) or a dataset file (pushed by the same ``push_data`` as ``gpurent data push``,
so the browser's CID and digest are the CLI's). Either body is spooled to disk, never held in
memory, then pushed.

Bounds, the same for both: the size limit (announced in Content-Length: refused before reading;
streamed: refused the moment the body passes it), ``idle_s`` without a byte (a stalled client:
408), ``total_s`` for the whole body, and ``at_once`` uploads per replica, images and data
together (then 503 with Retry-After). Whatever is refused leaves nothing on disk and nothing
pinned.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from gpurent.errors import GpurentError
from gpurent.gateway.errors import ApiError
from gpurent.images.store import ImageStore, PushedImage
from gpurent.settings import format_size
from gpurent.workload.data import PushedData, push_data

MAX_NAME_BYTES = 255  # a file name's bound (UTF-8), as most file systems have it


def data_name(name: str) -> str:
    """``name`` if it is one plain file name; else ApiError 400 saying why."""
    size = len(name.encode("utf-8", "surrogatepass"))
    if not name or size > MAX_NAME_BYTES:
        raise ApiError(400, f"name: a file name of 1 to {MAX_NAME_BYTES} bytes, not {size}")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ApiError(400, "name: one file name, without a path (no / or \\, not . or ..)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise ApiError(400, "name: no control characters in a file name")
    return name


@dataclass
class Uploads:
    store: ImageStore
    spool: Path | None = None  # where bodies wait (default: the system's temp folder)
    idle_s: float = 30.0
    total_s: float = 3600.0
    at_once: int = 4
    max_data_bytes: int | None = None  # a dataset file's limit (default: the image limit, store.max_bytes)
    _running: int = 0

    async def receive(self, request: Any, uploader: str) -> PushedImage:
        """The body, a docker-archive tar, pushed as ``uploader``'s image."""
        async with self._spooled(request, self.store.max_bytes, "the image", "image.tar",
                                 "the docker-archive tar (docker save)") as path:
            try:
                return await run_in_threadpool(self.store.push_archive, path, uploader)
            except GpurentError as err:
                raise _refusal(err, path) from None

    async def receive_data(self, request: Any, name: str) -> PushedData:
        """The body, one file called ``name``, pushed as a dataset (its CID: ``gpurent data push``'s)."""
        limit = self.store.max_bytes if self.max_data_bytes is None else self.max_data_bytes
        if request.headers.get("content-type", "").lower().startswith("multipart/"):
            raise ApiError(400, "send the file itself as the body (application/octet-stream), not a form")
        async with self._spooled(request, limit, "the file", data_name(name), "the file") as path:
            try:
                return await run_in_threadpool(push_data, self.store.ipfs, path)
            except GpurentError as err:
                raise _refusal(err, path) from None

    @asynccontextmanager
    async def _spooled(self, request: Any, limit: int, what: str, name: str, expected: str) -> AsyncIterator[Path]:
        """The request's body in a file ``name`` of a folder of its own, removed afterwards."""
        length = request.headers.get("content-length")
        if length is not None and not length.isdigit():
            raise ApiError(400, "Content-Length is not a byte count")
        if length is not None and int(length) > limit:
            raise ApiError(413, f"{what} is {format_size(int(length))}, over the {format_size(limit)} limit")
        if self._running >= self.at_once:
            raise ApiError(503, f"{self.at_once} uploads are running: try again shortly", {"Retry-After": "10"})
        self._running += 1
        folder = Path(tempfile.mkdtemp(prefix="gpurent-upload-", dir=self.spool))
        path = folder / name
        try:
            with path.open("xb") as out:
                seen = 0
                async for chunk in self._chunks(request.stream()):
                    seen += len(chunk)
                    if seen > limit:
                        raise ApiError(413, f"{what} is over the {format_size(limit)} limit")
                    out.write(chunk)
            if seen == 0:
                raise ApiError(400, f"the body is empty: send {expected} as the body")
            yield path
        finally:
            self._running -= 1
            shutil.rmtree(folder, ignore_errors=True)

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


def _refusal(err: GpurentError, path: Path) -> ApiError:
    """The push's refusal in one line, said of the upload: the client never sees the spool's paths."""
    line = str(err).splitlines()[0].replace(str(path), "the upload").replace(str(path.parent), "the upload")
    return ApiError(400, line)
