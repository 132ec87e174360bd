import { useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Field } from "../../components/Field";
import type { Eip1193Provider } from "../../lib/eip1193";
import { shortId } from "../../lib/format";
import { sendPrepared } from "../../lib/transact";
import { useWrite } from "../../lib/useWrite";
import type { Session } from "../auth";
import { cidProblem } from "../rent/duration";
import { preparePause, prepareResolve, RULINGS } from "./api";

export interface OperatorProps {
  session: Session;
  wallet: Eip1193Provider;
  onDone(): void;
}

/** Pause (or unpause) the marketplace and the registry together: one transaction each in the
 * wallet, only for those not so already (a second press finishes a half-done pause). */
export function PauseControl({ paused, session, wallet, onDone }: OperatorProps & { paused: boolean }) {
  const write = useWrite(paused ? "unpaused" : "paused");
  const action = paused ? "unpause" : "pause";
  const toggle = () =>
    write.run(async () => {
      const { transactions } = await preparePause(session.token, !paused);
      try {
        for (const [i, transaction] of transactions.entries()) {
          try {
            await sendPrepared(wallet, session.token, { transaction, action });
          } catch (err) {
            if (i === 0) throw err;
            throw new Error(`Only part of it is ${action}d (${err instanceof Error ? err.message : String(err)}): press again to finish.`);
          }
        }
      } finally {
        onDone();
      }
    });
  return (
    <div className="action">
      <button type="button" className={paused ? undefined : "danger"} onClick={() => void toggle()} disabled={write.busy}>
        {write.busy ? "Check your wallet…" : paused ? "Unpause the marketplace" : "Pause the marketplace"}
      </button>
      <small>
        {paused
          ? "New jobs and registrations open again."
          : "No new job or registration until unpaused; running jobs go on, and everyone can still cancel, settle and withdraw."}
      </small>
      <ErrorLine error={write.error} />
    </div>
  );
}

/** The oracle's ruling on one open dispute, with the CID of the evidence it rests on. */
export function ResolveForm({ jobId, session, wallet, onDone }: OperatorProps & { jobId: string }) {
  const [ruling, setRuling] = useState<string>("split");
  const [cid, setCid] = useState("");
  const write = useWrite("ruled");
  const problem = cidProblem(cid, "Name the evidence the ruling rests on: its IPFS CID.");
  const rule = () =>
    write.run(async () => {
      await sendPrepared(wallet, session.token, await prepareResolve(session.token, jobId, ruling, cid.trim()));
      onDone();
    });
  const job = shortId(jobId);
  return (
    <form className="action resolve" onSubmit={(e) => { e.preventDefault(); if (!problem) void rule(); }}>
      <Field label={`Ruling on job ${job}`}>
        {(id) => (
          <select id={id} value={ruling} onChange={(e) => setRuling(e.target.value)}>
            {RULINGS.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
          </select>
        )}
      </Field>
      <Field label={`Evidence CID for job ${job}`}>
        {(id) => <input id={id} className="mono" value={cid} spellCheck={false} autoComplete="off" onChange={(e) => setCid(e.target.value)} />}
      </Field>
      <button type="submit" disabled={write.busy || problem !== null}>{write.busy ? "Check your wallet…" : "Rule"}</button>
      <ErrorLine error={cid && problem ? problem : write.error} />
    </form>
  );
}
