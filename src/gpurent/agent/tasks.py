"""The agent's per-job work, off its main loop: at most one task in flight per key, on a
bounded set of threads.

The main loop only decides (what is due for which job) and hands the work here, so a slow
step of one job (sealing a log, removing a container, a pull, a transaction) never holds up
the loop or another job's cap. Each key (a job id) has at most one task in flight: a job's
steps stay in order, and a loop round that finds its job still busy simply skips it. Every
open job holds a GPU of its own, so with at least as many threads as GPUs no job's task waits
behind another job's.

Threads are daemons, started on demand up to ``size``: a task stuck on an unreachable node
never keeps the process from exiting.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("gpurent.provider")


class Tasks:
    """Runs ``submit``-ted callables on at most ``size`` daemon threads, one per key at a time."""

    def __init__(self, size: int, name: str):
        if size < 1:
            raise ValueError(f"a task pool needs at least one thread, got {size}")
        self.size, self.name = size, name
        self._queue: queue.SimpleQueue[tuple[str, Callable[[], None]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def busy(self, key: str) -> bool:
        """Whether a task for ``key`` is queued or running."""
        with self._lock:
            return key in self._busy

    def submit(self, key: str, task: Callable[[], None]) -> bool:
        """Queues ``task`` unless one for ``key`` is in flight (or the pool is closed); True if queued."""
        with self._lock:
            if self._closed or key in self._busy:
                return False
            self._busy.add(key)
            if self._idle:
                self._idle -= 1  # a waiting thread takes it
            elif len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
        self._queue.put((key, task))
        return True

    def close(self) -> None:
        """Takes no more tasks; idle threads end, running tasks finish on their own."""
        with self._lock:
            self._closed = True
            count = len(self._threads)
        for _ in range(count):
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            key, task = item
            try:
                task()
            except Exception as err:  # noqa: BLE001 - one job's failure must not end the thread
                log.exception("%s task for %s failed: %s", self.name, key, err)
            finally:
                with self._lock:
                    self._busy.discard(key)
                    self._idle += 1
