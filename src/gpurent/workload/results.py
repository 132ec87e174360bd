"""A job's result on IPFS: pack the output dir (provider side), fetch and verify it (renter side).

One UnixFS directory::

    result.json   public, canonical JSON: {"gpurent_result": 1, "job", "sealed",
                  "manifest_sha256", "payload_sha256", "payload_bytes"} (hashes of the stored files)
    manifest      JSON listing every file (path, size, sha256), what was dropped and why, the
                  exit code; sealed to the renter's key (seal()) when the job named one
    payload       an uncompressed, deterministic tar of the output dir; sealed with seal_stream()

Nothing in a result is trusted by the renter: result.json is checked against the job, every stored
file against its hash in result.json, every extracted file against the manifest, and the tar may
hold only regular files and folders under relative, normalised names. Files go to a temporary
folder beside the destination and are moved into place only once everything verified.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from gpurent.errors import GpurentError, ImageError
from gpurent.images.kubo import KuboClient
from gpurent.workload.seal import KeyPair, SealError, open_chunks, open_sealed, seal, seal_stream
from gpurent.workload.spec import canonical
from gpurent.safejson import loads_bounded

FORMAT = 1
RESULT_FILE = "result.json"
MANIFEST_FILE = "manifest"
PAYLOAD_FILE = "payload"
MAX_RESULT_FILES = 100_000
MAX_DROPPED_LISTED = 100
MAX_RESULT_JSON = 4096
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
MAX_PATH_BYTES = 4096
_BLOCK = 1 << 20


class ResultError(GpurentError):
    """A result that cannot be had or does not match its commitment; the message is one line."""


@dataclass(frozen=True)
class ResultFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DroppedFile:
    path: str
    size: int
    reason: str


@dataclass(frozen=True)
class ResultManifest:
    files: tuple[ResultFile, ...]
    file_count: int
    total_bytes: int
    truncated: bool
    dropped: tuple[DroppedFile, ...] = ()
    dropped_count: int = 0
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
                "file_count": self.file_count, "total_bytes": self.total_bytes, "truncated": self.truncated,
                "dropped": [{"path": d.path, "size": d.size, "reason": d.reason} for d in self.dropped],
                "dropped_count": self.dropped_count, "exit_code": self.exit_code}

    @classmethod
    def from_bytes(cls, data: bytes) -> ResultManifest:
        try:
            doc = loads_bounded(data.decode("utf-8"))
            files = tuple(ResultFile(_rel(f["path"]), _count(f["size"]), _hex(f["sha256"])) for f in doc["files"])
            dropped = tuple(DroppedFile(str(d["path"])[:MAX_PATH_BYTES], _count(d["size"]), str(d["reason"])[:200])
                            for d in doc["dropped"][:MAX_DROPPED_LISTED])
            exit_code = doc["exit_code"]
            if exit_code is not None and (not isinstance(exit_code, int) or isinstance(exit_code, bool)):
                raise ValueError("exit_code")
            manifest = cls(files, _count(doc["file_count"]), _count(doc["total_bytes"]), doc["truncated"] is True,
                           dropped, _count(doc["dropped_count"]), exit_code)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
            raise ResultError(f"the result's manifest is not valid ({type(err).__name__})") from None
        if (manifest.file_count != len(files) or manifest.file_count > MAX_RESULT_FILES
                or manifest.total_bytes != sum(f.size for f in files)
                or len({f.path for f in files}) != len(files)):
            raise ResultError("the result's manifest is not consistent (counts, sizes or duplicate paths)")
        return manifest


@dataclass(frozen=True)
class ResultInfo:
    """result.json: public, readable without the key."""

    job: str
    sealed: bool
    manifest_sha256: str
    payload_sha256: str
    payload_bytes: int

    def to_bytes(self) -> bytes:
        return canonical({"gpurent_result": FORMAT, "job": self.job, "sealed": self.sealed,
                          "manifest_sha256": self.manifest_sha256, "payload_sha256": self.payload_sha256,
                          "payload_bytes": self.payload_bytes})

    @classmethod
    def from_bytes(cls, data: bytes) -> ResultInfo:
        try:
            doc = loads_bounded(data.decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("gpurent_result") != FORMAT or len(doc) != 6:
                raise ValueError("format")
            if not isinstance(doc["sealed"], bool) or not isinstance(doc["job"], str):
                raise ValueError("types")
            info = cls(doc["job"].lower()[:66], doc["sealed"], _hex(doc["manifest_sha256"]),
                       _hex(doc["payload_sha256"]), _count(doc["payload_bytes"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ResultError(f"the result's {RESULT_FILE} is not a gpurent result") from None
        return info


@dataclass(frozen=True)
class PackedResult:
    manifest: ResultManifest
    payload_bytes: int
    file_count: int
    total_bytes: int
    truncated: bool


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("count")
    return value


def _hex(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError("sha256")
    return value


def _rel(name: Any) -> str:
    """A relative, normalised POSIX path (no absolute, no ``..``/``.``/empty parts)."""
    if not isinstance(name, str) or not name or len(name.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise ValueError("path")
    if name.startswith("/") or "\x00" in name or "\\" in name:
        raise ValueError("path")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ValueError("path")
    return name


# -- provider side: pack ---------------------------------------------------------------------
class _HashingReader(io.RawIOBase):
    """Exactly ``size`` bytes of ``handle`` (zero-padded if it shrank), hashed as they go."""

    def __init__(self, handle: IO[bytes], size: int):
        self.handle, self.left, self.digest = handle, size, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.handle.read(n) if n else b""
        if len(data) < n:
            data += b"\0" * (n - len(data))
        self.left -= len(data)
        self.digest.update(data)
        return data


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under ``root`` (sorted, never following a symlink): (relative name, lstat)."""
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(root / rel if rel else root) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError:
            continue
        subdirs = []
        for name in names:
            child = f"{rel}/{name}" if rel else name
            try:
                st = os.lstat(root / child)
            except OSError:
                continue
            yield child, st
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(child)
        stack.extend(reversed(subdirs))


