import { apiGet } from "../../lib/api";

export interface Balances {
  address: string;
  tokens: string; // decimal tokens
  earnings: string; // decimal tokens, a provider's not yet withdrawn
  chainId: number;
}

export interface HistoryEntry {
  jobId: string;
  status: string;
  block: number;
  timestamp: number | null;
  role: "renter" | "provider";
  jobStatus: string;
  pricePerHour: string | null;
  maxCost: string | null;
  totalCost: string | null;
}

export interface HistoryPage {
  items: HistoryEntry[];
  limit: number;
  offset: number;
}

export function fetchBalances(token: string, signal?: AbortSignal): Promise<Balances> {
  return apiGet<Balances>("/balances", { token, signal });
}

export function fetchHistory(token: string, page: number, pageSize: number, signal?: AbortSignal): Promise<HistoryPage> {
  const params = new URLSearchParams({ limit: String(pageSize + 1), offset: String(page * pageSize) });
  return apiGet<HistoryPage>("/history", { token, signal, params });
}
