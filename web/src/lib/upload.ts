// A file sent as a request's body with its progress: XMLHttpRequest, not fetch, since only it
// reports upload progress. Shared by the image and the data uploads.
import { API, ApiError, readAnswer } from "./api";

export interface Upload<T> {
  done: Promise<T>;
  abort(): void;
}

export interface FileRequest {
  path: string; // under /api/v1, with its query if any
  contentType: string;
  token: string; // the session's token (the upload routes want a signed-in caller)
}

/** Says a refusal in plain words: a 401 asks to sign in again; any other, the gateway's line. */
function refusal(err: unknown): unknown {
  if (err instanceof ApiError && err.status === 401) {
    return new ApiError(401, `You are not signed in, or your session has ended: sign in again (the gateway said: ${err.message}).`);
  }
  return err;
}

/** POSTs `file` as the body of `request.path`, reporting `onProgress(sent, total)` as it goes;
 * resolves with the JSON answer, rejects with an ApiError in one line. */
export function sendFile<T>(request: FileRequest, file: Blob, onProgress: (sent: number, total: number) => void,
                            make: () => XMLHttpRequest = () => new XMLHttpRequest()): Upload<T> {
  const xhr = make();
  const done = new Promise<T>((resolve, reject) => {
    xhr.upload.onprogress = (e: ProgressEvent) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      try {
        resolve(readAnswer<T>(xhr.status, xhr.responseText));
      } catch (err) {
        reject(refusal(err));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "The upload broke off: check your connection and try again."));
    xhr.onabort = () => reject(new ApiError(0, "You stopped the upload: nothing was stored."));
    xhr.open("POST", `${API}${request.path}`);
    xhr.setRequestHeader("Authorization", `Bearer ${request.token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", request.contentType);
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}

/** The upload's progress in words and as a fraction (0…1). */
export function progressText(sent: number, total: number): { fraction: number; text: string } {
  const fraction = total > 0 ? Math.min(1, sent / total) : 0;
  return { fraction, text: `${Math.floor(fraction * 100)}% sent` };
}
