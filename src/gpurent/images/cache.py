"""The provider's image cache: images by CID, ready in the engine, kept within a quota.

``ensure`` is the agent's one call before a job starts. The fast path is an image this node
has pinned and the engine still holds (no transfer at all); an image pinned but gone from the
engine is re-read from the local node, verified and loaded; anything else is fetched from peers
over bitswap, verified against its metadata, loaded, then pinned.

``prewarm`` pins the images this provider's own paid jobs used most (on-chain ``JobCreated``
on its GPUs with a ``FundsReleased`` to it: never a CID someone only named in a job) the node
lacks; ``cleanup`` unpins images unused for ``unused_days`` and then the least recently
used until the cache fits its quota, never an image a running job holds (``acquire`` /
``release``). ``CacheMaintainer.tick`` runs both on their schedule, on the agent's maintenance
thread (never its main loop: pre-warming reads metadata of CIDs that may exist nowhere).

The cache's own records live in SQLite (``<state home>/images/cache.db``), written in one
transaction per change, so a killed agent leaves them consistent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from gpurent.errors import ImageError, ImageTooLarge
from gpurent.images.store import ImageMetadata, ImageStore, Transfer
from gpurent.settings import Settings, load_settings, state_home
from gpurent.sqlite import SqliteStore
from gpurent.wire.images import ABSENT, READY, STORED

DAY = 86_400.0

# what jobs hold, in every LeasedStore (the image cache's and the input cache's databases)
LEASES_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    cid    TEXT NOT NULL,
    job_id TEXT NOT NULL,
    since  REAL NOT NULL,
    PRIMARY KEY (cid, job_id)
);
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    cid        TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    digest     TEXT NOT NULL,
    image_id   TEXT,            -- set once loaded into the engine
    reference  TEXT NOT NULL,
    added_at   REAL NOT NULL,
    last_used  REAL NOT NULL,
    source     TEXT NOT NULL    -- pulled | prewarmed
);
""" + LEASES_SCHEMA


@dataclass(frozen=True)
class CachedImage:
    cid: str
    image_id: str
    metadata: ImageMetadata
    source: str  # "cache": pinned and loaded; "local": re-loaded from the pin; "peers": fetched


@dataclass(frozen=True)
class CacheEntry:
    cid: str
    size: int
    reference: str
    image_id: str | None
    last_used: float
    in_use: bool


