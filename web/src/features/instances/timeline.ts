// The phases a job went through (from its chain events) and those still ahead of it.
import type { JobChange } from "./types";

export interface Phase {
  status: string;
  label: string;
  at: number | null; // unix seconds it was reached; null when not (yet)
  reached: boolean;
  current: boolean;
}

const LABELS: Record<string, string> = {
  Created: "Queued: waiting for the provider to accept",
  Accepted: "Accepted: the provider prepares the container",
  Running: "Running: billed by the second",
  Completed: "Completed: settled",
  Cancelled: "Cancelled: refunded",
  Disputed: "Disputed: the oracle decides",
  Resolved: "Resolved: settled by the oracle",
};

const HAPPY = ["Created", "Accepted", "Running", "Completed"];

export function phases(history: JobChange[], status: string): Phase[] {
  const seen: JobChange[] = [];
  for (const change of [...history].sort((a, b) => a.block - b.block)) {
    if (!seen.some((s) => s.status === change.status)) seen.push(change);
  }
  if (!seen.some((s) => s.status === status)) seen.push({ status, block: Number.MAX_SAFE_INTEGER, timestamp: null });
  const reached: Phase[] = seen.map((change) => ({
    status: change.status,
    label: LABELS[change.status] ?? change.status,
    at: change.timestamp,
    reached: true,
    current: change.status === status,
  }));
  const last = HAPPY.indexOf(status);
  const ahead = last < 0 || last === HAPPY.length - 1 ? [] : HAPPY.slice(last + 1);
  return [
    ...reached,
    ...ahead.map((s) => ({ status: s, label: LABELS[s] ?? s, at: null, reached: false, current: false })),
  ];
}
