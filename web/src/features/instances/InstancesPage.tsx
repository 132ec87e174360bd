import { useMemo, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Pager } from "../../components/Pager";
import { Link } from "../../app/router";
import { usePaged } from "../../lib/usePaged";
import { formatDuration, formatTime, formatTokens, shortId } from "../../lib/format";
import { useSession } from "../auth";
import { useWallet } from "../wallet";
import { fetchInstances } from "./api";
import type { Job } from "./types";

const PAGE = 20;

/** The signed-in renter's jobs, newest first, each a link to its console. */
export function InstancesPage() {
  const { session } = useSession();
  const { chain } = useWallet();
  const [page, setPage] = useState(0);
  const token = session?.token;
  const load = useMemo(
    () => (token ? (p: number, size: number, signal: AbortSignal) => fetchInstances(token, p, size, signal) : null),
    [token],
  );
  const { rows, hasNext, error } = usePaged<Job>(load, page, PAGE, "your jobs");

  const symbol = chain?.token.symbol ?? "GPU";
  return (
    <section aria-labelledby="instances-title">
      <h1 id="instances-title">My jobs</h1>
      {!session && <p>Connect your wallet and sign in to see your jobs.</p>}
      <ErrorLine error={error} />
      {session && rows !== null && rows.length === 0 && <p>No jobs yet: rent a GPU from the marketplace.</p>}
      {session && rows !== null && rows.length > 0 && (
        <table className="instances">
          <caption className="visually-hidden">Your jobs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">GPU</th>
              <th scope="col">Booked</th>
              <th scope="col">Most it may cost</th>
              <th scope="col">Cost</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((job) => (
              <tr key={job.id}>
                <th scope="row" data-label="Job"><Link to={`/instances/${job.id}`} label={`Job ${job.id}`}>{job.id.slice(0, 10)}…</Link></th>
                <td data-label="Status">{job.status}</td>
                <td data-label="GPU" title={job.resourceId}>{shortId(job.resourceId)}</td>
                <td data-label="Booked">{formatDuration(job.estimatedDuration)}</td>
                <td data-label="Most it may cost">{formatTokens(job.maxCost, symbol)}</td>
                <td data-label="Cost">{formatTokens(job.totalCost, symbol)}</td>
                <td data-label="Started">{formatTime(job.startTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {session && <Pager page={page} hasNext={hasNext} onPage={setPage} label="Job pages" />}
    </section>
  );
}
