import { ErrorLine } from "../../components/ErrorLine";
import { formatBytes } from "../../lib/format";
import type { ImageDetails } from "./api";

/** One image's metadata as IPFS holds it, and the jobs that ran it. */
export function ImageDetailsView({ cid, details, error }: { cid: string; details: ImageDetails | null; error: string | null }) {
  return (
    <section aria-labelledby="image-details-title" className="image-details">
      <h2 id="image-details-title">Image {cid}</h2>
      <ErrorLine error={error} />
      {!details && !error && <p className="status">Reading its details…</p>}
      {details && (
        <dl className="facts">
          <dt>Name</dt>
          <dd>{details.name}:{details.tag}</dd>
          <dt>Size</dt>
          <dd>{formatBytes(details.size)}</dd>
          <dt>Digest</dt>
          <dd className="mono">{details.digest}</dd>
          <dt>Uploaded by</dt>
          <dd className="mono">{details.uploader ?? "—"}</dd>
          <dt>Created</dt>
          <dd>{details.created ?? "—"}</dd>
          <dt>Network access</dt>
          <dd>{details.network ? "asked for" : "none"}</dd>
          <dt>Jobs run</dt>
          <dd>{details.jobs ?? 0}</dd>
        </dl>
      )}
    </section>
  );
}
