import { API, ApiError, apiGet, readAnswer } from "../../lib/api";

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

export interface Upload {
  done: Promise<ImageDetails>;
  abort(): void;
}

/** Sends `file` (a docker-archive tar) as the body of `POST /images/upload`, signed in with
 * `token`. XMLHttpRequest, not fetch: only it reports upload progress (`onProgress(sent,
 * total)`). A refusal rejects with the gateway's one-line error. */
export function uploadImage(file: Blob, token: string, onProgress: (sent: number, total: number) => void,
                            make: () => XMLHttpRequest = () => new XMLHttpRequest()): Upload {
  const xhr = make();
  const done = new Promise<ImageDetails>((resolve, reject) => {
    xhr.upload.onprogress = (e: ProgressEvent) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      try {
        resolve(readAnswer<ImageDetails>(xhr.status, xhr.responseText));
      } catch (err) {
        reject(err);
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "The upload broke off: check your connection and try again."));
    xhr.onabort = () => reject(new ApiError(0, "You stopped the upload: nothing was stored."));
    xhr.open("POST", `${API}/images/upload`);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", "application/x-tar");
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
