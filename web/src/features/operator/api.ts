import { apiGet, apiPost } from "../../lib/api";
import { formatDuration, formatTime } from "../../lib/format";
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

/** A governance call scheduled on the timelock and not yet executed or cancelled. */
export interface Operation {
  opId: string;
  target: string;
  change: string; // in words, against the current parameters: "platform fee 2% → 3%"
  call: string; // "Marketplace.setFee(300)"
  readyAt: number; // chain time from which it may be executed
  ready: boolean;
}

/** `GET /operator/{address}`: its roles (per contract, and the timelock's), the chain's
 * parameters, the timelock's pending operations, the disputes. */
export interface OperatorView {
  address: string;
  roles: Record<string, Record<string, boolean>>;
  held: string[];
  parameters: Record<string, string | number | boolean>;
  paused: boolean;
  operations: Operation[];
  disputes: Dispute[];
  chainTime: number;
}

/** The parameters a proposer may change through the timelock (the SDK's
 * gpurent.sdk.proposals.PARAMETERS), each value as the gateway reads it. */
export const PROPOSALS = [
  { key: "fee_bps", label: "Platform fee", fields: ["Fee in basis points (100 = 1%)"] },
  { key: "min_stake", label: "Minimum stake", fields: ["Minimum stake (GPU)"] },
  { key: "unstake_cooldown", label: "Unstake cooldown", fields: ["Cooldown (seconds)"] },
  { key: "timeouts", label: "Timeouts", fields: ["Accept timeout (seconds)", "Start timeout (seconds)",
    "Completion grace, the dispute window (seconds)", "Dispute timeout (seconds)"] },
  { key: "dispute_bond", label: "Dispute bond", fields: ["Bond in basis points of the job's max cost", "Minimum bond (GPU)"] },
  { key: "treasury", label: "Treasury", fields: ["Treasury address"] },
] as const;

/** When a pending operation may be executed, at chain time `now`: a countdown, or ready. */
export function readiness(op: Operation, now: number): { text: string; ready: boolean } {
  if (now >= op.readyAt) return { text: "ready to execute", ready: true };
  return { text: `executable in ${formatDuration(op.readyAt - now)} (${formatTime(op.readyAt)})`, ready: false };
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

/** The timelock's `schedule` of a parameter change, and the operation it makes. */
export function prepareProposal(token: string, parameter: string, values: string[]): Promise<Prepared & { operation: Operation }> {
  return apiPost(`/operator/proposals`, { parameter, values }, { token });
}

/** The timelock's `execute` (once ready) or `cancel` of a pending operation. */
export function prepareOperation(token: string, opId: string, what: "execute" | "cancel"): Promise<Prepared> {
  return apiPost(`/operator/operations/${opId}/${what}`, {}, { token });
}
