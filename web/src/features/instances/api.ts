import { apiDelete, apiGet } from "../../lib/api";
import type { Prepared } from "../../lib/transact";
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
