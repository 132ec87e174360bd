"""A job's live usage without a chain or an engine: the CPU share from consecutive engine
readings, the running summary and its bounds, the sampler's gaps and its record in the agent's
database, and the renter's checks of what a hostile provider serves (over a real HTTP server)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account import Account

from gpurent.agent.config import parse_config
from gpurent.agent.endpoint import StreamSlots
from gpurent.agent.metrics import (GpuReader, Reading, Sampler, Series, Usage, cpu_percent, follow_query, make_sample,
                                   read_stats)
from gpurent.agent.state import AgentState
from gpurent.cli.top import plain_line, usage_rows
from gpurent.errors import ConfigurationError
from gpurent.sdk.provider import MalformedAnswer, ProviderEndpoint
from gpurent.types import AgentPhase
from gpurent.wire.metrics import LINE_MAX, parse_line, parse_metrics, parse_sample, parse_summary

JOB = "0x" + "ab" * 32
NO_GPU = "no NVIDIA GPU readings: NVML sees no NVIDIA GPU on this provider"


def stats(cpu_ns: int, read: str, mem: int = 1 << 20, rx: int = 0, blkio: list[Any] | None = None) -> dict[str, Any]:
    """An answer of podman's stats API (its shape, measured: precpu_stats all zero)."""
    return {"read": read, "preread": "0001-01-01T00:00:00Z", "pids_stats": {"current": 3},
            "blkio_stats": {"io_service_bytes_recursive": blkio or []},
            "cpu_stats": {"cpu_usage": {"total_usage": cpu_ns}, "system_cpu_usage": 9111222675656, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 0}},
            "memory_stats": {"usage": mem, "limit": 1 << 30},
            "networks": {"eth0": {"rx_bytes": rx, "tx_bytes": 5}, "eth1": {"rx_bytes": 1, "tx_bytes": 0}}}


def sample(t: float, mem: int = 1 << 20, cpu: float | None = 10.0, rx: int = 0) -> dict[str, Any]:
    reading = Reading(t, 0, mem, 1 << 30, rx, 0, 0, 0, 2)
    made = dict(make_sample(reading, None, None, NO_GPU))
    made["cpu_pct"] = cpu
    return made


# ---------------------------------------------------------------- the engine's readings

def test_cpu_percent_is_cpu_time_over_the_time_between_readings():
    """Measured on podman: a busy loop limited to one CPU used 1.00 s of CPU in 1.0057 s between
    readings, while system_cpu_usage moved by 1.07e9 for two CPUs (so Docker's formula, which
    multiplies by online_cpus, would say 187 %): the share is taken from the readings' times."""
    first = read_stats(stats(29_873_909, "2026-12-02T06:13:39.002895055Z"))
    second = read_stats(stats(1_027_329_189, "2026-12-02T06:13:40.008596834Z"))
    assert cpu_percent(None, first) is None  # a job's first sample: no previous reading
    assert cpu_percent(first, second) == pytest.approx(99.2, abs=0.1)
    assert cpu_percent(second, first) is None  # time went back
    assert cpu_percent(first, first) is None  # no time passed
    restarted = read_stats(stats(5, "2026-12-02T06:13:41Z"))
    assert cpu_percent(second, restarted) is None  # the counter went back: another container
    two_cores = read_stats(stats(1_027_329_189 + 4_000_000_000, "2026-12-02T06:13:42.008596834Z"))
    assert cpu_percent(second, two_cores) == pytest.approx(200.0)


def test_engine_readings_sum_interfaces_and_block_devices_and_read_junk_as_zero():
    reading = read_stats(stats(7, "2026-12-02T06:13:39Z", rx=100, blkio=[
        {"major": 8, "minor": 0, "op": "Read", "value": 4096}, {"op": "read", "value": 1},
        {"op": "Write", "value": 512}, {"op": "Total", "value": 9999}]))
    assert (reading.net_rx_bytes, reading.net_tx_bytes) == (101, 5)
    assert (reading.disk_read_bytes, reading.disk_write_bytes, reading.pids) == (4097, 512, 3)
    junk = read_stats({"memory_stats": {"usage": True, "limit": -1}, "cpu_stats": {"cpu_usage": {"total_usage": "9"}},
                       "networks": None, "read": "yesterday"}, now=123.0)
    assert junk == Reading(123.0, 0, 0, 0, 0, 0, 0, 0, 0)


