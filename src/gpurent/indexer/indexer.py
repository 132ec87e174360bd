"""The indexing loop: backfill from the deployment block, then follow the head.

Each round reads one range of blocks (``eth_getLogs`` for the four contracts; the range halves
when the node refuses it and grows back after successes), decodes the events, and applies them
with the cursor in **one database transaction**: killed at any moment, the index is either
before or after the range, never in between, and no event is applied twice (the events table's
unique key on transaction hash and log index would refuse it).

Reorgs: the hashes of the last ``window`` blocks are kept. Each round first checks that the
block under the cursor is still the chain's; if not, it rolls the tables back (through the undo
log) to the newest kept block the chain still has, and goes on from there. A reorg deeper than
the window stops the indexer with ReorgTooDeep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from gpurent.errors import GpurentError
from gpurent.indexer.events import DecodedEvent, EventDecoder
from gpurent.indexer import schema as s
from gpurent.indexer.project import Projector, rollback_to
from gpurent.logfmt import labels
from gpurent.manifest import Manifest
from gpurent.indexer.rpc import JsonRpc, RpcError
from gpurent.runner import MAX_FAILURES, run_rounds

log = logging.getLogger("gpurent.indexer")

RANGE_EVENTS = 4000  # events per range while backfilling (small enough to overlap reads and writes)


class ReorgTooDeep(GpurentError):
    """The chain moved back further than the indexer keeps block hashes for."""


@dataclass(frozen=True)
class Cursor:
    block: int
    hash: str


@dataclass
class Progress:
    head: int = 0
    cursor: int = 0
    events: int = 0
    reorgs: int = 0
    batch: int = 0


class Indexer:
    def __init__(self, rpc: JsonRpc, manifest: Manifest, engine: Engine, *, confirmations: int = 0,
                 window: int = 128, batch: int = 2000, max_batch: int = 50_000,
                 on_commit: Callable[[list[DecodedEvent]], None] | None = None):
        self.rpc, self.manifest, self.engine = rpc, manifest, engine
        self.confirmations, self.window = confirmations, window
        self.batch, self.max_batch = batch, max_batch
        self.decoder = EventDecoder(manifest.contracts)
        self.on_commit = on_commit
        self.progress = Progress(batch=batch)
        self._stop = threading.Event()

    # -- cursor ---------------------------------------------------------------------------
    def cursor(self) -> Cursor:
        with self.engine.connect() as db:
            row = db.execute(select(s.cursor).where(s.cursor.c.id == 1)).mappings().first()
        if row is not None:
            if row["chain_id"] != self.manifest.chain_id or row["deployment_block"] != self.manifest.block:
                raise GpurentError(f"this database indexes another deployment (chain {row['chain_id']}, block "
                                   f"{row['deployment_block']}): use another --db, or start it afresh")
            return Cursor(int(row["block_number"]), str(row["block_hash"]))
        start = max(self.manifest.block - 1, 0)
        block_hash, _ = self.rpc.headers([start])[start]
        with self.engine.begin() as db:
            db.execute(insert(s.cursor).values(id=1, block_number=start, block_hash=block_hash,
                                               chain_id=self.manifest.chain_id, deployment_block=self.manifest.block))
        return Cursor(start, block_hash)

    # -- the loop -------------------------------------------------------------------------
    def run(self, poll_s: float = 0.5, max_failures: int = MAX_FAILURES) -> None:
        """Syncs up to the head (pipelined when far behind), then waits for more, until ``stop``."""
        run_rounds(self.sync, self._stop, poll_s, log, "indexer", max_failures=max_failures,
                   block=lambda: self.progress.cursor, fatal=(ReorgTooDeep,))

    def stop(self) -> None:
        self._stop.set()

    def sync(self) -> int:
        """Indexes up to the current head (minus confirmations); returns the events applied.

        Backfill is pipelined: while one range is written, the next is read and decoded on a
        second thread (the node's and the database's work overlap), and ranges are sized to
        about ``RANGE_EVENTS`` events. The last rounds go through ``step`` (reorg checks).
        """
        from concurrent.futures import ThreadPoolExecutor

        total = 0
        cursor = self.check_reorg(self.cursor())
        target = self.rpc.head() - self.confirmations
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-read") as pool:
            start = cursor.block + 1
            pending = pool.submit(self._read, start, min(target, start + self.batch - 1)) if start <= target else None
            while pending is not None:
                try:
                    start, stop, events, headers = pending.result()
                except RpcError:
                    break  # let step() shrink the range
                following = None
                if stop < target and events is not None:
                    if events:  # aim the next range at RANGE_EVENTS events
                        per_block = max(1.0, len(events) / (stop - start + 1))
                        self.batch = max(1, min(self.max_batch, int(RANGE_EVENTS / per_block)))
                    following = pool.submit(self._read, stop + 1, min(target, stop + self.batch))
                if events is None:  # the chain changed under the read
                    break
                if self.cursor().block != start - 1:
                    break
                self._write(stop, events, headers, self.rpc.head() - self.window)
                total += len(events)
                pending = following
            if pending is not None:
                pending.cancel()
        while (applied := self.step()) != 0:
            total += max(applied, 0)
        return total

    def _read(self, start: int, stop: int) -> tuple[int, int, list[DecodedEvent] | None, dict[int, tuple[str, int]]]:
        """The range's events in order and the headers it needs (None: the chain moved)."""
        raw = self.rpc.logs(self.decoder.addresses, start, stop)
        events = [e for e in map(self.decoder.decode, raw) if e is not None]
        events.sort(key=lambda e: (e.block_number, e.log_index))
        headers = self.rpc.headers(sorted({e.block_number for e in events} | {stop}))
        if any(headers[e.block_number][0] != e.block_hash for e in events):
            log.info("the chain changed under a read of blocks %d-%d; reading again", start, stop,
                     extra=labels(block=start))
            return start, stop, None, headers
        return start, stop, events, headers

    def step(self) -> int:
        """One round: events applied (-1: a range without events was passed; 0: nothing to do)."""
        cursor = self.check_reorg(self.cursor())
        head = self.rpc.head()
        self.progress.head = head
        target = head - self.confirmations
        if cursor.block >= target:
            self.progress.cursor = cursor.block
            return 0
        stop = min(target, cursor.block + self.batch)
        try:
            _, _, events, headers = self._read(cursor.block + 1, stop)
        except RpcError as err:
            if self.batch == 1:
                raise
            self.batch = max(1, self.batch // 2)  # the node's range or result limit: ask for less
            log.info("node refused %d blocks (%s); batch now %d", stop - cursor.block, err, self.batch,
                     extra=labels(block=cursor.block + 1))
            return -1
        if events is None:
            return -1
        self._write(stop, events, headers, head - self.window)
        self.batch = min(self.max_batch, self.batch * 2)
        self.progress.batch = self.batch
        return len(events) or -1

    def _write(self, stop: int, events: list[DecodedEvent], headers: dict[int, tuple[str, int]],
               keep_from: int) -> None:
        """Applies one range and moves the cursor, in one transaction."""
        with self.engine.begin() as db:
            projector = Projector(db, undo_from=keep_from)
            projector.prefetch(events)
            for event in events:
                projector.apply(event, headers[event.block_number][1])
            if projector.dirty:
                projector.block = stop  # scores as of the range's last block
                projector.set_scores(self.scores(sorted(projector.dirty), stop))
            projector.flush()
            kept = [{"number": n, "hash": h, "timestamp": t} for n, (h, t) in headers.items() if n >= keep_from]
            if kept:
                db.execute(insert(s.blocks), kept)
            db.execute(update(s.cursor).where(s.cursor.c.id == 1).values(block_number=stop,
                                                                         block_hash=headers[stop][0]))
            db.execute(delete(s.undo).where(s.undo.c.block_number < keep_from))
            db.execute(delete(s.blocks).where(s.blocks.c.number < keep_from))
        if events:
            log.info("%d event(s) applied, up to block %d", len(events), stop, extra=labels(block=stop))
        self.progress.cursor = stop
        self.progress.events += len(events)
        if self.on_commit is not None and events:
            self.on_commit(events)

    def scores(self, providers: list[str], block: int) -> dict[str, int]:
        """The providers' reputation scores at ``block`` (one batched eth_call)."""
        from eth_utils import keccak

        selector = bytes(keccak(text="getScore(address)"))[:4]
        datas = [selector + bytes(12) + bytes.fromhex(p.removeprefix("0x")) for p in providers]
        answers = self.rpc.calls(self.manifest.contracts["ReputationSystem"], datas, block)
        return {p: int.from_bytes(a[-32:], "big") for p, a in zip(providers, answers, strict=True)}

    def check_reorg(self, cursor: Cursor) -> Cursor:
        """The cursor, moved back to the newest block the chain still has if it reorganised."""
        try:
            current, _ = self.rpc.headers([cursor.block])[cursor.block]
        except RpcError:
            current = ""  # the block is gone: the chain is shorter now
        if current == cursor.hash:
            return cursor
        with self.engine.connect() as db:
            kept = db.execute(select(s.blocks.c.number, s.blocks.c.hash).where(s.blocks.c.number < cursor.block)
                              .order_by(s.blocks.c.number.desc())).all()
        head = self.rpc.head()
        chain = self.rpc.headers([n for n, _ in kept if n <= head]) if kept else {}
        ancestor = next((n for n, h in kept if n in chain and chain[n][0] == h), None)
        if ancestor is None:
            raise ReorgTooDeep(f"the chain reorganised below block {cursor.block} deeper than the {self.window}-block "
                               "window this index keeps: start the index afresh")
        with self.engine.begin() as db:
            undone = rollback_to(db, ancestor)
            db.execute(update(s.cursor).where(s.cursor.c.id == 1).values(block_number=ancestor,
                                                                         block_hash=chain[ancestor][0]))
        self.progress.reorgs += 1
        log.warning("reorg: rolled back from block %d to %d (%d changes undone)", cursor.block, ancestor, undone,
                    extra=labels(block=ancestor))
        return Cursor(ancestor, chain[ancestor][0])

