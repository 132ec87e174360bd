import { apiBlob, apiDelete, apiGet, apiPost } from "../../lib/api";
import type { Prepared, PreparedDispute } from "../../lib/transact";
import type { Job, JobPage } from "./types";

export function fetchInstance(token: string, jobId: string, signal?: AbortSignal): Promise<Job> {
  return apiGet<Job>(`/instances/${jobId}`, { token, signal });
}

export function fetchInstances(token: string, page: number, pageSize: number, signal?: AbortSignal): Promise<JobPage> {
  const params = new URLSearchParams({ limit: String(pageSize + 1), offset: String(page * pageSize) });
  return apiGet<JobPage>("/instances", { token, signal, params });
}

/** cancelJob or completeJob, whichever the job's state allows its renter. */
export function prepareEnd(token: string, jobId: string): Promise<Prepared> {
  return apiDelete<Prepared>(`/instances/${jobId}`, { token });
}

export function instanceRoutes(jobId: string) {
  return { prepare: `/instances/${jobId}/extend/prepare`, create: `/instances/${jobId}/extend` };
}

/** The bond's approval (when the allowance is short) and disputeJob, for the wallet to send. */
export function prepareDispute(token: string, jobId: string, reason: string): Promise<PreparedDispute> {
  return apiPost<PreparedDispute>(`/instances/${jobId}/dispute`, { reason }, { token });
}

/** The job's committed result as the gateway checked it against result.json. */
export interface ResultSummary {
  resultCid: string;
  sealed: boolean;
  payloadBytes: number;
  payloadSha256: string;
  manifest?: { files?: unknown[] } & Record<string, unknown>;
}

export function fetchResult(token: string, jobId: string, signal?: AbortSignal): Promise<ResultSummary> {
  return apiGet<ResultSummary>(`/instances/${jobId}/result`, { token, signal });
}

/** One stored part of the result ("payload" or "manifest"), checked by the gateway as it passes. */
export function downloadPart(token: string, jobId: string, part: "payload" | "manifest"): Promise<Blob> {
  return apiBlob(`/instances/${jobId}/result/${part}`, { token });
}
