import type { ImageDetails, ImageEntry } from "./api";

/** One row of the images table: what the index knows (jobs run) and what IPFS said, when read. */
export interface ImageRow {
  cid: string;
  jobs: number; // jobs that ran it (0: none yet, as for an image just uploaded)
  firstSeen: number | null;
  details: ImageDetails | null; // null until uploaded here or its details were read
}

/** The images uploaded in this visit first (newest first), then the index's by jobs run; one
 * row a CID, with the details read so far. */
export function imageRows(uploaded: ImageDetails[], indexed: ImageEntry[], known: ReadonlyMap<string, ImageDetails>): ImageRow[] {
  const rows = new Map<string, ImageRow>();
  for (const image of uploaded) {
    if (!rows.has(image.cid)) rows.set(image.cid, { cid: image.cid, jobs: 0, firstSeen: null, details: known.get(image.cid) ?? image });
  }
  for (const entry of indexed) {
    const row = rows.get(entry.cid);
    if (row) rows.set(entry.cid, { ...row, jobs: entry.jobs, firstSeen: entry.firstSeen });
    else rows.set(entry.cid, { ...entry, details: known.get(entry.cid) ?? null });
  }
  return [...rows.values()];
}
