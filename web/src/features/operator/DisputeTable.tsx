import { shortAddress, shortId } from "../../lib/format";
import { disputeDeadline, type Dispute } from "./api";

/** The disputes, open ones first, with how long each open one has waited against its deadline
 * (at chain time `now`) and the evidence CIDs once resolved. */
export function DisputeTable({ disputes, now }: { disputes: Dispute[]; now: number }) {
  if (disputes.length === 0) return <p>No disputes.</p>;
  return (
    <table className="disputes">
      <caption className="visually-hidden">Disputes, open ones first</caption>
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">Raised by</th>
          <th scope="col">Reason</th>
          <th scope="col">Raised at block</th>
          <th scope="col">Outcome</th>
          <th scope="col">Deadline</th>
          <th scope="col">Evidence CID</th>
        </tr>
      </thead>
      <tbody>
        {disputes.map((d) => {
          const deadline = disputeDeadline(d, now);
          return (
          <tr key={d.jobId}>
            <th scope="row" data-label="Job" className="mono" title={d.jobId}>{shortId(d.jobId)}</th>
            <td data-label="Raised by" className="mono">{shortAddress(d.initiator)}</td>
            <td data-label="Reason">{d.reason}</td>
            <td data-label="Raised at block">{d.raisedBlock}</td>
            <td data-label="Outcome">{d.outcome ?? "open"}</td>
            <td data-label="Deadline" className={deadline?.overdue ? "notice" : undefined}>{deadline?.text ?? "—"}</td>
            <td data-label="Evidence CID" className="mono">{d.evidenceCid ?? "—"}</td>
          </tr>
          );
        })}
      </tbody>
    </table>
  );
}
