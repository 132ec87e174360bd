import { useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Field } from "../../components/Field";
import { formatDuration } from "../../lib/format";
import { sendPrepared } from "../../lib/transact";
import { useWrite } from "../../lib/useWrite";
import { prepareOperation, prepareProposal, PROPOSALS, readiness, type Operation } from "./api";
import type { OperatorProps } from "./OperatorActions";

/** A proposer's parameter change: scheduled on the timelock in the wallet, executable once the
 * delay (`delay` seconds) has passed. The gateway reads and bounds the values as the contract
 * will (a refusal comes back in one line before the wallet is asked). */
export function ProposeForm({ delay, session, wallet, onDone }: OperatorProps & { delay: number }) {
  const [key, setKey] = useState<string>(PROPOSALS[0].key);
  const [values, setValues] = useState<Record<string, string>>({});
  const write = useWrite("scheduled");
  const proposal = PROPOSALS.find((p) => p.key === key) ?? PROPOSALS[0];
  const filled = proposal.fields.map((f) => (values[`${key}:${f}`] ?? "").trim());
  const missing = filled.some((v) => v === "");
  const propose = () =>
    write.run(async () => {
      await sendPrepared(wallet, session.token, await prepareProposal(session.token, key, filled));
      setValues({});
      onDone();
    });
  return (
    <form className="action propose" onSubmit={(e) => { e.preventDefault(); if (!missing) void propose(); }}>
      <Field label="Parameter to change">
        {(id) => (
          <select id={id} value={key} onChange={(e) => setKey(e.target.value)}>
            {PROPOSALS.map((p) => <option key={p.key} value={p.key}>{p.label}</option>)}
          </select>
        )}
      </Field>
      {proposal.fields.map((field) => (
        <Field key={`${key}:${field}`} label={field}>
          {(id) => (
            <input id={id} className="mono" value={values[`${key}:${field}`] ?? ""} spellCheck={false} autoComplete="off"
              onChange={(e) => setValues({ ...values, [`${key}:${field}`]: e.target.value })} />
          )}
        </Field>
      ))}
      <button type="submit" disabled={write.busy || missing}>{write.busy ? "Check your wallet…" : "Propose the change"}</button>
      <small>Scheduled on the timelock: it takes effect only when executed, at least {formatDuration(delay)} after it is scheduled.</small>
      <ErrorLine error={write.error} />
    </form>
  );
}

interface OperationsProps {
  operations: Operation[];
  now: number; // chain time
  acting: (OperatorProps & { execute: boolean; cancel: boolean }) | null;
}

/** The timelock's pending operations: what each changes, a countdown to when it may be
 * executed, and, for an executor or a canceller signed in, Execute (once ready) and Cancel. */
export function PendingOperations({ operations, now, acting }: OperationsProps) {
  if (operations.length === 0) return <p>No change is waiting on the timelock.</p>;
  return (
    <table className="operations">
      <caption className="visually-hidden">Changes scheduled on the timelock</caption>
      <thead>
        <tr>
          <th scope="col">Change</th>
          <th scope="col">Executable</th>
          {acting && <th scope="col">Actions</th>}
        </tr>
      </thead>
      <tbody>
        {operations.map((op) => {
          const when = readiness(op, now);
          return (
            <tr key={op.opId}>
              <th scope="row" data-label="Change" title={op.call}>{op.change}</th>
              <td data-label="Executable" className={when.ready ? "notice" : undefined}>{when.text}</td>
              {acting && <td data-label="Actions"><OperationButtons op={op} ready={when.ready} {...acting} /></td>}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function OperationButtons({ op, ready, execute, cancel, session, wallet, onDone }:
  OperatorProps & { op: Operation; ready: boolean; execute: boolean; cancel: boolean }) {
  const write = useWrite("changed");
  const act = (what: "execute" | "cancel") =>
    write.run(async () => {
      await sendPrepared(wallet, session.token, await prepareOperation(session.token, op.opId, what));
      onDone();
    });
  return (
    <div className="action">
      {execute && (
        <button type="button" aria-label={`Execute: ${op.change}`} onClick={() => void act("execute")}
          disabled={write.busy || !ready} title={ready ? undefined : "Its delay has not passed yet"}>Execute</button>
      )}
      {cancel && (
        <button type="button" className="danger" aria-label={`Cancel: ${op.change}`} onClick={() => void act("cancel")}
          disabled={write.busy}>Cancel</button>
      )}
      <ErrorLine error={write.error} />
    </div>
  );
}
