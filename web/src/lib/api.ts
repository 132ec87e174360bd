// The one API layer: requests to the gateway's REST routes (same origin), errors as one line.

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface RequestOptions {
  token?: string | null;
  signal?: AbortSignal;
  params?: URLSearchParams;
}

export const API = "/api/v1";

async function request<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const query = options.params && [...options.params.keys()].length ? `?${options.params.toString()}` : "";
  let answer: Response;
  try {
    answer = await fetch(`${API}${path}${query}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
      credentials: "omit",
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "The gateway does not answer: check your connection and try again.");
  }
  return readAnswer<T>(answer.status, await answer.text());
}

/** A gateway answer's body as JSON, or its one-line `error` thrown as an ApiError (any
 * status outside 2xx); shared by fetch and the upload's XMLHttpRequest. */
export function readAnswer<T>(status: number, text: string): T {
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(status, `The gateway answered ${status} with something that is not JSON.`);
  }
  if (status < 200 || status > 299) {
    const error = typeof data === "object" && data !== null ? (data as { error?: unknown }).error : undefined;
    throw new ApiError(status, typeof error === "string" && error ? error : `The gateway answered ${status}.`);
  }
  return data as T;
}

export function apiGet<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return request<T>("GET", path, undefined, options);
}

export function apiPost<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
  return request<T>("POST", path, body, options);
}

export function apiDelete<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return request<T>("DELETE", path, undefined, options);
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A binary answer (a download) as a Blob; an error answer as request's one line. */
export async function apiBlob(path: string, options: RequestOptions = {}): Promise<Blob> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let answer: Response;
  try {
    answer = await fetch(`${API}${path}`, { headers, signal: options.signal, credentials: "omit" });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "The gateway does not answer: check your connection and try again.");
  }
  if (!answer.ok) return readAnswer<Blob>(answer.status, await answer.text());
  const blob = await answer.blob();
  const expected = Number(answer.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(expected) && blob.size !== expected) {
    throw new ApiError(502, `The download was cut short (${blob.size} of ${expected} bytes): it did not match its commitment, or the connection broke.`);
  }
  return blob;
}
