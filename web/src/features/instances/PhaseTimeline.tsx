import { formatTime } from "../../lib/format";
import { describeProgress } from "./progress";
import { phases } from "./timeline";
import type { JobChange } from "./types";
import type { ProgressStream } from "./useProgressStream";

/** The agent's word on the job: its phase in words, the pull with a bar while it runs. */
export function AgentProgress({ stream }: { stream: ProgressStream }) {
  const live = stream.state === "open" || stream.state === "connecting" || stream.state === "signing";
  const p = stream.progress;
  return (
    <div className="agent-progress">
      <div className="actions-row">
        {live ? (
          <button type="button" onClick={stream.stop}>Stop the provider's progress</button>
        ) : (
          <button type="button" onClick={stream.start}>{stream.state === "ended" ? "Follow the provider's progress again" : "Show the pull progress"}</button>
        )}
        <span className="status" aria-live="polite">
          {stream.state === "signing" ? "Sign the access in your wallet…" : stream.state === "connecting" ? "Connecting…"
            : stream.state === "open" && !p ? "Asking the provider…" : stream.note ?? ""}
        </span>
      </div>
      {p && (
        <p>
          The provider says: <span data-testid="agent-phase">{describeProgress(p)}</span>
          {p.phase === "pulling" && p.bytesTotal ? (
            <> <progress aria-label="Image pulled" max={p.bytesTotal} value={p.bytesDone} /></>
          ) : null}
        </p>
      )}
    </div>
  );
}

/** The job's phases from its chain events: those reached with their time, those ahead greyed;
 * with ``progress``, the provider agent's own phase and the image pull beneath. */
export function PhaseTimeline({ history, status, progress }: { history: JobChange[]; status: string; progress?: ProgressStream }) {
  return (
    <section aria-labelledby="phases-title">
      <h2 id="phases-title">Phase</h2>
      <ol className="timeline">
        {phases(history, status).map((phase) => (
          <li key={phase.status} className={phase.current ? "current" : phase.reached ? "reached" : "ahead"}
            aria-current={phase.current ? "step" : undefined}>
            <span className="phase">{phase.label}</span>
            {phase.reached && <small>{formatTime(phase.at)}</small>}
          </li>
        ))}
      </ol>
      {progress && <AgentProgress stream={progress} />}
    </section>
  );
}
