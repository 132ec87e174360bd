import { useEffect } from "react";
import { Link } from "../../app/router";
import { formatTokens, shortAddress } from "../../lib/format";
import { recordText, startText } from "./reliability";
import { imageStateText, type ImageState } from "./imageStates";
import type { Gpu, Reliability } from "./types";

export const FIRST_ROWS_MARK = "gpurent:marketplace-first-rows";

/** Marks (once per page load) when the first page of rows is in the DOM: what bench/web.py
 * reads back as the marketplace's first render. */
function useFirstRowsMark(count: number) {
  useEffect(() => {
    if (count > 0 && performance.getEntriesByName(FIRST_ROWS_MARK).length === 0) performance.mark(FIRST_ROWS_MARK);
  }, [count]);
}

/** A component in basis points as a percentage (9920 → "99.2%"); null: not measured yet. */
export function percentText(bps: number | null): string {
  return bps === null ? "not measured yet" : `${Number((bps / 100).toFixed(2))}%`;
}

/** The score and its measured components: "700 / 1000 · uptime 99.2% · response 97%". */
function reputation(gpu: Gpu): string {
  const score = gpu.reputation === null ? "not rated yet" : `${gpu.reputation} / 1000`;
  if (gpu.uptimeBps === null && gpu.responseBps === null) return `${score} · components not measured yet`;
  return `${score} · uptime ${percentText(gpu.uptimeBps)} · response ${percentText(gpu.responseBps)}`;
}

/** The provider's record and its time to start ("—" while not known), and with an image
 * chosen, whether it is cached there already (as the provider's agent says). */
function Record({ record, image }: { record: Reliability | undefined; image?: ImageState | null }) {
  return (
    <>
      <td data-label="Provider's record" data-testid="record">{record ? recordText(record) : "—"}</td>
      <td data-label="Time to start"
        title="The provider's median time from a job's creation to its start, over its recent jobs and any image">
        <span data-testid="start-estimate">{record ? startText(record) : "—"}</span>
        {image !== undefined && (
          <small className={`image-here ${image ?? "unknown"}`} data-testid="image-here">{imageStateText(image)}</small>
        )}
      </td>
    </>
  );
}

/** The GPUs of one page. Every value from the API is rendered as text (React escapes it). */
export interface GpuTableProps {
  rows: Gpu[];
  symbol: string;
  records?: Record<string, Reliability>;
  image?: string; // the CID the renter means to run ("" or none: no image column text)
  images?: Record<string, ImageState | null>; // its state at each provider, once the gateway answered
}

export function GpuTable({ rows, symbol, records = {}, image = "", images = {} }: GpuTableProps) {
  useFirstRowsMark(rows.length);
  return (
    <table className="gpus">
      <caption className="visually-hidden">GPUs for rent</caption>
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">VRAM</th>
          <th scope="col">vCPUs</th>
          <th scope="col">Storage</th>
          <th scope="col">Price / hour</th>
          <th scope="col">Reputation</th>
          <th scope="col">Provider</th>
          <th scope="col">Provider's record</th>
          <th scope="col">Time to start</th>
          <th scope="col">Status</th>
          <th scope="col"><span className="visually-hidden">Rent</span></th>
        </tr>
      </thead>
      <tbody>
        {rows.map((gpu) => (
          <tr key={gpu.id}>
            <th scope="row" data-label="Model">{gpu.gpuModel}</th>
            <td data-label="VRAM">{gpu.memoryGb} GB</td>
            <td data-label="vCPUs">{gpu.vcpu}</td>
            <td data-label="Storage">{gpu.storageGb} GB</td>
            <td data-label="Price / hour">{formatTokens(gpu.pricePerHour, symbol)}</td>
            <td data-label="Reputation" data-testid="reputation">{reputation(gpu)}</td>
            <td data-label="Provider" title={gpu.providerAddress}>{shortAddress(gpu.providerAddress)}</td>
            <Record record={records[gpu.providerAddress.toLowerCase()]}
              image={image ? images[gpu.providerAddress.toLowerCase()] : undefined} />
            <td data-label="Status">{gpu.available ? "Available" : "Busy or paused"}</td>
            <td data-label="">
              <Link to={image ? `/rent/${gpu.id}?image=${encodeURIComponent(image)}` : `/rent/${gpu.id}`} label={`Rent ${gpu.gpuModel} at ${formatTokens(gpu.pricePerHour, symbol)} an hour`}>Rent</Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
