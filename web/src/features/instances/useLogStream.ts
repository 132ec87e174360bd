import { useCallback, useState } from "react";
import type { Eip1193Provider } from "../../lib/eip1193";
import { LogBuffer, LOG_LIMIT } from "./logBuffer";
import { parseEnd, streamUrl, useJobStream, type JobStream } from "./useJobStream";

export type { StreamState } from "./useJobStream";
export { parseEnd };

export interface LogStream extends JobStream {
  text: string;
  dropped: number;
}

export function logsUrl(jobId: string, location: Location = window.location): string {
  return streamUrl(jobId, "logs", location);
}

/** The job's live log over the gateway's WebSocket: the wallet signs the access first. */
export function useLogStream(wallet: Eip1193Provider | null, token: string, address: string, chainId: number, jobId: string, limit = LOG_LIMIT): LogStream {
  const [text, setText] = useState("");
  const [dropped, setDropped] = useState(0);
  const begin = useCallback(() => {
    const buffer = new LogBuffer(limit);
    return (data: ArrayBuffer | string) => {
      if (typeof data === "string") return; // only the end comes as text
      setText(buffer.push(data));
      setDropped(buffer.droppedChars);
    };
  }, [limit]);
  const stream = useJobStream("logs", wallet, token, address, chainId, jobId, begin);
  return { ...stream, text, dropped };
}
