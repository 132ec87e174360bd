import { useEffect, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText, isAbort } from "../../lib/api";
import { useWallet } from "../wallet";
import { fetchOperator, parameterName, roleName, type OperatorView } from "./api";
import { DisputeTable } from "./DisputeTable";

/** For an address holding an operator role on the chain: the pause state, the parameters and
 * the disputes (read-only in this pass). Everything shown is public chain data; the role gate
 * keeps the page to the people who act on it. */
export function OperatorPage() {
  const { address } = useWallet();
  const [view, setView] = useState<OperatorView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setView(null);
    setError(null);
    if (!address) return undefined;
    const abort = new AbortController();
    fetchOperator(address, abort.signal).then(setView, (err: unknown) => !isAbort(err) && setError(errorText(err)));
    return () => abort.abort();
  }, [address]);

  return (
    <section aria-labelledby="operator-title">
      <h1 id="operator-title">Operator</h1>
      {!address && <p>Connect a wallet that holds an operator role.</p>}
      <ErrorLine error={error && `Could not read the operator view: ${error}`} />
      {view && view.held.length === 0 && (
        <p>This address holds no operator role (admin, oracle, pauser or slasher) on gpurent's contracts.</p>
      )}
      {view && view.held.length > 0 && (
        <>
          <p>Your roles: {view.held.map(roleName).join(", ")}.</p>
          <p role="status" className={view.paused ? "notice" : undefined}>
            {view.paused ? "The marketplace is paused: no job can be created." : "The marketplace is running (not paused)."}
          </p>
          <h2>Disputes</h2>
          <DisputeTable disputes={view.disputes} />
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
