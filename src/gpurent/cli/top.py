"""`gpurent jobs top`: a running job's usage, live, from its provider's agent; and the usage
summary `gpurent jobs show` prints.

Three ways to show the samples (:mod:`gpurent.wire.metrics`): a Rich table updated in place
when stdout is a terminal, one plain line per sample when it is not, one JSON object per line
with ``--json`` (each line flushed). Everything a provider sent is checked by the SDK first and
its text goes through :func:`~gpurent.output.safe_text` here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gpurent.output import Output, as_text, safe_text
from gpurent.wire.metrics import GPU_NONE, Sample, Summary

Extra = Callable[[], "str | None"]  # a line under the live table, asked again at every sample


def size(count: float) -> str:
    """A byte count for a person: B, KiB, MiB or GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def clock(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M:%S")


def gpu_words(sample: Sample) -> str:
    gpu = sample["gpu"]
    if gpu is None:
        return safe_text(sample["gpu_reason"] or GPU_NONE)
    return (f"{gpu['util_pct']:.0f}%, {size(gpu['mem_used_bytes'])} / {size(gpu['mem_total_bytes'])}, "
            f"{gpu['temp_c']:.0f} °C, {gpu['power_w']:.0f} W")


def plain_line(sample: Sample) -> str:
    """One sample on one line (what `jobs top` prints when stdout is not a terminal)."""
    return (f"{clock(sample['t'])}  cpu {percent(sample['cpu_pct'])}  "
            f"mem {size(sample['mem_bytes'])} / {size(sample['mem_limit_bytes'])}  "
            f"net rx {size(sample['net_rx_bytes'])} tx {size(sample['net_tx_bytes'])}  "
            f"disk r {size(sample['disk_read_bytes'])} w {size(sample['disk_write_bytes'])}  "
            f"pids {sample['pids']}  gpu {gpu_words(sample)}")


def usage_rows(summary: Summary) -> dict[str, str]:
    """A summary (peak and mean of each metric) as lines for a person."""
    stats = summary["metrics"]

    def pair(name: str, show: Callable[[float], str]) -> str:
        stat = stats.get(name)
        return "–" if stat is None else f"peak {show(stat['peak'])}, mean {show(stat['mean'])}"

    def moved(name: str) -> str:
        stat = stats.get(name)
        if stat is None:
            return "–"
        return f"{size(stat.get('total', 0))} (peak {size(stat['peak'])}/s, mean {size(stat['mean'])}/s)"

    span = (summary["last_t"] or 0) - (summary["first_t"] or 0)
    rows = {
        "cpu": pair("cpu_pct", lambda v: f"{v:.1f}%"),
        "memory": pair("mem_bytes", size),
        "processes": pair("pids", lambda v: f"{v:.0f}"),
        "net received": moved("net_rx_bytes"), "net sent": moved("net_tx_bytes"),
        "disk read": moved("disk_read_bytes"), "disk written": moved("disk_write_bytes"),
    }
    if "gpu_util_pct" in stats:
        rows["gpu"] = pair("gpu_util_pct", lambda v: f"{v:.0f}%")
        rows["gpu memory"] = pair("gpu_mem_used_bytes", size)
        rows["gpu temperature"] = pair("gpu_temp_c", lambda v: f"{v:.0f} °C")
        rows["gpu power"] = pair("gpu_power_w", lambda v: f"{v:.0f} W")
    else:
        why = safe_text(summary["gpu_reason"] or "").removeprefix(GPU_NONE).lstrip(": ")
        rows["gpu"] = "no GPU readings" + (f" ({why})" if why else "")
    gaps = f", {summary['gaps']} missed" if summary["gaps"] else ""
    rows["samples"] = f"{summary['samples']} over {span:.0f} s, every {summary['interval_s']:g} s{gaps}"
    return rows


class TopView:
    """Where the samples go: JSON lines, plain lines or a live table (see the module's docstring)."""

    def __init__(self, output: Output, title: str, extra: Extra | None = None):
        self.output, self.title, self.extra = output, title, extra
        self.mode = "json" if output.as_json else "live" if output.out.is_terminal else "plain"
        self.peaks: dict[str, float] = {}
        self.live: Live | None = None

    def show(self, sample: Sample) -> None:
        if self.mode == "json":
            sys.stdout.write(json.dumps(sample, ensure_ascii=True) + "\n")  # ASCII: escapes arrive escaped
            sys.stdout.flush()
            return
        if self.mode == "plain":
            self.output.out.print(Text(plain_line(sample)), highlight=False)
            return
        for key in ("cpu_pct", "mem_bytes", "pids"):
            value = sample[key]
            if value is not None:
                self.peaks[key] = max(self.peaks.get(key, value), value)
        if self.live is None:
            self.live = Live(self._render(sample), console=self.output.out, auto_refresh=False)
            self.live.start()
        self.live.update(self._render(sample), refresh=True)

    def close(self, summary: Summary | None, job_id: str) -> None:
        """Ends the live table (left as it last was) and prints the summary, when there is one."""
        if self.live is not None:
            self.live.stop()
            self.live = None
        if summary is None:
            return
        if self.mode == "json":
            sys.stdout.write(json.dumps({"job_id": job_id, "summary": summary}, ensure_ascii=True) + "\n")
            sys.stdout.flush()
            return
        self.output.data(usage_rows(summary), title="Usage over the whole run")

    def _render(self, sample: Sample) -> Group:
        table = Table(title=as_text(f"{self.title} at {clock(sample['t'])} UTC"), title_justify="left")
        for header in ("", "now", "peak seen"):
            table.add_column(header)
        peak = self.peaks.get
        table.add_row("cpu", percent(sample["cpu_pct"]), percent(peak("cpu_pct")))
        table.add_row("memory", f"{size(sample['mem_bytes'])} / {size(sample['mem_limit_bytes'])}",
                      size(peak("mem_bytes", 0)))
        table.add_row("processes", str(sample["pids"]), f"{peak('pids', 0):.0f}")
        table.add_row("network", f"rx {size(sample['net_rx_bytes'])}  tx {size(sample['net_tx_bytes'])}", "")
        table.add_row("disk", f"read {size(sample['disk_read_bytes'])}  written {size(sample['disk_write_bytes'])}", "")
        table.add_row("gpu", as_text(gpu_words(sample)), "")
        lines: list[Any] = [table]
        extra = self.extra() if self.extra is not None else None
        if extra:
            lines.append(as_text(extra))
        return Group(*lines)
