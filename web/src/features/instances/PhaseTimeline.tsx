import { formatTime } from "../../lib/format";
import { phases } from "./timeline";
import type { JobChange } from "./types";

/** The job's phases from its chain events: those reached with their time, those ahead greyed. */
export function PhaseTimeline({ history, status }: { history: JobChange[]; status: string }) {
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
    </section>
  );
}
