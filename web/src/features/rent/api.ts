import { apiGet, apiPost } from "../../lib/api";
import type { Permit } from "../../lib/transact";
import type { Gpu } from "../marketplace/types";

export interface RentBody {
  gpuId: string;
  imageCid: string;
  durationSeconds: number;
  [key: string]: unknown;
}

export const RENT_ROUTES = { prepare: "/instances/prepare", create: "/instances" };

export function fetchGpu(gpuId: string, signal?: AbortSignal): Promise<Gpu> {
  return apiGet<Gpu>(`/gpus/${gpuId}`, { signal });
}

export function preparePermit(token: string, body: RentBody, signal?: AbortSignal): Promise<Permit> {
  return apiPost<Permit>(RENT_ROUTES.prepare, body, { token, signal });
}

export function fetchImages(signal?: AbortSignal): Promise<{ items: { cid: string; jobs: number }[] }> {
  return apiGet("/images", { signal, params: new URLSearchParams({ limit: "20" }) });
}
