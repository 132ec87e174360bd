// A job's usage samples as the gateway relays them from the provider's agent (one JSON text
// frame per sample, src/gpurent/wire/metrics.py): checked again here, kept bounded.
import { frameObject } from "./frame";

export interface GpuReading {
  utilPct: number;
  memUsedBytes: number;
  memTotalBytes: number;
  tempC: number;
  powerW: number;
}

export interface Sample {
  t: number; // unix seconds, the provider's clock
  cpuPct: number | null; // % of one core
  memBytes: number;
  memLimitBytes: number;
  netRxBytes: number; // since the container started
  netTxBytes: number;
  gpu: GpuReading | null;
  gpuReason: string | null; // why there is no GPU reading
}

export const SAMPLES_KEPT = 120;
const REASON_MAX = 300;

function num(value: unknown, min: number, max: number): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= min && value <= max ? value : null;
}

/** A frame as a sample; null for anything that is not one (a provider's word is untrusted). */
export function parseSample(frame: string): Sample | null {
  const d = frameObject(frame);
  if (d === null) return null;
  const big = 2 ** 63;
  const t = num(d.t, 0, 2 ** 36);
  const memBytes = num(d.mem_bytes, 0, big);
  const memLimitBytes = num(d.mem_limit_bytes, 0, big);
  const netRxBytes = num(d.net_rx_bytes, 0, big);
  const netTxBytes = num(d.net_tx_bytes, 0, big);
  const cpuPct = d.cpu_pct === null ? null : num(d.cpu_pct, 0, 100 * 4096);
  if (t === null || memBytes === null || memLimitBytes === null || netRxBytes === null || netTxBytes === null) return null;
  if (cpuPct === null && d.cpu_pct !== null) return null;
  let gpu: GpuReading | null = null;
  if (d.gpu !== null && d.gpu !== undefined) {
    const g = d.gpu as Record<string, unknown>;
    const reading = {
      utilPct: num(g.util_pct, 0, 100),
      memUsedBytes: num(g.mem_used_bytes, 0, big),
      memTotalBytes: num(g.mem_total_bytes, 0, big),
      tempC: num(g.temp_c, -100, 300),
      powerW: num(g.power_w, 0, 100_000),
    };
    if (typeof g !== "object" || Object.values(reading).some((v) => v === null)) return null;
    gpu = reading as GpuReading;
  }
  const reason = typeof d.gpu_reason === "string" ? d.gpu_reason.slice(0, REASON_MAX) : null;
  return { t, cpuPct, memBytes, memLimitBytes, netRxBytes, netTxBytes, gpu, gpuReason: gpu ? null : reason };
}

/** `samples` with `next` added (in time order, one per time), the newest `keep` kept. */
export function addSample(samples: Sample[], next: Sample, keep = SAMPLES_KEPT): Sample[] {
  const last = samples[samples.length - 1];
  if (last && next.t <= last.t) return samples;
  return [...samples.slice(Math.max(0, samples.length + 1 - keep)), next];
}

/** Bytes per second received and sent between the last two samples; null before two. */
export function netRates(samples: Sample[]): { rx: number; tx: number } | null {
  const [a, b] = samples.slice(-2);
  if (!a || !b || b.t <= a.t) return null;
  const dt = b.t - a.t;
  return { rx: Math.max(0, b.netRxBytes - a.netRxBytes) / dt, tx: Math.max(0, b.netTxBytes - a.netTxBytes) / dt };
}

/** 1536 → "1.5 KiB"; bytes in binary units, one decimal. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An SVG polyline's points for values over [0, max] in a width × height box (newest right). */
export function sparkPoints(values: number[], max: number, width: number, height: number): string {
  if (values.length === 0 || max <= 0) return "";
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - (Math.min(Math.max(v, 0), max) / max) * height).toFixed(1)}`)
    .join(" ");
}
