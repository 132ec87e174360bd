"""Images by CID: push a docker-archive to IPFS, pull it back verified, list and unpin.

A pushed image is one IPFS directory (its CID is the image's CID)::

    <cid>/image.tar      the docker-archive, 256 KiB chunks, raw leaves, CIDv1
    <cid>/gpurent.json   metadata: name, tag, size, sha256 digest of image.tar, image id,
                         uploader, created

The push streams the tar through a SHA-256 as it uploads, so the metadata (whose digest is
known only at the end) follows the tar in the same upload and nothing is read twice. A pull
reads the metadata first (so a CID that is not a gpurent image, or one over the size limit, is
refused before any large transfer), streams image.tar to a temporary file while hashing it,
compares size and digest, strips the archive's tags and checks that the image inside is the
metadata's image id, and only then hands the file to ``docker load`` (by id: a renter's archive
never names or moves a tag in the provider's engine).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import requests

from gpurent.errors import (
    ImageError,
    ImageTooLarge,
    IntegrityError,
    InvalidInput,
    NotAGpurentImage,
    ServiceUnavailable,
)
from gpurent.images.archive import image_volumes, read_archive, strip_tags
from gpurent.images.kubo import KuboClient, UploadPart
from gpurent.settings import format_size, load_settings, state_home

SCHEMA = "gpurent.image/1"
IMAGE_FILE = "image.tar"
METADATA_FILE = "gpurent.json"
METADATA_MAX = 64 * 1024
_BLOCK = 1 << 20


class Transfer(Protocol):
    """Where progress goes: one phase at a time (export, upload, download, load)."""

    def begin(self, label: str, total: int | None) -> None: ...

    def advance(self, done: int) -> None: ...

    def end(self) -> None: ...


class NoProgress:
    def begin(self, label: str, total: int | None) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass(frozen=True)
class ImageMetadata:
    """The ``gpurent.json`` beside every pushed image."""

    name: str | None
    tag: str | None
    size: int
    digest: str  # sha256:<hex> of image.tar
    image_id: str | None  # sha256:<hex> of the image config, as the engine reports it
    uploader: str | None
    created: str  # ISO 8601, UTC
    schema: str = field(default=SCHEMA)
    network: bool = False  # the job asks for network access (providers may refuse)

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.tag}" if self.name else (self.image_id or "?")

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=1).encode()

    @classmethod
    def from_bytes(cls, data: bytes, cid: str) -> ImageMetadata:
        try:
            doc = json.loads(data)
            if doc.get("schema") != SCHEMA:
                raise ValueError(doc.get("schema"))
            meta = cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})
            if not (isinstance(meta.size, int) and meta.size >= 0 and str(meta.digest).startswith("sha256:")):
                raise ValueError("size/digest")
        except (ValueError, TypeError, AttributeError) as err:
            raise NotAGpurentImage(f"{cid} is not an image pushed by gpurent (its {METADATA_FILE} is not valid)") from err
        return meta


@dataclass(frozen=True)
class PushedImage:
    cid: str
    metadata: ImageMetadata


@dataclass(frozen=True)
class PulledImage:
    cid: str
    metadata: ImageMetadata
    image_id: str


def validate_cid(text: str) -> str:
    """The CID itself, or InvalidInput with a message that says what is wrong."""
    from cid import is_cid

    value = str(text).strip().removeprefix("/ipfs/").removeprefix("ipfs://")
    if not value or not is_cid(value):
        raise InvalidInput(f"{text!r} is not a CID (expected e.g. bafy… or Qm…)")
    return value


def _fits_in_ram(size: int) -> bool:
    """Whether ``size`` bytes can sit in /dev/shm without crowding memory (≤ 1/4 of it free)."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        return False
    try:
        with open("/proc/meminfo") as meminfo:
            available = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
        return size * 4 <= min(available, shutil.disk_usage(shm).free)
    except (OSError, StopIteration, ValueError):
        return False