class LeasedStore(SqliteStore):
    """Entries by CID in ``ITEMS`` (a table with ``cid`` and ``last_used``) that jobs lease in
    ``leases`` (cid, job_id, since): clean-up never removes a leased entry. Shared by the image
    cache and the input cache (:mod:`gpurent.agent.inputs`)."""

    ITEMS = "images"
    clock: Callable[[], float]

    def _touch(self, cid: str) -> None:
        with self._lock:
            self._db.execute(f"UPDATE {self.ITEMS} SET last_used = ? WHERE cid = ?", (self.clock(), cid))

    # -- leases: what running jobs use ---------------------------------------------------
    def acquire(self, cid: str, job_id: str) -> None:
        """Marks ``cid`` in use by ``job_id`` (clean-up never removes it until released)."""
        with self.tx():
            self._db.execute("INSERT OR IGNORE INTO leases (cid, job_id, since) VALUES (?, ?, ?)",
                             (cid, job_id, self.clock()))
            self._touch(cid)

    def release(self, cid: str, job_id: str) -> None:
        with self.tx():
            self._db.execute("DELETE FROM leases WHERE cid = ? AND job_id = ?", (cid, job_id))
            self._touch(cid)

    def leases(self) -> list[tuple[str, str]]:
        """(CID, job id) of every entry a job holds."""
        return [(str(cid), str(job)) for cid, job in self.query("SELECT cid, job_id FROM leases ORDER BY since")]

    def lru_victims(self, quota_bytes: int, unused_s: float) -> list[tuple[str, int]]:
        """(CID, size) to remove, least recently used first: every unleased entry unused for
        ``unused_s``, then unleased ones until the rest fits ``quota_bytes``."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT i.cid, i.size, i.last_used, EXISTS(SELECT 1 FROM leases l WHERE l.cid = i.cid) "
                f"FROM {self.ITEMS} i ORDER BY i.last_used").fetchall()
        total, now, victims = sum(int(r[1]) for r in rows), self.clock(), []
        for cid, size, last_used, leased in rows:
            if leased or (now - last_used <= unused_s and total <= quota_bytes):
                continue
            victims.append((str(cid), int(size)))
            total -= int(size)
        return victims


class ImageCache(LeasedStore):
    def __init__(self, store: ImageStore, db_path: Path | None = None, settings: Settings | None = None,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.settings = settings or load_settings()
        self.clock = clock
        # one connection, shared by the job workers' threads
        super().__init__(db_path or state_home() / "images" / "cache.db", _SCHEMA, durable=False)
        self._cid_locks: dict[str, threading.Lock] = {}
        self.on_ensure: Callable[[bool], None] | None = None  # told of each image asked for: hit or not (metrics)

    # -- the fast path -------------------------------------------------------------------
    def ensure(self, cid: str, transfer: Transfer | None = None, job_id: str | None = None,
               fetch_timeout_s: float = 120.0) -> CachedImage:
        """The image ready in the engine; fetched, verified and pinned if need be. With ``job_id``
        the image is leased to that job first, so no clean-up can remove it meanwhile."""
        if job_id is not None:
            self.acquire(cid, job_id)
        with self._lock:
            cid_lock = self._cid_locks.setdefault(cid, threading.Lock())
        try:
            with cid_lock:  # two jobs on one image: the second waits, then takes the fast path
                return self._ensure(cid, transfer, fetch_timeout_s)
        except BaseException:
            if job_id is not None:
                self.release(cid, job_id)
            raise

    def _ensure(self, cid: str, transfer: Transfer | None, fetch_timeout_s: float) -> CachedImage:
        with self._lock:
            row = self._db.execute("SELECT image_id FROM images WHERE cid = ?", (cid,)).fetchone()
        metadata = self.store.metadata(cid, timeout_s=fetch_timeout_s)
        pinned = self.store.ipfs.is_pinned(cid)
        if row and row[0] and pinned and self._engine_has(row[0]):
            self._touch(cid)
            if self.on_ensure is not None:
                self.on_ensure(True)
            return CachedImage(cid, row[0], metadata, "cache")
        if self.on_ensure is not None:
            self.on_ensure(False)
        pulled = self.store.pull(cid, transfer, pin=True, metadata=metadata)
        now = self.clock()
        with self.tx():
            self._db.execute(
                "INSERT INTO images (cid, size, digest, image_id, reference, added_at, last_used, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'pulled') ON CONFLICT(cid) DO UPDATE SET "
                "image_id = excluded.image_id, last_used = excluded.last_used",
                (cid, metadata.size, metadata.digest, pulled.image_id, metadata.reference, now, now))
        return CachedImage(cid, pulled.image_id, metadata, "local" if pinned else "peers")

    def _engine_has(self, image_id: str) -> bool:
        from docker.errors import NotFound

        try:
            self.store.engine.images.get(image_id)
        except NotFound:
            return False
        return True

    # -- what is cached ------------------------------------------------------------------
    def entries(self) -> list[CacheEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT i.cid, i.size, i.reference, i.image_id, i.last_used, "
                "EXISTS(SELECT 1 FROM leases l WHERE l.cid = i.cid) FROM images i ORDER BY i.last_used").fetchall()
        return [CacheEntry(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def state(self, cid: str) -> str:
        """Where ``cid`` stands here, for a renter choosing a GPU: ``ready`` when a job on it
        starts with no transfer and no load (:meth:`ensure`'s fast path: pinned here and held by
        the engine), ``stored`` when it is pinned here but must be loaded into the engine first
        (no download; a pre-warmed image), ``absent`` otherwise (the cache's own record decides: a
        CID this node only happens to hold for someone else is absent). ImageError when the node
        does not answer."""
        with self._lock:
            row = self._db.execute("SELECT image_id FROM images WHERE cid = ?", (cid,)).fetchone()
        if row is None or not self.store.ipfs.is_pinned(cid):
            return ABSENT
        return READY if row[0] and self._engine_has(row[0]) else STORED

    def total_bytes(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM images").fetchone()[0])

    # -- pre-warming ---------------------------------------------------------------------
    def prewarm(self, popular: Iterable[str], top: int | None = None, fetch_timeout_s: float = 120.0) -> list[str]:
        """Pins the ``top`` most popular CIDs this node lacks (within the size limit and the quota);
        returns those it pinned. CIDs that are not gpurent images or cannot be found are skipped."""
        top = self.settings.prewarm_top if top is None else top
        with self._lock:
            cached = {row[0] for row in self._db.execute("SELECT cid FROM images")}
        pinned: list[str] = []
        for cid in list(popular)[:top]:
            if cid in cached:
                continue
            try:
                metadata = self.store.metadata(cid, timeout_s=fetch_timeout_s)
                self.store.check_size(metadata.size, f"image {cid}")
                if self.total_bytes() + metadata.size > self.settings.cache_quota_bytes:
                    continue
                self.store.ipfs.pin_add(cid, timeout=fetch_timeout_s)
            except (ImageError, ImageTooLarge, ValueError):
                continue  # a popular CID that is not a usable image is not this node's problem
            now = self.clock()
            with self.tx():
                self._db.execute(
                    "INSERT OR IGNORE INTO images (cid, size, digest, image_id, reference, added_at, last_used, "
                    "source) VALUES (?, ?, ?, NULL, ?, ?, ?, 'prewarmed')",
                    (cid, metadata.size, metadata.digest, metadata.reference, now, now))
            pinned.append(cid)
        return pinned

    # -- clean-up ------------------------------------------------------------------------
    def cleanup(self, gc: bool = True) -> list[str]:
        """Unpins stale images, then the least recently used until under quota; returns the CIDs
        removed. Images leased by running jobs are never touched."""
        entries = {e.cid: e for e in self.entries()}
        removed: list[str] = []
        for cid, _size in self.lru_victims(self.settings.cache_quota_bytes, self.settings.cache_unused_days * DAY):
            self._evict(entries[cid])
            removed.append(cid)
        if removed and gc:
            self.store.ipfs.repo_gc()
        return removed

    def _evict(self, entry: CacheEntry) -> None:
        with self.tx():
            self._db.execute("DELETE FROM images WHERE cid = ?", (entry.cid,))
        if self.store.ipfs.is_pinned(entry.cid):
            self.store.ipfs.pin_rm(entry.cid)
        if entry.image_id:
            from docker.errors import APIError, NotFound

            try:
                self.store.engine.images.remove(entry.image_id, force=False)
            except (NotFound, APIError):
                pass  # gone already, or a container still refers to it


class CacheMaintainer:
    """Runs pre-warming every ``prewarm_minutes`` and clean-up with it (the agent calls ``tick``
    from its maintenance thread)."""

    def __init__(self, cache: ImageCache, popular: Callable[[int], list[str]]):
        self.cache = cache
        self.popular = popular
        self._last: float | None = None

    def tick(self) -> tuple[list[str], list[str]] | None:
        """Does the periodic work if it is due; returns (pinned, removed), or None if not due."""
        now = self.cache.clock()
        if self._last is not None and now - self._last < self.cache.settings.prewarm_minutes * 60:
            return None
        self._last = now
        top = self.cache.settings.prewarm_top
        pinned = self.cache.prewarm(self.popular(top), top)
        return pinned, self.cache.cleanup()


def chain_popularity(client: object, provider: str | None = None) -> Callable[[int], list[str]]:
    """Popularity from the chain, for pre-warming: ``client`` is a connected ``gpurent.Gpurent``.
    Only jobs on ``provider``'s own GPUs (default: the client's account) that paid it count;
    anyone can create (and cancel) jobs naming any CID on some 1-wei GPU for the price of gas."""

    def popular(top: int) -> list[str]:
        ranking = client.paid_image_popularity(provider, top=top)  # type: ignore[attr-defined]
        return [cid for cid, _count in ranking]

    return popular
