import { useCallback, useEffect, useRef, useState } from "react";
import { errorText } from "../../lib/api";
import type { Eip1193Provider } from "../../lib/eip1193";
import { DeclinedError, signAccess } from "../../lib/transact";
import { LogBuffer, LOG_LIMIT } from "./logBuffer";

export type StreamState = "idle" | "signing" | "connecting" | "open" | "ended";

export interface LogStream {
  text: string;
  dropped: number;
  state: StreamState;
  note: string | null; // how it ended, or why it could not start
  start(): void;
  stop(): void;
}

/** What the gateway's close codes mean (src/gpurent/gateway/streams.py). */
const CLOSES: Record<number, string> = {
  1008: "The gateway did not get the sign-in and the signed access in time.",
  1013: "Too many streams open (or this one fell behind): close one and try again.",
  4401: "Your session is no longer valid: sign in again.",
  4404: "The gateway has no such job of yours, or its provider has no endpoint.",
};

export function logsUrl(jobId: string, location: Location = window.location): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/instances/${jobId}/logs`;
}

/** The job's live log over the gateway's WebSocket: the wallet signs the access first. */
export function useLogStream(wallet: Eip1193Provider | null, token: string, address: string, chainId: number, jobId: string, limit = LOG_LIMIT): LogStream {
  const [text, setText] = useState("");
  const [dropped, setDropped] = useState(0);
  const [state, setState] = useState<StreamState>("idle");
  const [note, setNote] = useState<string | null>(null);
  const socket = useRef<WebSocket | null>(null);

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
    const buffer = new LogBuffer(limit);
    void (async () => {
      let access: { timestamp: string; signature: string };
      try {
        access = await signAccess(wallet, address, chainId, jobId);
      } catch (err) {
        setState("idle");
        setNote(err instanceof DeclinedError ? "You declined to sign the access, so the log stays closed." : errorText(err));
        return;
      }
      setState("connecting");
      const ws = new WebSocket(logsUrl(jobId));
      ws.binaryType = "arraybuffer";
      socket.current = ws;
      ws.onopen = () => {
        ws.send(JSON.stringify({ token, access }));
        setState("open");
      };
      ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
        if (typeof event.data === "string") {
          const end = parseEnd(event.data);
          if (end) setNote(end);
          return;
        }
        setText(buffer.push(event.data));
        setDropped(buffer.droppedChars);
      };
      ws.onclose = (event) => {
        if (socket.current === ws) socket.current = null;
        setState("ended");
        setNote((old) => old ?? CLOSES[event.code] ?? (event.code === 1000 ? "The log stream closed." : `The log stream closed (${event.code}).`));
      };
    })();
  }, [wallet, token, address, chainId, jobId, limit, stop]);

  return { text, dropped, state, note, start, stop };
}

/** A text frame is the stream's end: {"end": …} or {"error": …}. */
export function parseEnd(frame: string): string | null {
  try {
    const data = JSON.parse(frame) as { end?: unknown; error?: unknown };
    if (typeof data.error === "string") return `The log stream failed: ${data.error}`;
    if (typeof data.end === "string") return "The whole log so far was sent: the stream ended.";
  } catch {
    return null;
  }
  return null;
}
