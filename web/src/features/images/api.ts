import { apiGet } from "../../lib/api";
import { sendFile, type Upload } from "../../lib/upload";

export type { Upload };

/** An image jobs ran, from the index: `jobs` is how many (its popularity). */
export interface ImageEntry {
  cid: string;
  jobs: number;
  firstSeen: number | null;
}

/** An image's metadata as pushed to IPFS (`GET /images/{cid}`; an upload's answer has the
 * first five). */
export interface ImageDetails {
  cid: string;
  name: string;
  tag: string;
  size: number;
  digest: string;
  uploader?: string;
  created?: string; // ISO 8601, UTC
  network?: boolean; // the job asks for network access
  jobs?: number;
}

export function fetchImages(limit: number, signal?: AbortSignal): Promise<{ items: ImageEntry[] }> {
  return apiGet<{ items: ImageEntry[] }>("/images", { signal, params: new URLSearchParams({ limit: String(limit) }) });
}

export function fetchImage(cid: string, signal?: AbortSignal): Promise<ImageDetails> {
  return apiGet<ImageDetails>(`/images/${encodeURIComponent(cid)}`, { signal });
}

/** A dataset file as pushed to IPFS (`POST /data/upload`, as `gpurent data push` pushes it). */
export interface DataDetails {
  cid: string;
  name: string;
  size: number;
  digest: string; // sha256:<hex> of the bytes
}

/** Sends `file` (a docker-archive tar) as the body of `POST /images/upload`, signed in with
 * `token`, its progress reported as `onProgress(sent, total)`. A refusal rejects with the
 * gateway's one-line error. */
export function uploadImage(file: Blob, token: string, onProgress: (sent: number, total: number) => void,
                            make?: () => XMLHttpRequest): Upload<ImageDetails> {
  return sendFile<ImageDetails>({ path: "/images/upload", contentType: "application/x-tar", token }, file, onProgress, make);
}

/** Sends `file` as the body of `POST /data/upload?name=…` (its name without a path): a dataset
 * for jobs' inputs. */
export function uploadData(file: File, token: string, onProgress: (sent: number, total: number) => void,
                           make?: () => XMLHttpRequest): Upload<DataDetails> {
  const path = `/data/upload?${new URLSearchParams({ name: file.name }).toString()}`;
  return sendFile<DataDetails>({ path, contentType: "application/octet-stream", token }, file, onProgress, make);
}
