import { apiGet } from "../../lib/api";
import type { Gpu } from "../marketplace/types";

export interface DayEarnings {
  day: string; // YYYY-MM-DD, UTC
  earned: string; // decimal tokens, the provider's share
  fee: string;
  jobs: number;
}

export interface ReputationEntry {
  block: number;
  kind: string; // report, penalty, reward, score, slash, stake
  detail: Record<string, unknown>;
}

/** `GET /providers/{address}`: what the index knows of a provider. */
export interface ProviderBoard {
  address: string;
  endpoint: string;
  stake: string;
  score: number | null;
  uptimeBps: number | null;
  responseBps: number | null;
  penaltyPoints: number;
  reports: number;
  gpus: Gpu[];
  jobs: { total: number; ended: number; byStatus: Record<string, number> };
  earningsByDay: DayEarnings[];
  reputationHistory: ReputationEntry[];
}

export function fetchProvider(address: string, signal?: AbortSignal): Promise<ProviderBoard> {
  return apiGet<ProviderBoard>(`/providers/${address}`, { signal });
}

export interface ScorePoint {
  block: number;
  score: number; // out of 1000
  uptime: number; // percent
  response: number; // percent
}

/** The score changes of the history, as the chart plots them (percent of the best). */
export function scorePoints(history: ReputationEntry[]): ScorePoint[] {
  return history.filter((h) => h.kind === "score" && typeof h.detail.score === "number").map((h) => ({
    block: h.block,
    score: Number(h.detail.score),
    uptime: Number(h.detail.uptime_bps ?? 0) / 100,
    response: Number(h.detail.response_bps ?? 0) / 100,
  }));
}
