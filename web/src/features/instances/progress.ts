// The agent's own record of a job as the gateway relays it (one JSON text frame each time it
// changes, src/gpurent/gateway/streams.py progress_frames): checked again here, in plain words.
import { formatBytes } from "./metrics";
import { frameObject } from "./frame";

export interface Progress {
  phase: string; // the agent's phase: queued, pulling, pulled, accepting, …, completed
  bytesDone: number;
  bytesTotal: number | null; // null until the transfer tells it (a cached image has none)
  exitCode: number | null;
  problem: string | null; // the agent's error, cut
}

const PHASE = /^[a-z][a-z0-9_-]{0,31}$/;
const PROBLEM_MAX = 200;
const BIG = 2 ** 63;

/** The agent's phases in words (an unknown one is shown as it came, the pattern above). */
export const AGENT_PHASES: Record<string, string> = {
  queued: "Seen by the provider: waiting to start the pull",
  pulling: "Pulling the image",
  pulled: "Image pulled and checked",
  accepting: "Accepting the job on chain",
  accepted: "Accepted on chain",
  starting: "Starting the container",
  running: "Running",
  exited: "The container exited",
  completing: "Completing the job on chain",
  completed: "Completed",
  cancelled: "Cancelled",
  declined: "Declined by the provider",
  failed: "Failed",
  disputed: "Disputed",
};

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= BIG ? value : null;
}

/** A frame as the agent's progress; null for anything that is not one (the provider is untrusted). */
export function parseProgress(frame: string): Progress | null {
  const d = frameObject(frame);
  if (d === null) return null;
  const bytesDone = count(d.bytesDone);
  const bytesTotal = d.bytesTotal === null ? null : count(d.bytesTotal);
  const exitCode = d.exitCode === null ? null : typeof d.exitCode === "number" && Number.isInteger(d.exitCode) ? d.exitCode : undefined;
  if (typeof d.phase !== "string" || !PHASE.test(d.phase) || bytesDone === null || exitCode === undefined) return null;
  if (bytesTotal === null && d.bytesTotal !== null) return null;
  const problem = typeof d.problem === "string" ? d.problem.slice(0, PROBLEM_MAX) : null;
  return { phase: d.phase, bytesDone: bytesTotal === null ? bytesDone : Math.min(bytesDone, bytesTotal), bytesTotal, exitCode, problem };
}

/** The progress in one line: "Pulling the image: 45 % (120.0 MiB of 266.0 MiB)", "Running", … */
export function describeProgress(p: Progress): string {
  const label = AGENT_PHASES[p.phase] ?? p.phase;
  if (p.phase === "pulling") {
    if (!p.bytesTotal) return `${label}: ${formatBytes(p.bytesDone)} so far`;
    return `${label}: ${Math.floor((100 * p.bytesDone) / p.bytesTotal)} % (${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)})`;
  }
  if (p.phase === "exited" || (p.exitCode !== null && p.phase === "completed")) return `${label} (exit code ${p.exitCode ?? "unknown"})`;
  return p.problem ? `${label}: ${p.problem}` : label;
}
