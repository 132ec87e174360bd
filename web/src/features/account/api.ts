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

/** A transaction of the job's, as the index recorded it. */
export interface ReceiptTransaction {
  block: number;
  hash: string;
  timestamp: number | null; // the block's
}

/** A settled job's receipt (GET /instances/<id>/receipt): amounts in the token's base units,
 * as decimal strings; times are block timestamps. */
export interface Receipt {
  jobId: string;
  status: string;
  role: "renter" | "provider";
  renter: string;
  provider: string;
  gpu: { id: string; model: string | null };
  imageCid: string;
  createdAt: number | null;
  startedAt: number | null;
  disputedAt: number | null;
  endedAt: number | null;
  bookedSeconds: number;
  usedSeconds: number | null;
  pricePerHour: string;
  maxCost: string;
  finalCost: string;
  split: { provider: string; fee: string; refund: string };
  clawedBack: string;
  creation: ReceiptTransaction;
  settlement: ReceiptTransaction;
  payments: { event: string; block: number; hash: string; amount?: string; providerAmount?: string; fee?: string }[];
  chainId: number;
  marketplace: string | null;
  token: { address: string | null; symbol: string; decimals: number };
}

/** The statuses a job is settled in: its escrow paid out, a receipt to read. */
export const SETTLED = ["Completed", "Cancelled", "Resolved"];

export function fetchReceipt(token: string, jobId: string, signal?: AbortSignal): Promise<Receipt> {
  return apiGet<Receipt>(`/instances/${encodeURIComponent(jobId)}/receipt`, { token, signal });
}