def _tarinfo(name: str, kind: bytes, size: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def pack_outputs(src_dir: Path, dst_dir: Path, *, job_id: str, cap_bytes: int, result_key: bytes | None,
                 exit_code: int | None) -> PackedResult:
    """Packs ``src_dir`` into result.json, manifest and payload in ``dst_dir`` (sealed to
    ``result_key`` when given). Only regular files and folders; symlinks, devices, fifos, sockets,
    names that are not UTF-8, files past ``cap_bytes`` in total and past MAX_RESULT_FILES are
    dropped, each with a reason in the manifest (the first MAX_DROPPED_LISTED listed, all counted)."""
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    dst_dir.mkdir(parents=True, exist_ok=True)
    files: list[ResultFile] = []
    dropped: list[DroppedFile] = []
    dropped_count, total, truncated = 0, 0, False

    def drop(name: str, size: int, reason: str) -> None:
        nonlocal dropped_count
        dropped_count += 1
        if len(dropped) < MAX_DROPPED_LISTED:
            dropped.append(DroppedFile(name.encode("utf-8", "replace").decode("utf-8", "replace"), size, reason))

    tar_path = dst_dir / (PAYLOAD_FILE + ".tar" if result_key else PAYLOAD_FILE)
    with open(tar_path, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, st in _walk(src_dir):
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                drop(name, st.st_size, "name is not UTF-8")
                continue
            if len(name.encode()) > MAX_PATH_BYTES:
                drop(name, st.st_size, "name too long")
                continue
            if stat.S_ISDIR(st.st_mode):
                tar.addfile(_tarinfo(name, tarfile.DIRTYPE, 0, 0o755))
                continue
            if not stat.S_ISREG(st.st_mode):
                kind = "symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
                drop(name, 0 if stat.S_ISLNK(st.st_mode) else st.st_size, f"{kind} (only files and folders are kept)")
                continue
            if len(files) >= MAX_RESULT_FILES:
                truncated = True
                drop(name, st.st_size, f"over {MAX_RESULT_FILES} files")
                continue
            try:
                fd = os.open(src_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as err:
                drop(name, st.st_size, f"unreadable ({err.strerror})")
                continue
            with os.fdopen(fd, "rb") as handle:
                fst = os.fstat(handle.fileno())
                if not stat.S_ISREG(fst.st_mode):
                    drop(name, 0, "not a regular file")
                    continue
                size = fst.st_size
                if total + size > cap_bytes:
                    truncated = True
                    drop(name, size, f"over the output cap of {cap_bytes} bytes")
                    continue
                reader = _HashingReader(handle, size)
                tar.addfile(_tarinfo(name, tarfile.REGTYPE, size, 0o644), reader)
                files.append(ResultFile(name, size, reader.digest.hexdigest()))
                total += size
    manifest = ResultManifest(tuple(files), len(files), total, truncated, tuple(dropped), dropped_count, exit_code)
    manifest_bytes = canonical(manifest.to_json())
    if result_key:
        manifest_bytes = seal(result_key, manifest_bytes)
        with open(tar_path, "rb") as src, open(dst_dir / PAYLOAD_FILE, "wb") as dst:
            seal_stream(result_key, src, dst)
        tar_path.unlink()
    (dst_dir / MANIFEST_FILE).write_bytes(manifest_bytes)
    payload_sha, payload_bytes = _file_sha256(dst_dir / PAYLOAD_FILE)
    info = ResultInfo(job_id.lower(), result_key is not None, hashlib.sha256(manifest_bytes).hexdigest(),
                      payload_sha, payload_bytes)
    (dst_dir / RESULT_FILE).write_bytes(info.to_bytes())
    return PackedResult(manifest, payload_bytes, len(files), total, truncated)


def _file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# -- renter side: fetch ----------------------------------------------------------------------
def _mismatch(cid: str, why: str) -> ResultError:
    return ResultError(f"result CID {cid} does not match its commitment: {why}")


def _read_bounded(ipfs: KuboClient, path: str, limit: int, timeout_s: float, cid: str) -> bytes:
    data = bytearray()
    for block in ipfs.read(path, timeout=timeout_s):
        data += block
        if len(data) > limit:
            raise _mismatch(cid, f"{path.rsplit('/', 1)[-1]} is over {limit} bytes")
    return bytes(data)


def read_result_info(ipfs: KuboClient, cid: str, *, job_id: str, timeout_s: float) -> ResultInfo:
    """The public result.json of a result, checked against ``job_id``."""
    try:
        data = _read_bounded(ipfs, f"{cid}/{RESULT_FILE}", MAX_RESULT_JSON, timeout_s, cid)
    except ImageError as err:
        raise ResultError(f"result CID {cid} cannot be read: {str(err).splitlines()[0][:200]}") from None
    try:
        info = ResultInfo.from_bytes(data)
    except ResultError as err:
        raise _mismatch(cid, str(err)) from None
    if info.job != job_id.lower():
        raise _mismatch(cid, f"it is the result of another job ({info.job[:18]}…)")
    return info


def read_manifest(ipfs: KuboClient, cid: str, info: ResultInfo, keypair: KeyPair | None,
                  timeout_s: float) -> ResultManifest:
    """The manifest, its hash checked against result.json and opened with ``keypair``."""
    try:
        data = _read_bounded(ipfs, f"{cid}/{MANIFEST_FILE}", MAX_MANIFEST_BYTES, timeout_s, cid)
    except ImageError as err:
        raise ResultError(f"result CID {cid} cannot be read: {str(err).splitlines()[0][:200]}") from None
    if hashlib.sha256(data).hexdigest() != info.manifest_sha256:
        raise _mismatch(cid, "the manifest's hash differs")
    if info.sealed:
        if keypair is None:
            raise ResultError(f"result CID {cid} is sealed to the renter's key, which is not here")
        try:
            data = open_sealed(keypair, data)
        except SealError:
            raise ResultError(f"result CID {cid} is sealed to another key than this one") from None
    try:
        return ResultManifest.from_bytes(data)
    except ResultError as err:
        raise _mismatch(cid, str(err)) from None


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte strings, each byte copied once."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._buf, self._pos = chunks, memoryview(b""), 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._pos >= len(self._buf):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buf, self._pos = memoryview(chunk), 0
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = self._buf[self._pos:self._pos + n]
        self._pos += n
        return n


def _reader(chunks: Iterator[bytes]) -> BinaryIO:
    return io.BufferedReader(_ChunkReader(chunks), buffer_size=_BLOCK)


def fetch_result(ipfs: KuboClient, cid: str, out_dir: Path, *, keypair: KeyPair | None, job_id: str,
                 timeout_s: float, max_bytes: int | None = None,
                 progress: Any = None, expect_sealed: bool = False) -> ResultManifest:
    """Fetches, verifies, decrypts and extracts a result into ``out_dir`` (which must not exist
    or be empty); nothing is written there unless every check passed. ``progress(done, total)``
    is called as the payload comes in. With ``expect_sealed`` (the definition named a result
    key) an unsealed result is refused before anything is fetched.

    One pass: the payload streams from IPFS through its hash, the decryption (each chunk
    authenticated before use) and the tar reader into a private folder beside ``out_dir``
    (each file checked against the manifest's size and hash); only when the whole payload's
    size and hash match the commitment is that folder renamed to ``out_dir``, else removed."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ResultError(f"{out_dir} exists and is not an empty folder")
    info = read_result_info(ipfs, cid, job_id=job_id, timeout_s=timeout_s)
    if expect_sealed and not info.sealed:
        raise ResultError(f"result CID {cid} is not sealed although the job's definition named your result key: "
                          "the provider published it in the clear (nothing written; --allow-unsealed to take it)")
    if max_bytes is not None and info.payload_bytes > max_bytes:
        raise ResultError(f"result CID {cid} holds {info.payload_bytes} bytes, over the limit of {max_bytes}")
    manifest = read_manifest(ipfs, cid, info, keypair, timeout_s)
    parent = out_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out_dir.name}.partial-"))
    digest, got = hashlib.sha256(), [0]

    def payload() -> Iterator[bytes]:
        # the RPC's cat, not the gateway: 3.2 s against 4.7 s for a 200 MB file from a peer
        # (bench/io.py's machine); each wait for more bytes bounded, not the whole transfer
        for block in ipfs.cat(f"{cid}/{PAYLOAD_FILE}", stall_s=timeout_s):
            if got[0] + len(block) > info.payload_bytes:
                raise _mismatch(cid, "the payload is longer than committed")
            digest.update(block)
            got[0] += len(block)
            if progress:
                progress(got[0], info.payload_bytes)
            yield block

    try:
        if info.sealed:
            assert keypair is not None  # read_manifest refused a sealed result without one
            tar = _reader(open_chunks(keypair, _reader(payload())))
        else:
            tar = _reader(payload())
        tree = work / "files"
        tree.mkdir()
        try:
            _extract(tar, tree, manifest, cid)
            while tar.read(_BLOCK):  # the rest (the tar's padding): hashed and, sealed, authenticated
                pass
        except SealError as err:
            raise _mismatch(cid, str(err)) from None
        except ImageError as err:
            raise ResultError(f"result CID {cid} cannot be read: {str(err).splitlines()[0][:200]}") from None
        if got[0] != info.payload_bytes or digest.hexdigest() != info.payload_sha256:
            raise _mismatch(cid, "the payload's hash differs")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tree, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _extract(stream: BinaryIO, dest: Path, manifest: ResultManifest, cid: str) -> None:
    expected = {f.path: f for f in manifest.files}
    seen: set[str] = set()
    try:
        with tarfile.open(fileobj=stream, mode="r|", bufsize=_BLOCK) as tar:
            for member in tar:
                try:
                    name = _rel(member.name.rstrip("/") if member.isdir() else member.name)
                except ValueError:
                    raise _mismatch(cid, f"the payload holds an unsafe name {ascii(member.name[:60])}") from None
                if name in seen:
                    raise _mismatch(cid, f"the payload holds {ascii(name[:60])} twice")
                seen.add(name)
                target = dest / name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg() or member.issparse() or any(k.startswith("GNU.sparse") for k in member.pax_headers):
                    # a sparse member would write its holes (any size) from a few bytes of payload
                    raise _mismatch(cid, f"the payload holds {ascii(name[:60])}, which is not a plain file or folder")
                entry = expected.get(name)
                if entry is None or entry.size != member.size:
                    raise _mismatch(cid, f"the payload's {ascii(name[:60])} is not in the manifest as it is")
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.parent.is_symlink() or not target.parent.resolve().is_relative_to(dest.resolve()):
                    raise _mismatch(cid, f"the payload's {ascii(name[:60])} leaves the folder")
                source = tar.extractfile(member)
                assert source is not None
                digest = hashlib.sha256()
                with open(target, "xb") as out:
                    while block := source.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
                if digest.hexdigest() != entry.sha256:
                    raise _mismatch(cid, f"the file {ascii(name[:60])} differs from its manifest hash")
    except (tarfile.TarError, ValueError, EOFError) as err:  # tarfile raises ValueError on a bad sparse map
        if isinstance(err, ResultError):
            raise
        raise _mismatch(cid, f"the payload is not a valid tar ({type(err).__name__})") from None
    except OSError as err:  # names that clash on this filesystem (case, normalisation), disk full
        raise _mismatch(cid, f"the payload cannot be written here ({err.strerror or type(err).__name__})") from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise _mismatch(cid, f"the payload lacks {ascii(missing[0][:60])}")
