import { render, screen } from "@testing-library/react";
import { addSample, formatBytes, netRates, parseSample, sparkPoints, type Sample } from "./metrics";
import { MetricsReadout } from "./MetricsView";
import { parseEnd, streamUrl } from "./useJobStream";

const wire = (over: Record<string, unknown> = {}) => JSON.stringify({
  t: 1000, cpu_pct: 150, mem_bytes: 512 * 2 ** 20, mem_limit_bytes: 2 * 2 ** 30, net_rx_bytes: 1000, net_tx_bytes: 500,
  disk_read_bytes: 0, disk_write_bytes: 0, pids: 3,
  gpu: { util_pct: 87.5, mem_used_bytes: 20 * 2 ** 30, mem_total_bytes: 80 * 2 ** 30, temp_c: 64, power_w: 310 }, gpu_reason: null, ...over,
});

describe("a metrics sample from the provider", () => {
  it("is read with its GPU reading", () => {
    const s = parseSample(wire());
    expect(s).toEqual({ t: 1000, cpuPct: 150, memBytes: 512 * 2 ** 20, memLimitBytes: 2 * 2 ** 30, netRxBytes: 1000, netTxBytes: 500,
      gpu: { utilPct: 87.5, memUsedBytes: 20 * 2 ** 30, memTotalBytes: 80 * 2 ** 30, tempC: 64, powerW: 310 }, gpuReason: null });
  });
  it("keeps why there is no GPU reading, bounded", () => {
    const s = parseSample(wire({ gpu: null, gpu_reason: "no NVIDIA GPU readings: " + "x".repeat(1000), cpu_pct: null }));
    expect(s?.gpu).toBeNull();
    expect(s?.cpuPct).toBeNull();
    expect(s?.gpuReason?.length).toBe(300);
  });
  it("is refused when a field is missing, of another type, out of range or not finite", () => {
    for (const bad of ["not json", "[]", "null", wire({ t: "1000" }), wire({ mem_bytes: -1 }), wire({ cpu_pct: "x" }),
      wire({ gpu: { util_pct: 140, mem_used_bytes: 0, mem_total_bytes: 0, temp_c: 0, power_w: 0 } }), wire({ gpu: { util_pct: 1 } }),
      '{"t": 1e999, "mem_bytes": 0, "mem_limit_bytes": 0, "net_rx_bytes": 0, "net_tx_bytes": 0, "cpu_pct": null}']) {
      expect(parseSample(bad)).toBeNull();
    }
  });
});

describe("the samples kept", () => {
  const at = (t: number, rx = 0, tx = 0) => ({ ...(parseSample(wire()) as Sample), t, netRxBytes: rx, netTxBytes: tx });
  it("are in time order, one per time, the newest kept", () => {
    let kept: Sample[] = [];
    for (const t of [1, 2, 2, 1, 3, 4]) kept = addSample(kept, at(t), 3);
    expect(kept.map((s) => s.t)).toEqual([2, 3, 4]);
  });
  it("give the network's rates between the last two", () => {
    expect(netRates([at(1)])).toBeNull();
    expect(netRates([at(10, 1000, 0), at(12, 5096, 2048)])).toEqual({ rx: 2048, tx: 1024 });
  });
  it("draw within the box", () => {
    expect(sparkPoints([0, 50, 100, 200], 100, 30, 10)).toBe("0.0,10.0 10.0,5.0 20.0,0.0 30.0,0.0");
    expect(sparkPoints([], 100, 30, 10)).toBe("");
  });
  it("show bytes in binary units", () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(80 * 2 ** 30)]).toEqual(["512 B", "1.5 KiB", "80.0 GiB"]);
  });
});

describe("MetricsReadout", () => {
  it("shows the latest GPU, CPU, memory and network values", () => {
    const first = parseSample(wire()) as Sample;
    const second = parseSample(wire({ t: 1002, net_rx_bytes: 1000 + 4096, net_tx_bytes: 500 + 2048 })) as Sample;
    render(<MetricsReadout samples={[first, second]} />);
    expect(screen.getByTestId("gpu-util").textContent).toBe("87.5 %");
    expect(screen.getByTestId("gpu-mem").textContent).toBe("20.0 GiB of 80.0 GiB");
    expect(screen.getByTestId("gpu-temp").textContent).toBe("64 °C");
    expect(screen.getByTestId("gpu-power").textContent).toBe("310 W");
    expect(screen.getByTestId("cpu").textContent).toBe("150 % of a core");
    expect(screen.getByTestId("mem").textContent).toBe("512.0 MiB of 2.0 GiB");
    expect(screen.getByTestId("net").textContent).toBe("2.0 KiB/s in · 1.0 KiB/s out");
    expect(screen.getAllByRole("img")).toHaveLength(2);
  });
  it("says why there is no GPU reading, as text", () => {
    render(<MetricsReadout samples={[parseSample(wire({ gpu: null, gpu_reason: "<b>no NVIDIA GPU readings</b>" })) as Sample]} />);
    expect(screen.getByTestId("gpu-none").textContent).toBe("<b>no NVIDIA GPU readings</b>");
  });
});

describe("the metrics stream", () => {
  it("has its own URL and end", () => {
    expect(streamUrl("0xab", "metrics", { protocol: "http:", host: "h:1" } as Location)).toBe("ws://h:1/api/v1/instances/0xab/metrics");
    expect(parseEnd('{"end": "x"}', "metrics")).toBe("The job is past running: the metrics stream ended.");
    expect(parseEnd('{"error": "the provider refused"}', "metrics")).toBe("The metrics stream failed: the provider refused");
  });
});
