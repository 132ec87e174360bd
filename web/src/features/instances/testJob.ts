// A job for the unit tests: running for an hour at 1 token an hour, unless told otherwise.
import type { Job } from "./types";

export function job(over: Partial<Job> = {}): Job {
  return {
    id: `0x${"1".repeat(64)}`, user: "0xuser", provider: "0xprov", resourceId: `0x${"2".repeat(64)}`, imageCid: "bafy",
    status: "Running", pricePerHour: "1", estimatedDuration: 3600, maxCost: "1", startTime: 1000, endTime: null,
    totalCost: null, createdBlock: 1, history: [], ...over,
  };
}
