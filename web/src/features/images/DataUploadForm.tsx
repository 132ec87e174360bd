import { useState, type FormEvent } from "react";
import { Field } from "../../components/Field";
import { formatBytes } from "../../lib/format";
import { uploadData, type DataDetails } from "./api";
import { UploadControls, useFileUpload } from "./useFileUpload";

/** Pick one file, push it to IPFS as a dataset for jobs' inputs (what `gpurent data push FILE`
 * does) with its progress shown; then its CID, size and digest, and how a job mounts it. */
export function DataUploadForm({ token }: { token: string }) {
  const [file, setFile] = useState<File | null>(null);
  const [pushed, setPushed] = useState<DataDetails | null>(null);
  const upload = useFileUpload<DataDetails>();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setPushed(null);
    upload.start(file, (onProgress) => uploadData(file, token, onProgress), setPushed);
  };

  return (
    <form className="upload" onSubmit={submit} aria-labelledby="data-upload-title">
      <h2 id="data-upload-title">Upload data</h2>
      <Field label="Data file" hint="One file, pinned on IPFS and mounted read-only in a job (a folder: `gpurent data push FOLDER`).">
        {(id) => <input id={id} type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
      </Field>
      <UploadControls submit="Upload the file" ready={file !== null} progressLabel="Data upload progress" upload={upload} />
      {pushed && (
        <div role="status" className="done pushed-data">
          <p>Uploaded {pushed.name} ({formatBytes(pushed.size)}).</p>
          <dl className="facts">
            <dt>CID</dt>
            <dd className="mono">{pushed.cid}</dd>
            <dt>Size</dt>
            <dd>{formatBytes(pushed.size)} ({pushed.size.toLocaleString("en-US")} bytes)</dd>
            <dt>Digest</dt>
            <dd className="mono">{pushed.digest}</dd>
          </dl>
          <p>
            A job mounts it read-only at /data with <code>--input {pushed.cid}:/data</code> (<code>gpurent jobs create</code>), or
            in its definition:
          </p>
          <pre className="mono">{`[[inputs]]\ncid  = "${pushed.cid}"\npath = "/data"`}</pre>
        </div>
      )}
    </form>
  );
}
