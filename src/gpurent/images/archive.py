"""Docker-archive tars (the format of ``docker save`` / ``docker load``), written and read here.

Written without an engine, byte for byte reproducible (fixed timestamps, sorted entries), so the
same files always give the same tar and therefore the same IPFS CID. Tests, the benchmark and the
demo build their images with :func:`build_archive`; :func:`read_archive` reads the name, tag and
image id of any docker-archive a renter pushes; :func:`strip_tags` makes a renter's archive safe
to ``docker load`` on a provider (one image, no names: a load can never move a tag there).
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gpurent.errors import ImageError

EPOCH = 946684800  # 2000-01-01: fixed mtime for reproducible archives
MAX_VOLUMES = 8  # paths an image may declare as volumes (``VOLUME``); each becomes a sized tmpfs
MAX_ENTRIES = 10_000  # a docker-archive holds a few entries per layer (and an image at most ~127 layers)
_BLOCK = 1 << 20
_VOLUME_PATH = re.compile(r"(/[A-Za-z0-9_@+.-]+)+")
_NO_VOLUMES_UNDER = ("/proc", "/sys", "/dev")
# Tar headers are read twice: here (Python's tarfile) and by the engine (Go's archive/tar), which
# differ at the edges (a NUL-led number is 0 here and a size there; a bad header ends the listing
# here and fails there). So only plain POSIX ustar headers whose every field both read alike pass.
_USTAR_MAGIC = b"ustar\x0000"
_OCTAL = re.compile(rb" *[0-7]* *(?:\x00[ \x00]*)?")
_NUMBERS = ((100, 108), (108, 116), (116, 124), (124, 136), (136, 148), (148, 156), (329, 337), (337, 345))
_SIZE = (124, 136)
_PAX_RECORD = re.compile(rb"([1-9][0-9]{0,5}) (path|size)=([^\n\x00]+)\n")
# An OCI layout beside manifest.json (as Docker's own save writes) is what podman loads first, and
# its index.json names images: renamed in place, so the engine reads the docker-archive.
_OCI_LAYOUT = ("index.json", "oci-layout")
# A layer is stored as written: a compressed one would expand on the provider's disk far past the
# archive's size (gzip of zeros: about 1,000 times). Engines tell them by these first bytes.
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


@dataclass(frozen=True)
class LayerFile:
    """One file in the image's single layer: its content (bytes or a host path) and mode."""

    path: str
    content: bytes | Path
    mode: int = 0o644


@dataclass(frozen=True)
class ArchiveInfo:
    """What a docker-archive says about the image inside it."""

    repo_tags: tuple[str, ...]
    image_id: str  # sha256:<hex of the config blob>

    @property
    def name(self) -> str | None:
        return self.repo_tags[0].rsplit(":", 1)[0] if self.repo_tags else None

    @property
    def tag(self) -> str | None:
        return self.repo_tags[0].rsplit(":", 1)[1] if self.repo_tags else None


def _add(tar: tarfile.TarFile, name: str, data: bytes | BinaryIO, size: int, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.uname, info.gname = size, mode, EPOCH, "root", "root"
    tar.addfile(info, io.BytesIO(data) if isinstance(data, bytes) else data)


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.uname, info.gname = tarfile.DIRTYPE, 0o755, EPOCH, "root", "root"
    tar.addfile(info)


class _HashingWriter(io.RawIOBase):
    """A write-only file that hashes what goes through it into ``target``."""

    def __init__(self, target: BinaryIO):
        self.target, self.sha = target, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha.update(data)
        self.target.write(data)
        return len(data)


def _write_layer(files: list[LayerFile], out: BinaryIO) -> str:
    """Writes an uncompressed layer tar; returns its diff id (sha256 of the tar)."""
    writer = _HashingWriter(out)
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.USTAR_FORMAT) as layer:
        dirs: set[str] = set()
        for item in sorted(files, key=lambda f: f.path):
            parts = item.path.strip("/").split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in dirs:
                    dirs.add(folder)
                    _add_dir(layer, folder)
            name = "/".join(parts)
            if isinstance(item.content, Path):
                with item.content.open("rb") as handle:
                    _add(layer, name, handle, item.content.stat().st_size, item.mode)
            else:
                _add(layer, name, item.content, len(item.content), item.mode)
    return "sha256:" + writer.sha.hexdigest()


