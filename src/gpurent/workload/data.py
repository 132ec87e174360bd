"""Datasets on IPFS: a file or a folder pushed as one UnixFS CIDv1 (256 KiB chunks, raw leaves,
pinned), hashed as it streams so nothing is read twice.

The digest printed beside the CID is ``sha256:<hex>``: of the bytes for a file; for a folder,
of its listing, one line ``<path>\\0<size>\\0<sha256 hex>\\n`` per file in sorted path order
(so a renter can check a copy without IPFS). Only regular files and folders are pushed: a
symlink, a device or a socket in the folder is refused (it would not mean the same on the
provider's side)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gpurent.errors import InvalidInput
from gpurent.images.kubo import KuboClient, UploadPart

_BLOCK = 1 << 20
MAX_FILES = 100_000


@dataclass(frozen=True)
class PushedData:
    cid: str
    size: int  # bytes of content
    files: int
    digest: str  # sha256:<hex>


@dataclass(frozen=True)
class _Entry:
    rel: str  # "" for the root itself
    path: Path
    is_dir: bool
    size: int


def _entries(root: Path) -> list[_Entry]:
    try:
        st = os.lstat(root)
    except OSError as err:
        raise InvalidInput(f"{root}: {err.strerror}") from None
    if stat.S_ISREG(st.st_mode):
        return [_Entry("", root, False, st.st_size)]
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidInput(f"{root}: only a regular file or a folder can be pushed")
    found = [_Entry("", root, True, 0)]
    for here, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(dirs + names):
            path = Path(here) / name
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                found.append(_Entry(rel, path, True, 0))
            elif stat.S_ISREG(st.st_mode):
                found.append(_Entry(rel, path, False, st.st_size))
            else:
                kind = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
                raise InvalidInput(f"{rel!r} in {root} is {kind}: only regular files and folders can be pushed")
            if len(found) > MAX_FILES:
                raise InvalidInput(f"{root} holds more than {MAX_FILES} entries")
    return found


def push_data(ipfs: KuboClient, source: Path, *, progress: Callable[[int], None] | None = None,
              on_total: Callable[[int], None] | None = None) -> PushedData:
    """Adds ``source`` (a file or a folder) to ``ipfs``, pinned; ``progress(n)`` per block sent."""
    source = Path(source)
    entries = _entries(source)
    total = sum(e.size for e in entries)
    if on_total:
        on_total(total)
    listing = hashlib.sha256()
    single = hashlib.sha256()  # a file's digest: of its bytes (hashed once, as they are sent)
    top = source.name or "data"

    def content(entry: _Entry) -> Iterator[bytes]:
        digest = single if not entries[0].is_dir else hashlib.sha256()
        with open(entry.path, "rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
                yield block
        listing.update(f"{entry.rel}\0{entry.size}\0{digest.hexdigest()}\n".encode())

    parts = [UploadPart(f"{top}/{e.rel}" if e.rel else top, [] if e.is_dir else content(e), directory=e.is_dir)
             for e in entries]
    added = ipfs.add(parts, wrap=False, pin=True, progress=progress)
    root = added[-1]
    is_folder = entries[0].is_dir
    digest = (listing if is_folder else single).hexdigest()
    return PushedData(root.cid, total, sum(1 for e in entries if not e.is_dir), f"sha256:{digest}")
