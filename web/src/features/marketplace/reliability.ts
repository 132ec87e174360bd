// A provider's record for people: how its jobs ended and how soon they start, from chain events.
import { formatDuration } from "../../lib/format";
import type { Reliability } from "./types";

/** "2 completed · 1 abandoned · 1 dispute, 1 lost"; "no jobs yet" for a provider without any. */
export function recordText(r: Reliability): string {
  if (!r.completed && !r.started && !r.abandoned && !r.disputes) return "no jobs yet";
  const parts = [`${r.completed} completed`];
  if (r.abandoned) parts.push(`${r.abandoned} abandoned`);
  if (r.disputes) parts.push(`${r.disputes} ${r.disputes === 1 ? "dispute" : "disputes"}, ${r.disputesLost} lost`);
  return parts.join(" · ");
}

/** "~2 min (median of 3 jobs)": the provider's median time from a job's creation to its start;
 * "no start yet" before its first. What this image's pull costs here is not known (the index
 * does not see providers' image caches), so it is the provider's median over any image. */
export function startText(r: Reliability): string {
  if (r.medianStartS === null || r.startSamples === 0) return "no start yet";
  return `~${formatDuration(r.medianStartS)} (median of ${r.startSamples} ${r.startSamples === 1 ? "job" : "jobs"})`;
}