def build_archive(out: Path, files: list[LayerFile], repo_tag: str, cmd: list[str],
                  env: list[str] | None = None, workdir: str = "/",
                  settings: dict[str, Any] | None = None) -> ArchiveInfo:
    """Writes a one-layer docker-archive at ``out`` holding ``files``; ``docker load`` accepts it.
    ``settings``: more fields of the image's run config (``Volumes``, ``Labels``, ``User``…)."""
    if ":" not in repo_tag.rsplit("/", 1)[-1]:
        repo_tag += ":latest"
    layer_path = out.with_suffix(".layer.tmp")
    try:
        with layer_path.open("wb") as handle:
            diff_id = _write_layer(files, handle)
        config = json.dumps({
            "architecture": "amd64", "os": "linux", "created": "2000-01-01T00:00:00Z",
            "config": {"Cmd": cmd, "Env": env or ["PATH=/bin:/usr/bin"], "WorkingDir": workdir, **(settings or {})},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": "2000-01-01T00:00:00Z", "created_by": "gpurent build_archive"}],
        }, sort_keys=True, separators=(",", ":")).encode()
        config_hex = hashlib.sha256(config).hexdigest()
        layer_name = f"{diff_id.split(':')[1]}/layer.tar"
        manifest = json.dumps([{"Config": f"{config_hex}.json", "RepoTags": [repo_tag], "Layers": [layer_name]}],
                              separators=(",", ":")).encode()
        with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
            _add(tar, f"{config_hex}.json", config, len(config))
            _add_dir(tar, diff_id.split(":")[1])
            with layer_path.open("rb") as layer:
                _add(tar, layer_name, layer, layer_path.stat().st_size)
            _add(tar, "manifest.json", manifest, len(manifest))
    finally:
        layer_path.unlink(missing_ok=True)
    return ArchiveInfo(repo_tags=(repo_tag,), image_id=f"sha256:{config_hex}")


def read_archive(path: Path) -> ArchiveInfo:
    """Name, tag and image id of a docker-archive tar; ImageError if it is not one."""
    try:
        with tarfile.open(path, "r:") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest = json.loads(member.read())
    except (tarfile.TarError, KeyError, json.JSONDecodeError, OSError) as err:
        raise ImageError(f"{path} is not a docker-archive tar (no readable manifest.json)") from err
    if not isinstance(manifest, list) or not manifest or "Config" not in manifest[0]:
        raise ImageError(f"{path} is not a docker-archive tar (manifest.json lists no image)")
    entry = manifest[0]
    config_hex = Path(entry["Config"]).name.removesuffix(".json").removeprefix("sha256:")
    return ArchiveInfo(repo_tags=tuple(entry.get("RepoTags") or ()), image_id=f"sha256:{config_hex}")


def _entry_name(member: tarfile.TarInfo) -> str:
    return posixpath.normpath(member.name.lstrip("/"))


