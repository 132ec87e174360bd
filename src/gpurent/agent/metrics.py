"""Live usage of the jobs running here: what the renter watches (``gpurent jobs top``) and the
summary that stays with the job (``gpurent jobs show``). The schema is
:mod:`gpurent.wire.metrics`'s.

For each running job a thread of its own (never the agent's loop nor a job thread) reads the
container every ``[metrics] interval`` seconds, one engine call each time (the engine's stats
API, ``one-shot``), and the job's GPU through NVML by its UUID (the agent's ``Slot.gpu_uuid``;
without NVIDIA hardware the sample says why there are no readings). A failed reading is a gap,
counted, never the end of sampling; sampling ends when the job leaves ``running``.

Bounds: a job keeps its last ``[metrics] keep`` samples in memory (a ring) and a running
summary of fixed size (peak and mean of each metric, counts, first and last time), whatever
the job does; the summaries of the last :data:`ENDED_KEPT` ended jobs stay in memory with
their rings. The summary is written to the agent's database every :data:`PERSIST_S` seconds
and when sampling ends, so it outlives the container and a restart (a re-attached job goes on
from it). The endpoint bounds the followed streams (``?follow=1``) per job and in all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from gpurent.agent.hardware import Gpu, read_gpu
from gpurent.agent.runtime import engine_time
from gpurent.agent.state import AgentState
from gpurent.logfmt import labels
from gpurent.types import AgentPhase
from gpurent.wire.metrics import (COUNTERS, CPU_PCT_MAX, GPU_NONE, GpuReading, MetricsAnswer, Sample, Stat,
                                  Summary)

log = logging.getLogger("gpurent.provider")

PERSIST_S = 10.0  # seconds between writes of a running job's summary to the database
ENDED_KEPT = 16  # ended jobs whose ring and summary stay in memory (older ones: the database's summary)
FOLLOW = {"0": False, "false": False, "1": True, "true": True}


class StatsSource(Protocol):
    def stats(self, container_id: str) -> dict[str, Any]: ...


# ---------------------------------------------------------------- one reading of the engine

@dataclass(frozen=True)
class Reading:
    """What one answer of the engine's stats API says of a container (counters since its start)."""

    at: float  # Unix time of the reading (the engine's, else the agent's clock)
    cpu_ns: int  # CPU time used by the container, nanoseconds
    mem_bytes: int
    mem_limit_bytes: int
    net_rx_bytes: int
    net_tx_bytes: int
    disk_read_bytes: int
    disk_write_bytes: int
    pids: int


