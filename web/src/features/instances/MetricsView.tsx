import { formatAmount } from "../../lib/format";
import { formatBytes, netRates, sparkPoints, type Sample } from "./metrics";
import type { MetricsStream } from "./useMetricsStream";

const W = 240;
const H = 40;

function Spark({ label, values, max }: { label: string; values: number[]; max: number }) {
  return (
    <svg className="spark" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={label}>
      <polyline fill="none" stroke="currentColor" strokeWidth="1.5" points={sparkPoints(values, max, W, H)} />
    </svg>
  );
}

function pct(value: number): string {
  return `${formatAmount(value.toFixed(1), 1)} %`;
}

/** The latest sample's values, with the GPU's and the CPU's recent history as small charts. */
export function MetricsReadout({ samples }: { samples: Sample[] }) {
  const last = samples[samples.length - 1];
  if (!last) return null;
  const rates = netRates(samples);
  const cpuMax = Math.max(100, ...samples.map((s) => s.cpuPct ?? 0));
  return (
    <>
      <dl className="balances metrics">
        {last.gpu ? (
          <>
            <div><dt>GPU use</dt><dd data-testid="gpu-util">{pct(last.gpu.utilPct)}</dd></div>
            <div><dt>GPU memory</dt><dd data-testid="gpu-mem">{formatBytes(last.gpu.memUsedBytes)} of {formatBytes(last.gpu.memTotalBytes)}</dd></div>
            <div><dt>GPU temperature</dt><dd data-testid="gpu-temp">{formatAmount(last.gpu.tempC.toFixed(0), 0)} °C</dd></div>
            <div><dt>GPU power</dt><dd data-testid="gpu-power">{formatAmount(last.gpu.powerW.toFixed(0), 0)} W</dd></div>
          </>
        ) : (
          <div><dt>GPU</dt><dd data-testid="gpu-none">{last.gpuReason ?? "no GPU readings"}</dd></div>
        )}
        <div><dt>CPU</dt><dd data-testid="cpu">{last.cpuPct === null ? "—" : `${pct(last.cpuPct)} of a core`}</dd></div>
        <div><dt>Memory</dt><dd data-testid="mem">{formatBytes(last.memBytes)} of {formatBytes(last.memLimitBytes)}</dd></div>
        <div><dt>Network</dt><dd data-testid="net">{rates ? `${formatBytes(rates.rx)}/s in · ${formatBytes(rates.tx)}/s out` : "—"}</dd></div>
      </dl>
      <div className="actions-row">
        {last.gpu && <Spark label="GPU use, recent samples" values={samples.map((s) => s.gpu?.utilPct ?? 0)} max={100} />}
        <Spark label="CPU use, recent samples" values={samples.map((s) => s.cpuPct ?? 0)} max={cpuMax} />
      </div>
    </>
  );
}

/** The live metrics: GPU use, memory, temperature and power, CPU, memory and network. */
export function MetricsView({ stream }: { stream: MetricsStream }) {
  const live = stream.state === "open" || stream.state === "connecting" || stream.state === "signing";
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      <div className="actions-row">
        {live ? (
          <button type="button" onClick={stream.stop}>Stop the live metrics</button>
        ) : (
          <button type="button" onClick={stream.start}>{stream.state === "ended" ? "Follow the metrics again" : "Show live metrics"}</button>
        )}
        <span className="status" aria-live="polite">
          {stream.state === "signing" ? "Sign the access in your wallet…" : stream.state === "connecting" ? "Connecting…"
            : stream.state === "open" && !stream.samples.length ? "Waiting for the first sample…" : stream.note ?? ""}
        </span>
      </div>
      <MetricsReadout samples={stream.samples} />
    </section>
  );
}