def strip_tags(path: Path) -> ArchiveInfo:
    """Rewrites the docker-archive at ``path`` in place so that loading it names nothing: its
    ``manifest.json`` loses ``RepoTags`` and a legacy ``repositories`` file is emptied (each
    overwritten within its own bytes, so the tar's layout is unchanged). Returns the tags the
    archive carried and the id of the image inside, hashed from its config (not the file name).

    ImageError unless the tar is an uncompressed docker-archive of exactly one image whose
    manifest and config are regular files named once (a second ``manifest.json`` or config the
    engine might read instead is refused, as is a manifest listing several images), written
    with plain ustar headers that the engine's tar reader reads exactly as this one does. An
    OCI layout beside the manifest (``index.json``, ``oci-layout``: podman would load that
    first, with the names its index gives) is renamed out of the engine's way.
    """
    try:
        with tarfile.open(path, "r:") as tar, path.open("rb") as raw:
            by_name: dict[str, tarfile.TarInfo] = {}
            for member in tar:
                _check_header(raw, member)
                name = _entry_name(member)
                if name in by_name:
                    raise ImageError(f"{path} is not a usable docker-archive: {name!r} appears more than once")
                if len(by_name) >= MAX_ENTRIES:
                    raise ImageError(f"{path} is not a usable docker-archive: over {MAX_ENTRIES} entries")
                by_name[name] = member
            _check_end(raw, tar.offset)
            manifest_entry = by_name.get("manifest.json")
            if manifest_entry is None or not manifest_entry.isfile():
                raise ImageError(f"{path} is not a docker-archive tar (no manifest.json file)")
            manifest = json.loads(_read_member(tar, manifest_entry))
            if not (isinstance(manifest, list) and len(manifest) == 1 and isinstance(manifest[0], dict)
                    and isinstance(manifest[0].get("Config"), str)):
                raise ImageError(f"{path} is not a usable docker-archive: its manifest.json must list exactly one image")
            config_entry = by_name.get(posixpath.normpath(manifest[0]["Config"].lstrip("/")))
            if config_entry is None or not config_entry.isfile():
                raise ImageError(f"{path} is not a usable docker-archive: its image config is not in the archive")
            image_id = "sha256:" + hashlib.sha256(_read_member(tar, config_entry)).hexdigest()
            _check_layers(tar, by_name, manifest[0].get("Layers"), path.stat().st_size)
            repositories = by_name.get("repositories")
    except (tarfile.TarError, ValueError, RecursionError, OSError) as err:  # ValueError: bad JSON or UTF-8
        raise ImageError(f"{path} is not an uncompressed docker-archive tar ({type(err).__name__})") from err
    tags = manifest[0].pop("RepoTags", None)
    with path.open("r+b") as handle:
        _overwrite(handle, manifest_entry, json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode())
        if repositories is not None and repositories.isfile():
            _overwrite(handle, repositories, b"{}")
        for name in _OCI_LAYOUT:
            if name in by_name:
                _rename(handle, by_name[name], f"gpurent-ignored-{name}")
    repo_tags = tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
    return ArchiveInfo(repo_tags=repo_tags, image_id=image_id)


def _check_layers(tar: tarfile.TarFile, by_name: dict[str, tarfile.TarInfo], layers: object, limit: int) -> None:
    """ImageError unless ``layers`` (the manifest's) name uncompressed tar files of the archive
    (through its own links, as Docker's save writes them) that add up to at most ``limit`` bytes
    (the archive's size): the engine unpacks a layer each time the manifest names it, so one
    layer named a thousand times would take a thousand times its size on the provider's disk."""
    if not (isinstance(layers, list) and all(isinstance(layer, str) for layer in layers)):
        raise ImageError("the archive's manifest.json lists no layers (or not as paths)")
    total = 0
    for layer in layers:
        member, name = None, posixpath.normpath(layer.lstrip("/"))
        for _ in range(8):  # links inside the archive, a few deep
            member = by_name.get(name)
            if member is None or not (member.issym() or member.islnk()):
                break
            base = posixpath.dirname(name) if member.issym() else ""
            name = posixpath.normpath(posixpath.join(base, member.linkname).lstrip("/"))
        if member is None or not member.isfile():
            raise ImageError(f"the archive's layer {layer[:80]!r} is not a file of the archive")
        total += member.size
        if total > limit:
            raise ImageError(f"the archive's manifest names its layers over and over: loading them would take more "
                             f"than the archive's own {limit} bytes")
        handle = tar.extractfile(member)
        assert handle is not None  # a regular file
        if handle.read(6).startswith(_COMPRESSED):
            raise ImageError(f"the archive's layer {layer[:80]!r} is compressed: only uncompressed layers are "
                             "loaded (a compressed one may expand far past the archive's size)")


def _check_header(raw: BinaryIO, member: tarfile.TarInfo) -> None:
    """ImageError unless ``member`` has a plain ustar header that Go's archive/tar reads alike,
    after at most one pax header of ``path`` and ``size`` records (Go writes one for a layer
    over 8 GiB) that both readers apply alike."""
    raw.seek(member.offset)
    block = raw.read(512)
    plain = True
    if member.offset_data != member.offset + 512:
        plain = _plain_block(block, b"x") and _pax_agrees(raw, block, member)
        block = raw.read(512)
    if not (plain and _plain_block(block, b"0125") and (member.size == 0 or block[156:157] == b"0")):
        raise ImageError(f"the archive's entry {member.name[:80]!r} is not a plain ustar entry (file, link or "
                         "directory): refused, the engine might read it otherwise")


