"""A running job's usage as the provider's agent serves it (``GET /jobs/<id>/metrics``) and the
renter's SDK reads it: the schema, written once, and the checks of what a provider sends.

A **sample** (one every ``[metrics] interval`` seconds while the job runs) is a JSON object::

    t                  Unix time of the reading (the provider's clock), in seconds
    cpu_pct            CPU used since the previous sample, in % of one core (200: two cores
                       busy all the time); null on a job's first sample (no previous reading)
    mem_bytes          the container's memory (its cgroup: processes, page cache and the
    mem_limit_bytes    tmpfs mounts it wrote) and its limit
    net_rx_bytes       bytes received / sent by the container since it started
    net_tx_bytes
    disk_read_bytes    bytes read / written on block devices since it started
    disk_write_bytes
    pids               processes and threads in the container
    gpu                the job's GPU (NVML): {util_pct, mem_used_bytes, mem_total_bytes,
                       temp_c, power_w}, or null, and then
    gpu_reason         why there is none ("no NVIDIA GPU readings: …"); null when gpu is given

A **summary** (kept by the agent over the job's whole run, outliving its container)::

    samples, gaps      readings taken, and intervals whose reading failed
    first_t, last_t    the first and last reading's time (null before the first)
    interval_s         the agent's sampling interval
    gpu_reason         why there are no GPU readings, or null
    metrics            {name: {"peak": x, "mean": y}} for cpu_pct, mem_bytes, pids and
                       gpu_util_pct, gpu_mem_used_bytes, gpu_temp_c, gpu_power_w; for the
                       counters net_rx_bytes, net_tx_bytes, disk_read_bytes, disk_write_bytes
                       peak and mean are rates (bytes per second) and "total" the bytes

The answer to ``GET /jobs/<id>/metrics`` is ``{job_id, sampling, interval_s, samples, summary}``
(the recent samples, oldest first, and the summary or null); with ``?follow=1`` it is NDJSON,
one sample per line as it is taken, until the job ends (an empty line now and then keeps a quiet
stream open while the job waits to run).

What a provider serves is untrusted: :func:`parse_sample`, :func:`parse_summary` and
:func:`parse_metrics` return fresh values holding only the fields above, each of the type and
within the range it names (numbers finite), or raise ValueError naming the first that is not.
Text (``gpu_reason``) is bounded here, and made safe for a terminal where it is shown.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

LINE_MAX = 4096  # bytes of one NDJSON sample line (one is ~350)
METRICS_CAP = 4 * 2**20  # bytes of a whole /metrics answer
SAMPLES_MAX = 3600  # samples in one answer (the agent keeps at most [metrics] keep)
REASON_MAX = 300  # characters of gpu_reason
GPU_NONE = "no NVIDIA GPU readings"

BYTES_MAX = 2**63  # byte counts: non-negative 64-bit
T_MAX = 2.0**36  # Unix seconds (the year 4147)
CPU_PCT_MAX = 100.0 * 4096  # 4096 cores busy
PIDS_MAX = 2**32
COUNT_MAX = 2**53

GAUGES = ("cpu_pct", "mem_bytes", "pids")
GPU_GAUGES = ("gpu_util_pct", "gpu_mem_used_bytes", "gpu_temp_c", "gpu_power_w")
COUNTERS = ("net_rx_bytes", "net_tx_bytes", "disk_read_bytes", "disk_write_bytes")
# the range of a metric's value (peak and mean); a counter's peak and mean are rates (bytes/s)
RANGES: dict[str, tuple[float, float]] = {
    "cpu_pct": (0.0, CPU_PCT_MAX), "mem_bytes": (0, BYTES_MAX), "pids": (0, PIDS_MAX),
    "gpu_util_pct": (0.0, 100.0), "gpu_mem_used_bytes": (0, BYTES_MAX), "gpu_temp_c": (-100.0, 300.0),
    "gpu_power_w": (0.0, 100_000.0), **{name: (0, BYTES_MAX) for name in COUNTERS},
}


class GpuReading(TypedDict):
    util_pct: float
    mem_used_bytes: int
    mem_total_bytes: int
    temp_c: float
    power_w: float


class Sample(TypedDict):
    t: float
    cpu_pct: float | None
    mem_bytes: int
    mem_limit_bytes: int
    net_rx_bytes: int
    net_tx_bytes: int
    disk_read_bytes: int
    disk_write_bytes: int
    pids: int
    gpu: GpuReading | None
    gpu_reason: str | None


class Stat(TypedDict, total=False):
    peak: float
    mean: float
    total: int  # counters only


class Summary(TypedDict):
    samples: int
    gaps: int
    first_t: float | None
    last_t: float | None
    interval_s: float
    gpu_reason: str | None
    metrics: dict[str, Stat]


class MetricsAnswer(TypedDict):
    job_id: str
    sampling: bool  # the agent is sampling the job now
    interval_s: float
    samples: list[Sample]
    summary: Summary | None


def parse_sample(data: Any) -> Sample:
    """``data`` (parsed JSON) as a :class:`Sample`; ValueError naming the first bad field."""
    _object(data, "a sample")
    gpu = data.get("gpu")
    reason = _reason(data.get("gpu_reason"))
    if gpu is None and reason is None:
        raise ValueError("a sample without gpu readings must say why (gpu_reason)")
    return Sample(
        t=_number(data, "t", 0.0, T_MAX),
        cpu_pct=None if data.get("cpu_pct") is None else _number(data, "cpu_pct", 0.0, CPU_PCT_MAX),
        mem_bytes=_whole(data, "mem_bytes", BYTES_MAX), mem_limit_bytes=_whole(data, "mem_limit_bytes", BYTES_MAX),
        net_rx_bytes=_whole(data, "net_rx_bytes", BYTES_MAX), net_tx_bytes=_whole(data, "net_tx_bytes", BYTES_MAX),
        disk_read_bytes=_whole(data, "disk_read_bytes", BYTES_MAX),
        disk_write_bytes=_whole(data, "disk_write_bytes", BYTES_MAX),
        pids=_whole(data, "pids", PIDS_MAX),
        gpu=None if gpu is None else _gpu(gpu), gpu_reason=None if gpu is not None else reason)


def _gpu(data: Any) -> GpuReading:
    _object(data, "gpu")
    return GpuReading(util_pct=_number(data, "util_pct", 0.0, 100.0, "gpu."),
                      mem_used_bytes=_whole(data, "mem_used_bytes", BYTES_MAX, "gpu."),
                      mem_total_bytes=_whole(data, "mem_total_bytes", BYTES_MAX, "gpu."),
                      temp_c=_number(data, "temp_c", -100.0, 300.0, "gpu."),
                      power_w=_number(data, "power_w", 0.0, 100_000.0, "gpu."))


def parse_summary(data: Any) -> Summary:
    """``data`` as a :class:`Summary`: known metric names only, each peak and mean in its range."""
    _object(data, "a summary")
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or not set(metrics) <= set(RANGES):
        raise ValueError(f"summary.metrics is not an object of the metrics {', '.join(RANGES)}")
    stats: dict[str, Stat] = {}
    for name, stat in metrics.items():
        _object(stat, f"summary.metrics.{name}")
        low, high = RANGES[name]
        found = Stat(peak=_number(stat, "peak", low, high, f"summary.metrics.{name}."),
                     mean=_number(stat, "mean", low, high, f"summary.metrics.{name}."))
        if name in COUNTERS:
            found["total"] = _whole(stat, "total", BYTES_MAX, f"summary.metrics.{name}.")
        stats[name] = found
    return Summary(samples=_whole(data, "samples", COUNT_MAX, "summary."), gaps=_whole(data, "gaps", COUNT_MAX, "summary."),
                   first_t=_optional(data, "first_t"), last_t=_optional(data, "last_t"),
                   interval_s=_number(data, "interval_s", 0.0, 86_400.0, "summary."),
                   gpu_reason=_reason(data.get("gpu_reason")), metrics=stats)


def parse_metrics(data: Any, job_id: str) -> MetricsAnswer:
    """``data`` as the answer to ``GET /jobs/<job_id>/metrics``."""
    _object(data, "a metrics answer")
    if not isinstance(data.get("job_id"), str) or data["job_id"].lower() != job_id.lower():
        raise ValueError("it is not the metrics of this job")
    if not isinstance(data.get("sampling"), bool):
        raise ValueError("sampling is not a boolean")
    samples = data.get("samples")
    if not isinstance(samples, list) or len(samples) > SAMPLES_MAX:
        raise ValueError(f"samples is not a list of at most {SAMPLES_MAX}")
    summary = data.get("summary")
    return MetricsAnswer(job_id=job_id, sampling=data["sampling"], interval_s=_number(data, "interval_s", 0.0, 86_400.0),
                         samples=[parse_sample(s) for s in samples],
                         summary=None if summary is None else parse_summary(summary))


def parse_line(line: bytes) -> Sample:
    """One NDJSON line of a followed stream as a sample (ValueError if it is not one)."""
    from gpurent.safejson import loads_bounded

    if len(line) > LINE_MAX:
        raise ValueError(f"a sample line longer than {LINE_MAX:,} bytes")
    return parse_sample(loads_bounded(line, 4))


# ---------------------------------------------------------------- field checks

def _object(data: Any, what: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{what} is not a JSON object")


def _number(data: dict[str, Any], key: str, low: float, high: float, where: str = "") -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}{key} is not a number")
    if isinstance(value, int) and not low <= value <= high:  # a 400-digit integer: no float conversion
        raise ValueError(f"{where}{key} is outside {low:g} to {high:g}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{where}{key} is not a finite number from {low:g} to {high:g}")
    return number


def _whole(data: dict[str, Any], key: str, high: int, where: str = "") -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < high:
        raise ValueError(f"{where}{key} is not a whole number from 0 to {high - 1}")
    return value


def _optional(data: dict[str, Any], key: str) -> float | None:
    return None if data.get(key) is None else _number(data, key, 0.0, T_MAX, "summary.")


def _reason(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > REASON_MAX):
        raise ValueError(f"gpu_reason is not a string of at most {REASON_MAX} characters or null")
    return value
