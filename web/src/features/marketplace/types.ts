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

export interface Filters {
  model: string;
  minVram: string; // GB; "" for any
  minVcpu: string;
  maxPrice: string; // tokens per hour
  minReputation: string; // 0-1000
  available: "yes" | "no";
  sort: Sort;
}