def _plain_block(block: bytes, types: bytes) -> bool:
    """A 512-byte POSIX ustar header of one of ``types`` whose numbers both readers parse alike."""
    size = block[_SIZE[0]:_SIZE[1]]
    return (len(block) == 512 and block[257:265] == _USTAR_MAGIC and not any(block[500:])
            and block[156:157] in types  # one typeflag byte of ``types``
            and all(_OCTAL.fullmatch(block[a:b]) or ((a, b) == _SIZE and size[0] == 0x80) for a, b in _NUMBERS))


def _pax_agrees(raw: BinaryIO, block: bytes, member: tarfile.TarInfo) -> bool:
    """Whether a pax header's records (read from ``raw``, left just past them) are only
    well-formed ``path`` and ``size`` records that name what this reader made of the entry."""
    if not _OCTAL.fullmatch(block[_SIZE[0]:_SIZE[1]]):
        return False
    length = int(block[_SIZE[0]:_SIZE[1]].strip(b" \0") or b"0", 8)
    if length > 4096:
        return False
    data = raw.read(length)
    raw.seek(member.offset + 512 + -(-length // 512) * 512)
    records: dict[bytes, bytes] = {}
    at = 0
    while at < len(data):
        record = _PAX_RECORD.match(data, at)
        if record is None or int(record[1]) != record.end() - at or record[2] in records:
            return False
        records[record[2]] = record[3]
        at = record.end()
    size, name = records.get(b"size"), records.get(b"path")
    return (member.offset_data == member.offset + 1024 + -(-length // 512) * 512 and len(data) == length
            and (size is None or (size.isdigit() and int(size) == member.size))
            and (name is None or name.decode("utf-8", "surrogateescape").rstrip("/") == member.name.rstrip("/")))


def _check_end(raw: BinaryIO, offset: int) -> None:
    """ImageError unless the listing ended where the archive does (two zero blocks, or its end):
    a header this reader cannot parse ends its listing, while the engine's reader goes on."""
    raw.seek(offset)
    if any(raw.read(1024)):
        raise ImageError("the archive goes on past a header this reader cannot parse: refused")


def _rename(handle: BinaryIO, member: tarfile.TarInfo, name: str) -> None:
    """Gives a (plain ustar) entry a new name in its own header, so no reader finds it by the old one."""
    handle.seek(member.offset)
    block = bytearray(handle.read(512))
    block[0:100] = name.encode().ljust(100, b"\0")
    block[345:500] = bytes(155)  # the ustar name prefix
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    handle.seek(member.offset)
    handle.write(block)


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int = 1 << 20) -> bytes:
    """A small member's bytes (a manifest or config over ``limit`` is refused, not read)."""
    if member.size > limit:
        raise ImageError(f"{member.name!r} in the archive is over {limit >> 20} MiB")
    handle = tar.extractfile(member)
    assert handle is not None  # a regular file
    return handle.read()


def _overwrite(handle: BinaryIO, member: tarfile.TarInfo, content: bytes) -> None:
    """Replaces a member's bytes with ``content`` padded with spaces to its size (JSON allows it)."""
    if len(content) > member.size:
        raise ImageError(f"cannot rewrite {member.name!r} in the archive in place")
    handle.seek(member.offset_data)
    handle.write(content + b" " * (member.size - len(content)))


def image_volumes(config: object) -> tuple[str, ...]:
    """The paths an image's run config (``Config`` of an engine's image inspect) declares as
    volumes. An engine makes each an anonymous volume on the host's disk (writable, exec allowed,
    unsized, left behind), so the agent covers each with a tmpfs of its own instead.

    ImageError for over :data:`MAX_VOLUMES` of them, or a path that is not plain (absolute,
    normalized, letters, digits and ``_@+.-`` only: nothing an engine might read as mount options)
    or that lies in ``/proc``, ``/sys`` or ``/dev``."""
    volumes = config.get("Volumes") if isinstance(config, dict) else None
    if not volumes:
        return ()
    if not isinstance(volumes, dict) or len(volumes) > MAX_VOLUMES:
        raise ImageError(f"the image declares over {MAX_VOLUMES} volumes (or not as a map of paths)")
    for path in volumes:
        if (not isinstance(path, str) or not _VOLUME_PATH.fullmatch(path) or posixpath.normpath(path) != path
                or any(path == top or path.startswith(top + "/") for top in _NO_VOLUMES_UNDER)):
            raise ImageError(f"the image declares a volume at {str(path)[:80]!r}: only plain paths outside "
                             "/proc, /sys and /dev")
    return tuple(sorted(volumes))
