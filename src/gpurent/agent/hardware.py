"""What the machine has and how busy it is: NVIDIA GPUs through NVML, the host through /proc.

Without an NVIDIA driver (``NVMLError_LibraryNotFound``) or without GPUs, :func:`detect_gpus`
returns no GPU and a reason; the agent says "no NVIDIA GPU found" once and serves the resources
its config declares. ``bench/nvml_probe.py`` proves these calls on real NVIDIA hardware.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Gpu:
    index: int
    uuid: str
    name: str
    memory_mb: int


@dataclass(frozen=True)
class GpuSample:
    uuid: str
    utilization_pct: int
    memory_used_mb: int
    memory_total_mb: int
    temperature_c: int
    power_w: float


@dataclass(frozen=True)
class HostSample:
    cpu_pct: float
    memory_used_mb: int
    memory_total_mb: int
    load_1m: float


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def detect_gpus() -> tuple[list[Gpu], str | None]:
    """The NVIDIA GPUs NVML sees, or ([], why none)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as err:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ImportError…
        return [], f"no NVIDIA GPU found ({type(err).__name__})"
    gpus = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        gpus.append(Gpu(index=index, uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                        name=_text(pynvml.nvmlDeviceGetName(handle)), memory_mb=int(memory.total) // 2**20))
    return gpus, None if gpus else "no NVIDIA GPU found (NVML sees none)"


@dataclass(frozen=True)
class GpuReading:
    """One NVML reading of a GPU, in the units NVML gives (bytes, milliwatts made watts)."""

    util_pct: int
    mem_used_bytes: int
    mem_total_bytes: int
    temp_c: int
    power_w: float


def read_gpu(uuid: str) -> GpuReading:
    """The GPU with NVML UUID ``uuid`` now (NVML initialised by :func:`detect_gpus`); NVMLError
    when it cannot be read."""
    import pynvml

    handle = pynvml.nvmlDeviceGetHandleByUUID(uuid)
    util = pynvml.nvmlDeviceGetUtilizationRates(handle)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    return GpuReading(util_pct=int(util.gpu), mem_used_bytes=int(memory.used), mem_total_bytes=int(memory.total),
                      temp_c=int(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)),
                      power_w=pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)


def sample_gpus(gpus: list[Gpu]) -> list[GpuSample]:
    samples = []
    for gpu in gpus:
        reading = read_gpu(gpu.uuid)
        samples.append(GpuSample(
            uuid=gpu.uuid, utilization_pct=reading.util_pct, memory_used_mb=reading.mem_used_bytes // 2**20,
            memory_total_mb=reading.mem_total_bytes // 2**20, temperature_c=reading.temp_c,
            power_w=reading.power_w))
    return samples


class _CpuMeter:
    """CPU busy share between two reads of /proc/stat."""

    def __init__(self) -> None:
        self._last = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def percent(self) -> float:
        total, idle = self._read()
        last_total, last_idle = self._last
        self._last = (total, idle)
        spent = total - last_total
        return round(100.0 * (1 - (idle - last_idle) / spent), 1) if spent > 0 else 0.0


def _meminfo() -> tuple[int, int]:
    values: dict[str, int] = {}
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            key, rest = line.split(":", 1)
            values[key] = int(rest.split()[0])
    total = values["MemTotal"] // 1024
    return total - values.get("MemAvailable", 0) // 1024, total


class Monitor:
    """Samples GPUs and host every ``interval_s`` on its own thread; keeps the last ``keep``."""

    def __init__(self, gpus: list[Gpu], interval_s: float = 5.0, keep: int = 120):
        self.gpus = gpus
        self.interval_s = interval_s
        self.samples: deque[dict[str, Any]] = deque(maxlen=keep)
        self._cpu = _CpuMeter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gpurent-monitor", daemon=True)

    def sample(self) -> dict[str, Any]:
        used, total = _meminfo()
        host = HostSample(cpu_pct=self._cpu.percent(), memory_used_mb=used, memory_total_mb=total,
                          load_1m=os.getloadavg()[0])
        record = {"time": int(time.time()), "host": asdict(host),
                  "gpus": [asdict(s) for s in sample_gpus(self.gpus)]}
        self.samples.append(record)
        return record

    def latest(self) -> dict[str, Any] | None:
        return self.samples[-1] if self.samples else None

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a failed sample must not end monitoring
                continue
