import { useCallback, useState } from "react";
import type { Eip1193Provider } from "../../lib/eip1193";
import { addSample, parseSample, type Sample } from "./metrics";
import { useJobStream, type JobStream } from "./useJobStream";

export interface MetricsStream extends JobStream {
  samples: Sample[];
}

/** The job's live usage over the gateway's metrics WebSocket (the wallet signs the access). */
export function useMetricsStream(wallet: Eip1193Provider | null, token: string, address: string, chainId: number, jobId: string): MetricsStream {
  const [samples, setSamples] = useState<Sample[]>([]);
  const begin = useCallback(() => {
    setSamples([]);
    return (data: ArrayBuffer | string) => {
      const sample = typeof data === "string" ? parseSample(data) : null;
      if (sample) setSamples((old) => addSample(old, sample));
    };
  }, []);
  return { ...useJobStream("metrics", wallet, token, address, chainId, jobId, begin), samples };
}
