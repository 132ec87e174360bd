import { useCallback, useState } from "react";
import type { Eip1193Provider } from "../../lib/eip1193";
import { parseProgress, type Progress } from "./progress";
import { useJobStream, type JobStream } from "./useJobStream";

export interface ProgressStream extends JobStream {
  progress: Progress | null;
}

/** The agent's record of the job (its phase, the pull's bytes) over the gateway's progress
 * WebSocket, a frame each time it changes (the wallet signs the access). */
export function useProgressStream(wallet: Eip1193Provider | null, token: string, address: string, chainId: number, jobId: string): ProgressStream {
  const [progress, setProgress] = useState<Progress | null>(null);
  const begin = useCallback(() => {
    setProgress(null);
    return (data: ArrayBuffer | string) => {
      const next = typeof data === "string" ? parseProgress(data) : null;
      if (next) setProgress(next);
    };
  }, []);
  return { ...useJobStream("progress", wallet, token, address, chainId, jobId, begin), progress };
}
