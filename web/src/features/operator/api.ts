import { apiGet, apiPost } from "../../lib/api";
import { formatDuration } from "../../lib/format";
import type { Prepared, TxRequest } from "../../lib/transact";

export interface Dispute {
  jobId: string;
  initiator: string;
  reason: string;
  raisedBlock: number;
  outcome: string | null; // null: open
  finalCost: string | null;
  resolver: string | null;
  evidenceCid: string | null;
  resolvedBlock: number | null;
  raisedAt?: number; // unix seconds, open disputes only (from the chain)
  expiresAt?: number; // from then anyone may settle it as a split
}

/** `GET /operator/{address}`: its roles (per contract), the chain's parameters, the disputes. */
export interface OperatorView {
  address: string;
  roles: Record<string, Record<string, boolean>>;
  held: string[];
  parameters: Record<string, string | number | boolean>;
  paused: boolean;
  disputes: Dispute[];
  chainTime: number;
}

export const RULINGS = [
  { value: "provider-fault", label: "Provider at fault (renter refunded)" },
  { value: "user-fault", label: "Renter at fault (provider paid)" },
  { value: "split", label: "No fault (provider paid for the time run)" },
] as const;

export function fetchOperator(address: string, signal?: AbortSignal): Promise<OperatorView> {
  return apiGet<OperatorView>(`/operator/${address.toLowerCase()}`, { signal });
}

/** "DEFAULT_ADMIN_ROLE" → "admin", "ORACLE_ROLE" → "oracle". */
export function roleName(role: string): string {
  return role === "DEFAULT_ADMIN_ROLE" ? "admin" : role.replace(/_ROLE$/, "").toLowerCase();
}

/** A parameter's key as words: "accept_timeout_s" → "accept timeout (s)". */
export function parameterName(key: string): string {
  const unit = /_(s|ms|bps)$/.exec(key)?.[1];
  const words = (unit ? key.slice(0, -unit.length - 1) : key).replace(/_/g, " ");
  return unit ? `${words} (${unit})` : words;
}

/** An open dispute's wait against its deadline, in words, at chain time `now`. */
export function disputeDeadline(dispute: Dispute, now: number): { text: string; overdue: boolean } | null {
  if (dispute.outcome !== null || dispute.raisedAt === undefined || dispute.expiresAt === undefined) return null;
  const waited = formatDuration(now - dispute.raisedAt);
  const total = formatDuration(dispute.expiresAt - dispute.raisedAt);
  if (now >= dispute.expiresAt) return { text: `waited ${waited} of ${total}: anyone may settle it as a split now`, overdue: true };
  return { text: `waited ${waited} of ${total}`, overdue: now - dispute.raisedAt >= (dispute.expiresAt - dispute.raisedAt) / 2 };
}

/** The transactions that pause (or unpause) both contracts: none when they are so already. */
export function preparePause(token: string, paused: boolean): Promise<{ transactions: TxRequest[]; paused: boolean }> {
  return apiPost(`/operator/pause`, { paused }, { token });
}

export function prepareResolve(token: string, jobId: string, outcome: string, evidenceCid: string): Promise<Prepared> {
  return apiPost(`/operator/disputes/${jobId}/resolve`, { outcome, evidenceCid }, { token });
}
