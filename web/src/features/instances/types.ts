import type { Settlement } from "../../lib/transact";

/** One status change of a job, from the chain's events (the index's `Job.history`). */
export interface JobChange {
  status: string;
  block: number;
  timestamp: number | null;
}

/** A job as GET /api/v1/instances/{id} answers it: on-chain data only (tokens as decimals). */
export interface Job {
  id: string;
  user: string;
  provider: string;
  resourceId: string;
  imageCid: string | null;
  status: string; // Created, Accepted, Running, Completed, Cancelled, Disputed, Resolved
  pricePerHour: string;
  estimatedDuration: number; // booked seconds
  maxCost: string;
  startTime: number | null;
  endTime: number | null;
  totalCost: string | null;
  createdBlock: number;
  history: JobChange[];
  settlement?: Settlement | null; // where the escrow went, once settled
  resultCid?: string | null; // what its provider committed at settlement (Completed or Resolved)
  chainTime?: number; // the chain's clock when the gateway answered (unix seconds)
}

export interface JobPage {
  items: Job[];
  limit: number;
  offset: number;
}

export const SETTLED = new Set(["Completed", "Cancelled", "Resolved"]);