def read_stats(stats: dict[str, Any], now: float | None = None) -> Reading:
    """The engine's stats answer (Docker's shape, which podman serves) as a :class:`Reading`;
    missing parts read as 0 (podman's ``blkio`` is often empty). ``precpu_stats`` is not used:
    podman leaves it zero, so CPU use comes from consecutive readings (:func:`cpu_percent`)."""
    cpu, memory = stats.get("cpu_stats") or {}, stats.get("memory_stats") or {}
    networks = (stats.get("networks") or {}).values()
    disk = {"read": 0, "write": 0}
    for entry in (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = str(entry.get("op", "")).lower()
        if op in disk:
            disk[op] += _count(entry.get("value"))
    return Reading(
        at=engine_time(stats.get("read")) or (time.time() if now is None else now),
        cpu_ns=_count((cpu.get("cpu_usage") or {}).get("total_usage")),
        mem_bytes=_count(memory.get("usage")), mem_limit_bytes=_count(memory.get("limit")),
        net_rx_bytes=sum(_count(n.get("rx_bytes")) for n in networks),
        net_tx_bytes=sum(_count(n.get("tx_bytes")) for n in networks),
        disk_read_bytes=disk["read"], disk_write_bytes=disk["write"],
        pids=_count((stats.get("pids_stats") or {}).get("current")))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63 else 0


def cpu_percent(previous: Reading | None, current: Reading) -> float | None:
    """CPU used between two readings in % of one core (``docker stats``' unit: 200 is two cores
    busy), from the CPU time the container used over the time between the readings; None with
    no previous reading, when no time passed, or when the counter went back (a new container)."""
    if previous is None:
        return None
    elapsed, used = current.at - previous.at, current.cpu_ns - previous.cpu_ns
    if elapsed <= 0 or used < 0:
        return None
    return round(min(CPU_PCT_MAX, 100.0 * used / (elapsed * 1e9)), 1)


def make_sample(reading: Reading, previous: Reading | None, gpu: GpuReading | None, gpu_reason: str | None) -> Sample:
    return Sample(t=round(reading.at, 3), cpu_pct=cpu_percent(previous, reading), mem_bytes=reading.mem_bytes,
                  mem_limit_bytes=reading.mem_limit_bytes, net_rx_bytes=reading.net_rx_bytes,
                  net_tx_bytes=reading.net_tx_bytes, disk_read_bytes=reading.disk_read_bytes,
                  disk_write_bytes=reading.disk_write_bytes, pids=reading.pids, gpu=gpu,
                  gpu_reason=None if gpu is not None else gpu_reason or GPU_NONE)


# ---------------------------------------------------------------- the GPU

class GpuReader:
    """The readings of a job's GPU through NVML, by its UUID; or why there are none."""

    def __init__(self, gpus: list[Gpu]):
        self.uuids = {g.uuid for g in gpus}

    def read(self, uuid: str | None) -> tuple[GpuReading | None, str | None]:
        if not self.uuids:
            return None, f"{GPU_NONE}: NVML sees no NVIDIA GPU on this provider"
        if uuid is None:
            return None, f"{GPU_NONE}: the job holds no NVIDIA GPU"
        try:
            found = read_gpu(uuid)
        except Exception as err:  # noqa: BLE001 - NVMLError_*: the GPU fell off the bus, the driver went…
            return None, f"{GPU_NONE}: NVML failed ({type(err).__name__})"
        return GpuReading(util_pct=float(found.util_pct), mem_used_bytes=found.mem_used_bytes,
                          mem_total_bytes=found.mem_total_bytes, temp_c=float(found.temp_c),
                          power_w=round(found.power_w, 1)), None


# ---------------------------------------------------------------- the summary

GAUGE_FIELDS = {"cpu_pct": "cpu_pct", "mem_bytes": "mem_bytes", "pids": "pids"}
GPU_FIELDS = {"gpu_util_pct": "util_pct", "gpu_mem_used_bytes": "mem_used_bytes", "gpu_temp_c": "temp_c",
              "gpu_power_w": "power_w"}


class Usage:
    """A job's running summary over all its samples, in constant space: per gauge its peak, sum
    and count; per counter its total, peak rate, and the bytes and seconds the rates cover."""

    def __init__(self, interval_s: float, state: dict[str, Any] | None = None):
        state = state or {}
        self.interval_s = interval_s
        self.samples, self.gaps = int(state.get("samples", 0)), int(state.get("gaps", 0))
        self.first_t: float | None = state.get("first_t")
        self.last_t: float | None = state.get("last_t")
        self.gpu_reason: str | None = state.get("gpu_reason")
        self.gauges: dict[str, list[float]] = {k: list(v) for k, v in (state.get("gauges") or {}).items()}
        self.counters: dict[str, list[float]] = {k: list(v) for k, v in (state.get("counters") or {}).items()}
        self._last: Sample | None = None  # not kept across a restart: the next rate starts from the next sample

    def add(self, sample: Sample) -> None:
        self.samples += 1
        self.first_t = sample["t"] if self.first_t is None else self.first_t
        self.last_t = sample["t"]
        self.gpu_reason = sample["gpu_reason"]
        values: dict[str, float | None] = {name: sample[key] for name, key in GAUGE_FIELDS.items()}  # type: ignore[literal-required]
        gpu = sample["gpu"]
        if gpu is not None:
            values.update({name: gpu[key] for name, key in GPU_FIELDS.items()})  # type: ignore[literal-required]
        for name, value in values.items():
            if value is not None:
                peak, total, count = self.gauges.get(name, [value, 0.0, 0])
                self.gauges[name] = [max(peak, value), total + value, count + 1]
        last = self._last
        for name in COUNTERS:
            value = sample[name]  # type: ignore[literal-required]
            total, peak_rate, moved, seconds = self.counters.get(name, [0, 0.0, 0, 0.0])
            if last is not None and sample["t"] > last["t"] and value >= last[name]:  # type: ignore[literal-required]
                delta, elapsed = value - last[name], sample["t"] - last["t"]  # type: ignore[literal-required]
                peak_rate, moved, seconds = max(peak_rate, delta / elapsed), moved + delta, seconds + elapsed
            self.counters[name] = [max(total, value), peak_rate, moved, seconds]
        self._last = sample

    def gap(self) -> None:
        self.gaps += 1

    def state(self) -> dict[str, Any]:
        """What is persisted (JSON): enough to go on after a restart."""
        return {"samples": self.samples, "gaps": self.gaps, "first_t": self.first_t, "last_t": self.last_t,
                "gpu_reason": self.gpu_reason, "gauges": self.gauges, "counters": self.counters}

    def summary(self) -> Summary:
        metrics: dict[str, Stat] = {}
        for name, (peak, total, count) in self.gauges.items():
            metrics[name] = Stat(peak=round(peak, 3), mean=round(total / count, 3) if count else 0.0)
        for name, (total, peak_rate, moved, seconds) in self.counters.items():
            metrics[name] = Stat(peak=round(peak_rate, 3), mean=round(moved / seconds, 3) if seconds else 0.0,
                                 total=int(total))
        return Summary(samples=self.samples, gaps=self.gaps, first_t=self.first_t, last_t=self.last_t,
                       interval_s=self.interval_s, gpu_reason=self.gpu_reason, metrics=metrics)


class Series:
    """One job's recent samples (a ring of ``keep``), numbered from 1, and its :class:`Usage`;
    followers wait on ``changed`` for the next sample."""

    def __init__(self, job_id: str, keep: int, usage: Usage):
        self.job_id, self.usage = job_id, usage
        self.ring: deque[tuple[int, Sample]] = deque(maxlen=keep)
        self.seq = 0
        self.ended = False
        self.changed = threading.Condition()

    def add(self, sample: Sample) -> None:
        with self.changed:
            self.seq += 1
            self.ring.append((self.seq, sample))
            self.usage.add(sample)
            self.changed.notify_all()

    def gap(self) -> None:
        with self.changed:
            self.usage.gap()

    def end(self) -> None:
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def after(self, seq: int, timeout_s: float) -> tuple[list[tuple[int, Sample]], bool]:
        """The samples numbered above ``seq`` (waiting up to ``timeout_s`` for one), and whether
        sampling has ended."""
        with self.changed:
            if self.seq <= seq and not self.ended:
                self.changed.wait(timeout_s)
            return [item for item in self.ring if item[0] > seq], self.ended


def follow_query(query: str) -> bool:
    """Whether ``?follow=`` asks for a stream: ValueError for any other field, or a value other
    than 0, 1, true, false, or more than one."""
    try:
        fields = parse_qs(query, keep_blank_values=True, max_num_fields=4)
    except ValueError:
        raise ValueError("too many query fields") from None
    follows = fields.pop("follow", ["0"])
    if fields:
        raise ValueError("the only query field is follow")
    if len(follows) != 1 or follows[0] not in FOLLOW:
        raise ValueError("follow must be 1, 0, true or false")
    return FOLLOW[follows[0]]


# ---------------------------------------------------------------- the sampler

class Sampler:
    """Samples each running job (see the module's docstring); ``runtime`` reads the engine."""

    def __init__(self, runtime: StatsSource, state: AgentState, gpus: GpuReader, interval_s: float = 1.0,
                 keep: int = 300):
        self.runtime, self.state, self.gpus = runtime, state, gpus
        self.interval_s, self.keep = interval_s, keep
        self._series: OrderedDict[str, Series] = OrderedDict()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def watch(self, job_id: str, container_id: str, gpu_uuid: str | None) -> None:
        """Starts sampling a job that runs now (once: a job sampled already is left as it is)."""
        with self._lock:
            if job_id in self._threads and self._threads[job_id].is_alive():
                return
            series = Series(job_id, self.keep, Usage(self.interval_s, self.state.usage(job_id)))
            self._series[job_id] = series
            self._series.move_to_end(job_id)
            thread = threading.Thread(target=self._run, args=(series, container_id, gpu_uuid),
                                      name=f"metrics-{job_id[:10]}", daemon=True)
            self._threads[job_id] = thread
        thread.start()

    def stop(self) -> None:
        """Ends every sampling thread; each writes its job's summary as it goes (waiting 5 s in
        all: a thread stuck in an engine call must not hold up the agent's shutdown)."""
        self._stop.set()
        deadline = time.monotonic() + 5.0
        for thread in list(self._threads.values()):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def sampling(self, job_id: str) -> bool:
        thread = self._threads.get(job_id)
        return thread is not None and thread.is_alive()

    def describe(self, job_id: str) -> MetricsAnswer:
        """The job's recent samples and its summary (from the database once it is not in memory)."""
        series = self._series.get(job_id)
        if series is None:
            stored = self.state.usage(job_id)
            summary = Usage(self.interval_s, stored).summary() if stored is not None else None
            return MetricsAnswer(job_id=job_id, sampling=False, interval_s=self.interval_s, samples=[],
                                 summary=summary)
        with series.changed:
            return MetricsAnswer(job_id=job_id, sampling=self.sampling(job_id), interval_s=self.interval_s,
                                 samples=[s for _, s in series.ring], summary=series.usage.summary())

    def cursor(self, job_id: str) -> int:
        """Where a new follower starts: just before the latest sample (it sees that one first)."""
        series = self._series.get(job_id)
        return max(0, series.seq - 1) if series is not None else 0

    def after(self, job_id: str, seq: int, timeout_s: float) -> tuple[list[tuple[int, Sample]], bool]:
        """:meth:`Series.after` of the job; nothing (after ``timeout_s``) while it is not sampled
        yet, and the end once the sampler is stopped (the agent is going down)."""
        series = self._series.get(job_id)
        if series is None:
            return [], self._stop.wait(timeout_s)
        return series.after(seq, timeout_s)

    def _run(self, series: Series, container_id: str, gpu_uuid: str | None) -> None:
        previous: Reading | None = None
        persisted = due = time.monotonic()
        failed = False  # the last reading failed: a gap, once the job is seen running still
        try:
            while not self._stop.is_set():
                job = self.state.job(series.job_id)
                if job is None or job.phase != AgentPhase.RUNNING:
                    return  # (a reading that failed as the container ended is no gap)
                if failed:
                    series.gap()
                try:
                    reading = read_stats(self.runtime.stats(container_id))
                    failed = False
                except Exception as err:  # noqa: BLE001 - the engine's error (or a junk answer) is a gap, not the end
                    failed = True
                    log.debug("job %s: no usage reading: %s", series.job_id, err, extra=labels(job=series.job_id))
                else:
                    gpu, reason = self.gpus.read(gpu_uuid)
                    series.add(make_sample(reading, previous, gpu, reason))
                    previous = reading
                now = time.monotonic()
                if now - persisted >= PERSIST_S:
                    self._persist(series)
                    persisted = now
                due = max(due + self.interval_s, now)  # a slow reading shifts the next one, never piles them up
                self._stop.wait(due - now)
        finally:
            self._persist(series)
            series.end()
            self._retire(series.job_id)

    def _persist(self, series: Series) -> None:
        with series.changed:
            state = series.usage.state()
        try:
            self.state.put_usage(series.job_id, state)
        except Exception as err:  # noqa: BLE001 - a full disk must not end sampling; the next write tries again
            log.warning("job %s: usage summary not saved: %s", series.job_id, err, extra=labels(job=series.job_id))

    def _retire(self, job_id: str) -> None:
        with self._lock:
            if self._threads.get(job_id) is threading.current_thread():
                del self._threads[job_id]
            ended = [j for j, s in self._series.items() if s.ended and j not in self._threads]
            for old in ended[:max(0, len(ended) - ENDED_KEPT)]:
                del self._series[old]
