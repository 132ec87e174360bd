import { useEffect, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText, isAbort } from "../../lib/api";
import { saveBlob } from "../../lib/download";
import { formatAmount } from "../../lib/format";
import { downloadPart, fetchResult, type ResultSummary } from "./api";
import { formatBytes } from "./metrics";

/** The result the provider committed on chain (shown for a job whose `resultCid` is set): its
 * CID, size and files, and its stored parts to download, checked by the gateway against
 * result.json as they pass. */
export function ResultView({ token, jobId }: { token: string; jobId: string }) {
  const [result, setResult] = useState<ResultSummary | null>(null);
  const [note, setNote] = useState<string | null>("Looking for the job's result…");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const abort = new AbortController();
    fetchResult(token, jobId, abort.signal).then(
      (found) => {
        setResult(found);
        setNote(null);
      },
      (err: unknown) => {
        if (isAbort(err)) return;
        setNote(null);
        setError(`Could not read the result: ${errorText(err)}`);
      },
    );
    return () => abort.abort();
  }, [token, jobId]);
  const download = async (part: "payload" | "manifest") => {
    setBusy(true);
    setError(null);
    try {
      saveBlob(await downloadPart(token, jobId, part), `${jobId.slice(0, 10)}-${part}${part === "payload" && result && !result.sealed ? ".tar" : ""}`);
    } catch (err) {
      setError(`The download failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };
  const files = Array.isArray(result?.manifest?.files) ? result.manifest.files.length : null;
  return (
    <section aria-labelledby="result-title">
      <h2 id="result-title">Result</h2>
      {note && <p className="status">{note}</p>}
      {result && (
        <>
          <dl className="balances">
            <div><dt>Result CID</dt><dd className="mono" data-testid="result-cid">{result.resultCid}</dd></div>
            <div><dt>Size</dt><dd data-testid="result-size">{formatBytes(result.payloadBytes)} ({formatAmount(String(result.payloadBytes))} bytes)</dd></div>
            <div><dt>Files</dt><dd>{result.sealed ? "sealed to your results key" : files === null ? "—" : String(files)}</dd></div>
          </dl>
          <div className="actions-row">
            <button type="button" onClick={() => void download("payload")} disabled={busy}>
              {result.sealed ? "Download the sealed payload" : "Download the files (tar)"}
            </button>
            <button type="button" onClick={() => void download("manifest")} disabled={busy}>Download the manifest</button>
          </div>
          {result.sealed && <p className="status">Open it with <code>gpurent jobs results</code> and your results key.</p>}
        </>
      )}
      <ErrorLine error={error} />
    </section>
  );
}
