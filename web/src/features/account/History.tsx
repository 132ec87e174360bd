import { useCallback, useState } from "react";
import { Link } from "../../app/router";
import { ErrorLine } from "../../components/ErrorLine";
import { Pager } from "../../components/Pager";
import { formatTime, formatTokens } from "../../lib/format";
import { usePaged } from "../../lib/usePaged";
import type { Session } from "../auth";
import { useWallet } from "../wallet";
import { fetchHistory, SETTLED, type HistoryEntry } from "./api";

const PAGE = 20;

/** Every status change of the jobs this address rented or served, newest first. */
export function History({ session }: { session: Session }) {
  const { chain } = useWallet();
  const [page, setPage] = useState(0);
  const load = useCallback(
    (p: number, size: number, signal: AbortSignal) => fetchHistory(session.token, p, size, signal),
    [session.token],
  );
  const { rows, hasNext, error } = usePaged<HistoryEntry>(load, page, PAGE, "your history");

  const symbol = chain?.token.symbol ?? "GPU";
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ErrorLine error={error} />
      {rows !== null && rows.length === 0 && <p>No jobs yet: rent a GPU from the marketplace.</p>}
      {rows !== null && rows.length > 0 && (
        <table className="history">
          <caption className="visually-hidden">Your jobs' status changes</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Job</th>
              <th scope="col">You were</th>
              <th scope="col">Became</th>
              <th scope="col">Most it may cost</th>
              <th scope="col">Cost</th>
              <th scope="col">Receipt</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((entry) => (
              <tr key={`${entry.jobId}-${entry.block}-${entry.status}`}>
                <td data-label="When">{formatTime(entry.timestamp)}</td>
                <td data-label="Job" title={entry.jobId}>{entry.jobId.slice(0, 10)}…</td>
                <td data-label="You were">{entry.role}</td>
                <td data-label="Became">{entry.status}</td>
                <td data-label="Most it may cost">{formatTokens(entry.maxCost, symbol)}</td>
                <td data-label="Cost">{formatTokens(entry.totalCost, symbol)}</td>
                <td data-label="Receipt">
                  {SETTLED.includes(entry.status) && (
                    <Link to={`/wallet/receipts/${entry.jobId}`} label={`Receipt of job ${entry.jobId}`}>Receipt</Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={page} hasNext={hasNext} onPage={setPage} label="History pages" />
    </section>
  );
}
