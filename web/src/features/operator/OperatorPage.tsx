import { useCallback, useEffect, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText, isAbort } from "../../lib/api";
import { useNow } from "../../lib/useNow";
import { useSession } from "../auth";
import { useWallet } from "../wallet";
import { fetchOperator, parameterName, roleName, type OperatorView } from "./api";
import { DisputeTable } from "./DisputeTable";
import { PendingOperations, ProposeForm } from "./Governance";
import { PauseControl, ResolveForm } from "./OperatorActions";

/** For an address holding an operator role on the chain: the pause state, the parameters, the
 * changes pending on the timelock and the disputes, and, signed in, what its roles let it do (a
 * pauser pauses and unpauses, the oracle rules on open disputes, a timelock proposer proposes a
 * parameter change, an executor executes one once its delay has passed, a canceller cancels),
 * each signed in the wallet. Everything shown is public chain
 * data; the role gate keeps the page to the people who act on it, and the chain enforces it. */
export function OperatorPage() {
  const { address, wallet } = useWallet();
  const { session } = useSession();
  const [view, setView] = useState<OperatorView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [fetchedAt, setFetchedAt] = useState(0); // this browser's clock when the view's chain time was read
  const clock = useNow(Boolean(view?.operations.length));
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  useEffect(() => {
    setError(null);
    if (!address) {
      setView(null);
      return undefined;
    }
    const abort = new AbortController();
    fetchOperator(address, abort.signal).then((found) => {
      setFetchedAt(Date.now() / 1000);
      setView(found);
    }, (err: unknown) => !isAbort(err) && setError(errorText(err)));
    return () => abort.abort();
  }, [address, version]);
  const acting = session && wallet && session.address === address?.toLowerCase() ? { session, wallet, onDone: reload } : null;
  const open = view?.disputes.filter((d) => d.outcome === null) ?? [];
  const held = (role: string) => view?.held.includes(role) ?? false;
  const chainNow = view ? view.chainTime + Math.max(0, clock - fetchedAt) : 0; // the countdown runs on

  return (
    <section aria-labelledby="operator-title">
      <h1 id="operator-title">Operator</h1>
      {!address && <p>Connect a wallet that holds an operator role.</p>}
      <ErrorLine error={error && `Could not read the operator view: ${error}`} />
      {view && view.held.length === 0 && (
        <p>This address holds no operator role (admin, oracle, pauser or slasher) on gpurent's contracts, nor a role on its timelock.</p>
      )}
      {view && view.held.length > 0 && (
        <>
          <p>Your roles: {view.held.map(roleName).join(", ")}.</p>
          <p role="status" className={view.paused ? "notice" : undefined}>
            {view.paused ? "The marketplace is paused: no job can be created." : "The marketplace is running (not paused)."}
          </p>
          {!acting && <p>Sign in to act with your roles.</p>}
          {acting && view.held.includes("PAUSER_ROLE") && <PauseControl paused={view.paused} {...acting} />}
          <h2>Disputes</h2>
          <DisputeTable disputes={view.disputes} now={view.chainTime} />
          {acting && view.held.includes("ORACLE_ROLE") && open.length > 0 && (
            <>
              <h3>Rule on the open disputes</h3>
              {open.map((d) => <ResolveForm key={d.jobId} jobId={d.jobId} {...acting} />)}
            </>
          )}
          <h2>Changes pending on the timelock</h2>
          <PendingOperations operations={view.operations} now={chainNow}
            acting={acting && (held("EXECUTOR_ROLE") || held("CANCELLER_ROLE"))
              ? { ...acting, execute: held("EXECUTOR_ROLE"), cancel: held("CANCELLER_ROLE") } : null} />
          {acting && held("PROPOSER_ROLE") && (
            <>
              <h3>Propose a parameter change</h3>
              <ProposeForm delay={Number(view.parameters.timelock_delay_s ?? 0)} {...acting} />
            </>
          )}
          <h2>Parameters</h2>
          <dl className="facts parameters">
            {Object.entries(view.parameters).filter(([key]) => key !== "paused").map(([key, value]) => (
              <div key={key} className="fact">
                <dt>{parameterName(key)}</dt>
                <dd className="mono">{String(value)}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </section>
  );
}
