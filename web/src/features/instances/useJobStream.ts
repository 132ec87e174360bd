import { useCallback, useEffect, useRef, useState } from "react";
import { errorText } from "../../lib/api";
import type { Eip1193Provider } from "../../lib/eip1193";
import { DeclinedError, signAccess } from "../../lib/transact";

export type StreamState = "idle" | "signing" | "connecting" | "open" | "ended";
export type StreamKind = "logs" | "metrics" | "progress";

/** What the gateway's close codes mean (src/gpurent/gateway/streams.py). */
const CLOSES: Record<number, string> = {
  1008: "The gateway did not get the sign-in and the signed access in time.",
  1013: "Too many streams open (or this one fell behind): close one and try again.",
  4401: "Your session is no longer valid: sign in again.",
  4404: "The gateway has no such job of yours, or its provider has no endpoint.",
};

const NAMES: Record<StreamKind, string> = { logs: "log", metrics: "metrics", progress: "progress" };

export function streamUrl(jobId: string, kind: StreamKind, location: Location = window.location): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/instances/${jobId}/${kind}`;
}

export interface JobStream {
  state: StreamState;
  note: string | null; // how it ended, or why it could not start
  start(): void;
  stop(): void;
}

/** A text frame that is the stream's end ({"end": …} or {"error": …}) in words; null otherwise. */
export function parseEnd(frame: string, kind: StreamKind = "logs"): string | null {
  try {
    const data = JSON.parse(frame) as { end?: unknown; error?: unknown };
    if (typeof data.error === "string") return `The ${NAMES[kind]} stream failed: ${data.error}`;
    if (typeof data.end === "string") {
      return kind === "logs" ? "The whole log so far was sent: the stream ended."
        : kind === "metrics" ? "The job is past running: the metrics stream ended." : "The provider is done with the job: the progress stream ended.";
    }
  } catch {
    return null;
  }
  return null;
}

/** One of the job's streams over the gateway's WebSocket: the wallet signs the access first;
 * `begin` is called at each start, `frame` with each frame that is not the stream's end. */
export function useJobStream(kind: StreamKind, wallet: Eip1193Provider | null, token: string, address: string, chainId: number,
  jobId: string, begin: () => (data: ArrayBuffer | string) => void): JobStream {
  const [state, setState] = useState<StreamState>("idle");
  const [note, setNote] = useState<string | null>(null);
  const socket = useRef<WebSocket | null>(null);
  const name = NAMES[kind];

  const stop = useCallback(() => {
    socket.current?.close(1000);
    socket.current = null;
  }, []);
  useEffect(() => stop, [stop]);

  const start = useCallback(() => {
    if (!wallet) return;
    stop();
    setNote(null);
    setState("signing");
    const frame = begin();
    void (async () => {
      let access: { timestamp: string; signature: string };
      try {
        access = await signAccess(wallet, address, chainId, jobId);
      } catch (err) {
        setState("idle");
        setNote(err instanceof DeclinedError ? `You declined to sign the access, so the ${name} stays closed.` : errorText(err));
        return;
      }
      setState("connecting");
      const ws = new WebSocket(streamUrl(jobId, kind));
      ws.binaryType = "arraybuffer";
      socket.current = ws;
      ws.onopen = () => {
        ws.send(JSON.stringify({ token, access }));
        setState("open");
      };
      ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
        const end = typeof event.data === "string" ? parseEnd(event.data, kind) : null;
        if (end) setNote(end);
        else frame(event.data);
      };
      ws.onclose = (event) => {
        if (socket.current === ws) socket.current = null;
        setState("ended");
        setNote((old) => old ?? CLOSES[event.code] ?? (event.code === 1000 ? `The ${name} stream closed.` : `The ${name} stream closed (${event.code}).`));
      };
    })();
  }, [wallet, token, address, chainId, jobId, kind, name, begin, stop]);

  return { state, note, start, stop };
}