# ---------------------------------------------------------------- the summary and its bounds

def test_the_summary_keeps_peaks_means_and_rates_and_survives_a_restart():
    usage = Usage(1.0)
    for t, mem, rx in ((100.0, 10, 0), (101.0, 30, 1000), (103.0, 20, 1500)):
        usage.add(sample(t, mem, cpu=None if t == 100.0 else 50.0, rx=rx))  # type: ignore[arg-type]
    usage.gap()
    summary = usage.summary()
    assert summary["samples"] == 3 and summary["gaps"] == 1
    assert (summary["first_t"], summary["last_t"]) == (100.0, 103.0)
    assert summary["metrics"]["mem_bytes"] == {"peak": 30, "mean": 20}
    assert summary["metrics"]["cpu_pct"] == {"peak": 50.0, "mean": 50.0}  # the first sample has none
    assert summary["metrics"]["net_rx_bytes"] == {"peak": 1000.0, "mean": 500.0, "total": 1500}
    assert "gpu_util_pct" not in summary["metrics"] and summary["gpu_reason"] == NO_GPU
    assert parse_summary(json.loads(json.dumps(summary))) == summary
    restored = Usage(1.0, json.loads(json.dumps(usage.state())))
    assert restored.summary() == summary
    restored.add(sample(104.0, 50, cpu=20.0, rx=1600))  # type: ignore[arg-type]  # a re-attached job goes on
    again = restored.summary()
    assert again["samples"] == 4 and again["metrics"]["mem_bytes"] == {"peak": 50, "mean": 27.5}
    assert again["metrics"]["cpu_pct"]["mean"] == 40.0 and again["metrics"]["net_rx_bytes"]["total"] == 1600
    assert again["metrics"]["net_rx_bytes"]["mean"] == 500.0  # no rate across the restart: the next from here
    rows = usage_rows(summary)
    assert rows["memory"] == "peak 30 B, mean 20 B" and rows["gpu"] == "no GPU readings (NVML sees no NVIDIA GPU on this provider)"


def test_a_job_keeps_a_bounded_ring_whatever_it_does():
    series = Series(JOB, 10, Usage(1.0))
    for i in range(1000):
        series.add(sample(float(i), mem=i))  # type: ignore[arg-type]
    assert len(series.ring) == 10 and series.usage.samples == 1000
    newer, ended = series.after(995, 0)
    assert [seq for seq, _ in newer] == [996, 997, 998, 999, 1000] and not ended
    series.end()
    assert series.after(1000, 5) == ([], True)  # no wait once ended


def test_streams_are_bounded_per_job_and_in_all():
    slots = StreamSlots(total=3, per_job=2, what="metric streams")
    assert slots.take("a") is None and slots.take("a") is None
    assert "of this job" in (slots.take("a") or "")
    assert slots.take("b") is None and "3 metric streams" in (slots.take("c") or "")
    slots.give("a")
    assert slots.take("c") is None


@pytest.mark.parametrize("query, follow", [("", False), ("follow=1", True), ("follow=true", True), ("follow=0", False)])
def test_the_metrics_query(query, follow):
    assert follow_query(query) is follow


@pytest.mark.parametrize("query", ["follow=2", "follow=1&follow=1", "offset=3", "&".join(["a=1"] * 9)])
def test_a_bad_metrics_query_is_refused(query):
    with pytest.raises(ValueError):
        follow_query(query)


def test_the_metrics_config_is_bounded():
    resources = [{"model": "L4", "vcpu": 4, "memory_gb": 16, "price": "1.5"}]
    config = parse_config({"resources": resources})
    assert (config.metrics_interval_s, config.metrics_keep) == (1.0, 300)
    config = parse_config({"resources": resources, "metrics": {"interval": 5, "keep": 60}})
    assert (config.metrics_interval_s, config.metrics_keep) == (5.0, 60)
    for bad in ({"interval": 0.01}, {"interval": "often"}, {"keep": 0}, {"keep": 10**6}, {"keep": 2.5}):
        with pytest.raises(ConfigurationError, match="metrics"):
            parse_config({"resources": resources, "metrics": bad})


# ---------------------------------------------------------------- the sampler

