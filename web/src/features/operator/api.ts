import { apiGet } from "../../lib/api";

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
}

/** `GET /operator/{address}`: its roles (per contract), the chain's parameters, the disputes. */
export interface OperatorView {
  address: string;
  roles: Record<string, Record<string, boolean>>;
  held: string[];
  parameters: Record<string, string | number | boolean>;
  paused: boolean;
  disputes: Dispute[];
}

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
