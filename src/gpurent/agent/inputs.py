"""The provider's input cache: a job's datasets by CID, extracted on the host, kept within a quota.

``ensure`` is the agent's call in a job's unbilled pull phase, once per input: an input this
cache holds (its folder complete, its pin still there) is used as it is; anything else is sized
first (``files/stat`` within ``fetch_timeout_s``: a CID no peer serves is an ImageError, and so
is one over the bound it is given), then fetched as ``ipfs get``'s tar stream and extracted into
a temporary folder beside the cache: only regular files and folders, no absolute names, no
``..``, nothing outside the folder, never more bytes than the CID's stated size. Only a complete
extraction is moved into place (``<root>/<cid>``), pinned on the node, and recorded; the job's
container gets it bind-mounted read-only.

Leases, least-recently-used clean-up within ``quota_bytes`` and pre-warming (pinning the CIDs
this provider's own jobs used most) work as for images (:class:`~gpurent.images.cache.LeasedStore`).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gpurent.errors import ImageError
from gpurent.images.cache import DAY, LEASES_SCHEMA, LeasedStore
from gpurent.images.kubo import KuboClient
from gpurent.images.store import Transfer

UNUSED_S = 14 * DAY  # an input no job used for this long is removed at the next clean-up

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inputs (
    cid        TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,   -- bytes extracted
    is_dir     INTEGER NOT NULL,
    added_at   REAL NOT NULL,
    last_used  REAL NOT NULL,
    source     TEXT NOT NULL       -- pulled | prewarmed
);
""" + LEASES_SCHEMA


class InputError(ImageError):
    """An input the job cannot have: not found, too large, or not a plain file tree."""


@dataclass(frozen=True)
class CachedInput:
    cid: str
    path: Path  # on the host: a folder, or a single file
    size: int
    source: str  # "cache" | "peers"


def input_size(ipfs: KuboClient, cid: str, timeout_s: float) -> int:
    """The bytes ``cid`` holds (its cumulative size), or InputError when no peer serves it in time."""
    try:
        stat = ipfs.stat(cid, timeout=timeout_s)
    except ImageError as err:
        raise InputError(f"input {cid}: {err}") from err
    size = stat.get("CumulativeSize", stat.get("Size"))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError(f"input {cid}: the node reports no size for it")
    return size


_TAR_BUFFER = 1 << 20  # tarfile's stream reads (10 KiB by default)
MAX_ENTRIES = 100_000  # files and folders in one input (as many as `gpurent data push` sends)
# the tar bytes one entry may add besides its content: its 512-byte header, a PAX or GNU
# long-name header (512) and its record's first block (512; a longer name's blocks are counted
# apart, by its length), and up to 511 bytes of padding
ENTRY_OVERHEAD = 2048


class _Reader:
    """The tar stream as a file, counting bytes into ``transfer`` and refusing more than ``limit``.
    Read from a buffer by an offset: each byte is copied once on its way out (slicing the rest
    of the buffer off at every read copied each MiB chunk about a hundred times)."""

    def __init__(self, chunks: Iterator[bytes], limit: int, transfer: Transfer | None):
        self.chunks, self.limit, self.transfer = chunks, limit, transfer
        self.buffer, self.offset, self.read_bytes = bytearray(), 0, 0

    def allow(self, more: int) -> None:
        """Raises the limit by ``more`` bytes (the tar's headers of one more entry)."""
        self.limit += more

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) - self.offset < n:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.read_bytes += len(chunk)
            if self.read_bytes > self.limit:
                raise InputError(f"the input's stream is larger than its stated size ({self.limit} bytes)")
            if self.transfer is not None:
                self.transfer.advance(len(chunk))
            if self.offset:  # what is left is less than one read: cheap to move to the front
                del self.buffer[:self.offset]
                self.offset = 0
            self.buffer += chunk
        end = len(self.buffer) if n < 0 else min(len(self.buffer), self.offset + n)
        out = bytes(self.buffer[self.offset:end])
        self.offset = end
        return out


def extract(stream: IO[bytes], cid: str, into: Path, max_bytes: int,
            allow: Callable[[int], None] | None = None) -> tuple[int, bool]:
    """Extracts ``ipfs get``'s tar of ``cid`` into ``into`` (which must not exist); returns (bytes,
    is a folder). Refuses links, devices, names outside ``cid``, more than ``max_bytes`` and more
    than MAX_ENTRIES files and folders. ``allow(n)`` is told the tar overhead of each entry (its
    header blocks, a long name's extra header, the padding), so a stream bounded by the content
    size grows by what a dataset of many small files needs, and no more."""
    total, is_dir, entries = 0, False, 0
    into.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFFER) as archive:
        for member in archive:
            entries += 1
            if entries > MAX_ENTRIES:
                raise InputError(f"input {cid}: more than {MAX_ENTRIES} files and folders")
            if allow is not None:
                allow(ENTRY_OVERHEAD + 2 * min(len(member.name.encode("utf-8", "surrogateescape")), 4096))
            name = member.name.rstrip("/")
            parts = name.split("/")
            if parts[0] != cid or any(p in ("", ".", "..") for p in parts) or name.startswith("/"):
                raise InputError(f"input {cid}: refused entry {name[:100]!r} (outside the input)")
            rel = Path(*parts[1:]) if len(parts) > 1 else Path()
            target = into / rel
            if member.isdir():
                is_dir = is_dir or not parts[1:]
                target.mkdir(parents=True, exist_ok=True, mode=0o755)
                continue
            if not member.isfile():
                raise InputError(f"input {cid}: {name[:100]!r} is not a regular file or folder")
            total += member.size
            if total > max_bytes:
                raise InputError(f"input {cid}: more than {max_bytes} bytes")
            source = archive.extractfile(member)
            assert source is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as out:  # x: never over something already there
                shutil.copyfileobj(source, out, 1 << 20)
            os.chmod(target, 0o644)
    if not into.exists():
        raise InputError(f"input {cid}: the node sent nothing")
    return total, is_dir


