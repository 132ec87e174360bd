import { useMemo, useState } from "react";
import { Chart } from "../../components/Chart";
import { ErrorLine } from "../../components/ErrorLine";
import { formatAmount } from "../../lib/format";
import { useSession } from "../auth";
import { useWallet } from "../wallet";
import { scorePoints } from "./api";
import { UnstakeControl, WithdrawEarnings, type ProviderActing } from "./ProviderActions";
import { ProviderGpus } from "./ProviderGpus";
import { ProviderSummary } from "./ProviderSummary";
import { useProvider } from "./useProvider";

const whole = (v: number) => formatAmount(String(Math.round(v * 10000) / 10000));

/** The connected address as a provider: its GPUs, stake, jobs, earnings by day and reputation
 * over time, all from the index through the gateway; signed in as that address, its GPUs'
 * availability and prices, its earnings' withdrawal and its stake's unstake, each signed in the
 * wallet (the gateway prepares them with the contract's checks run first). */
export function ProviderPage() {
  const { address, chain, wallet } = useWallet();
  const { session } = useSession();
  const [written, setWritten] = useState(0); // the block of the last write: read again until indexed
  const { board, error, behind } = useProvider(address, written);
  const acting: ProviderActing | null = useMemo(
    () => (session && wallet && session.address === address?.toLowerCase() ? { session, wallet, onDone: setWritten } : null),
    [session, wallet, address],
  );
  const symbol = chain?.token.symbol ?? "GPU";
  const scores = board ? scorePoints(board.reputationHistory) : [];
  return (
    <section aria-labelledby="provider-title">
      <h1 id="provider-title">Provider dashboard</h1>
      {!address && <p>Connect your wallet to see it as a provider.</p>}
      <ErrorLine error={error && `Could not read this address as a provider: ${error}`} />
      {address && !board && !error && <p className="status">Reading the index…</p>}
      {board && (
        <>
          <ProviderSummary board={board} symbol={symbol} />
          {!acting && <p>Sign in to change your GPUs, withdraw your earnings or unstake.</p>}
          {behind && <p role="status">The index has not caught up with your last change yet: reload in a moment.</p>}
          {acting && board.chain && (
            <>
              <h2>Earnings to withdraw</h2>
              <WithdrawEarnings chain={board.chain} symbol={symbol} {...acting} />
              <h2>Stake</h2>
              <UnstakeControl chain={board.chain} symbol={symbol} {...acting} />
            </>
          )}
          <h2>GPUs</h2>
          <ProviderGpus gpus={board.gpus} symbol={symbol} acting={acting} maxPrice={board.chain?.maxPricePerHour} />
          <h2>Earnings by day</h2>
          {board.earningsByDay.length === 0 ? <p>No earnings yet: none of your jobs has settled.</p> : (
            <Chart kind="bar" title={`Earnings by day (${symbol}, after the platform fee)`} xName="Day"
                   labels={board.earningsByDay.map((d) => d.day)}
                   series={[{ name: `Earned (${symbol})`, values: board.earningsByDay.map((d) => Number(d.earned)) }]}
                   format={whole} />
          )}
          <h2>Reputation over time</h2>
          {scores.length === 0 ? <p>No score yet: the oracle has not reported on you.</p> : (
            <Chart kind="line" title="Reputation score, uptime and response over blocks (percent)" xName="Block"
                   labels={scores.map((p) => String(p.block))} top={100}
                   series={[{ name: "Score (% of 1000)", values: scores.map((p) => p.score / 10) },
                            { name: "Uptime (%)", values: scores.map((p) => p.uptime) },
                            { name: "Response (%)", values: scores.map((p) => p.response) }]}
                   format={whole} />
          )}
        </>
      )}
    </section>
  );
}
