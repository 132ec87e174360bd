import { useCallback, useEffect, useState } from "react";
import { ApiError, errorText, isAbort } from "../../lib/api";
import { fetchInstance } from "./api";
import { SETTLED, type Job } from "./types";

export const POLL_MS = 1500;

export interface InstanceState {
  job: Job | null;
  skew: number; // seconds the chain's clock is ahead of this browser's
  waiting: boolean; // the index has not seen the job yet (just created): it keeps asking
  error: string | null;
  refresh(): void;
}

/** The job from the gateway, asked again every POLL_MS until it is settled. */
export function useInstance(token: string, jobId: string): InstanceState {
  const [job, setJob] = useState<Job | null>(null);
  const [skew, setSkew] = useState(0);
  const [waiting, setWaiting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const refresh = useCallback(() => setRound((r) => r + 1), []);

  useEffect(() => {
    const abort = new AbortController();
    let timer = 0;
    fetchInstance(token, jobId, abort.signal).then(
      (found) => {
        setJob(found);
        if (typeof found.chainTime === "number") setSkew(found.chainTime - Date.now() / 1000);
        setWaiting(false);
        setError(null);
        if (!SETTLED.has(found.status)) timer = window.setTimeout(refresh, POLL_MS);
      },
      (err: unknown) => {
        if (isAbort(err)) return;
        if (err instanceof ApiError && err.status === 404) setWaiting(true);
        else setError(`Could not read the job: ${errorText(err)}`);
        timer = window.setTimeout(refresh, POLL_MS * 2);
      },
    );
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [token, jobId, round, refresh]);

  return { job, skew, waiting, error, refresh };
}