class InputCache(LeasedStore):
    ITEMS = "inputs"

    def __init__(self, ipfs: KuboClient, root: Path, quota_bytes: int, clock: Callable[[], float] = time.time):
        self.ipfs, self.root, self.quota_bytes, self.clock = ipfs, root, quota_bytes, clock
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root / "inputs.db", _SCHEMA, durable=False)
        self._cid_locks: dict[str, threading.Lock] = {}

    def location(self, cid: str) -> Path:
        return self.root / "data" / cid

    def has(self, cid: str) -> bool:
        """Held complete here (recorded, on disk and pinned): usable with no transfer."""
        rows = self.query("SELECT 1 FROM inputs WHERE cid = ?", (cid,))
        return bool(rows) and self.location(cid).exists() and self.ipfs.is_pinned(cid)

    def ensure(self, cid: str, *, job_id: str, max_bytes: int, timeout_s: float,
               transfer: Transfer | None = None) -> CachedInput:
        """The input on the host, leased to ``job_id``; InputError if it cannot be had within bounds."""
        self.acquire(cid, job_id)
        with self._lock:
            cid_lock = self._cid_locks.setdefault(cid, threading.Lock())
        try:
            with cid_lock:
                return self._ensure(cid, max_bytes, timeout_s, transfer)
        except BaseException:
            self.release(cid, job_id)
            raise

    def _ensure(self, cid: str, max_bytes: int, timeout_s: float, transfer: Transfer | None) -> CachedInput:
        rows = self.query("SELECT size FROM inputs WHERE cid = ?", (cid,))
        if rows and self.location(cid).exists():
            if int(rows[0][0]) > max_bytes:  # type: ignore[call-overload]
                raise InputError(f"input {cid} is {rows[0][0]} bytes, over this provider's limit of {max_bytes}")
            self._touch(cid)
            return CachedInput(cid, self.location(cid), int(rows[0][0]), "cache")  # type: ignore[call-overload]
        size = input_size(self.ipfs, cid, timeout_s)
        if size > max_bytes:
            raise InputError(f"input {cid} is {size} bytes, over this provider's limit of {max_bytes}")
        if transfer is not None:
            transfer.begin("download", size)
        work = Path(tempfile.mkdtemp(prefix=".get-", dir=self.root))
        try:
            reader = _Reader(self.ipfs.get_tar(cid, timeout=timeout_s), size + (size >> 4) + (1 << 20), transfer)
            extracted, is_dir = extract(reader, cid, work / cid, size, reader.allow)  # type: ignore[arg-type]
            self.location(cid).parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(self.location(cid), ignore_errors=True)
            os.replace(work / cid, self.location(cid))
        except (tarfile.TarError, OSError) as err:
            raise InputError(f"input {cid}: not a usable file tree ({err})") from err
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if transfer is not None:
                transfer.end()
        self.ipfs.pin_add(cid, timeout=timeout_s)
        now = self.clock()
        with self.tx():
            self._db.execute("INSERT INTO inputs (cid, size, is_dir, added_at, last_used, source) "
                             "VALUES (?, ?, ?, ?, ?, 'pulled') ON CONFLICT(cid) DO UPDATE SET size = excluded.size, "
                             "last_used = excluded.last_used", (cid, extracted, int(is_dir), now, now))
        return CachedInput(cid, self.location(cid), extracted, "peers")

    def prewarm(self, popular: Iterable[str], *, max_bytes: int, timeout_s: float) -> list[str]:
        """Fetches the popular inputs this cache lacks (each within ``max_bytes`` and the quota)."""
        fetched = []
        for cid in popular:
            if self.query("SELECT 1 FROM inputs WHERE cid = ?", (cid,)):
                continue
            try:
                if self.total_bytes() + input_size(self.ipfs, cid, timeout_s) > self.quota_bytes:
                    continue
                self.ensure(cid, job_id="prewarm", max_bytes=max_bytes, timeout_s=timeout_s)
            except InputError:
                continue  # a popular CID that is no usable input is not this node's problem
            self.release(cid, "prewarm")
            with self.tx():
                self._db.execute("UPDATE inputs SET source = 'prewarmed' WHERE cid = ?", (cid,))
            fetched.append(cid)
        return fetched

    def total_bytes(self) -> int:
        return int(str(self.query("SELECT COALESCE(SUM(size), 0) FROM inputs")[0][0]))

    def cleanup(self) -> list[str]:
        """Removes inputs unused for UNUSED_S, then the least recently used until within the quota;
        never one a job holds. Returns the CIDs removed."""
        removed = []
        for cid, _size in self.lru_victims(self.quota_bytes, UNUSED_S):
            with self.tx():
                self._db.execute("DELETE FROM inputs WHERE cid = ?", (cid,))
            shutil.rmtree(self.location(cid), ignore_errors=True)
            if self.location(cid).is_file():
                self.location(cid).unlink()
            if self.ipfs.is_pinned(cid):
                self.ipfs.pin_rm(cid)
            removed.append(cid)
        return removed
