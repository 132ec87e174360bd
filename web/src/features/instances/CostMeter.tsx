import { formatAmount, formatDuration, fromBaseUnits } from "../../lib/format";
import { useNow } from "../../lib/useNow";
import { meter } from "./meter";
import type { Job } from "./types";

const tokens = (units: bigint, symbol: string, places = 6) => `${formatAmount(fromBaseUnits(units), places)} ${symbol}`;

/** What the job costs so far, second by second, and the booked time left (with a warning
 * before it runs out: escrow that ends silently is the complaint this answers). `skew`: how far
 * the chain's clock is ahead of this browser's. */
export function CostMeter({ job, symbol, skew }: { job: Job; symbol: string; skew: number }) {
  const running = job.status === "Running";
  const now = useNow(running) + skew; // the chain's clock bills, not this browser's
  const m = meter(job, now);
  return (
    <section aria-labelledby="meter-title">
      <h2 id="meter-title">Cost and time</h2>
      {!m.billing && <p>Not billed yet: the clock starts when the container runs.</p>}
      <dl className="balances meter">
        <div><dt>Cost so far</dt><dd data-testid="cost-so-far">{tokens(m.cost, symbol)}</dd></div>
        <div><dt>Per second</dt><dd>{tokens(m.perSecond, symbol, 8)}</dd></div>
        <div><dt>Booked time left</dt><dd data-testid="time-left">{formatDuration(m.left)} of {formatDuration(m.booked)}</dd></div>
        <div><dt>The most it can cost</dt><dd data-testid="max-cost">{tokens(m.max, symbol, 4)}</dd></div>
      </dl>
      {m.warn && (
        <p className="notice warning" role="alert">
          Booked time runs out in {formatDuration(m.left)}: extend it below, or the job stops when it does.
        </p>
      )}
    </section>
  );
}
