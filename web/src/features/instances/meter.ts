// The job's money and time, computed as the contract does: cost = pricePerHour * seconds / 3600
// (integer base units, rounded down), seconds = min(now - startTime, booked).
import { toBaseUnits } from "../../lib/format";
import type { Job } from "./types";

export const WARN_SECONDS = 600; // under 10 minutes left…
export const WARN_SHARE = 0.1; // …or under 10% of the booked time

export interface Meter {
  billing: boolean; // the clock runs (Running)
  booked: number; // seconds
  elapsed: number; // seconds billed so far
  left: number; // seconds of booked time left
  cost: bigint; // base units so far
  perSecond: bigint; // base units a second (rounded down)
  max: bigint; // base units: the most it can cost (locked in escrow)
  warn: boolean;
}

export function meter(job: Job, nowSeconds: number): Meter {
  const price = toBaseUnits(job.pricePerHour) ?? 0n;
  const max = toBaseUnits(job.maxCost) ?? 0n;
  const booked = job.estimatedDuration;
  const billing = job.status === "Running" && !!job.startTime;
  const elapsed = billing && job.startTime ? Math.min(booked, Math.max(0, Math.floor(nowSeconds) - job.startTime)) : 0;
  const left = billing ? booked - elapsed : booked;
  const cost = (price * BigInt(elapsed)) / 3600n;
  const warn = billing && (left < WARN_SECONDS || left < booked * WARN_SHARE);
  return { billing, booked, elapsed, left, cost, perSecond: price / 3600n, max, warn };
}
