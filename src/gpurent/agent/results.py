"""The provider's results: a job's output folder packed, added to this node, kept pinned.

``pack`` runs :func:`gpurent.workload.results.pack_outputs` (result.json, manifest and payload;
sealed to the definition's ``result_key`` when it names one; files past ``output_max_mb`` listed
as dropped, never silently lost) into a folder beside the agent's database, adds the three files
to the provider's Kubo node as one directory (pinned), and records the CID with the time it may
be unpinned: ``result_retention_s`` after the job ended. ``expire`` (the maintenance thread)
unpins the results past it. The packed folder on the host is removed once the node has it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gpurent.images.kubo import KuboClient, UploadPart
from gpurent.sqlite import SqliteStore
from gpurent.workload.results import pack_outputs
from gpurent.workload.seal import public_key
from gpurent.workload.spec import JobSpec

PARTS = ("result.json", "manifest", "payload")
_CHUNK = 1 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    job_id     TEXT PRIMARY KEY,
    cid        TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    packed_at  REAL NOT NULL,
    keep_until REAL NOT NULL,
    unpinned   INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class StoredResult:
    cid: str
    payload_bytes: int
    file_count: int
    truncated: bool


def _chunks(path: Path) -> Callable[[], object]:
    def read() -> object:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
    return read


class ResultStore(SqliteStore):
    def __init__(self, ipfs: KuboClient, db_path: Path, retention_s: float, clock: Callable[[], float] = time.time):
        super().__init__(db_path, _SCHEMA)
        self.ipfs, self.retention_s, self.clock = ipfs, retention_s, clock
        self.workdir = db_path.parent / "packing"

    def pack(self, job_id: str, output: Path, spec: JobSpec, cap_bytes: int, exit_code: int | None) -> StoredResult:
        self.workdir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{job_id[:12]}-", dir=self.workdir))
        try:
            output.mkdir(parents=True, exist_ok=True)  # a job that wrote nothing still delivers a (empty) result
            packed = pack_outputs(output, folder, job_id=job_id, cap_bytes=cap_bytes,
                                  result_key=public_key(spec.result_key) if spec.result_key else None,
                                  exit_code=exit_code)
            parts = [UploadPart(name, _chunks(folder / name)()) for name in PARTS]  # type: ignore[arg-type]
            cid = self.ipfs.add(parts, wrap=True, pin=True)[-1].cid
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        now = self.clock()
        with self.tx():
            self._db.execute("INSERT OR REPLACE INTO results (job_id, cid, bytes, packed_at, keep_until, unpinned) "
                             "VALUES (?, ?, ?, ?, ?, 0)", (job_id, cid, packed.payload_bytes, now,
                                                           now + self.retention_s))
        return StoredResult(cid, packed.payload_bytes, packed.file_count, packed.truncated)

    def expire(self) -> list[str]:
        """Unpins the results kept past their retention; returns their CIDs."""
        due = self.query("SELECT job_id, cid FROM results WHERE unpinned = 0 AND keep_until <= ?", (self.clock(),))
        for job_id, cid in due:
            if self.ipfs.is_pinned(str(cid)):
                self.ipfs.pin_rm(str(cid))
            with self.tx():
                self._db.execute("UPDATE results SET unpinned = 1 WHERE job_id = ?", (job_id,))
        return [str(cid) for _, cid in due]
