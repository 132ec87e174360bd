import { useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Field } from "../../components/Field";
import type { Eip1193Provider } from "../../lib/eip1193";
import { checkDispute, checkPermit, permitAndSend, sendPrepared, type Outcome } from "../../lib/transact";
import { formatTokens, fromBaseUnits } from "../../lib/format";
import { useWrite } from "../../lib/useWrite";
import type { Session } from "../auth";
import type { ChainInfo } from "../wallet";
import { instanceRoutes, prepareDispute, prepareEnd } from "./api";
import type { Job } from "./types";

export interface ActionProps {
  job: Job;
  session: Session;
  wallet: Eip1193Provider;
  chain: ChainInfo;
  onDone(outcome: Outcome): void;
}

/** Cancel (not started yet) or stop and settle (running): one transaction in the wallet. */
export function EndJob({ job, session, wallet, onDone }: ActionProps) {
  const write = useWrite(job.status === "Running" ? "settled" : "cancelled");
  const running = job.status === "Running";
  const end = () =>
    write.run(async () => {
      onDone(await sendPrepared(wallet, session.token, await prepareEnd(session.token, job.id)));
    });
  return (
    <div className="action">
      <button type="button" className="danger" onClick={() => void end()} disabled={write.busy}>
        {write.busy ? "Check your wallet…" : running ? "Stop and settle" : "Cancel the job"}
      </button>
      <small>{running ? "You pay for the seconds it ran; the rest comes back." : "Nothing was billed: all of it comes back."}</small>
      <ErrorLine error={write.error} />
    </div>
  );
}

/** Book more time at the job's own price: one permit and one transaction. */
export function ExtendJob({ job, session, wallet, chain, onDone }: ActionProps) {
  const [minutes, setMinutes] = useState("30");
  const write = useWrite("extended");
  const extra = Number(minutes);
  const valid = Number.isInteger(extra) && extra > 0 && extra <= 90 * 24 * 60;
  const extend = () =>
    write.run(async () => {
      const check = (p: Parameters<typeof checkPermit>[0]) =>
        checkPermit(p, { owner: session.address, spender: chain.marketplace, token: chain.token.address, chainId: chain.chainId });
      onDone(await permitAndSend(wallet, session.token, session.address, instanceRoutes(job.id), { extraSeconds: extra * 60 }, check));
    });
  return (
    <form className="action" onSubmit={(e) => { e.preventDefault(); if (valid) void extend(); }}>
      <Field label="Extra time (minutes)">
        {(id) => (
          <input id={id} type="number" inputMode="numeric" min={1} step={1} value={minutes} onChange={(e) => setMinutes(e.target.value)} />
        )}
      </Field>
      <button type="submit" disabled={write.busy || !valid}>{write.busy ? "Check your wallet…" : "Extend"}</button>
      <ErrorLine error={valid ? write.error : "The extra time is a whole number of minutes above 0."} />
    </form>
  );
}

export const REASON_MAX_BYTES = 1024; // the contract's MAX_REASON_LENGTH

/** Dispute a running job with a reason for the oracle: the bond's approval when the wallet's
 * allowance is short of it, then the dispute; billing stops at the dispute. */
export function DisputeJob({ job, session, wallet, chain, onDone }: ActionProps) {
  const [reason, setReason] = useState("");
  const write = useWrite("disputed");
  const bytes = new TextEncoder().encode(reason.trim()).length;
  const valid = bytes > 0 && bytes <= REASON_MAX_BYTES;
  const [bond, setBond] = useState<string | null>(null);
  const dispute = () =>
    write.run(async () => {
      const prepared = await prepareDispute(session.token, job.id, reason.trim());
      checkDispute(prepared, { owner: session.address, marketplace: chain.marketplace, token: chain.token.address });
      setBond(prepared.bond);
      let outcome: Outcome | null = null;
      for (const step of prepared.transactions) outcome = await sendPrepared(wallet, session.token, step);
      if (outcome) onDone(outcome);
    });
  return (
    <form className="action" onSubmit={(e) => { e.preventDefault(); if (valid) void dispute(); }}>
      <Field label="Why you dispute it (for the oracle)">
        {(id) => <textarea id={id} rows={2} maxLength={REASON_MAX_BYTES} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <button type="submit" className="danger" disabled={write.busy || !valid}>{write.busy ? "Check your wallet…" : "Dispute"}</button>
      <small>
        Billing stops now; you post a bond{bond ? ` of ${formatTokens(fromBaseUnits(BigInt(bond), chain.token.decimals), chain.token.symbol)}` : ""},
        returned unless the ruling goes against you.
      </small>
      <ErrorLine error={reason && !valid ? `The reason is at most ${REASON_MAX_BYTES} bytes.` : write.error} />
    </form>
  );
}
