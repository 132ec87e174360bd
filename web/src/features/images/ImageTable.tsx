import { formatBytes, formatTime } from "../../lib/format";
import type { ImageRow } from "./rows";

/** The images: CID, name, size, jobs run; each row's details on a button. */
export function ImageTable({ rows, onDetails }: { rows: ImageRow[]; onDetails(cid: string): void }) {
  if (rows.length === 0) return <p>No images yet: upload one, or run a job.</p>;
  return (
    <table className="images">
      <caption className="visually-hidden">Images by jobs run, uploads of this visit first</caption>
      <thead>
        <tr>
          <th scope="col">CID</th>
          <th scope="col">Name</th>
          <th scope="col">Size</th>
          <th scope="col">Jobs run</th>
          <th scope="col">First run</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.cid}>
            <th scope="row" data-label="CID" className="mono">{row.cid}</th>
            <td data-label="Name">{row.details ? `${row.details.name}:${row.details.tag}` : "—"}</td>
            <td data-label="Size">{row.details ? formatBytes(row.details.size) : "—"}</td>
            <td data-label="Jobs run">{row.jobs}</td>
            <td data-label="First run">{formatTime(row.firstSeen)}</td>
            <td data-label="Details">
              <button type="button" onClick={() => onDetails(row.cid)} aria-label={`Details of ${row.cid}`}>
                Details
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
