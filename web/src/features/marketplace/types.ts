/** A GPU as GET /api/v1/gpus answers it (the index's GraphQL field names). */
export interface Gpu {
  id: string;
  providerAddress: string;
  gpuModel: string;
  vcpu: number;
  memoryGb: number;
  storageGb: number;
  pricePerHour: string; // tokens, a decimal string
  available: boolean;
  retired: boolean;
  reputation: number | null; // the provider's score, 0-1000
  totalUptime: number;
  uptimeBps: number | null; // the provider's uptime component, 0-10000; null: not measured yet
  responseBps: number | null; // its response component, the same

}

export interface GpuPage {
  items: Gpu[];
  limit: number;
  offset: number;
}

export const SORTS = {
  price_asc: "Price, lowest first",
  price_desc: "Price, highest first",
  reputation_desc: "Reputation, best first",
  memory_desc: "VRAM, most first",
  newest: "Newest first",
} as const;

export type Sort = keyof typeof SORTS;

export const AVAILABILITY = { yes: "Available now", no: "Not available now", any: "Any" } as const;

export type Availability = keyof typeof AVAILABILITY;

/** A provider's record as GET /api/v1/reliability answers it, from its jobs' chain events. */
export interface Reliability {
  completed: number;
  started: number; // of its newest `recentJobs` jobs
  abandoned: number; // accepted, then cancelled before starting (of the same)
  disputes: number;
  disputesLost: number; // ruled the provider's fault
  medianStartS: number | null; // creation to start, median over `started`
  startSamples: number;
  recentJobs: number;
}

export interface Filters {
  model: string;
  minVram: string; // GB; "" for any
  minVcpu: string;
  maxPrice: string; // tokens per hour
  minReputation: string; // 0-1000
  minUptime: string; // percent, 0-100, at most 2 decimals (the gateway's min_uptime_pct)
  minResponse: string; // percent, the same (min_response_pct)
  available: Availability;
  sort: Sort;
  image: string; // the CID the renter means to run: where it is cached already ("" for none)
}
