import { useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Link } from "../../app/router";
import { formatTokens, shortAddress, shortId } from "../../lib/format";
import type { Outcome } from "../../lib/transact";
import { useSession, type Session } from "../auth";
import { useWallet, type ChainInfo } from "../wallet";
import { CostMeter } from "./CostMeter";
import { DisputeJob, EndJob, ExtendJob } from "./JobActions";
import { LogView } from "./LogView";
import { MetricsView } from "./MetricsView";
import { ResultView } from "./ResultView";
import { PhaseTimeline } from "./PhaseTimeline";
import { SettlementView } from "./SettlementView";
import { SETTLED } from "./types";
import { useInstance } from "./useInstance";
import { useLogStream } from "./useLogStream";
import { useMetricsStream } from "./useMetricsStream";
import { useProgressStream } from "./useProgressStream";

/** One job of the signed-in renter: its phase, money, time, metrics, log, settlement and result. */
export function ConsolePage({ jobId }: { jobId: string }) {
  const { session } = useSession();
  const { chain } = useWallet();
  return (
    <section aria-labelledby="console-title">
      <h1 id="console-title">Job <span className="mono" title={jobId}>{jobId.slice(0, 10)}…{jobId.slice(-6)}</span></h1>
      {!session || !chain ? <p>Connect your wallet and sign in to see this job.</p> : <Console jobId={jobId} session={session} chain={chain} />}
    </section>
  );
}

function Console({ jobId, session, chain }: { jobId: string; session: Session; chain: ChainInfo }) {
  const { wallet } = useWallet();
  const { job, skew, waiting, error, refresh } = useInstance(session.token, jobId);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const logs = useLogStream(wallet, session.token, session.address, chain.chainId, jobId);
  const metrics = useMetricsStream(wallet, session.token, session.address, chain.chainId, jobId);
  const progress = useProgressStream(wallet, session.token, session.address, chain.chainId, jobId);
  const symbol = chain.token.symbol;
  const done = (o: Outcome) => {
    setOutcome(o);
    refresh();
  };
  if (!job) {
    return (
      <>
        <ErrorLine error={error} />
        <p className="status" aria-live="polite">{waiting ? "On chain; waiting for the index to see the job…" : error ? "" : "Loading the job…"}</p>
      </>
    );
  }
  const settled = SETTLED.has(job.status);
  const settlement = outcome?.settlement ?? job.settlement ?? null;
  const mine = job.user === session.address;
  return (
    <>
      <ErrorLine error={error} />
      <p className="job-status">
        <strong data-testid="job-status">{job.status}</strong> · GPU <span className="mono">{shortId(job.resourceId)}</span> at{" "}
        {formatTokens(job.pricePerHour, symbol)} an hour · provider <span className="mono" title={job.provider}>{shortAddress(job.provider)}</span>
        {job.imageCid && <> · image <span className="mono">{job.imageCid}</span></>}
      </p>
      <PhaseTimeline history={job.history} status={job.status} progress={mine && !settled ? progress : undefined} />
      {!settled && <CostMeter job={job} symbol={symbol} skew={skew} />}
      {settled && <p>Final cost: <strong data-testid="final-cost">{formatTokens(job.totalCost, symbol)}</strong></p>}
      {settlement && <SettlementView settlement={settlement} symbol={symbol} />}
      {mine && wallet && !settled && job.status !== "Disputed" && (
        <section aria-labelledby="actions-title">
          <h2 id="actions-title">Actions</h2>
          <div className="actions-row">
            <EndJob job={job} session={session} wallet={wallet} chain={chain} onDone={done} />
            <ExtendJob job={job} session={session} wallet={wallet} chain={chain} onDone={done} />
            {job.status === "Running" && <DisputeJob job={job} session={session} wallet={wallet} chain={chain} onDone={done} />}
          </div>
        </section>
      )}
      {mine && job.resultCid && <ResultView token={session.token} jobId={job.id} />}
      {mine && <MetricsView stream={metrics} />}
      {mine && <LogView stream={logs} />}
      <p><Link to="/instances">All your jobs</Link></p>
    </>
  );
}