def _sweep(folder: Path, max_age_s: float = 3600.0) -> None:
    """Removes staging files a killed pull left behind (they may sit in RAM)."""
    cutoff = time.time() - max_age_s
    for stale in folder.glob("pull-*.tar"):
        try:
            if stale.stat().st_mtime < cutoff:
                stale.unlink()
        except FileNotFoundError:
            pass


def _utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _split_reference(ref: str) -> tuple[str, str]:
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    return name.removeprefix("localhost/"), tag


class ImageStore:
    """Push and pull images through one Kubo node; ``engine`` is a docker.DockerClient factory."""

    def __init__(self, ipfs: KuboClient, engine: Callable[[], Any] | None = None,
                 max_bytes: int | None = None, workdir: Path | None = None):
        self.ipfs = ipfs
        self._engine_factory = engine
        self._engine: Any = None
        self.max_bytes = max_bytes if max_bytes is not None else load_settings().max_image_bytes
        self.workdir = workdir

    def staging_dir(self, size: int) -> Path:
        """Where a pulled archive waits for verification: ``workdir`` if given; else RAM
        (/dev/shm) when the image is small next to the memory free, else the state folder."""
        if self.workdir is not None:
            folder = self.workdir
        elif _fits_in_ram(size):
            folder = Path("/dev/shm") / f"gpurent-{os.getuid()}"
        else:
            folder = state_home() / "images" / "tmp"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _sweep(folder)
        return folder

    @property
    def engine(self) -> Any:
        if self._engine is None:
            if self._engine_factory is None:
                from gpurent.local.engine import engine_client

                self._engine_factory = engine_client
            self._engine = self._engine_factory()
        return self._engine

    def check_size(self, size: int, what: str) -> None:
        if size > self.max_bytes:
            raise ImageTooLarge(f"{what} is {format_size(size)}, over the {format_size(self.max_bytes)} limit "
                                "(raise it with GPURENT_MAX_IMAGE_SIZE)")

    # -- push ----------------------------------------------------------------------------
    def push_archive(self, path: Path, uploader: str | None = None,
                     transfer: Transfer | None = None, network: bool = False) -> PushedImage:
        """Pushes a docker-archive tar file."""
        path = Path(path)
        if not path.is_file():
            raise InvalidInput(f"{path} is not a file")
        size = path.stat().st_size
        self.check_size(size, str(path))
        info = read_archive(path)

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as handle:
                while block := handle.read(_BLOCK):
                    yield block

        return self._push(chunks(), size, info.name, info.tag, info.image_id, uploader, transfer or NoProgress(),
                          label="upload", network=network)

    def push_local(self, reference: str, uploader: str | None = None,
                   transfer: Transfer | None = None, network: bool = False) -> PushedImage:
        """Exports an image the engine holds (``docker save``) straight into IPFS."""
        from docker.errors import ImageNotFound

        try:
            image = self.engine.images.get(reference)
        except ImageNotFound:
            raise InvalidInput(f"no image {reference!r} in the container engine "
                               "(pass a docker-archive .tar path, or load/build the image first)") from None
        estimate = int(image.attrs.get("Size") or 0)
        self.check_size(estimate, reference)
        name, tag = _split_reference(reference) if not reference.startswith("sha256:") else (None, None)
        # the export streams straight into the upload: one pass, one bar
        return self._push(image.save(chunk_size=_BLOCK, named=True), None, name, tag, str(image.id), uploader,
                          transfer or NoProgress(), label="export→upload", estimate=estimate, network=network)

    def _push(self, chunks: Iterator[bytes], size: int | None, name: str | None, tag: str | None,
              image_id: str | None, uploader: str | None, transfer: Transfer, label: str,
              estimate: int | None = None, network: bool = False) -> PushedImage:
        sha = hashlib.sha256()
        seen = 0
        metadata: list[ImageMetadata] = []

        def image_bytes() -> Iterator[bytes]:
            nonlocal seen
            for block in chunks:
                seen += len(block)
                if seen > self.max_bytes:
                    self.check_size(seen, name or "the image")
                sha.update(block)
                yield block
                transfer.advance(len(block))

        def metadata_bytes() -> bytes:
            metadata.append(ImageMetadata(name=name, tag=tag, size=seen, digest=f"sha256:{sha.hexdigest()}",
                                          image_id=image_id, uploader=uploader, created=_utc_now(),
                                          network=network))
            return metadata[0].to_bytes()

        transfer.begin(label, size or estimate)
        try:
            entries = self.ipfs.add([UploadPart(IMAGE_FILE, image_bytes()), UploadPart(METADATA_FILE, metadata_bytes)])
        finally:
            transfer.end()
        root = entries[-1]
        if root.name != "" or not metadata:
            raise ImageError("IPFS did not return the image's directory")
        return PushedImage(cid=root.cid, metadata=metadata[0])

    # -- read ----------------------------------------------------------------------------
    def metadata(self, cid: str, timeout_s: float | None = 60.0) -> ImageMetadata:
        """The image's metadata; NotAGpurentImage if the CID holds something else."""
        cid = validate_cid(cid)
        try:
            data = self.ipfs.cat_bytes(f"{cid}/{METADATA_FILE}", length=METADATA_MAX, timeout=timeout_s)
        except ImageError as err:
            if "deadline exceeded" in str(err):
                raise ImageError(f"{cid} was not found within {timeout_s:.0f} s: no connected IPFS peer holds it") from err
            # the CID resolves but holds no readable gpurent.json: say what it is instead
            if self.ipfs.stat(cid, timeout=timeout_s).get("Type") != "directory":
                raise NotAGpurentImage(f"{cid} is not an image pushed by gpurent (it is a single file)") from err
            if METADATA_FILE not in self.ipfs.ls(cid, timeout=timeout_s):
                raise NotAGpurentImage(f"{cid} is not an image pushed by gpurent (no {METADATA_FILE})") from err
            raise
        return ImageMetadata.from_bytes(data, cid)

    def fetch(self, cid: str, metadata: ImageMetadata, dest: Path, transfer: Transfer | None = None,
              timeout_s: float = 120.0) -> None:
        """Writes image.tar to ``dest`` and checks it against the metadata (IntegrityError if not).

        Whose fault a failure is: the file's size is read from its DAG first (content-addressed,
        the same from every node), so metadata that misstates it is refused before any transfer
        (IntegrityError), and a stream that then ends short, like one reset or stalled, is judged
        by :meth:`~gpurent.images.kubo.KuboClient.broke_off`: the node's (ServiceUnavailable,
        asked again) when it does not answer, the content's (ImageError) when it does. A digest
        that differs is the image's."""
        transfer = transfer or NoProgress()
        listed = self.ipfs.stat(f"{cid}/{IMAGE_FILE}", timeout=timeout_s).get("Size")
        if listed != metadata.size:
            raise IntegrityError(f"image {cid} failed verification: its {IMAGE_FILE} is {listed} bytes, "
                                 f"its metadata says {metadata.size}")
        sha, size = hashlib.sha256(), 0
        transfer.begin("download", metadata.size)
        try:
            with dest.open("wb") as out:
                for block in self.ipfs.read(f"{cid}/{IMAGE_FILE}", timeout=timeout_s):
                    size += len(block)
                    if size > metadata.size:
                        break
                    sha.update(block)
                    out.write(block)
                    transfer.advance(len(block))
        finally:
            transfer.end()
        if size < metadata.size:  # the node broke off, or it is up and no peer holds the rest
            self.ipfs.broke_off(ServiceUnavailable(f"the IPFS node stopped sending image {cid} after {size:,} of "
                                                   f"{metadata.size:,} bytes"))
        digest = f"sha256:{sha.hexdigest()}"
        if size != metadata.size or digest != metadata.digest:
            raise IntegrityError(f"image {cid} failed verification: got {size} bytes with digest {digest[:19]}…, "
                                 f"its metadata says {metadata.size} bytes, {metadata.digest[:19]}…")

    def load(self, archive: Path, metadata: ImageMetadata, transfer: Transfer | None = None) -> str:
        """``docker load`` of a verified archive, by id: its tags are stripped first (a renter's
        archive never names, so never moves, a tag in this engine), and an archive whose image is
        not the one the metadata promised is refused before it reaches the engine, as is one whose
        volumes could not be covered (:func:`image_volumes`). Anything a load leaves that fails
        verification is removed. Returns the engine's image id."""
        info = strip_tags(archive)
        if metadata.image_id and info.image_id != metadata.image_id:
            raise IntegrityError(f"the archive holds image {info.image_id[:19]}…, the metadata names "
                                 f"{metadata.image_id[:19]}…")
        before = {str(image.id) for image in self.engine.images.list(all=True)}
        transfer = transfer or NoProgress()
        transfer.begin("load", None)
        try:
            with archive.open("rb") as handle:
                loaded = self.engine.images.load(handle)
        except (requests.ConnectionError, requests.Timeout) as err:  # the engine, not the archive
            raise ServiceUnavailable(f"the container engine did not answer while loading the image: {err}"
                                     .splitlines()[0]) from err
        except Exception as err:  # docker raises APIError / ImageLoadError
            raise ImageError(f"the container engine could not load the image: {err}".splitlines()[0]) from err
        finally:
            transfer.end()
        stray = {str(image.id) for image in loaded} - before - {info.image_id}
        for image_id in stray:  # nothing but the verified image stays behind
            self._remove_image(image_id)
        if stray or not any(str(image.id) == info.image_id for image in loaded):
            raise IntegrityError(f"the engine did not load image {info.image_id[:19]}… from the archive")
        try:
            image_volumes(self.engine.images.get(info.image_id).attrs.get("Config"))
        except ImageError:
            self._remove_image(info.image_id)  # an image no container of ours could run
            raise
        return info.image_id

    def _remove_image(self, image_id: str) -> None:
        from docker.errors import APIError, ImageNotFound

        try:
            self.engine.images.remove(image_id, force=True)
        except (ImageNotFound, APIError):
            pass

    def pull(self, cid: str, transfer: Transfer | None = None, pin: bool = True,
             metadata: ImageMetadata | None = None) -> PulledImage:
        """Fetch, verify, ``docker load``, then pin (so this node keeps serving it)."""
        cid = validate_cid(cid)
        metadata = metadata or self.metadata(cid)
        self.check_size(metadata.size, f"image {cid}")
        fd, name = tempfile.mkstemp(prefix="pull-", suffix=".tar", dir=self.staging_dir(metadata.size))
        os.close(fd)
        archive = Path(name)
        try:
            self.fetch(cid, metadata, archive, transfer)
            image_id = self.load(archive, metadata, transfer)
        finally:
            archive.unlink(missing_ok=True)
        if pin and not self.ipfs.is_pinned(cid):
            self.ipfs.pin_add(cid)
        return PulledImage(cid=cid, metadata=metadata, image_id=image_id)

    # -- manage --------------------------------------------------------------------------
    def list(self) -> list[PushedImage]:
        """The gpurent images this node keeps (pinned), newest first."""
        images = []
        for cid in self.ipfs.pins():
            try:
                images.append(PushedImage(cid, self.metadata(cid, timeout_s=10)))
            except (NotAGpurentImage, ImageError):
                continue  # someone else's pin
        return sorted(images, key=lambda i: i.metadata.created, reverse=True)

    def inspect(self, cid: str) -> dict[str, Any]:
        """Metadata plus what this node and engine hold of it."""
        cid = validate_cid(cid)
        metadata = self.metadata(cid)
        stat = self.ipfs.stat(cid)
        return {"cid": cid, **asdict(metadata), "pinned": self.ipfs.is_pinned(cid),
                "local_bytes": int(stat.get("SizeLocal", 0)), "total_bytes": int(stat.get("CumulativeSize", 0))}

    def remove(self, cid: str) -> None:
        """Unpins the image (its blocks go at the node's next garbage collection)."""
        cid = validate_cid(cid)
        if not self.ipfs.is_pinned(cid):
            raise InvalidInput(f"{cid} is not pinned on this node")
        self.ipfs.pin_rm(cid)
