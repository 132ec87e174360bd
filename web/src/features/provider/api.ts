import { apiGet, apiPost } from "../../lib/api";
import { formatAmount, fromBaseUnits, toBaseUnits } from "../../lib/format";
import type { Prepared } from "../../lib/transact";
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

/** What the dashboard's writes need, read from the chain now (a gateway with a chain connection). */
export interface ProviderChain {
  withdrawable: string; // tokens the marketplace holds for the provider
  feeHeld: string; // the platform fee on them, paid to the treasury on withdrawal
  stake: string;
  unlockAt: number; // unix seconds the stake unlocks at; 0: no unstake pending
  unstakeCooldownS: number;
  activeGpus: number; // not retired
  maxPricePerHour: string; // tokens: the registry's bound
  chainTime: number;
}

/** `GET /providers/{address}`: what the index knows of a provider (and the chain, `chain`). */
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
  indexedBlock?: number; // the index's head: a write of a later block is not shown yet
  chain?: ProviderChain;
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

/** A price in tokens per hour as typed, checked as the registry will (above 0, at most its
 * bound, at most 18 decimals), in exact base units: the decimal to send, or the problem. */
export function checkPrice(text: string, max?: string): { price: string } | { problem: string } {
  const units = toBaseUnits(text);
  if (units === null || units >= 10n ** 48n) return { problem: "Enter a price in tokens per hour, like 2.5 (at most 18 decimals)." };
  if (units === 0n) return { problem: "The price must be above 0." };
  const bound = max === undefined ? null : toBaseUnits(max);
  if (bound !== null && units > bound) return { problem: `The registry takes at most ${formatAmount(max ?? "")} per hour.` };
  return { price: fromBaseUnits(units) };
}

/** Where the stake's unstake stands at chain time `now`. */
export type UnstakeState = "none" | "cooling" | "unlocked";

export function unstakeState(chain: ProviderChain): UnstakeState {
  if (chain.unlockAt === 0) return "none";
  return chain.chainTime >= chain.unlockAt ? "unlocked" : "cooling";
}

export function prepareAvailability(token: string, gpuId: string, available: boolean): Promise<Prepared> {
  return apiPost(`/provider/gpus/${gpuId}/availability`, { available }, { token });
}

export function preparePrice(token: string, gpuId: string, pricePerHour: string): Promise<Prepared> {
  return apiPost(`/provider/gpus/${gpuId}/price`, { pricePerHour }, { token });
}

export function prepareWithdraw(token: string): Promise<Prepared & { amount: string; fee: string }> {
  return apiPost(`/provider/earnings/withdraw`, {}, { token });
}

export function prepareUnstake(token: string, step: "request" | "cancel" | "withdraw"): Promise<Prepared> {
  return apiPost(`/provider/stake/unstake`, { step }, { token });
}
