import { useEffect, useRef } from "react";
import { formatAmount } from "../../lib/format";
import type { LogStream } from "./useLogStream";

/** The live log, as text only (a <pre> of a string: markup in a log is shown, never parsed),
 * the last 64 KiB of it kept; follows the end unless the reader scrolled up. */
export function LogView({ stream }: { stream: LogStream }) {
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [stream.text]);
  const live = stream.state === "open" || stream.state === "connecting" || stream.state === "signing";
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div className="actions-row">
        {live ? (
          <button type="button" onClick={stream.stop}>Stop following the log</button>
        ) : (
          <button type="button" onClick={stream.start}>{stream.state === "ended" ? "Follow the log again" : "Show the live log"}</button>
        )}
        <span className="status" aria-live="polite">
          {stream.state === "signing" ? "Sign the access in your wallet…" : stream.state === "connecting" ? "Connecting…" : stream.note ?? ""}
        </span>
      </div>
      {stream.dropped > 0 && <p className="status">Older output not shown: {formatAmount(String(stream.dropped))} characters.</p>}
      {(stream.text || stream.state !== "idle") && (
        <pre className="log" ref={box} tabIndex={0} aria-label="Job log">{stream.text}</pre>
      )}
    </section>
  );
}