class FlakyEngine:
    """Answers stats like podman, failing every third call; counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def stats(self, container_id: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls % 3 == 0:
            raise ConnectionError("the engine went away for a moment")
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"
        return stats(self.calls * 10_000_000, stamp, mem=self.calls << 20)


def test_the_sampler_counts_gaps_stops_with_the_job_and_keeps_its_summary(tmp_path):
    state = AgentState(tmp_path / "agent.db")
    state.record_new_jobs([{"job_id": JOB, "resource_id": "0x" + "01" * 32, "renter": "0x" + "02" * 20,
                            "image_cid": "bafy", "duration_s": 60, "priority": 1.0, "block": 1}], 1)
    state.update(JOB, AgentPhase.RUNNING)
    engine = FlakyEngine()
    sampler = Sampler(engine, state, GpuReader([]), interval_s=0.2, keep=4)
    sampler.watch(JOB, "c1", None)
    sampler.watch(JOB, "c1", None)  # once
    deadline = time.monotonic() + 10
    while engine.calls < 7:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert sampler.sampling(JOB)
    state.update(JOB, AgentPhase.EXITED)
    while sampler.sampling(JOB):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    answer = parse_metrics(json.loads(json.dumps(sampler.describe(JOB))), JOB)
    summary = answer["summary"]
    assert summary is not None and summary["gaps"] >= 2 and summary["samples"] >= 5
    assert len(answer["samples"]) == 4 and not answer["sampling"]  # the ring's bound
    assert all(s["gpu"] is None and s["gpu_reason"] == NO_GPU for s in answer["samples"])
    # written to the database: a restarted agent (a fresh sampler) serves the same summary
    again = Sampler(engine, AgentState(tmp_path / "agent.db"), GpuReader([]), interval_s=0.2)
    assert again.describe(JOB)["summary"] == summary


# ---------------------------------------------------------------- a hostile provider's samples

GOOD = {"t": 1764656019.5, "cpu_pct": 12.5, "mem_bytes": 1 << 20, "mem_limit_bytes": 1 << 30, "net_rx_bytes": 0,
        "net_tx_bytes": 0, "disk_read_bytes": 0, "disk_write_bytes": 0, "pids": 1, "gpu": None,
        "gpu_reason": "no NVIDIA GPU readings"}
GPU = {"util_pct": 97, "mem_used_bytes": 1 << 33, "mem_total_bytes": 1 << 37, "temp_c": 61, "power_w": 412.5}


@pytest.mark.parametrize("change", [
    {"cpu_pct": float("nan")}, {"cpu_pct": float("inf")}, {"cpu_pct": -1}, {"cpu_pct": 10**400},
    {"mem_bytes": 2**64}, {"mem_bytes": -1}, {"mem_bytes": 1.5}, {"mem_bytes": True}, {"mem_bytes": "1"},
    {"t": None}, {"pids": [1]}, {"gpu": "A100"}, {"gpu": None, "gpu_reason": None},
    {"gpu_reason": "x" * 301}, {"gpu": {**GPU, "util_pct": 101}}, {"gpu": {**GPU, "temp_c": float("nan")}},
    {"gpu": {**GPU, "power_w": 1e300}}, {"gpu": {k: v for k, v in GPU.items() if k != "temp_c"}},
])
def test_a_hostile_sample_is_refused(change):
    with pytest.raises(ValueError):
        parse_sample({**GOOD, **change})


def test_a_sample_holds_only_its_fields_and_nan_in_json_text_is_refused():
    got = parse_sample({**GOOD, "gpu": GPU, "evil": "\x1b]0;pwned\x07", "gpu_reason": "ignored"})
    assert set(got) == set(GOOD) and got["gpu"] == {**GPU, "util_pct": 97.0, "temp_c": 61.0}
    assert got["gpu_reason"] is None
    for text in (b'{"t": NaN}', json.dumps({**GOOD, "cpu_pct": 1e999}).encode(), b"[" * 100 + b"]" * 100):
        with pytest.raises(ValueError):
            parse_line(text)
    with pytest.raises(ValueError, match="longer than"):
        parse_line(json.dumps({**GOOD, "gpu_reason": "x" * LINE_MAX}).encode())


def test_hostile_text_reaches_the_terminal_escaped():
    line = plain_line(parse_sample({**GOOD, "gpu_reason": "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\u202eevil\r"}))
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line and "\r" not in line
    assert line.endswith("evil\ufffd") and "mem 1.0 MiB / 1.0 GiB" in line


@pytest.mark.parametrize("summary", [
    {"metrics": {"rm -rf": {"peak": 1, "mean": 1}}}, {"metrics": {"cpu_pct": {"peak": float("nan"), "mean": 1}}},
    {"metrics": {"net_rx_bytes": {"peak": 1, "mean": 1}}}, {"samples": -1}, {"interval_s": float("inf")},
])
def test_a_hostile_summary_is_refused(summary):
    valid = {"samples": 1, "gaps": 0, "first_t": 1.0, "last_t": 2.0, "interval_s": 1.0, "gpu_reason": None,
             "metrics": {"cpu_pct": {"peak": 1, "mean": 1}}}
    parse_summary(valid)
    with pytest.raises(ValueError):
        parse_summary({**valid, **summary})


class Provider:
    """A provider on 127.0.0.1 serving ``body`` (bytes, or a callable writing to the handler) at
    every GET."""

    def __init__(self) -> None:
        self.body: bytes | Callable[[BaseHTTPRequestHandler], None] = b""
        provider = self

        class Serve(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.end_headers()
                try:
                    if callable(provider.body):
                        provider.body(self)
                    else:
                        self.wfile.write(provider.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.endpoint = ProviderEndpoint(f"http://127.0.0.1:{self.httpd.server_address[1]}", Account.create(), 31337,
                                         timeout_s=5, follow_idle_s=1, follow_reconnects=1)


@pytest.fixture
def provider() -> Iterator[Provider]:
    served = Provider()
    yield served
    served.httpd.shutdown()


def lines(*items: Any) -> bytes:
    return b"".join((item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n" for item in items)


def test_a_followed_stream_skips_keepalives_and_replays_and_ends_with_the_stream(provider):
    provider.body = lines(GOOD, b"", {**GOOD, "t": GOOD["t"] + 1}, GOOD, b"", {**GOOD, "t": GOOD["t"] + 2})
    assert [s["t"] for s in provider.endpoint.follow_metrics(JOB)] == [GOOD["t"], GOOD["t"] + 1, GOOD["t"] + 2]


@pytest.mark.parametrize("body, words", [
    (lines(GOOD, {**GOOD, "mem_bytes": float("nan")}), "mem_bytes"),
    (lines(GOOD, b'{"t": Infinity}'), "a metrics sample"),
    (lines(GOOD, b"not json"), "a metrics sample"),
    (lines(GOOD) + b"x" * (LINE_MAX + 1), "longer than"),  # a line without end is never held whole
    (lines(GOOD, b" " * (LINE_MAX + 1)), "longer than"),
])
def test_a_hostile_stream_ends_in_one_malformed_answer(provider, body, words):
    provider.body = body
    got: list[Any] = []
    with pytest.raises(MalformedAnswer, match=words):
        for item in provider.endpoint.follow_metrics(JOB):
            got.append(item)
    assert len(got) == 1  # what came before was good and shown


def test_an_endless_line_is_refused_without_reading_it_all(provider):
    sent: list[int] = []

    def flood(handler: BaseHTTPRequestHandler) -> None:
        for _ in range(10_000):  # 640 MB if the client read on
            handler.wfile.write(b"9" * 65536)
            sent.append(1)

    provider.body = flood
    with pytest.raises(MalformedAnswer, match="longer than"):
        list(provider.endpoint.follow_metrics(JOB))
    assert len(sent) < 1000


def test_a_hostile_metrics_answer_is_malformed(provider):
    provider.body = json.dumps({"job_id": JOB, "sampling": True, "interval_s": 1.0, "samples": [GOOD],
                                "summary": None}).encode()
    assert provider.endpoint.job_metrics(JOB)["samples"][0]["t"] == GOOD["t"]
    for answer in ({"job_id": "0x" + "cd" * 32, "sampling": True, "interval_s": 1, "samples": [], "summary": None},
                   {"job_id": JOB, "sampling": 1, "interval_s": 1, "samples": [], "summary": None},
                   {"job_id": JOB, "sampling": True, "interval_s": 1, "samples": [GOOD] * 3601, "summary": None},
                   {"job_id": JOB, "sampling": True, "interval_s": 1, "samples": [{**GOOD, "pids": -1}],
                    "summary": None}):
        provider.body = json.dumps(answer).encode()
        with pytest.raises(MalformedAnswer):
            provider.endpoint.job_metrics(JOB)
    provider.body = b'{"job_id": "' + JOB.encode() + b'", "samples": [' + b"1," * 3_000_000 + b"1]}"
    with pytest.raises(MalformedAnswer, match="larger than"):
        provider.endpoint.job_metrics(JOB)


# ---------------------------------------------------------------- the GPU and the terminal

class FakeNvml:
    """pynvml's calls that the agent makes, for two GPUs (a stand-in: this machine has no NVIDIA GPU;
    bench/nvml_probe.py proves the calls on real hardware)."""

    NVML_TEMPERATURE_GPU = 0

    class NVMLError_GpuIsLost(Exception):  # noqa: N801 - pynvml's naming
        pass

    class _Util:
        def __init__(self, gpu: int) -> None:
            self.gpu = gpu

    class _Memory:
        def __init__(self, used: int, total: int) -> None:
            self.used, self.total = used, total

    GPUS = {"GPU-aaaa": (97, 30 << 30, 80 << 30, 71, 412_345), "GPU-bbbb": (3, 1 << 30, 80 << 30, 40, 61_000)}

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:  # noqa: N802
        if uuid == "GPU-lost":
            raise self.NVMLError_GpuIsLost()
        return uuid

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:  # noqa: N802
        return self._Util(self.GPUS[handle][0])

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:  # noqa: N802
        return self._Memory(*self.GPUS[handle][1:3])

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:  # noqa: N802
        return self.GPUS[handle][3]

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:  # noqa: N802
        return self.GPUS[handle][4]


def test_the_gpu_readings_are_the_jobs_own_gpu_by_its_uuid(monkeypatch):
    import sys

    from gpurent.agent.hardware import Gpu

    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml())
    reader = GpuReader([Gpu(0, "GPU-aaaa", "H100", 81920), Gpu(1, "GPU-bbbb", "H100", 81920)])
    gpu, reason = reader.read("GPU-bbbb")
    assert reason is None and gpu == {"util_pct": 3.0, "mem_used_bytes": 1 << 30, "mem_total_bytes": 80 << 30,
                                      "temp_c": 40.0, "power_w": 61.0}
    gpu, _ = reader.read("GPU-aaaa")
    assert gpu is not None and gpu["power_w"] == 412.3 and gpu["util_pct"] == 97.0
    assert reader.read(None) == (None, "no NVIDIA GPU readings: the job holds no NVIDIA GPU")
    assert reader.read("GPU-lost") == (None, "no NVIDIA GPU readings: NVML failed (NVMLError_GpuIsLost)")
    reading = Reading(10.0, 0, 1, 2, 0, 0, 0, 0, 1)
    usage = Usage(1.0)
    usage.add(make_sample(reading, None, *reader.read("GPU-aaaa")))
    assert parse_sample(make_sample(reading, None, *reader.read("GPU-aaaa")))["gpu"] == gpu
    assert usage.summary()["metrics"]["gpu_power_w"] == {"peak": 412.3, "mean": 412.3}
    assert usage_rows(usage.summary())["gpu"] == "peak 97%, mean 97%"
    assert GpuReader([]).read("GPU-aaaa") == (None, NO_GPU)  # no NVML: never zeros


def test_the_live_table_updates_in_place_and_shows_hostile_text_escaped():
    import io

    from rich.console import Console

    from gpurent.cli.top import TopView
    from gpurent.output import Output

    output = Output()
    screen = io.StringIO()
    output.out = Console(file=screen, force_terminal=True, width=100, soft_wrap=True)
    view = TopView(output, "Job 0xab…", extra=lambda: "booked time left: (a helper's line)")
    assert view.mode == "live"
    hostile = {**GOOD, "gpu_reason": "\x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b[31mred"}
    view.show(parse_sample(hostile))
    view.show(parse_sample({**hostile, "t": GOOD["t"] + 1, "mem_bytes": 5 << 20}))
    usage = Usage(1.0)
    usage.add(parse_sample(hostile))
    view.close(usage.summary(), JOB)
    shown = screen.getvalue()
    assert "\x1b]52" not in shown and "\x07" not in shown and "\x1b[31mred" not in shown
    assert "5.0 MiB / 1.0 GiB" in shown and "booked time left" in shown and "Usage over the whole run" in shown
    assert "\x1b[1A" in shown or "\x1b[2K" in shown  # redrawn in place (cursor up / erase line)
